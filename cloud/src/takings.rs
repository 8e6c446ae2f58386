//! A day's takings per kiosk, from the events kiosks pushed, by the rules of the kiosk's own
//! Z report (`store::reports` in the kiosk): a sale counts on the day it was made unless it
//! was voided (whenever that was); its pieces, total and VAT as sold; cash net of the change
//! given; voids and returns counted, and returns' money, on the day they were made.
//! Pure: the store reads the events, the page shows the sums.

use marketday_money::{Currency, Money};
use serde::Deserialize;

/// One event as the store keeps it, with the stall its kiosk belongs to.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub device: String,
    pub stall: String,
    pub kind: String,
    /// When it happened on the kiosk, ms since the epoch.
    pub at: i64,
    pub payload: String,
}

/// What the sums need of a `sale.completed` payload.
#[derive(Debug, Deserialize)]
struct Sale {
    id: String,
    lines: Vec<serde_json::Value>,
    tenders: Vec<Tender>,
    totals: Totals,
    change: Money,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Tender {
    Cash { tendered: Money },
    Card { amount: Money },
}

#[derive(Debug, Deserialize)]
struct Totals {
    total: Money,
    vat: Money,
}

/// What the sums need of a `sale.voided` or `sale.returned` payload.
#[derive(Debug, Deserialize)]
struct Reversal {
    sale_id: String,
    amount: Money,
}

/// One kiosk's day, as its Z report sums it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takings {
    pub stall: String,
    pub device: String,
    pub currency: Currency,
    pub sales: u32,
    pub pieces: u32,
    pub gross: i64,
    pub vat: i64,
    /// Sales paid (partly) in cash, and the cash kept: tendered less change.
    pub cash_sales: u32,
    pub cash: i64,
    pub card_sales: u32,
    pub card: i64,
    pub voids: u32,
    pub returns: u32,
    /// Money paid back for returns.
    pub refunded: i64,
}

impl Takings {
    /// Nothing yet, for `device` at `stall`.
    pub fn empty(stall: &str, device: &str, currency: Currency) -> Takings {
        Takings {
            stall: stall.to_owned(),
            device: device.to_owned(),
            currency,
            sales: 0,
            pieces: 0,
            gross: 0,
            vat: 0,
            cash_sales: 0,
            cash: 0,
            card_sales: 0,
            card: 0,
            voids: 0,
            returns: 0,
            refunded: 0,
        }
    }
}

/// Sums `events` (sales made in `[from, to)`, and every void and return made since `from`)
/// per kiosk, by stall then kiosk. An event this version cannot read is left out and counted
/// in the second value, so a page can say that its sums may be short.
pub fn sum(events: &[Pushed], from: i64, to: i64) -> (Vec<Takings>, usize) {
    let mut unreadable = 0;
    let mut voided: Vec<&str> = Vec::new();
    let mut reversals: Vec<(&Pushed, Reversal)> = Vec::new();
    for event in events.iter().filter(|e| e.kind == "sale.voided" || e.kind == "sale.returned") {
        match serde_json::from_str::<Reversal>(&event.payload) {
            Ok(r) => reversals.push((event, r)),
            Err(e) => {
                tracing::warn!(device = %event.device, kind = %event.kind, at = event.at, error = %e, "takings: an event that cannot be read");
                unreadable += 1
            }
        }
    }
    for (event, r) in &reversals {
        if event.kind == "sale.voided" {
            voided.push(r.sale_id.as_str());
        }
    }
    let mut out: Vec<Takings> = Vec::new();
    let row = |out: &mut Vec<Takings>, e: &Pushed, currency: Currency| -> usize {
        match out.iter().position(|t| t.device == e.device && t.currency == currency) {
            Some(i) => i,
            None => {
                out.push(Takings::empty(&e.stall, &e.device, currency));
                out.len() - 1
            }
        }
    };
    for event in events.iter().filter(|e| e.kind == "sale.completed" && e.at >= from && e.at < to) {
        let sale = match serde_json::from_str::<Sale>(&event.payload) {
            Ok(sale) => sale,
            Err(e) => {
                tracing::warn!(device = %event.device, at = event.at, error = %e, "takings: a sale that cannot be read");
                unreadable += 1;
                continue;
            }
        };
        if voided.contains(&sale.id.as_str()) {
            continue;
        }
        let i = row(&mut out, event, sale.totals.total.currency);
        let t = &mut out[i];
        t.sales += 1;
        t.pieces += sale.lines.len() as u32;
        t.gross = t.gross.saturating_add(sale.totals.total.minor);
        t.vat = t.vat.saturating_add(sale.totals.vat.minor);
        let (mut cash, mut card) = (false, false);
        for tender in &sale.tenders {
            match tender {
                Tender::Cash { tendered } => {
                    cash = true;
                    t.cash = t.cash.saturating_add(tendered.minor);
                }
                Tender::Card { amount } => {
                    card = true;
                    t.card = t.card.saturating_add(amount.minor);
                }
            }
        }
        // Change comes out of the drawer: cash kept is what was handed over less it.
        t.cash = t.cash.saturating_sub(sale.change.minor);
        t.cash_sales += u32::from(cash);
        t.card_sales += u32::from(card);
    }
    for (event, r) in reversals.iter().filter(|(e, _)| e.at >= from && e.at < to) {
        let i = row(&mut out, event, r.amount.currency);
        let t = &mut out[i];
        if event.kind == "sale.voided" {
            t.voids += 1;
        } else {
            t.returns += 1;
            t.refunded = t.refunded.saturating_add(r.amount.minor);
        }
    }
    out.sort_by(|a, b| (&a.stall, &a.device).cmp(&(&b.stall, &b.device)));
    (out, unreadable)
}

