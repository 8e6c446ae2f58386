//! Receipt and sticker printers.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What staff need to know about the printer, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterStatus {
    Ready,
    PaperLow,
    PaperOut,
    CoverOpen,
    /// Plugged in but not answering status queries.
    NotResponding,
    /// No device at the configured port.
    Offline,
    /// A device that cannot report status (a plain file or `/dev/usb/lp0`).
    Unknown,
    Error(String),
}

impl PrinterStatus {
    /// Whether a job may be sent now.
    pub fn can_print(&self) -> bool {
        matches!(self, PrinterStatus::Ready | PrinterStatus::PaperLow | PrinterStatus::Unknown)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    #[error("printer is not ready: {0:?}")]
    NotReady(PrinterStatus),
    #[error("could not write to the printer at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A printer that takes whole jobs of device bytes (ESC/POS for thermal printers).
pub trait Printer: Send {
    /// A short name for the status bar ("Simulated", "/dev/ttyUSB0").
    fn name(&self) -> &str;
    /// Asks the device how it is; may block briefly on real hardware.
    fn status(&mut self) -> PrinterStatus;
    /// Sends one job. Returns where it went, for the simulated printer a file path.
    fn print(&mut self, job: &[u8]) -> Result<PathBuf, PrinterError>;
}

/// A printer that writes each job's bytes to a numbered file in a folder.
///
/// It is a real sink, not a stub: the bytes are exactly what a serial printer would get,
/// and the file is synced to disk before `print` returns.
pub struct SimulatedPrinter {
    dir: PathBuf,
    next: u64,
}

impl SimulatedPrinter {
    pub fn new(dir: &Path) -> Result<SimulatedPrinter, PrinterError> {
        let io = |source| PrinterError::Io { path: dir.to_owned(), source };
        fs::create_dir_all(dir).map_err(io)?;
        // Continue numbering after jobs a previous run left, so nothing is overwritten.
        let mut next = 1;
        for entry in fs::read_dir(dir).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            let n = name.to_str().and_then(|n| n.strip_prefix("job-")).and_then(|n| n.strip_suffix(".bin"));
            if let Some(n) = n.and_then(|n| n.parse::<u64>().ok()) {
                next = next.max(n + 1);
            }
        }
        Ok(SimulatedPrinter { dir: dir.to_owned(), next })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Printer for SimulatedPrinter {
    fn name(&self) -> &str {
        "Simulated printer"
    }

    fn status(&mut self) -> PrinterStatus {
        if self.dir.is_dir() { PrinterStatus::Ready } else { PrinterStatus::Offline }
    }

    fn print(&mut self, job: &[u8]) -> Result<PathBuf, PrinterError> {
        let path = self.dir.join(format!("job-{:06}.bin", self.next));
        let io = |source| PrinterError::Io { path: path.clone(), source };
        let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(io)?;
        file.write_all(job).map_err(io)?;
        file.sync_all().map_err(io)?;
        self.next += 1;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_printer_keeps_every_job_across_restarts() {
        let dir = std::env::temp_dir().join(format!("md-printer-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut p = SimulatedPrinter::new(&dir).unwrap();
        let first = p.print(b"one").unwrap();
        drop(p);
        let mut p = SimulatedPrinter::new(&dir).unwrap();
        let second = p.print(b"two").unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read(first).unwrap(), b"one");
        assert_eq!(fs::read(second).unwrap(), b"two");
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(p.status(), PrinterStatus::Offline);
        assert!(!p.status().can_print());
    }
}
