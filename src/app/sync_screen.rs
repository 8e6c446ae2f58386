//! The Sync screen: where sync stands in words, "Sync now", and the conflicts the cloud
//! refused, each with what to do and a way to clear it once dealt with.

use chrono::{DateTime, Local, Utc};
use slint::{ModelRc, VecModel};

use super::kiosk::{Kiosk, Notice};
use crate::domain::conflict;
use crate::ui::{AppWindow, ConflictRowData, Screen};

fn clock(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local);
    if local.date_naive() == now.with_timezone(&Local).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%-d %b %H:%M").to_string()
    }
}

fn changes(n: u64) -> String {
    match n {
        1 => "1 change".into(),
        n => format!("{n} changes"),
    }
}

impl Kiosk {
    /// Opened from the status bar's sync badge, on staff screens only.
    pub fn show_sync(&mut self) {
        if self.on_staff_screen() {
            self.screen = Screen::Sync;
            self.sync_notice = Notice::default();
        }
    }

    pub fn sync_now_tapped(&mut self) {
        match &self.sync {
            Some(_) => {
                self.sync_now();
                self.sync_notice = Notice { text: "Syncing now.".into(), severity: 0 };
            }
            None => self.sync_notice = Notice::warning("This kiosk is not connected to a cloud."),
        }
    }

    pub fn resolve_conflict(&mut self, event_id: &str) {
        let now = self.now();
        let result = uuid::Uuid::parse_str(event_id)
            .map_err(|e| e.to_string())
            .and_then(|id| self.store.resolve_conflict(id, now).map_err(|e| e.to_string()));
        self.sync_notice = match result {
            Ok(()) => {
                self.sync_now();
                Notice { text: "Marked as dealt with.".into(), severity: 0 }
            }
            Err(e) => Notice::error(format!("Could not mark it dealt with: {e}")),
        };
    }

    /// (headline, severity, detail) for the top of the screen.
    fn sync_summary(&self, now: DateTime<Utc>) -> (String, i32, String) {
        let waiting = self.store.unsynced_count().unwrap_or(0);
        let here = match waiting {
            0 => "Every change is in the cloud.".to_owned(),
            n => format!("{} kept on this kiosk until the cloud confirms them.", changes(n)),
        };
        let Some(sync) = &self.sync else {
            if let Some(error) = &self.sync_error {
                return (
                    "Sync is off".into(),
                    2,
                    format!(
                        "It could not start: {error}. {here} Correct the [sync] settings in the config file, \
                         then restart the kiosk."
                    ),
                );
            }
            return (
                "Not connected to a cloud".into(),
                3,
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
                2,
                "Receipts, holds and drop times use this kiosk's clock. Set the time in the Pi's settings, or \
                 give it internet so it sets itself; sync goes on meanwhile."
                    .into(),
            );
        }
        let last = status.last_ok.map(|t| format!(" Last sync {}.", clock(t, now))).unwrap_or_default();
        match (status.syncing, status.online, &status.last_error) {
            (true, ..) => ("Syncing…".into(), 1, format!("{here}{last}")),
            (_, Some(false), _) => {
                ("Offline".into(), 1, format!("{here} Nothing is lost; the kiosk tries again every few seconds.{last}"))
            }
            (_, Some(true), Some(error)) => ("Sync problem".into(), 2, format!("{error}. {here}{last}")),
            (_, Some(true), None) => (
                status.last_ok.map(|t| format!("Synced at {}", clock(t, now))).unwrap_or_else(|| "Synced".into()),
                if waiting == 0 { 0 } else { 1 },
                here,
            ),
            (_, None, _) => ("Connecting…".into(), 3, here),
        }
    }

    pub(super) fn present_sync(&self, ui: &AppWindow, now: DateTime<Utc>) {
        if self.screen != Screen::Sync {
            return;
        }
        let (headline, severity, detail) = self.sync_summary(now);
        ui.set_sync_headline(headline.into());
        ui.set_sync_severity(severity);
        ui.set_sync_detail(detail.into());
        ui.set_sync_can_sync(self.sync.is_some());
        let conflicts = self.store.open_conflicts().unwrap_or_else(|e| {
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
        ui.set_sync_conflicts(ModelRc::new(VecModel::from(rows)));
        ui.set_sync_notice(self.sync_notice.text.clone().into());
        ui.set_sync_notice_severity(self.sync_notice.severity);
    }
}
