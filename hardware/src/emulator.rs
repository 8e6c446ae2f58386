//! An ESC/POS printer emulated on the far side of a pseudo-terminal pair: it answers
//! `DLE EOT n` and `GS r 1` status queries for the state it is put in and keeps every
//! other byte it receives, as a real printer's input buffer would. It does not parse
//! commands in context, so a raster image containing those three bytes would confuse it. Tests drive the real serial driver
//! against it; it can also stand in for a printer when trying a kiosk on a laptop.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatedState {
    Ready,
    PaperOut,
    CoverOpen,
    /// Powered but not answering.
    Silent,
}

struct Shared {
    state: EmulatedState,
    received: Vec<u8>,
    /// Paper runs out once this many more job bytes have arrived.
    paper_left: Option<usize>,
}

pub struct PrinterEmulator {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    path: String,
    _slave: TTYPort,
}

impl PrinterEmulator {
    pub fn start() -> Result<PrinterEmulator, serialport::Error> {
        let (mut master, slave) = TTYPort::pair()?;
        master.set_timeout(Duration::from_millis(10))?;
        let path =
            slave.name().ok_or_else(|| serialport::Error::new(serialport::ErrorKind::NoDevice, "no pty name"))?;
        let shared =
            Arc::new(Mutex::new(Shared { state: EmulatedState::Ready, received: Vec::new(), paper_left: None }));
        let stop = Arc::new(AtomicBool::new(false));
        let (sh, sp) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut pending: Vec<u8> = Vec::new();
            let mut buf = [0u8; 512];
            while !sp.load(Ordering::Relaxed) {
                let n = match master.read(&mut buf) {
                    Ok(n) => n,
                    Err(_) => continue, // timeout, or nobody on the other side yet
                };
                pending.extend_from_slice(&buf[..n]);
                let mut i = 0;
                while i < pending.len() {
                    // A command may be split across reads: wait for the rest of it.
                    let starts_query = matches!(pending[i], 0x10 | 0x1d);
                    if starts_query && pending.len() - i < 3 {
                        break;
                    }
                    let state = sh.lock().expect("emulator lock").state;
                    if pending[i] == 0x10 && pending[i + 1] == 0x04 && (1..=4).contains(&pending[i + 2]) {
                        if let Some(answer) = answer(state, pending[i + 2]) {
                            let _ = master.write_all(&[answer]);
                        }
                        i += 3;
                    } else if pending[i] == 0x1d && pending[i + 1] == b'r' && pending[i + 2] == 1 {
                        // GS r 1 is answered once everything before it is printed: never while
                        // the printer is stuck without paper or with its lid open.
                        if state == EmulatedState::Ready {
                            let _ = master.write_all(&[0x00]);
                        }
                        i += 3;
                    } else {
                        let mut s = sh.lock().expect("emulator lock");
                        s.received.push(pending[i]);
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

    /// The paper runs out after `bytes` more bytes of jobs, mid-job if need be.
    pub fn run_out_after(&self, bytes: usize) {
        self.shared.lock().expect("emulator lock").paper_left = Some(bytes.max(1));
    }

    /// Every byte received except status queries.
    pub fn received(&self) -> Vec<u8> {
        self.shared.lock().expect("emulator lock").received.clone()
    }
}

/// The `DLE EOT n` answer an Epson-compatible printer gives in `state`.
fn answer(state: EmulatedState, n: u8) -> Option<u8> {
    Some(match (state, n) {
        (EmulatedState::Silent, _) => return None,
        (EmulatedState::PaperOut, 1) => 0x1a,
        (EmulatedState::PaperOut, 2) => 0x32,
        (EmulatedState::PaperOut, 4) => 0x72,
        (EmulatedState::CoverOpen, 1) => 0x1a,
        (EmulatedState::CoverOpen, 2) => 0x16,
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
