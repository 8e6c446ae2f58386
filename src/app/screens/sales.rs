//! The Sales screen: recent sales, to return a piece within the returns window, void a sale
//! keyed in error, or reprint its receipt.

use chrono::{DateTime, Utc};
use slint::SharedString;

use super::Page;
use crate::app::present::{local_time, model};
use crate::app::services::{Notice, Services};
use crate::domain::cash::RefundMethod;
use crate::domain::printout::{Printout, ReceiptDoc, RefundSlipDoc};
use crate::domain::{NewSale, Serial, Tender};
use crate::store::{Day, JobState, Refund, SaleRecord};
use crate::ui::{AppWindow, SaleLineRowData, SaleRowData, SalesState};
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
        let serials = std::slice::from_ref(&serial);
        let result = match refund_slip(svc) {
            Some(slip) => svc.store.return_pieces_printing(id, serials, reason, method, now, window, slip),
            None => svc.store.return_pieces(id, serials, reason, method, now, window),
        };
        match result {
            Ok(refund) => {
                tracing::info!(%serial, amount = %refund.amount, to = %refund.split.describe(), "piece returned");
                self.notice = Notice::ok(format!("{serial} is back on sale. {}", refunded(svc, &refund)));
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.to_string());
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
        let result = match refund_slip(svc) {
            Some(slip) => svc.store.void_sale_printing(id, reason, now, window, slip),
            None => svc.store.void_sale(id, reason, now, window),
        };
        match result {
            Ok(refund) => {
                tracing::info!(sale = %id, amount = %refund.amount, to = %refund.split.describe(), "sale voided");
                let text = format!("Sale voided; its pieces are back on sale. {}", refunded(svc, &refund));
                self.notice = Notice::ok(text);
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.to_string());
                false
            }
        }
    }

    /// Prints a sale's receipt again, marked REPRINT.
    pub fn reprint_receipt(&mut self, svc: &mut Services, sale_id: &str) {
        let Ok(id) = uuid::Uuid::parse_str(sale_id) else { return };
        if svc.printing.is_none() {
            self.notice = svc.no_printer();
            return;
        }
        let now = svc.now();
        let queued = match svc.store.receipt_job(id) {
            // Not on paper yet: a copy would print twice. Send the waiting one instead.
            Ok(Some(job)) if job.state == JobState::Held => {
                self.notice = match svc.store.release_print(job.id) {
                    Ok(_) => Notice::ok("The held receipt is back in the print queue."),
                    Err(e) => Notice::error(format!("The receipt could not be queued: {e}")),
                };
                svc.wake_printer();
                return;
            }
            Ok(Some(job)) if matches!(job.state, JobState::Queued | JobState::Printing) => {
                self.notice = Notice::warning("This receipt is still waiting to print; see the Printer tab.");
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
                Notice::ok("Receipt reprint queued, marked REPRINT.")
            }
            Err(e) => Notice::error(format!("The reprint was not queued: {e}")),
        };
    }

    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let when = |t: DateTime<Utc>| local_time(t, now);
        let rows = svc
            .store
            .find_sales(&self.query, 50)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot list sales");
                Vec::new()
            })
            .into_iter()
            .map(|s| {
                let pieces = if s.lines == 1 { "1 piece".to_owned() } else { format!("{} pieces", s.lines) };
                let summary = match s.returned {
                    0 => pieces,
                    n if n == s.lines => format!("{pieces} · all returned"),
                    n => format!("{pieces} · {n} returned"),
                };
                SaleRowData {
                    id: s.id.to_string().into(),
                    receipt: s.receipt.to_string().into(),
                    time: when(s.at).into(),
                    total: s.total.to_string().into(),
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
                        Tender::Cash { tendered } => format!("cash {tendered} tendered"),
                        Tender::Card { amount, reference } => format!("card {amount} (ref {reference})"),
                    })
                    .collect();
                let change = if sale.change.is_zero() { String::new() } else { format!(", change {}", sale.change) };
                let title = format!(
                    "{} · {} · {}\nPaid {}{change}",
                    sale.receipt,
                    when(sale.at),
                    sale.totals.total,
                    paid.join(" + ")
                );
                ui.global::<SalesState>().set_selected_title(title.into());
                let lines = sale
                    .lines
                    .iter()
                    .zip(&sale.active)
                    .map(|(l, active)| SaleLineRowData {
                        serial: l.serial.as_str().into(),
                        title: l.title.clone().into(),
                        net: l.net.to_string().into(),
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

/// What staff hand back, and whether a slip is on its way; the slip and the cloud are told.
fn refunded(svc: &Services, refund: &Refund) -> String {
    svc.wake_printer();
    svc.sync_now();
    let slip = if svc.printing.is_some() { " Slip printing." } else { "" };
    format!("Give back {}.{slip}", refund.split.describe())
}

/// "Today: 7 sales · £1,234.00" for the list's heading.
fn day_line(svc: &Services, now: DateTime<Utc>) -> String {
    let Some(day) = Day::containing(now) else { return String::new() };
    match svc.store.z_report("", svc.device(), svc.currency(), day, now) {
        Ok(z) => format!("Today: {} sale{} · {}", z.sales, if z.sales == 1 { "" } else { "s" }, z.gross),
        Err(e) => format!("Cannot add up today: {e}"),
    }
}
