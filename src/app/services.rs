//! What every screen may use and none owns: the store, the config, the clock, the print
//! queue, the sync worker, the hand-over station and the camera feed.
//!
//! Screens get `&Services` (or `&mut` to write the store) passed in by the router; they
//! keep their own state and never reach into another screen's. A message for the worker is
//! a [`Notice`], held by the screen it belongs to.

use crate::i18n::{Language, Localized};
use crate::{t, tn};
use chrono::{DateTime, Utc};
use marketday_hardware::CameraStatus;
use marketday_hardware::scanner::CameraFeed;

use crate::config::Config;
use crate::dispatch::Station;
use crate::domain::printout::Printout;
use crate::domain::{Currency, VatRate};
use crate::print::{PrintQueue, QueueStatus, advice};
use crate::store::{DropSummary, Store};
use crate::sync::SyncWorker;

/// How bad a message or a state is: the enum the pages colour by (`ui/theme.slint`).
pub use crate::ui::Severity;

/// A message for a screen's banner: text and severity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Notice {
    pub text: String,
    pub severity: Severity,
}

impl Notice {
    pub fn ok(text: impl Into<String>) -> Notice {
        Notice { text: text.into(), severity: Severity::Ok }
    }
    pub fn error(text: impl Into<String>) -> Notice {
        Notice { text: text.into(), severity: Severity::Error }
    }
    pub fn warning(text: impl Into<String>) -> Notice {
        Notice { text: text.into(), severity: Severity::Warning }
    }
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

pub struct Services {
    pub store: Store,
    pub config: Config,
    pub vat: VatRate,
    pub(super) clock: Box<dyn Fn() -> DateTime<Utc>>,
    /// The demo stall (the PIN pad shows the demo PIN).
    pub demo: bool,
    pub printing: Option<PrintQueue>,
    /// Why printing is unavailable although a printer is configured: the error, in the
    /// stall's language (the screens put it in their sentence).
    pub printing_error: Option<String>,
    /// The background sync with the cloud; `None` when no cloud is configured.
    pub sync: Option<SyncWorker>,
    /// Why sync is off although a cloud is configured: the error, in the stall's language
    /// (the screens put it in their sentence).
    pub sync_error: Option<String>,
    /// The kiosk as a hand-over station (device key, photo folder); `None`: proofs off.
    pub station: Option<Station>,
    /// The camera and scanner threads; `None` when no camera is configured.
    pub camera: Option<CameraFeed>,
    /// Piece photos, decoded for the screens that show them.
    pub pictures: super::pictures::Pictures,
    /// The language a customer chose on the idle or Verify screen, until the kiosk goes
    /// quiet; `None`: the stall's (`[stall] language`).
    pub customer_language: Option<Language>,
}

impl Services {
    /// The language the screens speak now: the customer's choice, else the stall's.
    pub fn language(&self) -> Language {
        self.customer_language.unwrap_or(self.config.stall.language)
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// This kiosk's device id: receipts and the drawer are kept under it.
    pub fn device(&self) -> &str {
        &self.config.stall.device_id
    }

    pub fn currency(&self) -> Currency {
        self.config.currency()
    }

    /// The drop on sale now, if any.
    pub fn current_drop(&self, now: DateTime<Utc>) -> Option<DropSummary> {
        self.store.current_drop(now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read the current drop");
            None
        })
    }

    /// Starts a sync round now, if the kiosk syncs: after anything the cloud should know.
    pub fn sync_now(&self) {
        if let Some(sync) = &self.sync {
            sync.sync_now();
        }
    }

    /// Asks the print worker to try its queue now instead of at its next poll.
    pub fn wake_printer(&self) {
        if let Some(queue) = &self.printing {
            queue.wake();
        }
    }

    pub fn print_status(&self) -> Option<QueueStatus> {
        self.printing.as_ref().map(|q| q.status())
    }

    /// Why nothing can be printed, when there is no print queue.
    pub fn no_printer(&self) -> Notice {
        let l = self.language();
        Notice::error(match &self.printing_error {
            Some(error) => t!(l, "Printing is off: {error}", error = error),
            None => {
                t!(l, "No printer is configured. Set [printer] in the config file (see `marketday config-example`).")
            }
        })
    }

    /// Queues printouts in one transaction and wakes the worker; says what happened.
    pub fn enqueue(&mut self, printouts: &[Printout]) -> Notice {
        let l = self.language();
        let Some(queue) = &self.printing else { return self.no_printer() };
        match self.store.enqueue_prints(printouts, (self.clock)()) {
            Ok(ids) => {
                queue.wake();
                let what = match printouts {
                    [one] => one.title_in(l),
                    many => tn!(l, "{n} sticker", "{n} stickers", many.len()),
                };
                let status = queue.status().status;
                if status.can_print() {
                    Notice::ok(t!(l, "{what}: printing.", what = what))
                } else {
                    Notice::warning(tn!(
                        l,
                        "{what} queued ({n} job). {advice}",
                        "{what} queued ({n} jobs). {advice}",
                        ids.len(),
                        what = what,
                        advice = advice(&status)
                    ))
                }
            }
            Err(e) => Notice::error(t!(l, "Nothing was queued: {error}", error = e.localized(l))),
        }
    }

    pub fn camera_status(&self) -> Option<CameraStatus> {
        self.camera.as_ref().map(|f| f.status())
    }

    /// Ends holds whose time is up; true when any did (the screens showing them change).
    pub fn expire_due(&mut self) -> bool {
        let now = self.now();
        match self.store.expire_reservations(now) {
            Ok(codes) if codes.is_empty() => false,
            Ok(codes) => {
                tracing::info!(count = codes.len(), "holds expired");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "expiry sweep failed");
                false
            }
        }
    }
}
