//! An ESC/POS printer on a serial port (USB-serial or TTL), with live status.
//!
//! The port is opened lazily and dropped on any I/O error, so a printer that is unplugged
//! and plugged back in is picked up again on the next status check, without a restart.
//!
//! Every wait is derived from the line: a byte takes `10 / baud` seconds on the wire (start,
//! eight data bits, stop), and `write` returns long before the bytes have left, so the
//! driver keeps its own account of when the line will be idle again. An answer is only
//! expected once everything sent before its question has gone out; at 9600 baud a 4 KB
//! receipt is four seconds of wire, and a constant timeout would mistake that for silence.

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialport::{FlowControl, SerialPort};

use crate::status::{StatusBytes, is_gs_r_answer, is_status_byte, query};
use crate::{Preview, Printer, PrinterError, PrinterProfile, PrinterStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    pub path: String,
    pub baud: u32,
    pub flow_control: FlowControl,
    /// How long the printer may take to answer a question once the question has reached it.
    pub status_timeout: Duration,
    /// The printer model, for how long its jobs take to come out on paper; without one the
    /// driver allows for the slowest supported head.
    pub profile: Option<PrinterProfile>,
}

impl SerialSettings {
    pub fn new(path: &str, baud: u32) -> SerialSettings {
        SerialSettings {
            path: path.to_owned(),
            baud,
            flow_control: FlowControl::None,
            status_timeout: Duration::from_millis(300),
            profile: None,
        }
    }

    /// How long `bytes` take on the wire at this line's speed.
    pub fn wire_time(&self, bytes: usize) -> Duration {
        Duration::from_micros(bytes as u64 * 10_000_000 / u64::from(self.baud.max(1)))
    }

    /// How long the printer takes to put `job` on paper once it has it all: its length in
    /// dots (feeds and rasters included) at the head's speed.
    pub fn paper_time(&self, job: &[u8]) -> Duration {
        let Some(profile) = &self.profile else {
            // The slowest supported head, on a length guessed from the bytes: a receipt
            // line of 32 characters is 3 mm.
            return Duration::from_millis(job.len() as u64 * 3 * 1000 / 32 / SLOWEST_MM_S);
        };
        let dots = Preview::render(job, profile).map(|p| p.height as u64).unwrap_or(job.len() as u64);
        let speed = u64::from(profile.print_speed_mm_s.max(1));
        Duration::from_millis(dots * 1000 / (u64::from(crate::profile::DOTS_PER_MM) * speed))
    }
}

const SLOWEST_MM_S: u64 = 40;

/// How long a read blocks before the driver looks at its deadlines again.
const POLL: Duration = Duration::from_millis(20);

/// Questions about paper and lid are asked at most this many times in one status check
/// when the answers contradict each other.
const STATUS_ROUNDS: usize = 3;

pub struct SerialPrinter {
    settings: SerialSettings,
    port: Option<Box<dyn SerialPort>>,
    name: String,
    /// Whether the printer answers `GS r 1`; unknown until a job has printed.
    answers_gs_r: Option<bool>,
    /// When the bytes written so far will all have left the kiosk.
    line_idle_at: Instant,
    /// A question went unanswered: its answer may still arrive and must not be taken for
    /// the answer to the next one.
    stale_answer_possible: bool,
}

/// Bytes written per `write` call: small enough that a slow line with no flow control
/// does not overrun a cheap printer's input buffer in one burst.
const CHUNK: usize = 256;

/// What the printer said once the job had gone through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterJob {
    /// `GS r 1` answered with paper present: everything before it is on paper.
    Printed,
    /// `GS r 1` answered with the paper-end bits set.
    PaperEnd,
    /// No answer in the time the job needs (a printer without `GS r`, or one that stopped).
    Unanswered,
}

impl SerialPrinter {
    /// Does not touch the port: the first status check opens it.
    pub fn new(settings: SerialSettings) -> SerialPrinter {
        let name = settings.path.clone();
        SerialPrinter {
            settings,
            port: None,
            name,
            answers_gs_r: None,
            line_idle_at: Instant::now(),
            stale_answer_possible: false,
        }
    }

    fn port(&mut self) -> Result<&mut Box<dyn SerialPort>, serialport::Error> {
        if self.port.is_none() {
            let port = serialport::new(&self.settings.path, self.settings.baud)
                .flow_control(self.settings.flow_control)
                .timeout(POLL)
                .open()?;
            tracing::info!(port = %self.settings.path, baud = self.settings.baud, "printer port opened");
            self.port = Some(port);
            self.line_idle_at = Instant::now();
            self.stale_answer_possible = false;
        }
        Ok(self.port.as_mut().expect("just opened"))
    }

