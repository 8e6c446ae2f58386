//! Sample printouts from the demo atelier, rendered through the real encoder and the
//! preview interpreter: the PNGs under `docs/printouts/` and the print benchmark.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use marketday_hardware::{Bitmap, Preview, PrinterProfile, encode};
use uuid::Uuid;

use super::layout::{LayoutOptions, layout};
use crate::domain::cash::{Drawer, RefundSplit};
use crate::domain::printout::{DispatchSlipDoc, Printout, ReceiptDoc, RefundSlipDoc, SlipDoc, StickerDoc, ZReport};
use crate::domain::{Cart, Currency, Discount, DiscountKind, Edition, Money, Piece, PieceStatus, ReturnsWindow};
use crate::domain::{ReceiptNumber, Serial, Tender, VatRate};
use crate::i18n::Language;

pub const VERIFY: &str = "https://verify.marketday.example";

fn piece(n: u32, title: &str, price: i64) -> Piece {
    Piece {
        serial: Serial::parse(&format!("AT-2026-{n:04}")).expect("valid serial"),
        drop_id: None,
        edition: Edition::new(n, 24).expect("valid edition"),
        title: title.into(),
        maker: crate::demo::MAKER.into(),
        materials: String::new(),
        origin_notes: String::new(),
        assay_hash: None,
        price: Money::new(price, Currency::GBP),
        status: PieceStatus::Available,
        held_for: None,
    }
}

/// A typical stall receipt: two pieces, one discounted, paid part card, part cash with change.
pub fn receipt(at: DateTime<Utc>) -> ReceiptDoc {
    let mut cart = Cart::new(Currency::GBP);
    let a = piece(7, "Clasp pendant, London blue topaz", 21_000);
    let b = piece(12, "Clasp pendant, moonstone", 19_500);
    cart.add(&a, None, at).expect("available");
    cart.add(&b, None, at).expect("available");
    let friend =
        Discount { kind: DiscountKind::Amount(Money::new(1_500, Currency::GBP)), reason: "Market friend".into() };
    cart.set_discount(&b.serial, Some(friend)).expect("in cart");
    let tenders = vec![
        Tender::Card { amount: Money::new(30_000, Currency::GBP), reference: "004211".into() },
        Tender::Cash { tendered: Money::new(10_000, Currency::GBP) },
    ];
    let (sale, _) = cart.checkout(tenders, VatRate(2000), at, Uuid::nil()).expect("paid in full");
    let number = ReceiptNumber { device: "K1".into(), seq: 42 };
    ReceiptDoc::new("Atelier Thorne · Spitalfields", number, &sale, ReturnsWindow::default(), VERIFY)
}

pub fn sticker() -> StickerDoc {
    StickerDoc {
        serial: "AT-2026-0007".into(),
        edition: "07 of 24".into(),
        title: "Clasp pendant, London blue topaz".into(),
        price: Money::new(21_000, Currency::GBP),
        qr: StickerDoc::provenance_url(VERIFY, "AT-2026-0007"),
    }
}

pub fn slip(at: DateTime<Utc>) -> SlipDoc {
    let code = crate::domain::ReservationCode::from_indices([7, 29, 8, 22, 27, 14]);
    SlipDoc {
        stall: "Atelier Thorne · Spitalfields".into(),
        code: code.to_string(),
        qr: format!("{VERIFY}/r/{}", code.as_str()),
        serial: "AT-2026-0009".into(),
        customer: "Ana Ruiz".into(),
        price: Money::new(18_500, Currency::GBP),
        expires_at: at + chrono::Duration::hours(2),
        hold: true,
    }
}

pub fn dispatch_slip(at: DateTime<Utc>) -> DispatchSlipDoc {
    let sha256 = "3f9a0c41d2b87e55aa0c1f2e9d8b7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
    DispatchSlipDoc {
        stall: "Atelier Thorne · Spitalfields".into(),
        order: "WEB-1042".into(),
        buyer: "Grace Okafor".into(),
        pieces: vec!["AT-2026-0011".into(), "AT-2026-0012".into()],
        tracking_number: "JD000223344GB".into(),
        courier: "Royal Mail Special Delivery".into(),
        courier_name: "Sam Porter".into(),
        captured_at: at,
        photo_short: crate::domain::dispatch::short_hash(sha256).into(),
        qr: DispatchSlipDoc::proof_url(VERIFY, "WEB-1042", sha256),
    }
}

