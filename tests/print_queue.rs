//! The print queue end to end with real parts: a SQLite file, the print worker thread,
//! the serial ESC/POS driver, and a printer emulated on a pseudo-terminal pair. What the
//! emulator received is rendered back to paper and its QR codes scanned.

use std::time::{Duration, Instant};

use chrono::Utc;
use marketday::demo;
use marketday::domain::printout::{Printout, ReceiptDoc, StickerDoc};
use marketday::domain::{Cart, Currency, ReturnsWindow, Tender, VatRate};
use marketday::print::{LayoutOptions, PrintQueue, PrinterSetup};
use marketday::store::{JobState, Store};
use marketday_hardware::emulator::{EmulatedState, EmulatorOptions, PrinterEmulator};
use marketday_hardware::{Preview, PrinterProfile, PrinterStatus, SerialPrinter, SerialSettings};

const VERIFY: &str = "https://verify.example";

fn queue_on(emulator: &PrinterEmulator, store: &Store) -> PrintQueue {
    let mut settings = SerialSettings::new(emulator.path(), 115_200);
    settings.status_timeout = Duration::from_millis(150);
    let setup = PrinterSetup {
        printer: Box::new(SerialPrinter::new(settings)),
        profile: profile(),
        layout: LayoutOptions::default(),
    };
    PrintQueue::start(store.path(), setup, Duration::from_millis(50)).unwrap()
}

/// A queue on an emulator paced at `baud` both ways.
fn queue_at(
    emulator: &PrinterEmulator,
    store: &Store,
    baud: u32,
    profile: &PrinterProfile,
    layout: LayoutOptions,
) -> PrintQueue {
    let mut settings = SerialSettings::new(emulator.path(), baud);
    settings.status_timeout = Duration::from_millis(150);
    settings.profile = Some(profile.clone());
    let setup = PrinterSetup { printer: Box::new(SerialPrinter::new(settings)), profile: profile.clone(), layout };
    PrintQueue::start(store.path(), setup, Duration::from_millis(50)).unwrap()
}

/// Sells `count` of the demo pieces still for sale in one sale, its receipt queued with it.
fn sell_many(store: &mut Store, count: usize) -> i64 {
    let now = Utc::now();
    let drop = store.drop_by_id(demo::DEMO_DROP).unwrap();
    let mut cart = Cart::new(Currency::GBP);
    let mut total = 0;
    for n in 1..=24 {
        let piece = store.piece(&demo::serial(n)).unwrap().unwrap();
        if cart.lines.len() < count && cart.add(&piece, drop.as_ref(), now).is_ok() {
            total += piece.price.minor;
        }
    }
    assert_eq!(cart.lines.len(), count, "enough demo pieces for sale");
    pay_cash_and_commit(store, cart, marketday::domain::Money::new(total, Currency::GBP))
}

/// Checks `cart` out for `cash` and commits the sale with its receipt job, as the Sell
/// screen does; returns the receipt job's id.
fn pay_cash_and_commit(store: &mut Store, cart: Cart, cash: marketday::domain::Money) -> i64 {
    let tenders = vec![Tender::Cash { tendered: cash }];
    let (sale, _) = cart.checkout(tenders, VatRate(2000), Utc::now(), uuid::Uuid::now_v7()).unwrap();
    store
        .commit_sale_printing(&sale, "K1", |number| {
            Some(Printout::Receipt(ReceiptDoc::new(
                "Test stall",
                number.clone(),
                &sale,
                ReturnsWindow::default(),
                VERIFY,
            )))
        })
        .unwrap();
    store.receipt_job(sale.id).unwrap().expect("the receipt job was committed with the sale").id
}

/// The bytes a queued job goes out as.
fn job_bytes(store: &Store, id: i64, layout: &LayoutOptions, profile: &PrinterProfile) -> Vec<u8> {
    let job = store.print_job(id).unwrap().unwrap();
    marketday_hardware::encode(&marketday::print::layout(&job.printout, profile, layout, false), profile).unwrap()
}

fn with_logo() -> LayoutOptions {
    let (w, h) = marketday::print::LOGO_BOX;
    LayoutOptions {
        logo: Some(marketday_hardware::Bitmap::from_png(demo::LOGO_PNG, w, h).unwrap()),
        ..LayoutOptions::default()
    }
}

