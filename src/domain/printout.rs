//! What goes on paper, as data: receipts, stickers and the end-of-day report.
//!
//! A printout is a snapshot taken when the job is queued (in the sale's transaction), so
//! a receipt printed an hour later, or reprinted next week, says what was true at the
//! sale. Layout for a given paper width happens at print time, in `crate::print`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::cart::Totals;
use super::cash::{Drawer, RefundSplit};
use super::money::{Money, VatRate};
use super::sale::{NewSale, ReceiptNumber, ReturnsWindow, SaleLine};
use super::tender::Tender;
use crate::i18n::Language;
use crate::t;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptDoc {
    pub stall: String,
    pub number: ReceiptNumber,
    pub at: DateTime<Utc>,
    pub lines: Vec<SaleLine>,
    pub totals: Totals,
    pub vat_rate: VatRate,
    pub tenders: Vec<Tender>,
    pub change: Money,
    /// Last day the customer may return or have the piece verified at the stall.
    pub returns_until: DateTime<Utc>,
    /// The QR: a one-piece sale links to the piece's provenance, otherwise to the order.
    pub qr: String,
}

impl ReceiptDoc {
    pub fn new(stall: &str, number: ReceiptNumber, sale: &NewSale, window: ReturnsWindow, verify_url: &str) -> Self {
        let base = verify_url.trim_end_matches('/');
        let qr = match sale.lines.as_slice() {
            [only] => format!("{base}/p/{}", only.serial.as_str()),
            _ => format!("{base}/o/{number}"),
        };
        ReceiptDoc {
            stall: stall.to_owned(),
            number,
            at: sale.at,
            lines: sale.lines.clone(),
            totals: sale.totals,
            vat_rate: sale.vat_rate,
            tenders: sale.tenders.clone(),
            change: sale.change,
            returns_until: window.ends(sale.at),
            qr,
        }
    }

    pub fn paid_cash(&self) -> bool {
        self.tenders.iter().any(|t| matches!(t, Tender::Cash { .. }))
    }
}

/// A label for a piece, its bag or its provenance card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickerDoc {
    pub serial: String,
    /// "07 of 24".
    pub edition: String,
    pub title: String,
    pub price: Money,
    pub qr: String,
}

impl StickerDoc {
    pub fn provenance_url(verify_url: &str, serial: &str) -> String {
        format!("{}/p/{serial}", verify_url.trim_end_matches('/'))
    }
}

/// A reservation slip for the customer: the code to bring back, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlipDoc {
    pub stall: String,
    /// "ABC-DEFG".
    pub code: String,
    pub qr: String,
    pub serial: String,
    pub customer: String,
    pub price: Money,
    pub expires_at: DateTime<Utc>,
    /// A short hold rather than a reservation.
    pub hold: bool,
}

/// The slip that goes with a parcel a courier collected: what was handed over, to whom,
/// and the photo's short hash with a QR to the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchSlipDoc {
    pub stall: String,
    pub order: String,
    pub buyer: String,
    pub pieces: Vec<String>,
    pub tracking_number: String,
    pub courier: String,
    pub courier_name: String,
    pub captured_at: DateTime<Utc>,
    /// The first digits of the photo's SHA-256.
    pub photo_short: String,
    /// Where the proof can be looked up: `<verify host>/d/<order>/<photo sha256>`.
    pub qr: String,
}

impl DispatchSlipDoc {
    pub fn proof_url(verify_url: &str, order: &str, photo_sha256: &str) -> String {
        format!("{}/d/{order}/{photo_sha256}", verify_url.trim_end_matches('/'))
    }
}

/// The end-of-day (Z) report for one device and one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZReport {
    pub stall: String,
    pub device: String,
    pub day: NaiveDate,
    pub generated_at: DateTime<Utc>,
    /// Sales not voided.
    pub sales: u32,
    pub pieces: u32,
    pub gross: Money,
    pub vat: Money,
    /// Per tender kind ("Cash", "Card"): count and amount kept (cash net of change).
    pub by_tender: Vec<(String, u32, Money)>,
    /// Per drop name: pieces and amount.
    pub by_drop: Vec<(String, u32, Money)>,
    pub voids: u32,
    pub returns: u32,
    pub refunded: Money,
    /// What the drawer should hold: float, cash kept from sales and cash in, less cash
    /// refunds and cash out.
    pub cash_expected: Money,
    /// The drawer's lines (absent in a report queued before the drawer was kept).
    #[serde(default)]
    pub drawer: Option<Drawer>,
    /// Refunds paid back to cards on the terminal.
    #[serde(default)]
    pub refunded_to_card: Option<Money>,
    pub unsynced_changes: u64,
}

/// The customer's record of a return or a void: what came back and how they were paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundSlipDoc {
    pub stall: String,
    /// The receipt of the sale being refunded.
    pub receipt: ReceiptNumber,
    pub at: DateTime<Utc>,
    /// A whole sale voided, rather than pieces returned.
    pub void: bool,
    /// The pieces taken back.
    pub lines: Vec<SaleLine>,
    pub amount: Money,
    pub split: RefundSplit,
    pub reason: String,
}

