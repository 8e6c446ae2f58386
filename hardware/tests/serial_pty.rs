//! The serial ESC/POS driver against a printer emulated on the far side of a real
//! pseudo-terminal pair: it answers `DLE EOT n` status queries from a script and keeps
//! every other byte it receives.

use std::time::{Duration, Instant};

use marketday_hardware::emulator::{EmulatedState as State, EmulatorOptions, PrinterEmulator as FakePrinter};
use marketday_hardware::{Codepage, Printer, PrinterError, PrinterStatus, SerialPrinter, SerialSettings};

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
    let fake = FakePrinter::start().unwrap();
    let mut p = printer_on(fake.path());
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
    let fake = FakePrinter::start().unwrap();
    let mut p = printer_on(fake.path());
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
    let fake = FakePrinter::start().unwrap();
    let mut p = printer_on(fake.path());
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
    let first = FakePrinter::start().unwrap();
    std::os::unix::fs::symlink(first.path(), &link).unwrap();
    assert_eq!(p.status(), PrinterStatus::Ready);

    // Unplugged: the device goes away.
    drop(first);
    std::fs::remove_file(&link).unwrap();
    let after_unplug = p.status();
    assert!(matches!(after_unplug, PrinterStatus::Offline | PrinterStatus::NotResponding), "{after_unplug:?}");
    assert_eq!(p.status(), PrinterStatus::Offline);

    // Plugged back in, possibly as another device node: found again, no restart.
    let second = FakePrinter::start().unwrap();
    std::os::unix::fs::symlink(second.path(), &link).unwrap();
    assert_eq!(p.status(), PrinterStatus::Ready);
    p.print(b"back\n").unwrap();
    wait_for("a job on the replugged printer", || second.received() == b"back\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn paper_running_out_mid_job_is_reported_as_an_interrupted_job() {
    let fake = FakePrinter::start().unwrap();
    let mut p = printer_on(fake.path());
    fake.run_out_after(100);
    let err = p.print(&[b'x'; 600]).unwrap_err();
    assert!(matches!(err, PrinterError::Interrupted(PrinterStatus::PaperOut)), "{err}");
}

/// A receipt-sized job: text lines and feeds, `len` bytes.
fn job_of(len: usize) -> Vec<u8> {
    let mut job = vec![0x1b, b'@'];
    let mut n = 0;
    while job.len() + 40 < len {
        job.extend(format!("Line {n:04} of a long receipt, 32 chars\n").bytes());
        n += 1;
    }
    job.resize(len - 1, b'.');
    job.push(b'\n');
    job
}

fn paced(baud: u32, answers_gs_r: bool) -> (FakePrinter, SerialPrinter) {
    let fake = FakePrinter::start_with(EmulatorOptions { baud: Some(baud), answers_gs_r }).unwrap();
    let mut settings = SerialSettings::new(fake.path(), baud);
    settings.status_timeout = Duration::from_millis(150);
    settings.profile = marketday_hardware::PrinterProfile::builtin("generic-80");
    (fake, SerialPrinter::new(settings))
}

#[test]
fn jobs_of_1_4_and_8_kb_at_9600_baud_are_sent_once_and_waited_for_with_or_without_gs_r() {
    for (answers_gs_r, sizes) in [(true, vec![1_024, 4_096, 8_192]), (false, vec![4_096, 4_096])] {
        let (fake, mut p) = paced(9600, answers_gs_r);
        let mut sent = 0;
        for len in sizes {
            let job = job_of(len);
            let started = Instant::now();
            p.print(&job).unwrap_or_else(|e| panic!("GS r {answers_gs_r}, {len} bytes: {e}"));
            let returned = Instant::now();
            let got = fake.received();
            assert_eq!(got.len(), sent + len, "GS r {answers_gs_r}, {len} bytes: sent once");
            assert_eq!(&got[sent..], &job[..]);
            sent += len;
            // At 960 bytes/s the line really was slow, and print() waited for all of it.
            let wire = Duration::from_millis(len as u64 * 10_000 / 9600);
            assert!(returned - started >= wire, "{len} bytes: {:?}", returned - started);
            assert!(fake.last_byte_at().unwrap() <= returned, "returned before the last byte was on the line");
        }
    }
}

#[test]
fn a_late_answer_is_not_taken_for_the_answer_to_the_next_question() {
    let (fake, mut p) = paced(19_200, true);
    fake.set_drawer_open(true);
    // The printer's own status (0x16: drawer bit) comes 400 ms late, after the driver gave up.
    fake.answer_late(1, Duration::from_millis(400));
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(p.status());
    }
    assert!(!seen.contains(&PrinterStatus::CoverOpen), "an open drawer read as an open lid: {seen:?}");
    assert_eq!(seen.last(), Some(&PrinterStatus::Ready), "{seen:?}");
    fake.set(State::CoverOpen);
    assert_eq!(p.status(), PrinterStatus::CoverOpen, "a lid that is open is still seen");
}

#[test]
fn paper_running_out_mid_job_at_9600_baud_is_an_interrupted_job() {
    let (fake, mut p) = paced(9600, true);
    fake.run_out_after(1_000);
    let err = p.print(&job_of(2_000)).unwrap_err();
    assert!(matches!(err, PrinterError::Interrupted(PrinterStatus::PaperOut)), "{err}");
}

#[test]
fn a_port_that_is_a_plain_file_or_forbidden_says_so_with_its_path() {
    let dir = std::env::temp_dir().join(format!("md-port-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ttyS9");
    std::fs::write(&file, b"").unwrap();
    let status = printer_on(file.to_str().unwrap()).status();
    let PrinterStatus::Unusable(why) = status else { panic!("{status:?}") };
    assert!(why.contains(file.to_str().unwrap()) && why.contains("not a serial port"), "{why}");
    std::fs::remove_dir_all(&dir).unwrap();
}
