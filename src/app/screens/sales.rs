//! The Sales screen: recent sales, to return a piece within the returns window, void a sale
//! keyed in error, or reprint its receipt.

use chrono::{DateTime, Utc};
use slint::SharedString;

use super::Page;
use crate::app::present::{fmt_money, local_time, model};
use crate::app::services::{Notice, Services};
use crate::domain::cash::RefundMethod;
use crate::domain::printout::{Printout, ReceiptDoc, RefundSlipDoc};
use crate::domain::{NewSale, Serial, Tender};
use crate::i18n::{self, Localized};
use crate::store::{Day, JobState, Refund, SaleRecord};
use crate::ui::{AppWindow, SaleLineRowData, SaleRowData, SalesState};
use crate::{t, tn};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct SalesScreen {
    selected: Option<uuid::Uuid>,
    /// What the list is filtered by (part of a receipt or piece number).
    query: String,
    notice: Notice,
}

impl SalesScreen {
    /// Showing the screen afresh: the list, nothing selected, no old message.
    pub fn open(&mut self) {
        self.selected = None;
        self.notice = Notice::default();
    }

    pub fn search(&mut self, query: &str) {
        self.query = query.to_owned();
    }

    pub fn select(&mut self, id: &str) {
        self.selected = uuid::Uuid::parse_str(id).ok();
        self.notice = Notice::default();
    }

