//! The PIN pad: staff unlock the staff screens; wrong PINs count towards a lockout that the
//! store keeps, so a restart does not reset it.

use chrono::{DateTime, Utc};

use super::Page;
use crate::app::auth::{self, AuthError};
use crate::app::services::{Notice, Services};
use crate::i18n::{Language, Localized};
use crate::t;
use crate::ui::{AppWindow, PinState};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct PinScreen {
    /// Why the last PIN was refused.
    notice: Notice,
    /// While the pad is locked after wrong PINs: until when (the message counts down to it).
    locked_until: Option<DateTime<Utc>>,
}

impl PinScreen {
    /// Checks the PIN; true when it unlocks.
    pub fn unlock(&mut self, svc: &mut Services, pin: &str) -> bool {
        let now = svc.now();
        let l = svc.language();
        match auth::check_pin(&mut svc.store, pin, now) {
            Ok(()) => {
                self.clear();
                true
            }
            Err(AuthError::LockedOut { until, .. }) => {
                // Said afresh every second from this (see `message`), so it counts down.
                self.locked_until = Some(until);
                self.notice = Notice::default();
                false
            }
            Err(e @ (AuthError::Wrong(_) | AuthError::NoPin | AuthError::BadPin)) => {
                self.notice = Notice::error(e.localized(l));
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "PIN check failed");
                self.notice = Notice::error(t!(l, "Could not check the PIN: {error}", error = e.localized(l)));
                false
            }
        }
    }

    /// The pad closes (locked, or unlocked): nothing of this attempt stays on it.
    pub fn clear(&mut self) {
        self.notice = Notice::default();
        self.locked_until = None;
    }

    /// What the pad says, in `language`: the wrong PIN's message, or the lockout counting down.
    fn message(&self, language: Language, now: DateTime<Utc>) -> String {
        let l = language;
        match self.locked_until {
            Some(until) if until > now => {
                t!(l, "Too many wrong PINs. Try again in {wait}.", wait = auth::wait_text(l, until, now))
            }
            Some(_) => t!(l, "The pad is open again: enter the PIN."),
            None => self.notice.text.clone(),
        }
    }

    /// Whether a lockout is counting down, so the pad is redrawn every second.
    pub fn counting_down(&self, now: DateTime<Utc>) -> bool {
        // Until a moment past the end, so "open again" is shown, then no more redraws.
        self.locked_until.is_some_and(|u| u + chrono::Duration::seconds(2) > now)
    }

    pub fn present(&self, svc: &Services, ui: &AppWindow) {
        let l = svc.language();
        ui.global::<PinState>().set_hint(if svc.demo {
            t!(l, "Demo PIN: {pin}", pin = "1234").into()
        } else {
            Default::default()
        });
        ui.global::<PinState>().set_message(self.message(l, svc.now()).into());
    }
}

impl Page for PinScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