/// Real receipts from about 1 KB to the largest a stall makes (eleven pieces, the logo, a
/// raster QR code on a panel printer) go through the queue at `baud`; each reaches the
/// paper exactly once, whole, at the first attempt.
fn every_receipt_prints_exactly_once_at(baud: u32, answers_gs_r: bool) {
    let cases = [
        ("generic-80", 1, LayoutOptions::default(), 700),
        ("generic-80", 10, with_logo(), 3_800),
        ("panel-58", 11, with_logo(), 5_000),
    ];
    for (profile, items, layout, at_least) in cases {
        let what = format!("{baud} baud, GS r {answers_gs_r}, {items} pieces on {profile}");
        let profile = PrinterProfile::builtin(profile).unwrap();
        let (_dir, mut store) = seeded();
        let emulator = PrinterEmulator::start_with(EmulatorOptions { baud: Some(baud), answers_gs_r }).unwrap();
        let id = sell_many(&mut store, items);
        let expected = job_bytes(&store, id, &layout, &profile);
        assert!(expected.len() >= at_least, "{what}: {} bytes", expected.len());
        let queue = queue_at(&emulator, &store, baud, &profile, layout);
        queue.wake();
        let wire = Duration::from_millis(expected.len() as u64 * 10_000 / u64::from(baud));
        wait_for_within(&what, wire * 3 + Duration::from_secs(10), || queue.status().printed == 1);
        // A second copy would start at once if the first was judged cut off: give it time.
        std::thread::sleep(Duration::from_millis(500).max(wire / 4));
        let job = store.print_job(id).unwrap().unwrap();
        assert_eq!((job.state, job.attempts, job.reprint), (JobState::Printed, 1, false), "{what}");
        assert_eq!(emulator.received(), expected, "{what}: the job reached the printer once, byte for byte");
        drop(queue);
    }
}

#[test]
fn every_receipt_prints_exactly_once_at_9600_baud() {
    every_receipt_prints_exactly_once_at(9_600, true);
}

#[test]
fn every_receipt_prints_exactly_once_at_19200_baud() {
    every_receipt_prints_exactly_once_at(19_200, true);
}

#[test]
fn every_receipt_prints_exactly_once_at_115200_baud() {
    every_receipt_prints_exactly_once_at(115_200, true);
}

#[test]
fn every_receipt_prints_exactly_once_at_19200_baud_on_a_printer_that_ignores_gs_r() {
    every_receipt_prints_exactly_once_at(19_200, false);
}

#[test]
fn a_job_cut_off_twice_is_held_for_staff_with_the_reason_and_not_sent_again() {
    let (_dir, mut store) = seeded();
    let emulator = PrinterEmulator::start_with(EmulatorOptions { baud: Some(19_200), answers_gs_r: true }).unwrap();
    emulator.run_out_after(300);
    let profile = profile_80();
    let queue = queue_at(&emulator, &store, 19_200, &profile, LayoutOptions::default());
    let receipt = sell_many(&mut store, 1);
    queue.wake();
    wait_for("the first cut-off", || store.print_job(receipt).unwrap().unwrap().reprint);
    // Paper loaded, and it runs out again part-way through the reprint.
    emulator.run_out_after(300);
    emulator.set(EmulatedState::Ready);
    queue.wake();
    wait_for("the job to be held", || store.print_job(receipt).unwrap().unwrap().state == JobState::Held);
    let job = store.print_job(receipt).unwrap().unwrap();
    assert_eq!(job.attempts, marketday::print::MAX_SENDS);
    let why = job.last_error.unwrap();
    assert!(why.contains("twice") && why.contains("Paper out"), "{why}");
    wait_for("the held count on the status bar", || queue.status().held == 1);
    let sent = emulator.received().len();
    emulator.set(EmulatedState::Ready);
    queue.wake();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(emulator.received().len(), sent, "a held job is not sent again until staff ask");
}

fn profile_80() -> PrinterProfile {
    PrinterProfile::builtin("generic-80").unwrap()
}

fn profile() -> PrinterProfile {
    PrinterProfile::builtin("generic-58").unwrap()
}

fn wait_for(what: &str, f: impl FnMut() -> bool) {
    wait_for_within(what, Duration::from_secs(15), f)
}

