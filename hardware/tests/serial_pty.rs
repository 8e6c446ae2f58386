//! The serial ESC/POS driver against a printer simulated on the far side of a real
//! pseudo-terminal pair: it answers `DLE EOT n` status queries from a script and keeps
//! every other byte it receives.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use marketday_hardware::{Codepage, Printer, PrinterError, PrinterStatus, SerialPrinter, SerialSettings};
use serialport::{SerialPort, TTYPort};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Ready,
    PaperOut,
    CoverOpen,
    /// Powered but not answering.
    Silent,
}

struct FakePrinter {
    state: Arc<Mutex<State>>,
    received: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    path: String,
    _slave: TTYPort,
}

impl FakePrinter {
    fn start() -> FakePrinter {
        let (mut master, slave) = TTYPort::pair().expect("a pseudo-terminal pair");
        master.set_timeout(Duration::from_millis(10)).unwrap();
        let path = slave.name().expect("the slave side has a path");
        let state = Arc::new(Mutex::new(State::Ready));
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, rx, sp) = (state.clone(), received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut pending: Vec<u8> = Vec::new();
            let mut buf = [0u8; 512];
            while !sp.load(Ordering::Relaxed) {
                let n = match master.read(&mut buf) {
                    Ok(n) => n,
                    Err(_) => continue, // timeout, or no reader yet on the other side
                };
                pending.extend_from_slice(&buf[..n]);
                // Answer complete status queries; keep everything else as printed bytes.
                let mut i = 0;
                while i < pending.len() {
                    if pending[i] == 0x10 && pending.get(i + 1) == Some(&0x04) {
                        let Some(&q) = pending.get(i + 2) else { break };
                        let answer = match (*st.lock().unwrap(), q) {
                            (State::Silent, _) => None,
                            (State::PaperOut, 1) => Some(0x1a),
                            (State::PaperOut, 2) => Some(0x32),
                            (State::PaperOut, 4) => Some(0x72),
                            (State::CoverOpen, 1) => Some(0x1a),
                            (State::CoverOpen, 2) => Some(0x16),
                            _ => Some(0x12),
                        };
                        if let Some(a) = answer {
                            let _ = master.write_all(&[a]);
                        }
                        i += 3;
                    } else {
                        rx.lock().unwrap().push(pending[i]);
                        i += 1;
                    }
                }
                pending.drain(..i);
            }
        });
        FakePrinter { state, received, stop, thread: Some(thread), path, _slave: slave }
    }

    fn set(&self, s: State) {
        *self.state.lock().unwrap() = s;
    }

    fn received(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for FakePrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn printer_on(path: &str) -> SerialPrinter {
    let mut settings = SerialSettings::new(path, 115_200);
    settings.status_timeout = Duration::from_millis(150);
    SerialPrinter::new(settings)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn status_follows_the_printer_ready_paper_out_cover_open_silent() {
    let fake = FakePrinter::start();
    let mut p = printer_on(&fake.path);
    assert_eq!(p.status(), PrinterStatus::Ready);
    fake.set(State::PaperOut);
    assert_eq!(p.status(), PrinterStatus::PaperOut);
    fake.set(State::CoverOpen);
    assert_eq!(p.status(), PrinterStatus::CoverOpen);
    fake.set(State::Silent);
    assert_eq!(p.status(), PrinterStatus::NotResponding);
    fake.set(State::Ready);
    assert_eq!(p.status(), PrinterStatus::Ready);
    assert!(fake.received().is_empty(), "status queries are not printed: {:02x?}", fake.received());
}

#[test]
fn a_job_arrives_byte_for_byte_with_pound_and_euro_in_cp858() {
    let fake = FakePrinter::start();
    let mut p = printer_on(&fake.path);
    let mut job = vec![0x1b, b'@', 0x1b, b't', Codepage::Cp858.esc_t()];
    job.extend(Codepage::Cp858.encode("Clasp pendant  £185.00\nDeposit  €20\n"));
    // Long enough to need several chunks.
    job.extend(std::iter::repeat_n(b'-', 2_000));
    job.push(b'\n');
    p.print(&job).unwrap();
    wait_for("the whole job", || fake.received().len() >= job.len());
    let got = fake.received();
    assert_eq!(got, job);
    assert!(got.windows(7).any(|w| w == b"\x9c185.00"), "£ is 0x9C in CP858");
    assert!(got.windows(3).any(|w| w == b"\xd520"), "€ is 0xD5 in CP858");
}

#[test]
fn paper_out_refuses_the_job_and_says_why() {
    let fake = FakePrinter::start();
    let mut p = printer_on(&fake.path);
    fake.set(State::PaperOut);
    let err = p.print(b"receipt\n").unwrap_err();
    assert!(matches!(err, PrinterError::NotReady(PrinterStatus::PaperOut)), "{err}");
    std::thread::sleep(Duration::from_millis(50));
    assert!(fake.received().is_empty(), "nothing was sent to a printer without paper");
    fake.set(State::Ready);
    p.print(b"receipt\n").unwrap();
    wait_for("the job after paper was loaded", || fake.received() == b"receipt\n");
}

#[test]
fn unknown_port_is_offline_and_an_unplugged_printer_is_picked_up_again() {
    let dir = std::env::temp_dir().join(format!("md-pty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("marketday-printer");
    let link_str = link.to_str().unwrap().to_owned();
    let mut p = printer_on(&link_str);
    assert_eq!(p.status(), PrinterStatus::Offline, "nothing at the port yet");
    assert!(matches!(p.print(b"x"), Err(PrinterError::NotReady(PrinterStatus::Offline))));

    // Plugged in (a stable udev-style name pointing at the device).
    let first = FakePrinter::start();
    std::os::unix::fs::symlink(&first.path, &link).unwrap();
    assert_eq!(p.status(), PrinterStatus::Ready);

    // Unplugged: the device goes away.
    drop(first);
    std::fs::remove_file(&link).unwrap();
    let after_unplug = p.status();
    assert!(matches!(after_unplug, PrinterStatus::Offline | PrinterStatus::NotResponding), "{after_unplug:?}");
    assert_eq!(p.status(), PrinterStatus::Offline);

    // Plugged back in, possibly as another device node: found again, no restart.
    let second = FakePrinter::start();
    std::os::unix::fs::symlink(&second.path, &link).unwrap();
    assert_eq!(p.status(), PrinterStatus::Ready);
    p.print(b"back\n").unwrap();
    wait_for("a job on the replugged printer", || second.received() == b"back\n");
    std::fs::remove_dir_all(&dir).unwrap();
}
