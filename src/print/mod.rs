//! Printing: printouts laid out for a printer profile, and the worker that drains the
//! store's print queue. Device bytes and status live in `marketday-hardware`.

pub mod layout;
pub mod queue;

pub use layout::{LabelSize, LayoutOptions, layout};
pub use queue::{PrintQueue, PrinterSetup, QueueStatus, advice};