    /// Writes `bytes`, waiting out a full output buffer for as long as the line needs to
    /// drain it, and notes when they will have left.
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let patience = self.settings.wire_time(CHUNK * 4) + Duration::from_secs(2);
        let start = Instant::now().max(self.line_idle_at);
        let wire = self.settings.wire_time(bytes.len());
        let port = self.port().map_err(std::io::Error::other)?;
        for chunk in bytes.chunks(CHUNK) {
            let mut rest = chunk;
            let mut stuck_since = Instant::now();
            while !rest.is_empty() {
                match port.write(rest) {
                    Ok(0) => return Err(ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        rest = &rest[n..];
                        stuck_since = Instant::now();
                    }
                    // The kernel's buffer is full: the line is busy, not broken, as long
                    // as it keeps taking bytes at its speed.
                    Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => {
                        if stuck_since.elapsed() > patience {
                            return Err(std::io::Error::new(ErrorKind::TimedOut, "the printer stopped taking bytes"));
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.line_idle_at = start + wire;
        Ok(())
    }

    /// The time by which an answer to a question sent now must have arrived.
    fn answer_deadline(&self, extra: Duration) -> Instant {
        let question_out = Instant::now().max(self.line_idle_at) + self.settings.wire_time(3);
        question_out + self.settings.wire_time(1) + self.settings.status_timeout + extra
    }

    /// Reads bytes until one is `accept`ed or `deadline` passes; bytes that fit no question
    /// asked are line noise and dropped.
    fn read_until(&mut self, deadline: Instant, accept: impl Fn(u8) -> bool) -> std::io::Result<Option<u8>> {
        let port = self.port().map_err(std::io::Error::other)?;
        let mut byte = [0u8; 1];
        while Instant::now() < deadline {
            match port.read(&mut byte) {
                Ok(1) if accept(byte[0]) => return Ok(Some(byte[0])),
                Ok(1) => tracing::debug!(byte = byte[0], "printer sent a byte that answers no question; ignored"),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// After an unanswered question its answer may still be on the way: wait for the line
    /// to stay quiet for as long as an answer may be late, throwing away what comes.
    fn discard_stale_input(&mut self) -> std::io::Result<()> {
        if !self.stale_answer_possible {
            let port = self.port().map_err(std::io::Error::other)?;
            return port.clear(serialport::ClearBuffer::Input).map_err(std::io::Error::other);
        }
        let quiet = self.settings.status_timeout;
        let mut until = Instant::now().max(self.line_idle_at) + quiet;
        while let Some(b) = self.read_until(until, |_| true)? {
            tracing::debug!(byte = b, "late answer from the printer discarded");
            until = Instant::now() + quiet;
        }
        self.stale_answer_possible = false;
        Ok(())
    }

    /// One `DLE EOT n` round trip. `Ok(None)`: the printer did not answer in time.
    fn ask(&mut self, n: u8) -> std::io::Result<Option<u8>> {
        self.send(&query(n))?;
        let deadline = self.answer_deadline(Duration::ZERO);
        let answer = self.read_until(deadline, is_status_byte)?;
        if answer.is_none() {
            self.stale_answer_possible = true;
        }
        Ok(answer)
    }

    fn read_status(&mut self) -> std::io::Result<Option<StatusBytes>> {
        for round in 1..=STATUS_ROUNDS {
            self.discard_stale_input()?;
            let Some(printer) = self.ask(1)? else { return Ok(None) };
            let Some(offline_cause) = self.ask(2)? else { return Ok(None) };
            let Some(paper) = self.ask(4)? else { return Ok(None) };
            let bytes = StatusBytes { printer, offline_cause, paper };
            if bytes.consistent() {
                return Ok(Some(bytes));
            }
            tracing::debug!(round, ?bytes, "printer answers contradict each other; asking again");
            self.stale_answer_possible = true;
        }
        Ok(None)
    }

    /// Waits until the printer has put the job on paper. `GS r 1` is answered in turn,
    /// after every byte before it has been printed, so its answer is the evidence; it is
    /// given as long as the job needs on the wire and on paper.
    fn wait_printed(&mut self, job: &[u8]) -> std::io::Result<AfterJob> {
        let paper = self.settings.paper_time(job);
        if self.answers_gs_r == Some(false) {
            let until = self.line_idle_at + paper;
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            return Ok(AfterJob::Unanswered);
        }
        self.discard_stale_input()?;
        self.send(&[0x1d, b'r', 1])?;
        let deadline = self.answer_deadline(paper + Duration::from_secs(1));
        match self.read_until(deadline, is_gs_r_answer)? {
            Some(b) if b & 0x0c != 0 => Ok(AfterJob::PaperEnd),
            Some(_) => Ok(AfterJob::Printed),
            None => {
                self.stale_answer_possible = true;
                Ok(AfterJob::Unanswered)
            }
        }
    }

    /// Why the port cannot be used, in words: nothing there is a printer to plug in; a
    /// file, folder or refusal is a setting or permission to fix, and staff must be told
    /// which.
    fn open_problem(&self, e: &serialport::Error) -> PrinterStatus {
        let path = Path::new(&self.settings.path);
        let shown = path.display();
        match std::fs::metadata(path) {
            Err(m) if m.kind() == ErrorKind::NotFound => PrinterStatus::Offline,
            Err(m) if m.kind() == ErrorKind::PermissionDenied => PrinterStatus::Unusable(format!(
                "{shown}: permission denied; add the kiosk's user to the dialout group"
            )),
            Ok(meta) if meta.is_dir() => {
                PrinterStatus::Unusable(format!("{shown} is a folder, not a serial port: pick the printer's port"))
            }
            Ok(meta) if meta.is_file() => {
                PrinterStatus::Unusable(format!("{shown} is a plain file, not a serial port: pick the printer's port"))
            }
            _ => match e.kind() {
                serialport::ErrorKind::Io(ErrorKind::PermissionDenied) => PrinterStatus::Unusable(format!(
                    "{shown}: permission denied; add the kiosk's user to the dialout group"
                )),
                serialport::ErrorKind::NoDevice => PrinterStatus::Unusable(format!(
                    "{shown} is busy or not a serial port ({e}): pick the printer's port"
                )),
                _ => PrinterStatus::Unusable(format!(
                    "{shown} is not a serial port the kiosk can open ({e}): pick the printer's port"
                )),
            },
        }
    }

    fn fail(&mut self, what: &str, e: &std::io::Error) -> PrinterError {
        tracing::warn!(port = %self.settings.path, error = %e, "printer port failed {what}; will reopen");
        self.port = None;
        PrinterError::Interrupted(PrinterStatus::Offline)
    }
}

impl Printer for SerialPrinter {
    fn name(&self) -> &str {
        &self.name
    }

    fn status(&mut self) -> PrinterStatus {
        if let Err(e) = self.port() {
            let status = self.open_problem(&e);
            tracing::debug!(port = %self.settings.path, error = %e, ?status, "printer port not available");
            return status;
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

    /// Checks the printer is ready, sends the job, waits for it to be printed, then checks
    /// again. A job is reported cut off only on evidence: the printer reporting paper out
    /// or a fault afterwards, or falling silent where it answered before.
    fn print(&mut self, job: &[u8]) -> Result<PathBuf, PrinterError> {
        let before = self.status();
        if !before.can_print() {
            return Err(PrinterError::NotReady(before));
        }
        if let Err(e) = self.send(job) {
            return Err(self.fail("mid-job", &e));
        }
        let after_job = match self.wait_printed(job) {
            Ok(answer) => answer,
            Err(e) => return Err(self.fail("after a job", &e)),
        };
        let mut after = self.status();
        if after == PrinterStatus::NotResponding {
            // Busy heads may answer slowly right after a long job: ask once more.
            after = self.status();
        }
        if after_job == AfterJob::PaperEnd && after.can_print() {
            after = PrinterStatus::PaperOut;
        }
        if !after.can_print() {
            return Err(PrinterError::Interrupted(after));
        }
        if self.answers_gs_r.is_none() {
            // Silence from a printer that was ready all along, given all the time the job
            // needed, means it does not know the command.
            self.answers_gs_r = Some(after_job != AfterJob::Unanswered);
            tracing::info!(port = %self.settings.path, answers = ?self.answers_gs_r, "printer's GS r support");
        }
        Ok(PathBuf::from(&self.settings.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_come_from_the_line_speed_and_the_paper() {
        let mut s = SerialSettings::new("/dev/null", 9600);
        assert_eq!(s.wire_time(960), Duration::from_secs(1));
        s.baud = 115_200;
        assert_eq!(s.wire_time(11_520), Duration::from_secs(1));
        s.profile = PrinterProfile::builtin("generic-58");
        // 60 mm/s at 8 dots per mm: 480 dots of feed take a second.
        let feed = [0x1b, b'@', 0x1b, b'J', 240, 0x1b, b'J', 240];
        let t = s.paper_time(&feed);
        assert!(t >= Duration::from_secs(1) && t < Duration::from_millis(1100), "{t:?}");
    }

    #[test]
    fn a_port_that_is_not_a_printer_says_what_it_is() {
        let dir = std::env::temp_dir().join(format!("md-not-a-port-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ttyUSB9");
        std::fs::write(&file, b"").unwrap();
        for (path, expect) in [(dir.clone(), "is a folder"), (file, "is a plain file")] {
            let mut p = SerialPrinter::new(SerialSettings::new(path.to_str().unwrap(), 9600));
            match p.status() {
                PrinterStatus::Unusable(why) => {
                    assert!(why.contains(path.to_str().unwrap()) && why.contains(expect), "{why}")
                }
                other => panic!("{other:?}"),
            }
        }
        let mut missing = SerialPrinter::new(SerialSettings::new("/dev/ttyUSB-none", 9600));
        assert_eq!(missing.status(), PrinterStatus::Offline);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
