//! Marketday's sync server (`marketday-cloud`) and the protocol kiosks speak to it.
//!
//! Without the `server` feature this crate is only [`wire`], which the kiosk uses.

pub mod wire;

#[cfg(feature = "server")]
mod api;
#[cfg(feature = "server")]
pub mod custody;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod office;
#[cfg(feature = "server")]
mod photos;
#[cfg(feature = "server")]
pub mod piece_photos;
#[cfg(feature = "server")]
mod public;
#[cfg(feature = "server")]
pub mod signing;
#[cfg(feature = "server")]
pub mod takings;
#[cfg(feature = "server")]
pub mod verifier;

#[cfg(feature = "server")]
pub use api::{AppState, Tls, hold_data_dir, now_ms, router, serve, serve_tls};