pub fn z_report(at: DateTime<Utc>) -> ZReport {
    let gbp = |m| Money::new(m, Currency::GBP);
    ZReport {
        stall: "Atelier Thorne · Spitalfields".into(),
        device: "K1".into(),
        day: NaiveDate::from_ymd_opt(2026, 11, 21).expect("valid date"),
        generated_at: at,
        sales: 9,
        pieces: 11,
        gross: gbp(208_500),
        vat: gbp(34_750),
        by_tender: vec![("Cash".into(), 4, gbp(61_500)), ("Card".into(), 6, gbp(147_000))],
        by_drop: vec![("Winter Clasp".into(), 11, gbp(208_500))],
        voids: 1,
        returns: 1,
        refunded: gbp(18_500),
        cash_expected: gbp(68_000),
        drawer: Some(Drawer {
            float: gbp(5_000),
            cash_sales: gbp(80_000),
            cash_refunds: gbp(18_500),
            paid_in: gbp(1_500),
            paid_out: gbp(0),
            counted: Some(gbp(67_800)),
            counted_at: Some(at),
        }),
        refunded_to_card: Some(gbp(0)),
        unsynced_changes: 14,
    }
}

/// A piece of the sample receipt returned, its refund split between cash and the card.
pub fn refund_slip(at: DateTime<Utc>) -> RefundSlipDoc {
    let receipt = receipt(at);
    let line = receipt.lines[1].clone();
    RefundSlipDoc {
        stall: receipt.stall,
        receipt: receipt.number,
        at,
        void: false,
        amount: line.net,
        split: RefundSplit {
            cash: Money::new(8_000, Currency::GBP),
            card: Money::new(10_000, Currency::GBP),
            card_reference: Some("004211".into()),
        },
        lines: vec![line],
        reason: "Changed mind".into(),
    }
}

pub fn layout_options(language: Language) -> LayoutOptions {
    let logo = Bitmap::from_png(crate::demo::LOGO_PNG, super::LOGO_BOX.0, super::LOGO_BOX.1).ok();
    LayoutOptions {
        logo,
        cash_drawer: true,
        footer: crate::t!(language, "Thank you for supporting independent makers"),
        language,
        ..Default::default()
    }
}

/// Renders the samples for the 58 mm and 80 mm profiles into `dir` as `.bin` (the bytes a
/// printer gets) and `.png` (what the bytes print), in English (`receipt-generic-58.png`)
/// and in French and German (`receipt-generic-58-fr.png`). Returns the PNGs written.
pub fn render(dir: &Path, at: DateTime<Utc>) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, language) in ["generic-58", "generic-80"].into_iter().flat_map(|n| Language::ALL.map(|l| (n, l))) {
        let profile = PrinterProfile::builtin(name).expect("built-in profile");
        let options = layout_options(language);
        let suffix = if language == Language::En { String::new() } else { format!("-{}", language.code()) };
        let docs = [
            ("receipt", Printout::Receipt(receipt(at)), false),
            ("receipt-reprint", Printout::Receipt(receipt(at)), true),
            ("sticker", Printout::Sticker(sticker()), false),
            ("z-report", Printout::ZReport(z_report(at)), false),
            ("reservation-slip", Printout::Slip(slip(at)), false),
            ("dispatch-slip", Printout::DispatchSlip(dispatch_slip(at)), false),
            ("refund-slip", Printout::RefundSlip(refund_slip(at)), false),
            ("test-page", Printout::Test { stall: "Atelier Thorne · Spitalfields".into(), at }, false),
        ];
        for (what, doc, reprint) in docs {
            let bytes = encode(&layout(&doc, &profile, &options, reprint), &profile)?;
            let preview = Preview::render(&bytes, &profile)?;
            let stem = dir.join(format!("{what}-{name}{suffix}"));
            std::fs::write(stem.with_extension("bin"), &bytes)?;
            std::fs::write(stem.with_extension("png"), preview.to_png())?;
            written.push(stem.with_extension("png"));
        }
    }
    Ok(written)
}