    /// Takes a piece back within the returns window; it goes back on sale and the money
    /// goes back in cash or to the card that paid (`method`: "cash" or "card"). True when done.
    pub fn return_piece(
        &mut self,
        svc: &mut Services,
        sale_id: &str,
        serial: &str,
        reason: &str,
        method: &str,
    ) -> bool {
        let (Ok(id), Ok(serial)) = (uuid::Uuid::parse_str(sale_id), Serial::parse(serial)) else { return false };
        let method = if method == "card" { RefundMethod::Card } else { RefundMethod::Cash };
        let window = svc.config.returns_window();
        let now = svc.now();
        let l = svc.language();
        let serials = std::slice::from_ref(&serial);
        let result = match refund_slip(svc) {
            Some(slip) => svc.store.return_pieces_printing(id, serials, reason, method, now, window, slip),
            None => svc.store.return_pieces(id, serials, reason, method, now, window),
        };
        match result {
            Ok(refund) => {
                let to = refund.split.describe(i18n::Language::En);
                tracing::info!(%serial, amount = %refund.amount, %to, "piece returned");
                let give = refund.split.describe(l);
                self.notice = Notice::ok(if refunded(svc) {
                    t!(
                        l,
                        "{serial} is back on sale. Give back {refund}. Slip printing.",
                        serial = serial,
                        refund = give
                    )
                } else {
                    t!(l, "{serial} is back on sale. Give back {refund}.", serial = serial, refund = give)
                });
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.localized(l));
                false
            }
        }
    }

    /// Cancels a whole sale keyed in error; its pieces go back on sale and the money goes
    /// back the way it was paid. True when done.
    pub fn void_sale(&mut self, svc: &mut Services, sale_id: &str, reason: &str) -> bool {
        let Ok(id) = uuid::Uuid::parse_str(sale_id) else { return false };
        let window = svc.config.returns_window();
        let now = svc.now();
        let l = svc.language();
        let result = match refund_slip(svc) {
            Some(slip) => svc.store.void_sale_printing(id, reason, now, window, slip),
            None => svc.store.void_sale(id, reason, now, window),
        };
        match result {
            Ok(refund) => {
                let to = refund.split.describe(i18n::Language::En);
                tracing::info!(sale = %id, amount = %refund.amount, %to, "sale voided");
                let give = refund.split.describe(l);
                let text = if refunded(svc) {
                    t!(l, "Sale voided; its pieces are back on sale. Give back {refund}. Slip printing.", refund = give)
                } else {
                    t!(l, "Sale voided; its pieces are back on sale. Give back {refund}.", refund = give)
                };
                self.notice = Notice::ok(text);
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.localized(l));
                false
            }
        }
    }

    /// Prints a sale's receipt again, marked REPRINT.
    pub fn reprint_receipt(&mut self, svc: &mut Services, sale_id: &str) {
        let Ok(id) = uuid::Uuid::parse_str(sale_id) else { return };
        let l = svc.language();
        if svc.printing.is_none() {
            self.notice = svc.no_printer();
            return;
        }
        let now = svc.now();
        let queued = match svc.store.receipt_job(id) {
            // Not on paper yet: a copy would print twice. Send the waiting one instead.
            Ok(Some(job)) if job.state == JobState::Held => {
                self.notice = match svc.store.release_print(job.id) {
                    Ok(_) => Notice::ok(t!(l, "The held receipt is back in the print queue.")),
                    Err(e) => {
                        Notice::error(t!(l, "The receipt could not be queued: {reason}", reason = e.localized(l)))
                    }
                };
                svc.wake_printer();
                return;
            }
            Ok(Some(job)) if matches!(job.state, JobState::Queued | JobState::Printing) => {
                self.notice = Notice::warning(t!(l, "This receipt is still waiting to print; see the Printer tab."));
                svc.wake_printer();
                return;
            }
            Ok(Some(job)) => svc.store.reprint(job.id, now),
            // A sale from before printing was set up: build its receipt from the stored sale.
            Ok(None) => match svc.store.sale(id) {
                Ok(Some(sale)) => {
                    let new = NewSale {
                        id: sale.id,
                        at: sale.at,
                        member_id: sale.member_id,
                        lines: sale.lines,
                        tenders: sale.tenders,
                        totals: sale.totals,
                        vat_rate: sale.vat_rate,
                        change: sale.change,
                    };
                    let c = &svc.config;
                    let doc =
                        ReceiptDoc::new(&c.stall.name, sale.receipt, &new, c.returns_window(), &c.stall.verify_url);
                    svc.store.enqueue_reprint(&Printout::Receipt(doc), id, now)
                }
                Ok(None) => return,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        self.notice = match queued {
            Ok(_) => {
                svc.wake_printer();
                Notice::ok(t!(l, "Receipt reprint queued, marked REPRINT."))
            }
            Err(e) => Notice::error(t!(l, "The reprint was not queued: {reason}", reason = e.localized(l))),
        };
    }

    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let l = svc.language();
        let when = |t: DateTime<Utc>| local_time(l, t, now);
        let rows = svc
            .store
            .find_sales(&self.query, 50)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot list sales");
                Vec::new()
            })
            .into_iter()
            .map(|s| {
                let summary = match s.returned {
                    0 => tn!(l, "{n} piece", "{n} pieces", s.lines),
                    n if n == s.lines => tn!(l, "{n} piece · all returned", "{n} pieces · all returned", s.lines),
                    // Some but not all: always two pieces or more; the words follow the returned count.
                    n => {
                        tn!(l, "{pieces} pieces · {n} returned", "{pieces} pieces · {n} returned", n, pieces = s.lines)
                    }
                };
                SaleRowData {
                    id: s.id.to_string().into(),
                    receipt: s.receipt.to_string().into(),
                    time: when(s.at).into(),
                    total: fmt_money(l, s.total),
                    summary: summary.into(),
                    voided: s.voided,
                    returned: s.returned > 0,
                }
            })
            .collect();
        ui.global::<SalesState>().set_sales(model(rows));
        ui.global::<SalesState>().set_day(day_line(svc, now).into());
        match self.selected.and_then(|id| svc.store.sale(id).ok().flatten()) {
            Some(sale) => {
                ui.global::<SalesState>().set_selected(sale.id.to_string().into());
                let paid: Vec<String> = sale
                    .tenders
                    .iter()
                    .map(|t| match t {
                        Tender::Cash { tendered } => {
                            t!(l, "cash {amount} tendered", amount = i18n::money(l, *tendered))
                        }
                        Tender::Card { amount, reference } => t!(
                            l,
                            "card {amount} (ref {reference})",
                            amount = i18n::money(l, *amount),
                            reference = reference
                        ),
                    })
                    .collect();
                let payments = paid.join(" + ");
                let paid_line = if sale.change.is_zero() {
                    t!(l, "Paid {payments}", payments = payments)
                } else {
                    t!(l, "Paid {payments}, change {change}", payments = payments, change = i18n::money(l, sale.change))
                };
                let title = format!(
                    "{} · {} · {}\n{paid_line}",
                    sale.receipt,
                    when(sale.at),
                    i18n::money(l, sale.totals.total)
                );
                ui.global::<SalesState>().set_selected_title(title.into());
                let lines = sale
                    .lines
                    .iter()
                    .zip(&sale.active)
                    .map(|(line, active)| SaleLineRowData {
                        serial: line.serial.as_str().into(),
                        title: line.title.clone().into(),
                        net: fmt_money(l, line.net),
                        returned: !active,
                    })
                    .collect();
                ui.global::<SalesState>().set_lines(model(lines));
                ui.global::<SalesState>().set_selected_voided(sale.voided);
                let card = sale.tenders.iter().any(|t| matches!(t, Tender::Card { .. }));
                let cash = sale.tenders.iter().any(|t| matches!(t, Tender::Cash { .. }));
                ui.global::<SalesState>().set_selected_card(card);
                // Money goes back the way it came unless staff say otherwise.
                let method = ui.global::<SalesState>().get_method();
                if method.is_empty() || (method == "card" && !card) {
                    ui.global::<SalesState>().set_method(if card && !cash { "card" } else { "cash" }.into());
                }
            }
            None => {
                ui.global::<SalesState>().set_selected(SharedString::new());
                ui.global::<SalesState>().set_lines(model(Vec::new()));
                ui.global::<SalesState>().set_selected_voided(false);
                ui.global::<SalesState>().set_selected_card(false);
            }
        }
        ui.global::<SalesState>().set_notice(self.notice.text.clone().into());
        ui.global::<SalesState>().set_notice_severity(self.notice.severity);
    }
}

