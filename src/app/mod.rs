//! The application layer: turns what staff do on screen into domain operations and store
//! transactions, and turns state back into what the screens show.
//!
//! API boundary: `.slint` files know only display strings and callbacks; this module is
//! where `Money` becomes "£185.00" and a tap becomes a `Cart::add`.
//!
//! Its shape: [`Kiosk`] is a router over one module per screen (`screens/`), each owning
//! its state and message and taking the shared [`Services`] as an argument; `sale` is the
//! sale being built, shared by Sell and Tender; `status` and `preview` are the chrome
//! around the screens; `bind` wires the window's callbacks to the router.

pub mod auth;
mod bind;
mod keys;
pub mod kiosk;
pub mod pictures;
mod present;
mod preview;
pub mod sale;
pub mod screens;
pub mod services;
mod status;

pub use bind::attach;
pub use kiosk::{Devices, Kiosk, KioskOptions};
pub use services::{Notice, Services, Severity};