/// Bytes and time on the wire of the typical receipt, and how long a preview takes.
pub fn bench(at: DateTime<Utc>) -> anyhow::Result<()> {
    for name in PrinterProfile::BUILTIN {
        let profile = PrinterProfile::builtin(name).expect("built-in profile");
        let doc = Printout::Receipt(receipt(at));
        let options = layout_options(Language::En);
        let t = Instant::now();
        let bytes = encode(&layout(&doc, &profile, &options, false), &profile)?;
        let encode_ms = t.elapsed().as_secs_f64() * 1e3;
        let mut no_logo = options.clone();
        no_logo.logo = None;
        let plain = encode(&layout(&doc, &profile, &no_logo, false), &profile)?.len();
        let mut renders = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            Preview::render(&bytes, &profile)?.to_png();
            renders.push(t.elapsed().as_secs_f64() * 1e3);
        }
        renders.sort_by(f64::total_cmp);
        // 8N1 framing: 10 bits on the line per byte.
        let wire = |baud: f64| bytes.len() as f64 * 10.0 / baud;
        println!(
            "print profile={name} receipt_bytes={} without_logo_bytes={plain} wire_9600_s={:.2} wire_115200_s={:.3} \
             encode_ms={encode_ms:.2} preview_png_ms_p50={:.1}",
            bytes.len(),
            wire(9600.0),
            wire(115_200.0),
            renders[renders.len() / 2],
        );
    }
    Ok(())
}

/// Time from "Sale complete" (the receipt job committed with the sale) to the cut, through
/// the real print worker and serial driver to the pty emulator paced at each baud rate: the
/// moment the last byte of the receipt (the cut, then the drawer pulse) comes off the line,
/// and the moment the kiosk has recorded it printed.
pub fn sale_to_paper(at: DateTime<Utc>) -> anyhow::Result<()> {
    use marketday_hardware::emulator::{EmulatorOptions, PrinterEmulator};
    use marketday_hardware::{SerialPrinter, SerialSettings};

    use crate::print::{PrintQueue, PrinterSetup};
    use crate::store::{JobState, Store};

    const RUNS: usize = 3;
    for name in ["generic-58", "generic-80"] {
        let profile = PrinterProfile::builtin(name).expect("built-in profile");
        for baud in [9_600, 19_200, 115_200] {
            let dir = std::env::temp_dir().join(format!("marketday-sale-to-paper-{}-{baud}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let store = Store::open(&dir.join("bench.sqlite"))?;
            let emulator = PrinterEmulator::start_with(EmulatorOptions { baud: Some(baud), answers_gs_r: true })?;
            let mut settings = SerialSettings::new(emulator.path(), baud);
            settings.profile = Some(profile.clone());
            let setup = PrinterSetup {
                printer: Box::new(SerialPrinter::new(settings)),
                profile: profile.clone(),
                layout: layout_options(Language::En),
            };
            let queue = PrintQueue::start(store.path(), setup, std::time::Duration::from_millis(200))?;
            let mut store = store;
            let (mut to_cut, mut to_recorded, mut bytes, mut attempts) = (Vec::new(), Vec::new(), 0, Vec::new());
            for _ in 0..RUNS {
                let before = emulator.received().len();
                let id = store.enqueue_prints(&[Printout::Receipt(receipt(at))], Utc::now())?[0];
                let sale_complete = Instant::now();
                queue.wake();
                let deadline = sale_complete + std::time::Duration::from_secs(60);
                let job = loop {
                    let job = store.print_job(id)?.context("the bench receipt vanished")?;
                    if job.state == JobState::Printed || Instant::now() > deadline {
                        break job;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                };
                anyhow::ensure!(job.state == JobState::Printed, "{name} at {baud} baud: the receipt did not print");
                to_recorded.push(sale_complete.elapsed().as_secs_f64());
                let last = emulator.last_byte_at().context("nothing reached the printer")?;
                to_cut.push(last.duration_since(sale_complete).as_secs_f64());
                bytes = emulator.received().len() - before;
                attempts.push(job.attempts);
            }
            to_cut.sort_by(f64::total_cmp);
            to_recorded.sort_by(f64::total_cmp);
            println!(
                "sale_to_paper profile={name} baud={baud} receipt_bytes={bytes} runs={RUNS} to_cut_s_median={:.2} \
                 to_cut_s_max={:.2} recorded_printed_s_median={:.2} attempts={attempts:?}",
                to_cut[RUNS / 2],
                to_cut[RUNS - 1],
                to_recorded[RUNS / 2],
            );
            drop(queue);
            drop(store);
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(())
}
