//! The Today screen: the day's takings at a glance, and the cash drawer (opening float,
//! cash in and out, the count at close).
//!
//! Its state is its own: which drawer entry is open and its message. It reads the store and
//! writes only cash movements, so it reaches into no other screen's state.

use chrono::{DateTime, NaiveDate, Utc};
use slint::SharedString;

use super::Page;
use crate::app::present::{hm, model};
use crate::app::services::{Notice, Services, Severity};
use crate::domain::Money;
use crate::domain::cash::{CashKind, describe_difference};
use crate::i18n::{self, Language, Localized};
use crate::store::Day;
use crate::ui::{AppWindow, TodayData, TodayRowData, TodayState};
use crate::{t, tn};
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
        let l = svc.language();
        let amount = match Money::parse(amount, svc.currency()) {
            Ok(m) => m,
            Err(_) if amount.trim().is_empty() => {
                self.notice = Notice::error(t!(l, "Type the amount on the keypad first."));
                return false;
            }
            Err(e) => {
                self.notice = Notice::error(t!(l, "That amount cannot be read: {error}", error = e.localized(l)));
                return false;
            }
        };
        let Some(day) = Day::containing(now) else {
            self.notice = Notice::error(t!(l, "Today's start could not be worked out from the clock."));
            return false;
        };
        // The page offers the reasons in its language and sends back the one picked: it is
        // kept as its English message id, like every other movement's.
        let reason = kind.reasons().iter().copied().find(|r| i18n::tr(l, r) == reason).unwrap_or(reason);
        let device = svc.device().to_owned();
        match svc.store.record_cash(&device, kind, amount, reason, day, now) {
            Ok(m) => {
                tracing::info!(kind = kind.as_str(), amount = %m.amount, reason = %m.reason, "cash drawer");
                self.entry = None;
                let (amount, reason) = (i18n::money(l, m.amount), i18n::tr(l, &m.reason));
                let text = match kind {
                    CashKind::Float => t!(l, "The day opened with a float of {amount}.", amount = amount),
                    CashKind::PaidIn => {
                        t!(l, "{amount} put in the drawer ({reason}).", amount = amount, reason = reason)
                    }
                    CashKind::PaidOut => {
                        t!(l, "{amount} taken out of the drawer ({reason}).", amount = amount, reason = reason)
                    }
                    CashKind::Count => t!(l, "Count of {amount} recorded.", amount = amount),
                };
                self.notice = Notice::ok(text);
                svc.sync_now();
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.localized(l));
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
                    counts: t!(svc.language(), "Cannot add up today: {error}", error = e).into(),
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
        let l = svc.language();
        let money = |m: Money| i18n::money(l, m);
        let day = Day::containing(now).ok_or_else(|| anyhow::anyhow!("the clock's day is unclear"))?;
        let z = store.z_report("", svc.device(), currency, day, now)?;
        let zero = Money::zero(currency);
        let row = |label: String, value: String, strong: bool| TodayRowData {
            label: label.into(),
            value: value.into(),
            strong,
        };
        // The report's tender kinds are the store's ("Cash", "Card"), not words to translate.
        let tender = |kind: &str| {
            z.by_tender
                .iter()
                .find(|(k, _, _)| k == kind)
                .map(|(_, n, m)| format!("{} ({n})", money(*m)))
                .unwrap_or_else(|| money(zero))
        };
        let refunds = if z.refunded.is_zero() && z.voids == 0 {
            t!(l, "None")
        } else {
            let n = z.returns + z.voids;
            format!("-{} ({n})", money(z.refunded))
        };
        let pieces = match store.current_drop(now)? {
            Some(d) => t!(l, "{left} of {total} ({drop})", left = d.available, total = d.pieces, drop = d.drop.name),
            None => t!(l, "No drop"),
        };
        let mut rows = vec![
            row(t!(l, "Cash"), tender("Cash"), false),
            row(t!(l, "Card"), tender("Card"), false),
            row(t!(l, "Returns"), refunds, false),
            row(t!(l, "Pieces left"), pieces, false),
            row(t!(l, "Holds waiting"), store.waiting_reservation_count(now)?.to_string(), false),
        ];
        if z.unsynced_changes > 0 {
            rows.push(row(t!(l, "Not yet synced"), z.unsynced_changes.to_string(), false));
        }
        let d = z.drawer.clone().unwrap_or_else(|| crate::domain::cash::Drawer::empty(currency));
        let minus = |m: Money| if m.is_zero() { money(m) } else { format!("-{}", money(m)) };
        let drawer = vec![
            row(t!(l, "Opening float"), money(d.float), false),
            row(t!(l, "Cash from sales"), money(d.cash_sales), false),
            row(t!(l, "Cash refunds"), minus(d.cash_refunds), false),
            row(t!(l, "Cash in"), money(d.paid_in), false),
            row(t!(l, "Cash out"), minus(d.paid_out), false),
            row(t!(l, "Expected in drawer"), money(d.expected()), true),
        ];
        let local = hm;
        let (balance, balance_severity) = match (d.counted, d.difference(), d.counted_at) {
            (Some(counted), Some(diff), Some(at)) => (
                t!(
                    l,
                    "Counted {amount} at {time} · {difference}",
                    amount = money(counted),
                    time = local(at),
                    difference = describe_difference(l, diff)
                ),
                if diff.is_zero() { Severity::Ok } else { Severity::Warning },
            ),
            _ => (t!(l, "Not counted yet: count the drawer at close."), Severity::Neutral),
        };
        let float = store.cash_movements(svc.device(), day)?.into_iter().find(|m| m.kind == CashKind::Float);
        let float_label = match &float {
            Some(m) => t!(l, "Float {amount} set {time}", amount = money(m.amount), time = local(m.at)),
            None => t!(l, "Open with float"),
        };
        let (entry, entry_title, reasons): (&str, String, &[&str]) = match self.entry {
            None => ("", String::new(), &[]),
            Some(kind) => {
                let title = match kind {
                    CashKind::Float => t!(l, "Opening float: how much change is in the drawer?"),
                    CashKind::PaidIn => t!(l, "Cash in: how much, and why?"),
                    CashKind::PaidOut => t!(l, "Cash out: how much, and why?"),
                    CashKind::Count => t!(l, "Count the drawer: how much is in it?"),
                };
                (kind.as_str(), title, kind.reasons())
            }
        };
        // Two counts, each whole in itself.
        let counts =
            format!("{} · {}", tn!(l, "{n} sale", "{n} sales", z.sales), tn!(l, "{n} piece", "{n} pieces", z.pieces));
        Ok(TodayData {
            date: long_date(l, day.date).into(),
            takings: money(z.gross).into(),
            counts: counts.into(),
            rows: model(rows),
            drawer: model(drawer),
            balance: balance.into(),
            balance_severity,
            float_set: float.is_some(),
            float_label: float_label.into(),
            entry: entry.into(),
            entry_title: entry_title.into(),
            // The reasons as the page shows them; `record` takes the picked one back to its id.
            reasons: model(reasons.iter().map(|r| SharedString::from(i18n::tr(l, r))).collect()),
        })
    }
}

/// "Friday 5 December": the day's heading, as `language` writes it.
fn long_date(language: Language, date: NaiveDate) -> String {
    i18n::day_heading(language, date)
}

impl Page for TodayScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
