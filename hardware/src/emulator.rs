//! An ESC/POS printer emulated on the far side of a pseudo-terminal pair: it answers
//! `DLE EOT n` and `GS r 1` status queries for the state it is put in and keeps every
//! other byte it receives, as a real printer's input buffer would. It does not parse
//! commands in context, so a raster image containing those three bytes would confuse it.
//! Tests drive the real serial driver against it; it can also stand in for a printer when
//! trying a kiosk on a laptop.
//!
//! A pty has no line speed: bytes cross it as fast as both ends can copy them, which hides
//! every timing bug a real 9600-baud line shows. Given a baud rate, the emulator takes bytes
//! off the line no faster than that rate and sends its answers at it, so the kernel's
//! buffer fills and the driver's writes and waits meet the same delays a real printer gives.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatedState {
    Ready,
    PaperOut,
    CoverOpen,
    /// Powered but not answering.
    Silent,
}

/// How the emulated printer behaves on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// Line speed both ways; `None` is a pty's unlimited speed.
    pub baud: Option<u32>,
    /// Whether it knows `GS r 1` (many cheap printers ignore it).
    pub answers_gs_r: bool,
}

impl Default for EmulatorOptions {
    fn default() -> EmulatorOptions {
        EmulatorOptions { baud: None, answers_gs_r: true }
    }
}

struct Shared {
    state: EmulatedState,
    drawer_open: bool,
    received: Vec<u8>,
    /// Paper runs out once this many more job bytes have arrived.
    paper_left: Option<usize>,
    /// The next this-many answers are sent this much later than they should be.
    late: (usize, Duration),
    /// When the last job byte came off the line.
    last_byte_at: Option<Instant>,
    /// Status questions seen: `DLE EOT n` and `GS r 1`.
    questions: usize,
}

pub struct PrinterEmulator {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    path: String,
    _slave: TTYPort,
}

/// Bytes in flight one way at a line speed: each byte may be taken or delivered only once
/// the line has had time to carry it.
struct Line {
    byte_time: Option<Duration>,
    free_at: Instant,
}

impl Line {
    fn new(baud: Option<u32>) -> Line {
        let byte_time = baud.map(|b| Duration::from_micros(10_000_000 / u64::from(b.max(1))));
        Line { byte_time, free_at: Instant::now() }
    }

    /// How many bytes the line has carried by now (at most `max`), and book them.
    fn take(&mut self, max: usize) -> usize {
        let Some(byte_time) = self.byte_time else { return max };
        let now = Instant::now();
        // An idle line does not bank time for a burst later: a few bytes' worth at most.
        if let Some(floor) = now.checked_sub(byte_time * 4) {
            self.free_at = self.free_at.max(floor);
        }
        let mut n = 0;
        while n < max && self.free_at <= now {
            self.free_at += byte_time;
            n += 1;
        }
        n
    }

    /// Gives back line time booked for bytes that were not there to take.
    fn refund(&mut self, bytes: usize) {
        if let Some(byte_time) = self.byte_time {
            self.free_at -= byte_time * bytes as u32;
        }
    }

    /// When a byte sent after `earliest` arrives at the far end.
    fn deliver(&mut self, earliest: Instant) -> Instant {
        let Some(byte_time) = self.byte_time else { return earliest };
        self.free_at = self.free_at.max(earliest) + byte_time;
        self.free_at
    }
}

impl PrinterEmulator {
    /// An emulator at a pty's unlimited speed that answers every question at once.
    pub fn start() -> Result<PrinterEmulator, serialport::Error> {
        PrinterEmulator::start_with(EmulatorOptions::default())
    }

