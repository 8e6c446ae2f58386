//! The chrome around the screens: the status bar (stall, drop and its phase, sync, printer,
//! camera) and the drop heading that Idle and Sell share. Recomputed after every tap and
//! every second, so it reads only counts and the devices' published states.

use crate::i18n::Language;
use crate::{t, tn};
use chrono::{DateTime, Utc};

use super::present::{camera_badge, countdown, hm, printer_word};
use super::services::{Services, Severity};
use crate::domain::DropPhase;
use crate::store::DropSummary;
use crate::ui::{AppWindow, IdleState, SellState, StatusData};
use slint::ComponentHandle;

pub fn present_status(svc: &Services, ui: &AppWindow, drop: Option<&DropSummary>, now: DateTime<Utc>) {
    let l = svc.language();
    let (drop_name, phase, phase_severity, countdown_text) = match drop {
        None => (String::new(), t!(l, "No drop"), Severity::Neutral, String::new()),
        Some(d) => {
            let phase = d.drop.phase(now);
            let severity = match phase {
                DropPhase::GeneralSale => Severity::Ok,
                DropPhase::MembersOnly | DropPhase::Upcoming => Severity::Warning,
                DropPhase::Closed => Severity::Error,
            };
            let until = d.drop.next_change(now).map(|at| {
                let time = countdown(l, now, at);
                match phase {
                    DropPhase::Upcoming => t!(l, "opens in {time}", time = time),
                    DropPhase::MembersOnly => t!(l, "public in {time}", time = time),
                    _ => time,
                }
            });
            // `DropPhase::label`'s words, in the language showing.
            let word = match phase {
                DropPhase::Upcoming => t!(l, "Opens soon"),
                DropPhase::MembersOnly => t!(l, "Members only"),
                DropPhase::GeneralSale => t!(l, "On sale"),
                DropPhase::Closed => t!(l, "Closed"),
            };
            (d.drop.name.clone(), word, severity, until.unwrap_or_default())
        }
    };
    let (sync, sync_severity) = sync_badge(svc);
    let (printer, printer_severity) = printer_badge(svc);
    let (camera, camera_severity) = camera_badge(l, svc.camera_status());
    ui.set_status(StatusData {
        stall: svc.config.stall.name.clone().into(),
        drop: drop_name.into(),
        phase: phase.into(),
        phase_severity,
        countdown: countdown_text.into(),
        sync: sync.into(),
        sync_severity,
        printer: printer.into(),
        printer_severity,
        camera: camera.into(),
        camera_severity,
    });
}

/// "Paper out · 2 waiting": the printer's state and the jobs it holds up.
fn printer_badge(svc: &Services) -> (String, Severity) {
    let l = svc.language();
    let Some(q) = svc.print_status() else {
        return if svc.printing_error.is_some() {
            (t!(l, "Off"), Severity::Error)
        } else {
            (t!(l, "None"), Severity::Neutral)
        };
    };
    if !q.checked {
        return (t!(l, "Checking"), Severity::Neutral);
    }
    let (word, severity) = printer_word(l, &q.status);
    let text = match q.waiting {
        0 => word,
        n if q.status.can_print() => tn!(l, "Printing {n}", "Printing {n}", n),
        n => tn!(l, "{state} · {n} waiting", "{state} · {n} waiting", n, state = word),
    };
    // A held job needs staff even when the printer is fine.
    let held = |n: u64| tn!(l, "{status} · {n} held", "{status} · {n} held", n, status = text);
    match q.held {
        0 => (text.clone(), severity),
        n if severity == Severity::Ok => (held(n), Severity::Warning),
        n => (held(n), severity),
    }
}

