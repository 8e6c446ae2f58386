//! Printing: printouts laid out for a printer profile, and the worker that drains the
//! store's print queue. Device bytes and status live in `marketday-hardware`.

pub mod layout;
pub mod queue;
pub mod samples;

pub use layout::{LabelSize, LayoutOptions, layout};
pub use queue::{MAX_SENDS, PrintQueue, PrinterSetup, QueueStatus, advice};

/// The largest logo on a receipt, in dots (30 x 10 mm): at most 2.4 KB of raster, a fifth of a
/// second at 115200 baud, so a logo never makes the receipt the slow part of a sale.
pub const LOGO_BOX: (usize, usize) = (240, 80);
