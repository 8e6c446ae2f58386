//! Device traits and drivers for the Marketday kiosk.
//!
//! The app talks to a [`Printer`] and a [`Camera`] and never to a serial port or V4L2
//! directly. Each trait has a simulated implementation that does the real work on
//! files, so the kiosk runs (and is tested) on a laptop with no devices attached:
//!
//! ```
//! use marketday_hardware::{Printer, PrinterProfile, PrinterStatus, SimulatedPrinter};
//!
//! let dir = std::env::temp_dir().join("marketday-doc-printer");
//! let profile = PrinterProfile::builtin("generic-80").unwrap();
//! let mut printer = SimulatedPrinter::new(&dir, profile).unwrap();
//! assert_eq!(printer.status(), PrinterStatus::Ready);
//! let job = printer.print(b"Hello stall\n").unwrap();
//! assert_eq!(std::fs::read(job).unwrap(), b"Hello stall\n");
//! ```

mod camera;
pub mod codepage;
pub mod emulator;
pub mod encode;
pub mod preview;
mod printer;
mod profile;
pub mod raster;
pub mod scanner;
mod serial;
pub mod status;
pub mod ticket;
pub mod usb_camera;

pub use camera::{
    Camera, CameraError, CameraStatus, Frame, SimulatedCamera, Still, decode_image, encode_jpeg, read_image,
};
pub use codepage::Codepage;
pub use encode::{EncodeError, encode};
pub use preview::{Preview, PreviewError};
pub use printer::{FilePrinter, Printer, PrinterError, PrinterStatus, SimulatedPrinter};
pub use profile::{DOTS_PER_MM, PrinterProfile};
pub use raster::Bitmap;
pub use serial::{SerialPrinter, SerialSettings};
pub use serialport::FlowControl;
pub use ticket::{Align, Block, Style, Ticket};