/// "Synced 14:05", "Syncing · 12 left", "Offline · 3 not synced", "2 sync conflicts".
fn sync_badge(svc: &Services) -> (String, Severity) {
    let l = svc.language();
    let waiting = match svc.store.unsynced_count() {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "cannot count unsynced changes");
            return (t!(l, "Store error"), Severity::Error);
        }
    };
    // What staff must act on comes first, whatever the connection.
    let conflicts = svc.store.open_conflict_count().unwrap_or(0);
    if conflicts > 0 {
        return (tn!(l, "{n} sync conflict", "{n} sync conflicts", conflicts), Severity::Error);
    }
    let offline = |n: u64| tn!(l, "Offline · {n} not synced", "Offline · {n} not synced", n);
    let Some(sync) = &svc.sync else {
        if svc.sync_error.is_some() {
            let text = if waiting == 0 {
                t!(l, "Sync off")
            } else {
                tn!(l, "Sync off · {n} not synced", "Sync off · {n} not synced", waiting)
            };
            return (text, Severity::Error);
        }
        return if waiting == 0 {
            (t!(l, "Offline · all synced"), Severity::Neutral)
        } else {
            (offline(waiting), Severity::Warning)
        };
    };
    let status = sync.status();
    if let Some(clock) = crate::sync::clock_off(status.clock_skew) {
        return (clock, Severity::Error);
    }
    match (status.online, waiting) {
        (Some(false), 0) => (t!(l, "Offline · all synced"), Severity::Neutral),
        (Some(false), n) => (offline(n), Severity::Warning),
        (Some(true), n) if status.last_error.is_some() => {
            (tn!(l, "Sync problem · {n} not synced", "Sync problem · {n} not synced", n), Severity::Error)
        }
        (Some(true), 0) => (t!(l, "Synced {time}", time = status.last_ok.map(hm).unwrap_or_default()), Severity::Ok),
        (Some(true), n) => (tn!(l, "Syncing · {n} left", "Syncing · {n} left", n), Severity::Warning),
        (None, n) => (tn!(l, "Connecting · {n} not synced", "Connecting · {n} not synced", n), Severity::Warning),
    }
}

/// The idle screen's welcome and the Sell grid's heading: the drop and what is left, in
/// `language` (the customer's on the idle screen, the stall's on Sell).
pub fn present_drop_heading(ui: &AppWindow, drop: Option<&DropSummary>, now: DateTime<Utc>, language: Language) {
    let l = language;
    let Some(d) = drop else {
        ui.global::<IdleState>().set_headline(t!(l, "Welcome").into());
        ui.global::<IdleState>().set_detail(t!(l, "Ask us about our pieces.").into());
        ui.global::<SellState>().set_drop_title(t!(l, "No drop on sale").into());
        return;
    };
    let left = tn!(l, "{left} of {n} piece left", "{left} of {n} pieces left", d.pieces, left = d.available);
    ui.global::<IdleState>().set_headline(format!("{} · {left}", d.drop.name).into());
    let phase = d.drop.phase(now);
    let detail = match phase {
        DropPhase::GeneralSale => t!(l, "On sale now. Ask us to see any piece."),
        DropPhase::MembersOnly => t!(l, "Waitlist members only for now. Ask us about the waitlist."),
        DropPhase::Upcoming => t!(l, "Opening soon. Ask us about the waitlist."),
        DropPhase::Closed => t!(l, "This drop has closed. Thank you for visiting."),
    };
    ui.global::<IdleState>().set_detail(detail.into());
    let next = d.drop.next_change(now).map(|at| {
        let time = countdown(l, now, at);
        match phase {
            DropPhase::Upcoming => t!(l, "opens in {time}", time = time),
            DropPhase::MembersOnly => t!(l, "public in {time}", time = time),
            _ => t!(l, "closes in {time}", time = time),
        }
    });
    // The phase is in the status bar just above; the heading keeps its room for the count
    // and the countdown so that neither is cut on the 800 px screen. Each part between the
    // dots is whole in itself: the drop's name, what is left, the next change.
    let count = tn!(l, "{n} of {total} left", "{n} of {total} left", d.available, total = d.pieces);
    let title = [Some(d.drop.name.clone()), Some(count), next].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    ui.global::<SellState>().set_drop_title(title.into());
}
