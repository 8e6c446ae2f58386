//! The Printer tab: how the printer (and the camera) are, with what to do; the jobs, to
//! print a held one or reprint; a test page, the drop's stickers, the end-of-day report, and
//! "print later". Jobs only ever enter the store's queue here; the worker prints them.

use chrono::{DateTime, Utc};

use super::Page;
use crate::app::present::{camera_detail, local_time, model, printer_word};
use crate::app::services::{Notice, Services, Severity};
use crate::domain::printout::{Printout, StickerDoc};
use crate::i18n::Localized;
use crate::print::advice;
use crate::store::{Day, JobState};
use crate::ui::{AppWindow, PrintJobRowData, PrinterState};
use crate::{t, tn};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct PrinterScreen {
    notice: Notice,
}

impl PrinterScreen {
    pub fn print_test_page(&mut self, svc: &mut Services) {
        let page = Printout::Test { stall: svc.config.stall.name.clone(), at: svc.now() };
        self.notice = svc.enqueue(&[page]);
    }

    /// A sticker for every piece of the drop on sale (for pieces, bags and provenance cards).
    pub fn print_drop_stickers(&mut self, svc: &mut Services) {
        let l = svc.language();
        let Some(drop) = svc.current_drop(svc.now()) else {
            self.notice = Notice::warning(t!(l, "No drop is on sale, so there are no stickers to print."));
            return;
        };
        let url = svc.config.stall.verify_url.clone();
        let stickers: Vec<Printout> = match svc.store.drop_pieces(&drop.drop.id) {
            Ok(pieces) => pieces
                .into_iter()
                .map(|p| {
                    Printout::Sticker(StickerDoc {
                        // The signed certificate once the atelier has issued one; until
                        // then the serial's page, which only the online check can vouch for.
                        qr: match svc.store.certificate(&p.serial) {
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
                self.notice = Notice::error(t!(l, "Cannot read the drop's pieces: {error}", error = e.localized(l)));
                return;
            }
        };
        self.notice = svc.enqueue(&stickers);
    }

    /// The end-of-day report for today (local time) on this kiosk. Also Today's button.
    pub fn print_z_report(svc: &mut Services) -> Notice {
        let now = svc.now();
        let l = svc.language();
        let Some(day) = Day::containing(now) else {
            return Notice::error(t!(l, "Today's start could not be worked out from the clock."));
        };
        let c = &svc.config;
        match svc.store.z_report(&c.stall.name, &c.stall.device_id, c.currency(), day, now) {
            Ok(report) => svc.enqueue(&[Printout::ZReport(report)]),
            Err(e) => Notice::error(t!(l, "Cannot add up the day: {error}", error = e.localized(l))),
        }
    }

    pub fn tell(&mut self, notice: Notice) {
        self.notice = notice;
    }

    /// Staff tapped a job: a held job goes back in the queue, a printed one prints again as
    /// a reprint.
    pub fn print_job_again(&mut self, svc: &mut Services, id: i64) {
        let now = svc.now();
        let l = svc.language();
        let result = match svc.store.print_job(id) {
            Ok(Some(job)) if job.state == JobState::Held => svc.store.release_print(id).map(|_| ()),
            Ok(Some(job)) if job.state == JobState::Printed => svc.store.reprint(id, now).map(|_| ()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        self.notice = match result {
            Ok(()) => Notice::default(),
            Err(e) => Notice::error(t!(l, "Could not queue it: {error}", error = e.localized(l))),
        };
        svc.wake_printer();
    }

    /// "Print later": waiting jobs are held so they do not print by surprise when the
    /// printer comes back; they stay on this screen to print when staff choose.
    pub fn print_later(&mut self, svc: &mut Services) {
        let l = svc.language();
        self.notice = match svc.store.hold_waiting_prints() {
            Ok(n) => {
                // The worker publishes the held count: let the status bar show it now.
                svc.wake_printer();
                Notice::ok(tn!(
                    l,
                    "{n} job held. Print it from the Printer tab.",
                    "{n} jobs held. Print them from the Printer tab.",
                    n
                ))
            }
            Err(e) => Notice::error(t!(l, "Could not hold the jobs: {error}", error = e.localized(l))),
        };
    }

    /// The state changes as the worker prints, so the one-second timer presents this too.
    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let l = svc.language();
        let status = svc.print_status();
        let blocked_by = status.as_ref().filter(|q| !q.status.can_print()).map(|q| advice(&q.status));
        let (headline, severity, detail) = match &status {
            None => (
                match &svc.printing_error {
                    Some(error) => t!(l, "Printing is off: {error}", error = error),
                    None => t!(l, "No printer configured"),
                },
                Severity::Neutral,
                t!(l, "Set [printer] in the config file: kind, path, baud and profile."),
            ),
            Some(q) => {
                // The printer, its profile, then what waits: each part between the dots
                // stands on its own.
                let profile = svc.printing.as_ref().map(|p| p.profile());
                let mut parts = vec![match profile {
                    Some(p) => t!(
                        l,
                        "{printer} · {profile} ({width} mm paper)",
                        printer = q.printer,
                        profile = p.name,
                        width = p.paper_mm()
                    ),
                    None => q.printer.clone(),
                }];
                if q.waiting > 0 {
                    parts.push(tn!(l, "{n} waiting", "{n} waiting", q.waiting));
                }
                if q.held > 0 {
                    parts.push(tn!(
                        l,
                        "{n} held: tap Print below to print it",
                        "{n} held: tap Print below to print it",
                        q.held
                    ));
                }
                (advice(&q.status), printer_word(l, &q.status).1, parts.join(" · "))
            }
        };
        ui.global::<PrinterState>().set_camera(camera_detail(l, svc.camera_status()).into());
        ui.global::<PrinterState>().set_headline(headline.into());
        ui.global::<PrinterState>().set_severity(severity);
        ui.global::<PrinterState>().set_detail(detail.into());
        ui.global::<PrinterState>().set_blocked(blocked_by.is_some() && status.as_ref().is_some_and(|q| q.waiting > 0));
        let jobs = svc.store.recent_print_jobs(30).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot list print jobs");
            Vec::new()
        });
        let rows = jobs
            .into_iter()
            .map(|job| {
                let time = local_time(l, job.created_at, now);
                let (state, severity, action) = match job.state {
                    JobState::Printed => (t!(l, "Printed"), Severity::Ok, t!(l, "Reprint")),
                    JobState::Held => match &job.last_error {
                        Some(e) => (t!(l, "Held: {error}", error = e), Severity::Warning, t!(l, "Print")),
                        None => (t!(l, "Held"), Severity::Warning, t!(l, "Print")),
                    },
                    JobState::Queued | JobState::Printing => match (&blocked_by, job.last_error.as_deref()) {
                        (Some(why), _) => (t!(l, "Waiting: {reason}", reason = why), Severity::Error, String::new()),
                        (None, Some(e)) => (t!(l, "Retrying: {error}", error = e), Severity::Warning, String::new()),
                        (None, None) => (t!(l, "Printing"), Severity::Warning, String::new()),
                    },
                };
                // The title as the stall reads it ("Receipt K1-000042", "Ticket K1-000042").
                let title = job.printout.title_in(l);
                let title = if job.reprint { t!(l, "{title} (reprint)", title = title) } else { title };
                PrintJobRowData {
                    id: job.id as i32,
                    title: title.into(),
                    detail: format!("{time} · {state}").into(),
                    severity,
                    action: action.into(),
                }
            })
            .collect();
        ui.global::<PrinterState>().set_jobs(model(rows));
        ui.global::<PrinterState>().set_notice(self.notice.text.clone().into());
        ui.global::<PrinterState>().set_notice_severity(self.notice.severity);
    }
}

impl Page for PrinterScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
