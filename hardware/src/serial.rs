//! An ESC/POS printer on a serial port (USB-serial or TTL), with live status.
//!
//! The port is opened lazily and dropped on any I/O error, so a printer that is unplugged
//! and plugged back in is picked up again on the next status check, without a restart.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use serialport::{FlowControl, SerialPort};

use crate::status::{StatusBytes, is_status_byte, query};
use crate::{Printer, PrinterError, PrinterStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    pub path: String,
    pub baud: u32,
    pub flow_control: FlowControl,
    /// How long to wait for one status byte before calling the printer silent.
    pub status_timeout: Duration,
}

impl SerialSettings {
    pub fn new(path: &str, baud: u32) -> SerialSettings {
        SerialSettings {
            path: path.to_owned(),
            baud,
            flow_control: FlowControl::None,
            status_timeout: Duration::from_millis(300),
        }
    }
}

pub struct SerialPrinter {
    settings: SerialSettings,
    port: Option<Box<dyn SerialPort>>,
    name: String,
    /// Whether the printer answers `GS r 1`; unknown until a job has printed.
    answers_gs_r: Option<bool>,
}

/// Bytes written per `write` call: small enough that a slow line with no flow control
/// does not overrun a cheap printer's input buffer in one burst.
const CHUNK: usize = 256;

impl SerialPrinter {
    /// Does not touch the port: the first status check opens it.
    pub fn new(settings: SerialSettings) -> SerialPrinter {
        let name = settings.path.clone();
        SerialPrinter { settings, port: None, name, answers_gs_r: None }
    }

    fn port(&mut self) -> Result<&mut Box<dyn SerialPort>, serialport::Error> {
        if self.port.is_none() {
            let port = serialport::new(&self.settings.path, self.settings.baud)
                .flow_control(self.settings.flow_control)
                .timeout(self.settings.status_timeout)
                .open()?;
            tracing::info!(port = %self.settings.path, "printer port opened");
            self.port = Some(port);
        }
        Ok(self.port.as_mut().expect("just opened"))
    }

    /// One `DLE EOT n` round trip. `Ok(None)`: the printer did not answer in time.
    fn ask(&mut self, n: u8) -> std::io::Result<Option<u8>> {
        let timeout = self.settings.status_timeout;
        let port = self.port().map_err(std::io::Error::other)?;
        // Stale bytes (an answer that came too late last time) must not be read as this answer.
        port.clear(serialport::ClearBuffer::Input).map_err(std::io::Error::other)?;
        port.write_all(&query(n))?;
        port.flush()?;
        let deadline = std::time::Instant::now() + timeout;
        let mut byte = [0u8; 1];
        while std::time::Instant::now() < deadline {
            match port.read(&mut byte) {
                Ok(1) if is_status_byte(byte[0]) => return Ok(Some(byte[0])),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Waits until the printer has worked through what was sent, so the status check after
    /// a job sees paper that ran out while it printed, not only while it was received.
    /// `GS r 1` is answered in turn, after the bytes before it; a printer that never
    /// answers it gets a pause in proportion to the job (about 4 KB/s of printing).
    fn drain(&mut self, job_len: usize) -> std::io::Result<bool> {
        let printing = Duration::from_millis(job_len as u64 / 4);
        if self.answers_gs_r == Some(false) {
            std::thread::sleep(printing.min(Duration::from_secs(3)));
            return Ok(false);
        }
        let port = self.port().map_err(std::io::Error::other)?;
        port.clear(serialport::ClearBuffer::Input).map_err(std::io::Error::other)?;
        port.write_all(&[0x1d, b'r', 1])?;
        port.flush()?;
        let deadline = std::time::Instant::now() + Duration::from_secs(2) + printing * 2;
        let mut byte = [0u8; 1];
        while std::time::Instant::now() < deadline {
            match port.read(&mut byte) {
                Ok(1) => return Ok(true),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    fn read_status(&mut self) -> std::io::Result<Option<StatusBytes>> {
        let Some(printer) = self.ask(1)? else { return Ok(None) };
        let Some(offline_cause) = self.ask(2)? else { return Ok(None) };
        let Some(paper) = self.ask(4)? else { return Ok(None) };
        Ok(Some(StatusBytes { printer, offline_cause, paper }))
    }
}

impl Printer for SerialPrinter {
    fn name(&self) -> &str {
        &self.name
    }

    fn status(&mut self) -> PrinterStatus {
        if let Err(e) = self.port() {
            tracing::debug!(port = %self.settings.path, error = %e, "printer port not available");
            return PrinterStatus::Offline;
        }
        match self.read_status() {
            Ok(Some(bytes)) => bytes.status(),
            Ok(None) => PrinterStatus::NotResponding,
            Err(e) => {
                tracing::warn!(port = %self.settings.path, error = %e, "printer port failed; will reopen");
                self.port = None;
                PrinterStatus::Offline
            }
        }
    }

    /// Checks the printer is ready, sends the job in chunks, waits for it to be printed,
    /// then checks again: a job that ran into "paper out" half-way is reported as
    /// interrupted, to be reprinted whole.
    fn print(&mut self, job: &[u8]) -> Result<PathBuf, PrinterError> {
        let before = self.status();
        if !before.can_print() {
            return Err(PrinterError::NotReady(before));
        }
        let path = PathBuf::from(&self.settings.path);
        let io = |source| PrinterError::Io { path: path.clone(), source };
        let port = self.port().map_err(|e| io(std::io::Error::other(e)))?;
        let written = job.chunks(CHUNK).try_for_each(|chunk| port.write_all(chunk)).and_then(|()| port.flush());
        if let Err(e) = written {
            self.port = None;
            tracing::warn!(port = %self.settings.path, error = %e, "printer port failed mid-job");
            return Err(PrinterError::Interrupted(PrinterStatus::Offline));
        }
        let answered = match self.drain(job.len()) {
            Ok(answered) => answered,
            Err(e) => {
                self.port = None;
                tracing::warn!(port = %self.settings.path, error = %e, "printer port failed after a job");
                return Err(PrinterError::Interrupted(PrinterStatus::Offline));
            }
        };
        let after = self.status();
        if !after.can_print() {
            return Err(PrinterError::Interrupted(after));
        }
        if self.answers_gs_r.is_none() {
            // Silence from a ready printer means it does not know the command.
            self.answers_gs_r = Some(answered);
        }
        Ok(path)
    }
}
