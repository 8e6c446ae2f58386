//! Receipt and sticker printers.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Preview, PrinterProfile};

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
    /// Something is at the configured port but it cannot be used as a printer (a file, a
    /// folder, a device the kiosk may not open): why, with the path, in words for staff.
    Unusable(String),
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
    /// Part of the job may be on paper: it must be printed again, whole.
    #[error("the printer stopped during the job: {0:?}")]
    Interrupted(PrinterStatus),
    #[error("the printer could not interpret the job: {0}")]
    Malformed(String),
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

/// A printer that writes each job's bytes to a numbered file in a folder, with a PNG of
/// what the paper would show beside it.
///
/// It is a real sink, not a stub: the bytes are exactly what a serial printer would get,
/// the file is synced to disk before `print` returns, and a job whose bytes a printer
/// could not interpret is refused as a real printer would garble it.
pub struct SimulatedPrinter {
    dir: PathBuf,
    next: u64,
    profile: PrinterProfile,
}

impl SimulatedPrinter {
    pub fn new(dir: &Path, profile: PrinterProfile) -> Result<SimulatedPrinter, PrinterError> {
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
        Ok(SimulatedPrinter { dir: dir.to_owned(), next, profile })
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
        // A failed write leaves a partial file; the retry gets a fresh number.
        self.next += 1;
        let io = |source| PrinterError::Io { path: path.clone(), source };
        let preview = Preview::render(job, &self.profile).map_err(|e| PrinterError::Malformed(e.to_string()))?;
        write_synced(&path, job).map_err(io)?;
        let png = path.with_extension("png");
        write_synced(&png, &preview.to_png()).map_err(|source| PrinterError::Io { path: png, source })?;
        Ok(path)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A printer reached as a plain device file (`/dev/usb/lp0`, a parallel port, a pipe):
/// bytes go out but nothing comes back, so its status is always [`PrinterStatus::Unknown`]
/// and the UI says paper-out cannot be detected.
pub struct FilePrinter {
    path: PathBuf,
    name: String,
}

impl FilePrinter {
    pub fn new(path: &Path) -> FilePrinter {
        FilePrinter { path: path.to_owned(), name: path.display().to_string() }
    }
}

impl Printer for FilePrinter {
    fn name(&self) -> &str {
        &self.name
    }

    fn status(&mut self) -> PrinterStatus {
        if self.path.exists() { PrinterStatus::Unknown } else { PrinterStatus::Offline }
    }

    fn print(&mut self, job: &[u8]) -> Result<PathBuf, PrinterError> {
        let io = |source| PrinterError::Io { path: self.path.clone(), source };
        // Append, never create: a missing device must not turn into a regular file. Not being
        // able to open it means nothing was sent.
        let mut device = fs::OpenOptions::new().append(true).open(&self.path).map_err(|e| {
            let why = format!("cannot open {}: {e}", self.path.display());
            PrinterError::NotReady(if self.path.exists() { PrinterStatus::Error(why) } else { PrinterStatus::Offline })
        })?;
        device.write_all(job).map_err(io)?;
        device.flush().map_err(io)?;
        Ok(self.path.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_printer_keeps_every_job_across_restarts() {
        let dir = std::env::temp_dir().join(format!("md-printer-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let profile = PrinterProfile::builtin("generic-58").unwrap();
        let mut p = SimulatedPrinter::new(&dir, profile.clone()).unwrap();
        let first = p.print(b"one\n").unwrap();
        drop(p);
        let mut p = SimulatedPrinter::new(&dir, profile).unwrap();
        let second = p.print(b"two\n").unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read(&first).unwrap(), b"one\n");
        assert_eq!(fs::read(second).unwrap(), b"two\n");
        assert!(fs::read(first.with_extension("png")).unwrap().starts_with(b"\x89PNG"));
        assert!(matches!(p.print(b"\x1b\x7fbad"), Err(PrinterError::Malformed(_))));
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(p.status(), PrinterStatus::Offline);
        assert!(!p.status().can_print());
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn file_printer_appends_and_never_creates_the_device() {
        let dir = std::env::temp_dir().join(format!("md-lp-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let device = dir.join("lp0");
        let mut p = FilePrinter::new(&device);
        assert_eq!(p.status(), PrinterStatus::Offline);
        assert!(matches!(p.print(b"x"), Err(PrinterError::NotReady(PrinterStatus::Offline))));
        assert!(!device.exists());
        fs::write(&device, b"").unwrap();
        assert_eq!(p.status(), PrinterStatus::Unknown);
        p.print(b"ab").unwrap();
        p.print(b"cd").unwrap();
        assert_eq!(fs::read(&device).unwrap(), b"abcd");
        fs::remove_dir_all(&dir).unwrap();
    }
}
