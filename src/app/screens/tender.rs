//! The Tender screen: cash, card on the external terminal, or both; then the sale is
//! committed, and only once it is on disk does "Sale complete" show.

use slint::SharedString;

use super::Page;
use crate::app::present::{fmt_money, model};
use crate::app::sale::{Completed, SellFlowError, SellSession};
use crate::app::services::{Notice, Services};
use crate::domain::printout::{Printout, ReceiptDoc};
use crate::domain::{Money, NewSale, ReceiptNumber, Tender};
use crate::i18n::Localized;
use crate::t;
use crate::ui::{AppWindow, QuickCashData, TenderData, TenderState};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct TenderScreen {
    notice: Notice,
}

/// How a tap on Complete ended.
pub enum Outcome {
    /// On disk: the Done screen shows it.
    Completed(Completed),
    /// Someone else got a piece first (another kiosk via sync, a hold): it left the cart and
    /// the Sell screen says so; nothing was charged.
    Refused(Notice),
    /// Not saved; this screen says why.
    Failed,
}

impl TenderScreen {
    pub fn add_cash(&mut self, svc: &Services, sale: &mut SellSession, amount: &str) {
        let amount = amount.trim_start_matches(svc.currency().symbol());
        self.notice = match sale.add_cash(amount, svc.vat) {
            Ok(()) => Notice::default(),
            Err(e) => e.notice(svc.language()),
        };
    }

    /// True when the card payment was taken (the page clears its fields).
    pub fn add_card(&mut self, svc: &Services, sale: &mut SellSession, amount: &str, reference: &str) -> bool {
        match sale.add_card(amount, reference, svc.vat) {
            Ok(()) => {
                self.notice = Notice::default();
                true
            }
            Err(e) => {
                self.notice = e.notice(svc.language());
                false
            }
        }
    }

    /// Commits the sale, with its receipt queued in the same transaction when there is a printer.
    pub fn complete(&mut self, svc: &mut Services, sale: &mut SellSession) -> Outcome {
        let now = svc.now();
        let l = svc.language();
        let device = svc.device().to_owned();
        let receipt = svc.printing.is_some().then(|| {
            let c = &svc.config;
            let (stall, url, window) = (c.stall.name.clone(), c.stall.verify_url.clone(), c.returns_window());
            move |number: &ReceiptNumber, sale: &NewSale| {
                Printout::Receipt(ReceiptDoc::new(&stall, number.clone(), sale, window, &url))
            }
        });
        match sale.complete(&mut svc.store, &device, svc.vat, now, receipt) {
            Ok(done) => {
                svc.wake_printer();
                svc.sync_now();
                self.notice = Notice::default();
                Outcome::Completed(done)
            }
            Err(SellFlowError::Store(crate::store::StoreError::Sell(e))) => {
                let gone = sale.drop_unavailable(&svc.store).unwrap_or_default();
                tracing::warn!(error = %e, removed = gone.len(), "sale refused by the store");
                Outcome::Refused(Notice::error(t!(
                    l,
                    "{reason} It was taken out of the cart; nothing was charged.",
                    reason = e.localized(l)
                )))
            }
            Err(e) => {
                self.notice = Notice::error(t!(l, "The sale was NOT saved. {reason}", reason = e.localized(l)));
                Outcome::Failed
            }
        }
    }

    /// Payments taken so far, what is left and the change.
    pub fn present(&self, svc: &Services, sale: &SellSession, ui: &AppWindow) {
        let l = svc.language();
        let total = sale.total(svc.vat).ok();
        ui.global::<TenderState>().set_total(total.map(|m| fmt_money(l, m)).unwrap_or_else(|| "—".into()));
        ui.global::<TenderState>()
            .set_remaining(sale.remaining(svc.vat).ok().map(|m| fmt_money(l, m)).unwrap_or_default());
        let tenders = sale
            .tenders
            .iter()
            .map(|t| TenderData {
                kind: t.label(l).into(),
                amount: fmt_money(l, t.amount()),
                detail: match t {
                    Tender::Cash { .. } => SharedString::new(),
                    Tender::Card { reference, .. } => t!(l, "ref. {reference}", reference = reference).into(),
                },
            })
            .collect();
        ui.global::<TenderState>().set_tenders(model(tenders));
        let settlement = total.and_then(|t| crate::domain::tender::settle(t, &sale.tenders).ok());
        ui.global::<TenderState>().set_can_complete(settlement.is_some() && !sale.cart.is_empty());
        ui.global::<TenderState>().set_change(match settlement {
            Some(s) if !s.change.is_zero() => fmt_money(l, s.change),
            _ => SharedString::new(),
        });
        // The amount goes back as the pad types it; "142,50 €" is for eyes only.
        let quick = |m: Money| QuickCashData { shown: fmt_money(l, m), amount: m.plain().into() };
        ui.global::<TenderState>().set_quick_cash(model(sale.quick_cash(svc.vat).into_iter().map(quick).collect()));
        ui.global::<TenderState>().set_error(self.notice.text.clone().into());
    }
}

impl Page for TenderScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
