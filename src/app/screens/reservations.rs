//! The Holds tab: today's holds and reservations, searchable by name, serial or code; collect
//! one (its piece goes to the cart), give it more time, or release it with a reason.

use chrono::{DateTime, Local, Utc};
use uuid::Uuid;

use super::Page;
use crate::app::present::{countdown, hm, model};
use crate::app::services::{Notice, Services, Severity};
use crate::domain::reservation::Source;
use crate::domain::{HoldLength, RELEASE_REASONS, Reservation, ReservationKind, ReservationState};
use crate::ui::{AppWindow, ReservationRowData, ReservationsState};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct ReservationsScreen {
    query: String,
    notice: Notice,
}

impl ReservationsScreen {
    pub fn open(&mut self) {
        self.notice = Notice::default();
    }

    pub fn search(&mut self, query: &str) {
        self.query = query.trim().to_owned();
    }

    /// The reservation staff tapped Collect on, for the router to put in the cart; why not,
    /// on this screen's banner, when there is none.
    pub fn to_collect(&mut self, svc: &Services, id: &str) -> Option<Reservation> {
        let id = Uuid::parse_str(id).ok()?;
        match svc.store.reservation(id) {
            Ok(Some(r)) => Some(r),
            Ok(None) => {
                self.notice = Notice::error("That reservation no longer exists.");
                None
            }
            Err(e) => {
                self.notice = Notice::error(e.to_string());
                None
            }
        }
    }

    /// Why a collection did not go into the cart.
    pub fn tell(&mut self, notice: Notice) {
        self.notice = notice;
    }

    /// Adds [`HoldLength::EXTENSION`] to a hold or reservation. True when done.
    pub fn extend(&mut self, svc: &mut Services, id: &str, reason: &str) -> bool {
        let Ok(id) = Uuid::parse_str(id) else { return false };
        // More time is what a customer asks for: no reason to pick, one is still recorded.
        let reason = if reason.trim().is_empty() { "Extended at the stall" } else { reason };
        let now = svc.now();
        let Some(current) = svc.store.reservation(id).ok().flatten() else { return false };
        // Extending adds the chosen time to what is left, so a tap never shortens a hold.
        let until = HoldLength::EXTENSION.until(current.expires_at.max(now), &Local);
        match svc.store.extend_reservation(id, until, reason, now) {
            Ok(()) => {
                let at = until.with_timezone(&Local).format("%a %H:%M");
                self.notice = Notice::ok(format!("{} now held until {at}.", current.code));
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.to_string());
                false
            }
        }
    }

    /// Ends a hold or reservation early; the piece goes back on sale. True when done.
    pub fn release(&mut self, svc: &mut Services, id: &str, reason: &str) -> bool {
        let Ok(id) = Uuid::parse_str(id) else { return false };
        if reason.trim().is_empty() {
            let [a, b, c] = RELEASE_REASONS;
            self.notice = Notice::warning(format!("Pick why above ({a}, {b} or {c}), then tap Release again."));
            return false;
        }
        let now = svc.now();
        match svc.store.release_reservation(id, reason, now) {
            Ok(()) => {
                self.notice = Notice::ok("Released: the piece is back on sale.");
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.to_string());
                false
            }
        }
    }

    /// The countdowns move, so the one-second timer presents this too.
    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let today = now.with_timezone(&Local).date_naive();
        let since = today
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(Local).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now - chrono::Duration::hours(24));
        let rows = svc
            .store
            .search_reservations(&self.query, since, now, 100)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot list reservations");
                Vec::new()
            })
            .into_iter()
            .map(|r| row(&r, now))
            .collect();
        ui.global::<ReservationsState>().set_rows(model(rows));
        ui.global::<ReservationsState>().set_notice(self.notice.text.clone().into());
        ui.global::<ReservationsState>().set_notice_severity(self.notice.severity);
    }
}

fn row(r: &Reservation, now: DateTime<Utc>) -> ReservationRowData {
    let kind = if r.kind == ReservationKind::Hold { "Hold" } else { "Reservation" };
    let (detail, severity, active) = match &r.state {
        ReservationState::Active if r.is_alive(now) => {
            let soon = r.expires_at - now < chrono::Duration::minutes(30);
            let online = if r.source == Source::Online { " (online)" } else { "" };
            let detail = format!("{kind}{online} · {} left · {}", countdown(now, r.expires_at), r.price);
            (detail, if soon { Severity::Warning } else { Severity::Ok }, true)
        }
        ReservationState::Active | ReservationState::Expired { .. } => {
            (format!("{kind} · expired"), Severity::Neutral, false)
        }
        ReservationState::Collected { at, .. } => (format!("{kind} · collected {}", hm(*at)), Severity::Neutral, false),
        ReservationState::Released { reason, at } => {
            (format!("{kind} · released {} ({reason})", hm(*at)), Severity::Neutral, false)
        }
    };
    ReservationRowData {
        id: r.id.to_string().into(),
        title: format!("{} · {}", r.customer.name, r.serial).into(),
        code: r.code.to_string().into(),
        detail: detail.into(),
        severity,
        active,
    }
}

impl Page for ReservationsScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
