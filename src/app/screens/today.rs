//! The Today screen: the day's takings at a glance, and the cash drawer (opening float,
//! cash in and out, the count at close).
//!
//! Its state is its own: which drawer entry is open and its message. It reads the store and
//! writes only cash movements, so it reaches into no other screen's state.

use chrono::{DateTime, Utc};
use slint::SharedString;

use super::Page;
use crate::app::present::{hm, model};
use crate::app::services::{Notice, Services, Severity};
use crate::domain::Money;
use crate::domain::cash::{CashKind, describe_difference};
use crate::store::Day;
use crate::ui::{AppWindow, TodayData, TodayRowData, TodayState};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct TodayScreen {
    /// The drawer entry being typed, if any.
    entry: Option<CashKind>,
    notice: Notice,
}

impl TodayScreen {
    /// Showing the screen afresh: the summary, no entry half-typed, no old message.
    pub fn open(&mut self) {
        self.entry = None;
        self.notice = Notice::default();
    }

    /// Opens the entry for `kind` ("float", "paid_in", "paid_out", "count").
    pub fn start_entry(&mut self, kind: &str) {
        self.entry = CashKind::parse(kind);
        self.notice = Notice::default();
    }

    pub fn cancel_entry(&mut self) {
        self.entry = None;
        self.notice = Notice::default();
    }

    /// Records the open entry. True when recorded (the page then clears its fields).
    pub fn record(&mut self, svc: &mut Services, amount: &str, reason: &str) -> bool {
        let Some(kind) = self.entry else { return false };
        let now = svc.now();
        let amount = match Money::parse(amount, svc.currency()) {
            Ok(m) => m,
            Err(_) if amount.trim().is_empty() => {
                self.notice = Notice::error("Type the amount on the keypad first.");
                return false;
            }
            Err(e) => {
                self.notice = Notice::error(format!("That amount cannot be read: {e}"));
                return false;
            }
        };
        let Some(day) = Day::containing(now) else {
            self.notice = Notice::error("Today's start could not be worked out from the clock.");
            return false;
        };
        let device = svc.device().to_owned();
        match svc.store.record_cash(&device, kind, amount, reason, day, now) {
            Ok(m) => {
                tracing::info!(kind = kind.as_str(), amount = %m.amount, reason = %m.reason, "cash drawer");
                self.entry = None;
                let text = match kind {
                    CashKind::Float => format!("The day opened with a float of {}.", m.amount),
                    CashKind::PaidIn => format!("{} put in the drawer ({}).", m.amount, m.reason),
                    CashKind::PaidOut => format!("{} taken out of the drawer ({}).", m.amount, m.reason),
                    CashKind::Count => format!("Count of {} recorded.", m.amount),
                };
                self.notice = Notice::ok(text);
                svc.sync_now();
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.to_string());
                false
            }
        }
    }

    /// Says something on the banner (the end-of-day report's printing).
    pub fn tell(&mut self, notice: Notice) {
        self.notice = notice;
    }

    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let data = match self.data(svc, now) {
            Ok(data) => data,
            Err(e) => {
                tracing::error!(error = %e, "cannot add up today");
                TodayData {
                    takings: "—".into(),
                    counts: format!("Cannot add up today: {e}").into(),
                    ..Default::default()
                }
            }
        };
        ui.global::<TodayState>().set_today(data);
        ui.global::<TodayState>().set_notice(self.notice.text.clone().into());
        ui.global::<TodayState>().set_notice_severity(self.notice.severity);
    }

    fn data(&self, svc: &Services, now: DateTime<Utc>) -> anyhow::Result<TodayData> {
        let (store, currency) = (&svc.store, svc.currency());
        let day = Day::containing(now).ok_or_else(|| anyhow::anyhow!("the clock's day is unclear"))?;
        let z = store.z_report("", svc.device(), currency, day, now)?;
        let zero = Money::zero(currency);
        let row = |label: &str, value: String, strong: bool| TodayRowData {
            label: label.into(),
            value: value.into(),
            strong,
        };
        let tender = |kind: &str| {
            z.by_tender
                .iter()
                .find(|(k, _, _)| k == kind)
                .map(|(_, n, m)| format!("{m} ({n})"))
                .unwrap_or_else(|| zero.to_string())
        };
        let refunds = if z.refunded.is_zero() && z.voids == 0 {
            "None".to_owned()
        } else {
            let n = z.returns + z.voids;
            format!("-{} ({n})", z.refunded)
        };
        let pieces = match store.current_drop(now)? {
            Some(d) => format!("{} of {} ({})", d.available, d.pieces, d.drop.name),
            None => "No drop".to_owned(),
        };
        let mut rows = vec![
            row("Cash", tender("Cash"), false),
            row("Card", tender("Card"), false),
            row("Returns", refunds, false),
            row("Pieces left", pieces, false),
            row("Holds waiting", store.waiting_reservation_count(now)?.to_string(), false),
        ];
        if z.unsynced_changes > 0 {
            rows.push(row("Not yet synced", z.unsynced_changes.to_string(), false));
        }
        let d = z.drawer.clone().unwrap_or_else(|| crate::domain::cash::Drawer::empty(currency));
        let minus = |m: Money| if m.is_zero() { m.to_string() } else { format!("-{m}") };
        let drawer = vec![
            row("Opening float", d.float.to_string(), false),
            row("Cash from sales", d.cash_sales.to_string(), false),
            row("Cash refunds", minus(d.cash_refunds), false),
            row("Cash in", d.paid_in.to_string(), false),
            row("Cash out", minus(d.paid_out), false),
            row("Expected in drawer", d.expected().to_string(), true),
        ];
        let local = hm;
        let (balance, balance_severity) = match (d.counted, d.difference(), d.counted_at) {
            (Some(counted), Some(diff), Some(at)) => (
                format!("Counted {counted} at {} · {}", local(at), describe_difference(diff)),
                if diff.is_zero() { Severity::Ok } else { Severity::Warning },
            ),
            _ => ("Not counted yet: count the drawer at close.".to_owned(), Severity::Neutral),
        };
        let float = store.cash_movements(svc.device(), day)?.into_iter().find(|m| m.kind == CashKind::Float);
        let float_label = match &float {
            Some(m) => format!("Float {} set {}", m.amount, local(m.at)),
            None => "Open with float".to_owned(),
        };
        let (entry, entry_title, reasons): (&str, String, &[&str]) = match self.entry {
            None => ("", String::new(), &[]),
            Some(kind) => {
                let title = match kind {
                    CashKind::Float => "Opening float: how much change is in the drawer?",
                    CashKind::PaidIn => "Cash in: how much, and why?",
                    CashKind::PaidOut => "Cash out: how much, and why?",
                    CashKind::Count => "Count the drawer: how much is in it?",
                };
                (kind.as_str(), title.to_owned(), kind.reasons())
            }
        };
        let n = |count: u32, one: &str, many: &str| format!("{count} {}", if count == 1 { one } else { many });
        Ok(TodayData {
            date: day.date.format("%A %-d %B").to_string().into(),
            takings: z.gross.to_string().into(),
            counts: format!("{} · {}", n(z.sales, "sale", "sales"), n(z.pieces, "piece", "pieces")).into(),
            rows: model(rows),
            drawer: model(drawer),
            balance: balance.into(),
            balance_severity,
            float_set: float.is_some(),
            float_label: float_label.into(),
            entry: entry.into(),
            entry_title: entry_title.into(),
            reasons: model(reasons.iter().map(|r| SharedString::from(*r)).collect()),
        })
    }
}

impl Page for TodayScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