impl Page for SalesScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}

/// The refund slip for a return or void, when a printer is configured.
fn refund_slip(svc: &Services) -> Option<impl FnOnce(&SaleRecord, &Refund) -> Option<Printout> + use<>> {
    let stall = svc.config.stall.name.clone();
    svc.printing.is_some().then_some({
        move |sale: &SaleRecord, refund: &Refund| {
            let lines = sale.lines.iter().filter(|l| refund.serials.contains(&l.serial)).cloned().collect();
            Some(Printout::RefundSlip(RefundSlipDoc {
                stall,
                receipt: sale.receipt.clone(),
                at: refund.at,
                void: refund.void,
                lines,
                amount: refund.amount,
                split: refund.split.clone(),
                reason: refund.reason.clone(),
            }))
        }
    })
}

/// Tells the slip and the cloud about a refund; true when a slip is on its way.
fn refunded(svc: &Services) -> bool {
    svc.wake_printer();
    svc.sync_now();
    svc.printing.is_some()
}

/// "Today: 7 sales · £1,234.00" for the list's heading.
fn day_line(svc: &Services, now: DateTime<Utc>) -> String {
    let l = svc.language();
    let Some(day) = Day::containing(now) else { return String::new() };
    match svc.store.z_report("", svc.device(), svc.currency(), day, now) {
        Ok(z) => {
            tn!(l, "Today: {n} sale · {total}", "Today: {n} sales · {total}", z.sales, total = i18n::money(l, z.gross))
        }
        Err(e) => t!(l, "Cannot add up today: {reason}", reason = e.localized(l)),
    }
}