fn wait_for_within(what: &str, patience: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Sells demo piece `n` for cash, queueing its receipt in the sale's transaction.
fn sell(store: &mut Store, n: u32) -> i64 {
    let now = Utc::now();
    let piece = store.piece(&demo::serial(n)).unwrap().unwrap();
    let drop = store.drop_by_id(demo::DEMO_DROP).unwrap();
    let mut cart = Cart::new(Currency::GBP);
    cart.add(&piece, drop.as_ref(), now).unwrap();
    pay_cash_and_commit(store, cart, piece.price)
}

fn scan(preview: &Preview) -> Vec<String> {
    let (w, h, luma) = preview.to_luma();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    let mut found: Vec<String> =
        img.detect_grids().into_iter().filter_map(|g| g.decode().ok()).map(|(_, text)| text).collect();
    found.sort();
    found
}

fn seeded() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
    demo::seed(&mut store, "Test stall", Utc::now()).unwrap();
    (dir, store)
}

#[test]
fn paper_out_holds_the_queue_and_every_job_prints_once_paper_is_loaded() {
    let (_dir, mut store) = seeded();
    let emulator = PrinterEmulator::start().unwrap();
    emulator.set(EmulatedState::PaperOut);
    let queue = queue_on(&emulator, &store);

    let receipt = sell(&mut store, 5);
    let sticker = StickerDoc {
        serial: demo::serial(6).as_str().into(),
        edition: "06 of 24".into(),
        title: "Clasp pendant, moonstone".into(),
        price: marketday::domain::Money::new(19_500, Currency::GBP),
        qr: StickerDoc::provenance_url(VERIFY, demo::serial(6).as_str()),
    };
    let sticker_id = store.enqueue_prints(&[Printout::Sticker(sticker)], Utc::now()).unwrap()[0];
    queue.wake();

    wait_for("the worker to see paper out with two jobs waiting", || {
        let s = queue.status();
        s.status == PrinterStatus::PaperOut && s.waiting == 2
    });
    assert!(queue.status().blocked.unwrap().contains("Paper out"), "staff are told why");
    std::thread::sleep(Duration::from_millis(300));
    assert!(emulator.received().is_empty(), "nothing is sent to a printer without paper");
    assert_eq!(store.print_job(receipt).unwrap().unwrap().state, JobState::Queued);

    emulator.set(EmulatedState::Ready);
    queue.wake();
    wait_for("both jobs to print", || queue.status().printed == 2);
    for id in [receipt, sticker_id] {
        let job = store.print_job(id).unwrap().unwrap();
        assert_eq!((job.state, job.reprint), (JobState::Printed, false), "{}", job.title);
    }

    // The bytes the printer got, put back on paper: well-formed ESC/POS (the interpreter
    // is strict), the pound sign in CP858, and both QR codes scan to their exact payloads.
    let bytes = emulator.received();
    let paper = Preview::render(&bytes, &profile()).expect("well-formed ESC/POS");
    assert!(bytes.windows(7).any(|w| w == b"\x9c185.00"), "£185.00 as CP858 bytes");
    assert!(paper.lines.iter().any(|l| l.contains("TOTAL") && l.contains("£185.00")), "{:#?}", paper.lines);
    assert!(paper.lines.iter().any(|l| l.starts_with("AT-2026-0006") && l.contains("£195.00")));
    assert_eq!(
        scan(&paper),
        vec![format!("{VERIFY}/p/{}", demo::serial(5).as_str()), format!("{VERIFY}/p/{}", demo::serial(6).as_str())]
    );
    drop(queue);
}

#[test]
fn a_job_cut_off_when_the_paper_runs_out_prints_again_whole_marked_reprint() {
    let (_dir, mut store) = seeded();
    let emulator = PrinterEmulator::start().unwrap();
    emulator.run_out_after(300);
    let queue = queue_on(&emulator, &store);
    let receipt = sell(&mut store, 8);
    queue.wake();

    wait_for("the cut-off job to go back in the queue as a reprint", || {
        let job = store.print_job(receipt).unwrap().unwrap();
        job.state == JobState::Queued && job.reprint && job.attempts == 1
    });
    let first_try = emulator.received().len();
    assert!(first_try >= 300, "part of the receipt reached the printer");

    emulator.set(EmulatedState::Ready);
    queue.wake();
    wait_for("the reprint", || store.print_job(receipt).unwrap().unwrap().state == JobState::Printed);
    let bytes = emulator.received();
    let reprint = Preview::render(&bytes[first_try..], &profile()).expect("the reprint is a whole job");
    assert_eq!(reprint.lines.first().map(String::as_str), Some("** REPRINT **"));
    assert!(reprint.lines.iter().any(|l| l.contains("TOTAL")), "the whole receipt, not the rest of it");
    assert_eq!(scan(&reprint), vec![format!("{VERIFY}/p/{}", demo::serial(8).as_str())]);
}
