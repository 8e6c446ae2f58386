//! "Sale complete": the receipt number, the change to give, how the receipt's printing is
//! going, and putting the sale on the courier list to post to its buyer.

use slint::SharedString;

use crate::app::present::fmt_money;
use crate::app::sale::Completed;
use crate::app::services::{Notice, Services, Severity};
use crate::i18n::Localized;
use crate::print::advice;
use crate::store::{JobState, PrintJob, Shipment, StoreError};
use crate::t;
use crate::ui::{AppWindow, DoneState};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct DoneScreen {
    /// The sale just completed; kept until the next one starts, so the PIN pad can lead back here.
    last: Option<Completed>,
    /// Whether the sale was put on the courier list, or why not.
    ship_notice: Notice,
}

impl DoneScreen {
    pub fn show(&mut self, done: Completed) {
        self.last = Some(done);
        self.ship_notice = Notice::default();
    }

    /// A new sale starts: this one is done with.
    pub fn clear(&mut self) {
        self.last = None;
    }

    pub fn last(&self) -> Option<&Completed> {
        self.last.as_ref()
    }

    /// The latest receipt job of the sale just completed.
    pub fn receipt_job(&self, svc: &Services) -> Option<PrintJob> {
        let done = self.last.as_ref()?;
        svc.store.receipt_job(done.sale_id).ok().flatten()
    }

    /// The sale just completed is to be posted to its buyer: it joins the orders waiting
    /// for a courier, under its receipt number. True when added.
    pub fn ship(&mut self, svc: &mut Services, buyer: &str) -> bool {
        let Some((sale_id, receipt)) = self.last.as_ref().map(|d| (d.sale_id, d.receipt.to_string())) else {
            return false;
        };
        let l = svc.language();
        let buyer = buyer.trim();
        if buyer.is_empty() {
            self.ship_notice = Notice::error(t!(l, "Enter the buyer's name."));
            return false;
        }
        let now = svc.now();
        let store = &mut svc.store;
        let result = store.sale(sale_id).and_then(|sale| {
            let sale = sale.ok_or_else(|| StoreError::NotFound(format!("sale {receipt}")))?;
            let pieces = sale
                .lines
                .iter()
                .zip(&sale.active)
                .filter(|(_, active)| **active)
                .map(|(line, _)| line.serial.to_string())
                .collect();
            store.add_shipment(&Shipment {
                id: receipt.clone(),
                sale_id: Some(sale_id.to_string()),
                buyer: buyer.to_owned(),
                pieces,
                created_at: now,
                dispatched_at: None,
            })
        });
        match result {
            Ok(()) => {
                self.ship_notice = Notice::ok(t!(
                    l,
                    "{receipt} is on the courier list, to post to {buyer}.",
                    receipt = receipt,
                    buyer = buyer
                ));
                true
            }
            Err(e) => {
                let already = svc.store.shipment(&receipt).ok().flatten().is_some();
                self.ship_notice = Notice::error(if already {
                    t!(l, "{receipt} is already on the courier list.", receipt = receipt)
                } else {
                    t!(l, "Not added to the courier list: {reason}", reason = e.localized(l))
                });
                false
            }
        }
    }

    /// The sale, and how its receipt is printing (which changes as the worker prints, so the
    /// one-second timer presents this screen too).
    pub fn present(&self, svc: &Services, ui: &AppWindow) {
        let l = svc.language();
        if let Some(done) = &self.last {
            ui.global::<DoneState>().set_receipt(done.receipt.to_string().into());
            ui.global::<DoneState>().set_total(fmt_money(l, done.total));
            ui.global::<DoneState>().set_change(if done.change.is_zero() {
                SharedString::new()
            } else {
                fmt_money(l, done.change)
            });
            ui.global::<DoneState>().set_ship_state(self.ship_notice.text.clone().into());
            ui.global::<DoneState>().set_ship_severity(self.ship_notice.severity);
        }
        let status = svc.print_status();
        let blocked_by = status.as_ref().filter(|q| !q.status.can_print()).map(|q| advice(&q.status));
        let (text, severity, blocked) = match (&status, self.receipt_job(svc)) {
            (None, _) => (String::new(), Severity::Ok, false),
            (Some(_), None) => (t!(l, "No receipt for this sale"), Severity::Warning, false),
            (Some(_), Some(job)) => match job.state {
                JobState::Printed => (t!(l, "Receipt printed"), Severity::Ok, false),
                JobState::Held => (t!(l, "Receipt held: print it from the Printer tab"), Severity::Warning, false),
                JobState::Queued | JobState::Printing => match &blocked_by {
                    Some(why) => (t!(l, "Receipt waiting. {advice}", advice = why), Severity::Error, true),
                    None => (t!(l, "Printing receipt…"), Severity::Ok, false),
                },
            },
        };
        ui.global::<DoneState>().set_print_state(text.into());
        ui.global::<DoneState>().set_print_severity(severity);
        ui.global::<DoneState>().set_print_blocked(blocked);
    }
}
