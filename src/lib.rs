//! Marketday: a touchscreen point-of-sale kiosk for serialized jewellery drops.
//!
//! See `ARCHITECTURE.md` for the map. In short: [`domain`] holds the rules and does no
//! I/O; [`store`] is the only module that speaks SQL; [`app`] turns UI callbacks into
//! domain operations and store transactions; the `.slint` files in `ui/` only show state.

pub mod app;
pub mod bench;
pub mod catalog_import;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod domain;
pub mod headless;
pub mod i18n;
pub mod photos;
pub mod piece_photos;
pub mod print;
pub mod provenance;
pub mod screenshots;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod ui;

// `t!`, `tn!` and `msg!` as `crate::t` and so on, wherever the kiosk says something.
pub use marketday_i18n::{msg, t, tn};
