//! The compiled `.slint` UI (see `ui/app.slint`).
#![allow(clippy::all, missing_docs)]
slint::include_modules!();
