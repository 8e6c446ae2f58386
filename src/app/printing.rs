//! What staff do with the printer: reprints, stickers, the end-of-day report, "print
//! later" and retry. Jobs only ever enter the store's queue here; the worker prints them.

use super::kiosk::{Kiosk, Notice};
use crate::domain::NewSale;
use crate::domain::printout::{Printout, ReceiptDoc, StickerDoc};
use crate::print::{QueueStatus, advice};
use crate::store::{Day, JobState, PrintJob};
use crate::ui::Screen;

impl Kiosk {
    pub fn print_status(&self) -> Option<QueueStatus> {
        self.printing.as_ref().map(|q| q.status())
    }

    pub fn show_printer(&mut self) {
        self.screen = Screen::Printer;
        self.printer_notice = Notice::default();
    }

    fn no_printer(&self) -> Notice {
        Notice::error(self.printing_error.clone().unwrap_or_else(|| {
            "No printer is configured. Set [printer] in the config file (see `marketday config-example`).".into()
        }))
    }

    /// Queues printouts in one transaction and wakes the worker.
    fn enqueue(&mut self, printouts: &[Printout]) -> Notice {
        let Some(queue) = &self.printing else { return self.no_printer() };
        match self.store.enqueue_prints(printouts, (self.options.clock)()) {
            Ok(ids) => {
                queue.wake();
                let what = match printouts {
                    [one] => one.title(),
                    many => format!("{} stickers", many.len()),
                };
                let status = queue.status().status;
                if status.can_print() {
                    Notice { text: format!("{what}: printing."), severity: 0 }
                } else {
                    Notice::warning(format!("{what} queued ({} job(s)). {}", ids.len(), advice(&status)))
                }
            }
            Err(e) => Notice::error(format!("Nothing was queued: {e}")),
        }
    }

    pub fn print_test_page(&mut self) {
        let page = Printout::Test { stall: self.config.stall.name.clone(), at: self.now() };
        self.printer_notice = self.enqueue(&[page]);
    }

    /// A sticker for every piece of the drop on sale (for pieces, bags and provenance cards).
    pub fn print_drop_stickers(&mut self) {
        let now = self.now();
        let Some(drop) = self.store.current_drop(now).ok().flatten() else {
            self.printer_notice = Notice::warning("No drop is on sale, so there are no stickers to print.");
            return;
        };
        let url = self.config.stall.verify_url.clone();
        let stickers: Vec<Printout> = match self.store.drop_pieces(&drop.drop.id) {
            Ok(pieces) => pieces
                .into_iter()
                .map(|p| {
                    Printout::Sticker(StickerDoc {
                        // The signed certificate once the atelier has issued one; until
                        // then the serial's page, which only the online check can vouch for.
                        qr: match self.store.certificate(&p.serial) {
                            Ok(Some(token)) => crate::domain::provenance::token_url(&url, &token),
                            _ => StickerDoc::provenance_url(&url, p.serial.as_str()),
                        },
                        serial: p.serial.as_str().to_owned(),
                        edition: p.edition.to_string(),
                        title: p.title,
                        price: p.price,
                    })
                })
                .collect(),
            Err(e) => {
                self.printer_notice = Notice::error(format!("Cannot read the drop's pieces: {e}"));
                return;
            }
        };
        self.printer_notice = self.enqueue(&stickers);
    }

    /// The end-of-day report for today (local time) on this kiosk.
    pub fn print_z_report(&mut self) {
        let now = self.now();
        let Some(day) = Day::containing(now) else {
            self.printer_notice = Notice::error("Today's start could not be worked out from the clock.");
            return;
        };
        let c = &self.config;
        match self.store.z_report(&c.stall.name, &c.stall.device_id, c.currency(), day, now) {
            Ok(report) => self.printer_notice = self.enqueue(&[Printout::ZReport(report)]),
            Err(e) => self.printer_notice = Notice::error(format!("Cannot add up the day: {e}")),
        }
    }

    /// Prints a sale's receipt again, marked REPRINT.
    pub fn reprint_receipt(&mut self, sale_id: &str) {
        let Ok(id) = uuid::Uuid::parse_str(sale_id) else { return };
        if self.printing.is_none() {
            self.sales_notice = self.no_printer();
            return;
        }
        let now = self.now();
        let queued = match self.store.receipt_job(id) {
            // Not on paper yet: a copy would print twice. Send the waiting one instead.
            Ok(Some(job)) if job.state == JobState::Held => {
                self.sales_notice = match self.store.release_print(job.id) {
                    Ok(_) => Notice { text: "The held receipt is back in the print queue.".into(), severity: 0 },
                    Err(e) => Notice::error(format!("The receipt could not be queued: {e}")),
                };
                self.retry_printing();
                return;
            }
            Ok(Some(job)) if matches!(job.state, JobState::Queued | JobState::Printing) => {
                self.sales_notice = Notice::warning("This receipt is still waiting to print; see the Printer tab.");
                self.retry_printing();
                return;
            }
            Ok(Some(job)) => self.store.reprint(job.id, now),
            // A sale from before printing was set up: build its receipt from the stored sale.
            Ok(None) => match self.store.sale(id) {
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
                    let c = &self.config;
                    let doc =
                        ReceiptDoc::new(&c.stall.name, sale.receipt, &new, c.returns_window(), &c.stall.verify_url);
                    self.store.enqueue_reprint(&Printout::Receipt(doc), id, now)
                }
                Ok(None) => return,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        self.sales_notice = match queued {
            Ok(_) => {
                if let Some(q) = &self.printing {
                    q.wake();
                }
                Notice { text: "Receipt reprint queued, marked REPRINT.".into(), severity: 0 }
            }
            Err(e) => Notice::error(format!("The reprint was not queued: {e}")),
        };
    }

    /// Staff tapped a job on the printer screen: a held job goes back in the queue, a
    /// printed one prints again as a reprint.
    pub fn print_job_again(&mut self, id: i64) {
        let now = self.now();
        let result = match self.store.print_job(id) {
            Ok(Some(job)) if job.state == JobState::Held => self.store.release_print(id).map(|_| ()),
            Ok(Some(job)) if job.state == JobState::Printed => self.store.reprint(id, now).map(|_| ()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        self.printer_notice = match result {
            Ok(()) => Notice::default(),
            Err(e) => Notice::error(format!("Could not queue it: {e}")),
        };
        self.retry_printing();
    }

    /// Asks the worker to try the queue now instead of at its next poll.
    pub fn retry_printing(&mut self) {
        if let Some(q) = &self.printing {
            q.wake();
        }
    }

    /// "Print later": waiting jobs are held so they do not print by surprise when the
    /// printer comes back; they stay on the printer screen to print when staff choose.
    pub fn print_later(&mut self) {
        match self.store.hold_waiting_prints() {
            Ok(n) => {
                self.printer_notice =
                    Notice { text: format!("{n} job(s) held. Print them from the Printer tab."), severity: 0 };
                // The worker publishes the held count: let the status bar show it now.
                if let Some(q) = &self.printing {
                    q.wake();
                }
            }
            Err(e) => self.printer_notice = Notice::error(format!("Could not hold the jobs: {e}")),
        }
    }

    /// The latest receipt job of the sale just completed.
    pub fn last_receipt_job(&self) -> Option<PrintJob> {
        let done = self.last_done.as_ref()?;
        self.store.receipt_job(done.sale_id).ok().flatten()
    }
}
