//! Marketday: a touchscreen point-of-sale kiosk for serialized jewellery drops.
//!
//! See `ARCHITECTURE.md` for the map. In short: [`domain`] holds the rules and does no
//! I/O; [`store`] is the only module that speaks SQL; [`app`] turns UI callbacks into
//! domain operations and store transactions; the `.slint` files in `ui/` only show state.

pub mod domain;
pub mod store;
