//! The Holds tab: today's holds and reservations, searchable by name, serial or code; collect
//! one (its piece goes to the cart), give it more time, or release it with a reason.

use chrono::{DateTime, Local, Utc};
use uuid::Uuid;

use super::Page;
use crate::app::present::{countdown, hm, model};
use crate::app::services::{Notice, Services, Severity};
use crate::domain::reservation::Source;
use crate::domain::{HoldLength, RELEASE_REASONS, Reservation, ReservationKind, ReservationState};
use crate::i18n::{self, Language, Localized};
use crate::t;
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
        let l = svc.language();
        match svc.store.reservation(id) {
            Ok(Some(r)) => Some(r),
            Ok(None) => {
                self.notice = Notice::error(t!(l, "That reservation no longer exists."));
                None
            }
            Err(e) => {
                self.notice = Notice::error(e.localized(l));
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
        // More time is what a customer asks for: no reason to pick, one is still recorded
        // (in English, as the record's own words).
        let reason = if reason.trim().is_empty() { "Extended at the stall" } else { reason };
        let now = svc.now();
        let l = svc.language();
        let Some(current) = svc.store.reservation(id).ok().flatten() else { return false };
        // Extending adds the chosen time to what is left, so a tap never shortens a hold.
        let until = HoldLength::EXTENSION.until(current.expires_at.max(now), &Local);
        match svc.store.extend_reservation(id, until, reason, now) {
            Ok(()) => {
                let at = until.with_timezone(&Local);
                self.notice = Notice::ok(t!(
                    l,
                    "{code} now held until {when}.",
                    code = current.code,
                    when = i18n::weekday_time(l, at.naive_local())
                ));
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.localized(l));
                false
            }
        }
    }

    /// Ends a hold or reservation early; the piece goes back on sale. True when done.
    pub fn release(&mut self, svc: &mut Services, id: &str, reason: &str) -> bool {
        let Ok(id) = Uuid::parse_str(id) else { return false };
        let l = svc.language();
        if reason.trim().is_empty() {
            // The reasons as the buttons above show them.
            let [a, b, c] = RELEASE_REASONS.map(|r| i18n::tr(l, r));
            self.notice = Notice::warning(t!(
                l,
                "Pick why above ({first}, {second} or {third}), then tap Release again.",
                first = a,
                second = b,
                third = c
            ));
            return false;
        }
        let now = svc.now();
        match svc.store.release_reservation(id, reason, now) {
            Ok(()) => {
                self.notice = Notice::ok(t!(l, "Released: the piece is back on sale."));
                true
            }
            Err(e) => {
                self.notice = Notice::error(e.localized(l));
                false
            }
        }
    }

    /// The countdowns move, so the one-second timer presents this too.
    pub fn present(&self, svc: &Services, ui: &AppWindow, now: DateTime<Utc>) {
        let l = svc.language();
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
            .map(|r| row(&r, now, l))
            .collect();
        ui.global::<ReservationsState>().set_rows(model(rows));
        ui.global::<ReservationsState>().set_notice(self.notice.text.clone().into());
        ui.global::<ReservationsState>().set_notice_severity(self.notice.severity);
    }
}

/// A row of the list, worded in `language`. Each state is one whole message per kind, so a
/// translation can make the words agree with "hold" or "reservation".
fn row(r: &Reservation, now: DateTime<Utc>, language: Language) -> ReservationRowData {
    let l = language;
    let hold = r.kind == ReservationKind::Hold;
    let (detail, severity, active) = match &r.state {
        ReservationState::Active if r.is_alive(now) => {
            let soon = r.expires_at - now < chrono::Duration::minutes(30);
            let online = r.source == Source::Online;
            let (left, price) = (countdown(l, now, r.expires_at), i18n::money(l, r.price));
            let detail = match (hold, online) {
                (true, false) => t!(l, "Hold · {left} left · {price}", left = left, price = price),
                (true, true) => t!(l, "Hold (online) · {left} left · {price}", left = left, price = price),
                (false, false) => t!(l, "Reservation · {left} left · {price}", left = left, price = price),
                (false, true) => t!(l, "Reservation (online) · {left} left · {price}", left = left, price = price),
            };
            (detail, if soon { Severity::Warning } else { Severity::Ok }, true)
        }
        ReservationState::Active | ReservationState::Expired { .. } => {
            let detail = if hold { t!(l, "Hold · expired") } else { t!(l, "Reservation · expired") };
            (detail, Severity::Neutral, false)
        }
        ReservationState::Collected { at, .. } => {
            let time = hm(*at);
            let detail = if hold {
                t!(l, "Hold · collected {time}", time = time)
            } else {
                t!(l, "Reservation · collected {time}", time = time)
            };
            (detail, Severity::Neutral, false)
        }
        ReservationState::Released { reason, at } => {
            // A reason picked from the buttons is a message id: shown as the buttons show it.
            let (time, reason) = (hm(*at), i18n::tr(l, reason));
            let detail = if hold {
                t!(l, "Hold · released {time} ({reason})", time = time, reason = reason)
            } else {
                t!(l, "Reservation · released {time} ({reason})", time = time, reason = reason)
            };
            (detail, Severity::Neutral, false)
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
