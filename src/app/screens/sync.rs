//! The Sync screen: where sync stands in words, "Sync now", and the conflicts the cloud
//! refused, each with what to do and a way to clear it once dealt with.

use chrono::{DateTime, Utc};

use super::Page;
use crate::app::present::{local_time as clock, model};
use crate::app::services::{Notice, Services, Severity};
use crate::domain::conflict;
use crate::ui::{AppWindow, ConflictRowData, SyncState};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct SyncScreen {
    notice: Notice,
}

fn changes(n: u64) -> String {
    match n {
        1 => "1 change".into(),
        n => format!("{n} changes"),
    }
}

impl SyncScreen {
    pub fn sync_now(&mut self, svc: &Services) {
        self.notice = match &svc.sync {
            Some(_) => {
                svc.sync_now();
                Notice::ok("Syncing now.")
            }
            None => Notice::warning("This kiosk is not connected to a cloud."),
        };
    }

    pub fn resolve_conflict(&mut self, svc: &mut Services, event_id: &str) {
        let now = svc.now();
        let result = uuid::Uuid::parse_str(event_id)
            .map_err(|e| e.to_string())
            .and_then(|id| svc.store.resolve_conflict(id, now).map_err(|e| e.to_string()));
        self.notice = match result {
            Ok(()) => {
                svc.sync_now();
                Notice::ok("Marked as dealt with.")
            }
            Err(e) => Notice::error(format!("Could not mark it dealt with: {e}")),
        };
    }

    /// (headline, severity, detail) for the top of the screen.
    fn summary(svc: &Services, now: DateTime<Utc>) -> (String, Severity, String) {
        let waiting = svc.store.unsynced_count().unwrap_or(0);
        let here = match waiting {
            0 => "Every change is in the cloud.".to_owned(),
            n => format!("{} kept on this kiosk until the cloud confirms them.", changes(n)),
        };
        let Some(sync) = &svc.sync else {
            if let Some(error) = &svc.sync_error {
                return (
                    "Sync is off".into(),
                    Severity::Error,
                    format!(
                        "It could not start: {error}. {here} Correct the [sync] settings in the config file, \
                         then restart the kiosk."
                    ),
                );
            }
            return (
                "Not connected to a cloud".into(),
                Severity::Neutral,
                format!(
                    "{} To sync, set [sync] url and token in the config file.",
                    if waiting == 0 { "Nothing to send.".to_owned() } else { here }
                ),
            );
        };
        let status = sync.status();
        if let Some(off) = crate::sync::clock_off(status.clock_skew) {
            return (
                format!("{off} the cloud"),
                Severity::Error,
                "Receipts, holds and drop times use this kiosk's clock. Set the time in the Pi's settings, or \
                 give it internet so it sets itself; sync goes on meanwhile."
                    .into(),
            );
        }
        let last = status.last_ok.map(|t| format!(" Last sync {}.", clock(t, now))).unwrap_or_default();
        match (status.syncing, status.online, &status.last_error) {
            (true, ..) => ("Syncing…".into(), Severity::Warning, format!("{here}{last}")),
            (_, Some(false), _) => (
                "Offline".into(),
                Severity::Warning,
                format!("{here} Nothing is lost; the kiosk tries again every few seconds.{last}"),
            ),
            (_, Some(true), Some(error)) => ("Sync problem".into(), Severity::Error, format!("{error}. {here}{last}")),
            (_, Some(true), None) => (
                status.last_ok.map(|t| format!("Synced at {}", clock(t, now))).unwrap_or_else(|| "Synced".into()),
                if waiting == 0 { Severity::Ok } else { Severity::Warning },
                here,
            ),
            (_, None, _) => ("Connecting…".into(), Severity::Neutral, here),
        }
    }

    /// Sync goes on in the background, so the one-second timer presents this too.
    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let (headline, severity, detail) = Self::summary(svc, now);
        ui.global::<SyncState>().set_headline(headline.into());
        ui.global::<SyncState>().set_severity(severity);
        ui.global::<SyncState>().set_detail(detail.into());
        ui.global::<SyncState>().set_can_sync(svc.sync.is_some());
        let conflicts = svc.store.open_conflicts().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot list sync conflicts");
            Vec::new()
        });
        let rows: Vec<ConflictRowData> = conflicts
            .into_iter()
            .map(|c| {
                let words = conflict::explain(&c.kind, &c.reason);
                ConflictRowData {
                    id: c.event_id.to_string().into(),
                    title: words.title.into(),
                    detail: format!("{} · {}", c.message, clock(c.at, now)).into(),
                    advice: words.advice.into(),
                }
            })
            .collect();
        let title = match rows.len() {
            0 if svc.sync.is_none() => "Not syncing".to_owned(),
            0 => "Nothing needs your attention".to_owned(),
            1 => "1 thing needs your attention".to_owned(),
            n => format!("{n} things need your attention"),
        };
        ui.global::<SyncState>().set_conflicts_title(title.into());
        ui.global::<SyncState>().set_conflicts(model(rows));
        ui.global::<SyncState>().set_notice(self.notice.text.clone().into());
        ui.global::<SyncState>().set_notice_severity(self.notice.severity);
    }
}

impl Page for SyncScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
