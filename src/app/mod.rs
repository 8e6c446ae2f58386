//! The application layer: turns what staff do on screen into domain operations and store
//! transactions, and turns state back into what the screens show.
//!
//! API boundary: `.slint` files know only display strings and callbacks; this module is
//! where `Money` becomes "£185.00" and a tap becomes a `Cart::add`.

pub mod auth;
mod bind;
pub mod courier;
pub mod kiosk;
mod printing;
pub mod reserve;
pub mod sell;
mod sync_screen;
pub mod today;
pub mod verify;
mod view;

pub use bind::attach;
pub use kiosk::{Devices, Kiosk, KioskOptions, Notice};
