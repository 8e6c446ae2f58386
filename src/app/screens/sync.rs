//! The Sync screen: where sync stands in words, "Sync now", and the conflicts the cloud
//! refused, each with what to do and a way to clear it once dealt with.

use chrono::{DateTime, Utc};

use super::Page;
use crate::app::present::{local_time as clock, model};
use crate::app::services::{Notice, Services, Severity};
use crate::domain::conflict;
use crate::i18n::{Language, Localized};
use crate::ui::{AppWindow, ConflictRowData, SyncState};
use crate::{t, tn};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct SyncScreen {
    notice: Notice,
}

/// Whole sentences, one after the other; the empty ones left out.
fn sentences(parts: &[String]) -> String {
    parts.iter().filter(|p| !p.is_empty()).map(String::as_str).collect::<Vec<_>>().join(" ")
}

/// "Clock 7 min behind the cloud": the headline for a clock off by more than the
/// tolerance (`sync::clock_off` says when), rounded as the status bar's badge rounds it.
fn clock_headline(language: Language, skew: i64) -> String {
    let l = language;
    let minutes = (skew.abs() + 30) / 60;
    let amount = if minutes >= 120 {
        t!(l, "{hours} h", hours = (minutes + 30) / 60)
    } else {
        t!(l, "{minutes} min", minutes = minutes)
    };
    if skew < 0 {
        t!(l, "Clock {amount} behind the cloud", amount = amount)
    } else {
        t!(l, "Clock {amount} ahead of the cloud", amount = amount)
    }
}

impl SyncScreen {
    pub fn sync_now(&mut self, svc: &Services) {
        let l = svc.language();
        self.notice = match &svc.sync {
            Some(_) => {
                svc.sync_now();
                Notice::ok(t!(l, "Syncing now."))
            }
            None => Notice::warning(t!(l, "This kiosk is not connected to a cloud.")),
        };
    }

    pub fn resolve_conflict(&mut self, svc: &mut Services, event_id: &str) {
        let now = svc.now();
        let l = svc.language();
        let result = uuid::Uuid::parse_str(event_id)
            .map_err(|e| e.to_string())
            .and_then(|id| svc.store.resolve_conflict(id, now).map_err(|e| e.localized(l)));
        self.notice = match result {
            Ok(()) => {
                svc.sync_now();
                Notice::ok(t!(l, "Marked as dealt with."))
            }
            Err(e) => Notice::error(t!(l, "Could not mark it dealt with: {error}", error = e)),
        };
    }

    /// (headline, severity, detail) for the top of the screen.
    fn summary(svc: &Services, now: DateTime<Utc>) -> (String, Severity, String) {
        let l = svc.language();
        let waiting = svc.store.unsynced_count().unwrap_or(0);
        let here = match waiting {
            0 => t!(l, "Every change is in the cloud."),
            n => tn!(
                l,
                "{n} change kept on this kiosk until the cloud confirms them.",
                "{n} changes kept on this kiosk until the cloud confirms them.",
                n
            ),
        };
        let Some(sync) = &svc.sync else {
            if let Some(error) = &svc.sync_error {
                return (
                    t!(l, "Sync is off"),
                    Severity::Error,
                    t!(
                        l,
                        "It could not start: {error}. {changes} Correct the [sync] settings in the config file, then restart the kiosk.",
                        error = error,
                        changes = here
                    ),
                );
            }
            let changes = if waiting == 0 { t!(l, "Nothing to send.") } else { here };
            return (
                t!(l, "Not connected to a cloud"),
                Severity::Neutral,
                t!(l, "{changes} To sync, set [sync] url and token in the config file.", changes = changes),
            );
        };
        let status = sync.status();
        if let (Some(_), Some(skew)) = (crate::sync::clock_off(status.clock_skew), status.clock_skew) {
            return (
                clock_headline(l, skew),
                Severity::Error,
                t!(
                    l,
                    "Receipts, holds and drop times use this kiosk's clock. Set the time in the Pi's settings, or give it internet so it sets itself; sync goes on meanwhile."
                ),
            );
        }
        let last = status.last_ok.map(|at| t!(l, "Last sync {time}.", time = clock(l, at, now))).unwrap_or_default();
        match (status.syncing, status.online, &status.last_error) {
            (true, ..) => (t!(l, "Syncing…"), Severity::Warning, sentences(&[here, last])),
            (_, Some(false), _) => (
                t!(l, "Offline"),
                Severity::Warning,
                sentences(&[here, t!(l, "Nothing is lost; the kiosk tries again every few seconds."), last]),
            ),
            // The worker's error is its own words, ended as a sentence.
            (_, Some(true), Some(error)) => {
                (t!(l, "Sync problem"), Severity::Error, sentences(&[format!("{error}."), here, last]))
            }
            (_, Some(true), None) => (
                status
                    .last_ok
                    .map(|at| t!(l, "Synced at {time}", time = clock(l, at, now)))
                    .unwrap_or_else(|| t!(l, "Synced")),
                if waiting == 0 { Severity::Ok } else { Severity::Warning },
                here,
            ),
            (_, None, _) => (t!(l, "Connecting…"), Severity::Neutral, here),
        }
    }

    /// Sync goes on in the background, so the one-second timer presents this too.
    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let l = svc.language();
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
                    detail: format!("{} · {}", c.message, clock(l, c.at, now)).into(),
                    advice: words.advice.into(),
                }
            })
            .collect();
        let title = match rows.len() {
            0 if svc.sync.is_none() => t!(l, "Not syncing"),
            0 => t!(l, "Nothing needs your attention"),
            n => tn!(l, "{n} thing needs your attention", "{n} things need your attention", n),
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