/// A sale as the sales list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// "K1-000042", as the receipt prints it.
    pub receipt: String,
    pub at: i64,
    pub stall: String,
    pub serials: Vec<String>,
    pub total: Money,
    /// Each tender's kind ("cash", "card") and amount; cash as handed over.
    pub tenders: Vec<(&'static str, Money)>,
    pub change: Money,
    pub voided: bool,
    /// Pieces returned, and the money paid back for them.
    pub returned: Vec<String>,
    pub refunded: Option<Money>,
}

#[derive(Debug, Deserialize)]
struct Receipt {
    device: String,
    seq: u64,
}

#[derive(Debug, Deserialize)]
struct ListedSale {
    id: String,
    receipt: Receipt,
    lines: Vec<Line>,
    tenders: Vec<Tender>,
    totals: Totals,
    change: Money,
}

#[derive(Debug, Deserialize)]
struct Line {
    serial: String,
}

#[derive(Debug, Deserialize)]
struct Taken {
    sale_id: String,
    #[serde(default)]
    serials: Vec<String>,
    amount: Money,
}

/// `sale` as the list shows it, with what `reversals` took back of it; `None` for a payload
/// this version cannot read.
pub fn listed(sale: &Pushed, reversals: &[Pushed]) -> Option<Listed> {
    let s: ListedSale = serde_json::from_str(&sale.payload).ok()?;
    let mut listed = Listed {
        receipt: format!("{}-{:06}", s.receipt.device, s.receipt.seq),
        at: sale.at,
        stall: sale.stall.clone(),
        serials: s.lines.into_iter().map(|l| l.serial).collect(),
        total: s.totals.total,
        tenders: s
            .tenders
            .iter()
            .map(|t| match t {
                Tender::Cash { tendered } => ("cash", *tendered),
                Tender::Card { amount } => ("card", *amount),
            })
            .collect(),
        change: s.change,
        voided: false,
        returned: Vec::new(),
        refunded: None,
    };
    for r in reversals.iter().filter(|r| r.device == sale.device) {
        let Ok(taken) = serde_json::from_str::<Taken>(&r.payload) else { continue };
        if taken.sale_id != s.id {
            continue;
        }
        if r.kind == "sale.voided" {
            listed.voided = true;
        } else {
            listed.returned.extend(taken.serials);
            let before = listed.refunded.map_or(0, |m| m.minor);
            listed.refunded = Some(Money::new(before.saturating_add(taken.amount.minor), taken.amount.currency));
        }
    }
    Some(listed)
}