/// One print job's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Printout {
    Receipt(ReceiptDoc),
    Sticker(StickerDoc),
    ZReport(ZReport),
    Slip(SlipDoc),
    DispatchSlip(DispatchSlipDoc),
    RefundSlip(RefundSlipDoc),
    /// A test page: the stall name and the printer's abilities.
    Test {
        stall: String,
        at: DateTime<Utc>,
    },
}

impl Printout {
    /// How the queue lists the job: "Receipt K1-000042", "Sticker AT-2026-0007".
    pub fn title(&self) -> String {
        match self {
            Printout::Receipt(r) => format!("Receipt {}", r.number),
            Printout::Sticker(s) => format!("Sticker {}", s.serial),
            Printout::ZReport(z) => format!("End-of-day report {}", z.day),
            Printout::Slip(s) => format!("Reservation slip {}", s.code),
            Printout::DispatchSlip(d) => format!("Dispatch slip {}", d.order),
            Printout::RefundSlip(r) => format!("Refund slip {}", r.receipt),
            Printout::Test { .. } => "Test page".into(),
        }
    }

    /// The same, as the Printer screen shows it in `language`.
    pub fn title_in(&self, language: Language) -> String {
        let l = language;
        match self {
            Printout::Receipt(r) => t!(l, "Receipt {number}", number = r.number),
            Printout::Sticker(s) => t!(l, "Sticker {serial}", serial = s.serial),
            Printout::ZReport(z) => t!(l, "End-of-day report {day}", day = crate::i18n::date(l, z.day)),
            Printout::Slip(s) => t!(l, "Reservation slip {code}", code = s.code),
            Printout::DispatchSlip(d) => t!(l, "Dispatch slip {order}", order = d.order),
            Printout::RefundSlip(r) => t!(l, "Refund slip {receipt}", receipt = r.receipt),
            Printout::Test { .. } => t!(l, "Test page"),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Printout::Receipt(_) => "receipt",
            Printout::Sticker(_) => "sticker",
            Printout::ZReport(_) => "z_report",
            Printout::Slip(_) => "slip",
            Printout::DispatchSlip(_) => "dispatch_slip",
            Printout::RefundSlip(_) => "refund_slip",
            Printout::Test { .. } => "test",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Serial};

    fn line(serial: &str) -> SaleLine {
        let m = Money::new(18500, Currency::GBP);
        SaleLine {
            serial: Serial::parse(serial).unwrap(),
            title: "Clasp pendant".into(),
            edition: "07 of 24".into(),
            drop_id: None,
            unit_price: m,
            discount: Money::zero(Currency::GBP),
            discount_reason: None,
            net: m,
            vat: Money::new(3083, Currency::GBP),
            reservation_id: None,
        }
    }

    fn sale(lines: Vec<SaleLine>) -> NewSale {
        let total = Money::new(18500 * lines.len() as i64, Currency::GBP);
        NewSale {
            id: uuid::Uuid::nil(),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            member_id: None,
            lines,
            tenders: vec![Tender::Cash { tendered: total }],
            totals: Totals { subtotal: total, discount: Money::zero(Currency::GBP), total, vat: total },
            vat_rate: VatRate(2000),
            change: Money::zero(Currency::GBP),
        }
    }

    #[test]
    fn receipt_qr_points_at_the_piece_or_the_order() {
        let n = ReceiptNumber { device: "K1".into(), seq: 42 };
        let w = ReturnsWindow { days: 7 };
        let one = ReceiptDoc::new("S", n.clone(), &sale(vec![line("AT-2026-0007")]), w, "https://v.example/");
        assert_eq!(one.qr, "https://v.example/p/AT-2026-0007");
        assert_eq!(one.returns_until - one.at, chrono::Duration::days(7));
        assert!(one.paid_cash());
        let two =
            ReceiptDoc::new("S", n, &sale(vec![line("AT-2026-0007"), line("AT-2026-0008")]), w, "https://v.example");
        assert_eq!(two.qr, "https://v.example/o/K1-000042");
        let two = Printout::Receipt(two);
        assert_eq!(two.title(), "Receipt K1-000042");
        // The Printer screen says it in the stall's language; the record keeps English.
        assert_eq!(two.title_in(Language::En), two.title());
        assert_eq!(two.title_in(Language::De), "Bon K1-000042");
    }

    #[test]
    fn printouts_survive_the_store_round_trip() {
        let n = ReceiptNumber { device: "K1".into(), seq: 1 };
        let doc = Printout::Receipt(ReceiptDoc::new("S", n, &sale(vec![line("AT-1")]), ReturnsWindow::default(), "u"));
        let json = serde_json::to_string(&doc).unwrap();
        assert!(json.starts_with(r#"{"kind":"receipt""#), "{json}");
        assert_eq!(serde_json::from_str::<Printout>(&json).unwrap(), doc);
    }
}