    pub fn start_with(options: EmulatorOptions) -> Result<PrinterEmulator, serialport::Error> {
        let (mut master, slave) = TTYPort::pair()?;
        master.set_timeout(Duration::from_millis(1))?;
        let path =
            slave.name().ok_or_else(|| serialport::Error::new(serialport::ErrorKind::NoDevice, "no pty name"))?;
        let shared = Arc::new(Mutex::new(Shared {
            state: EmulatedState::Ready,
            drawer_open: false,
            received: Vec::new(),
            paper_left: None,
            late: (0, Duration::ZERO),
            last_byte_at: None,
            questions: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (sh, sp) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut inbound = Line::new(options.baud);
            let mut outbound = Line::new(options.baud);
            let mut answers: VecDeque<(Instant, u8)> = VecDeque::new();
            let mut pending: Vec<u8> = Vec::new();
            let mut buf = [0u8; 512];
            while !sp.load(Ordering::Relaxed) {
                while answers.front().is_some_and(|(due, _)| *due <= Instant::now()) {
                    let (_, byte) = answers.pop_front().expect("checked");
                    let _ = master.write_all(&[byte]);
                }
                let allowed = inbound.take(buf.len());
                if allowed == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                    continue;
                }
                // A timeout, or nobody on the other side yet, is no bytes.
                let n: usize = master.read(&mut buf[..allowed]).unwrap_or_default();
                inbound.refund(allowed - n);
                pending.extend_from_slice(&buf[..n]);
                let mut i = 0;
                while i < pending.len() {
                    // A command may be split across reads: wait for the rest of it.
                    let starts_query = matches!(pending[i], 0x10 | 0x1d);
                    if starts_query && pending.len() - i < 3 {
                        break;
                    }
                    let mut s = sh.lock().expect("emulator lock");
                    let question = if pending[i] == 0x10 && pending[i + 1] == 0x04 && (1..=4).contains(&pending[i + 2])
                    {
                        Some(answer(s.state, s.drawer_open, pending[i + 2]))
                    } else if pending[i] == 0x1d && pending[i + 1] == b'r' && pending[i + 2] == 1 {
                        // GS r 1 is answered once everything before it is printed: never while
                        // the printer is stuck without paper or with its lid open.
                        Some((options.answers_gs_r && s.state == EmulatedState::Ready).then_some(0x00))
                    } else {
                        None
                    };
                    match question {
                        Some(reply) => {
                            s.questions += 1;
                            if let Some(byte) = reply {
                                let mut earliest = Instant::now();
                                if s.late.0 > 0 {
                                    s.late.0 -= 1;
                                    earliest += s.late.1;
                                }
                                answers.push_back((outbound.deliver(earliest), byte));
                            }
                            i += 3;
                        }
                        None => {
                            s.received.push(pending[i]);
                            s.last_byte_at = Some(Instant::now());
                            if let Some(left) = s.paper_left.as_mut() {
                                *left = left.saturating_sub(1);
                                if *left == 0 {
                                    s.state = EmulatedState::PaperOut;
                                    s.paper_left = None;
                                }
                            }
                            i += 1;
                        }
                    }
                }
                pending.drain(..i);
            }
        });
        Ok(PrinterEmulator { shared, stop, thread: Some(thread), path, _slave: slave })
    }

    /// The serial device to open, e.g. `/dev/pts/7`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn set(&self, state: EmulatedState) {
        self.shared.lock().expect("emulator lock").state = state;
    }

    /// The cash drawer on the printer's kick connector: its switch shows in the printer's
    /// own status byte (bit 2 of `DLE EOT 1`), a bit that means "lid open" in `DLE EOT 2`.
    pub fn set_drawer_open(&self, open: bool) {
        self.shared.lock().expect("emulator lock").drawer_open = open;
    }

    /// The paper runs out after `bytes` more bytes of jobs, mid-job if need be.
    pub fn run_out_after(&self, bytes: usize) {
        self.shared.lock().expect("emulator lock").paper_left = Some(bytes.max(1));
    }

    /// The next `count` answers arrive `by` later than they should, as from a printer busy
    /// with its head.
    pub fn answer_late(&self, count: usize, by: Duration) {
        self.shared.lock().expect("emulator lock").late = (count, by);
    }

    /// Every byte received except status queries.
    pub fn received(&self) -> Vec<u8> {
        self.shared.lock().expect("emulator lock").received.clone()
    }

    /// When the last job byte came off the line.
    pub fn last_byte_at(&self) -> Option<Instant> {
        self.shared.lock().expect("emulator lock").last_byte_at
    }

    /// Status questions received so far.
    pub fn questions(&self) -> usize {
        self.shared.lock().expect("emulator lock").questions
    }
}

/// The `DLE EOT n` answer an Epson-compatible printer gives in `state`; `None`: silence.
fn answer(state: EmulatedState, drawer_open: bool, n: u8) -> Option<u8> {
    let drawer = if drawer_open { 0x04 } else { 0 };
    Some(match (state, n) {
        (EmulatedState::Silent, _) => return None,
        (EmulatedState::PaperOut, 1) => 0x1a | drawer,
        (EmulatedState::PaperOut, 2) => 0x32,
        (EmulatedState::PaperOut, 4) => 0x72,
        (EmulatedState::CoverOpen, 1) => 0x1a | drawer,
        (EmulatedState::CoverOpen, 2) => 0x16,
        (_, 1) => 0x12 | drawer,
        _ => 0x12,
    })
}

impl Drop for PrinterEmulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
