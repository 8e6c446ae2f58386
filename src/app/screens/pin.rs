//! The PIN pad: staff unlock the staff screens; wrong PINs count towards a lockout that the
//! store keeps, so a restart does not reset it.

use chrono::{DateTime, Utc};

use super::Page;
use crate::app::auth::{self, AuthError};
use crate::app::services::{Notice, Services};
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
                self.notice = Notice::error(e.to_string());
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "PIN check failed");
                self.notice = Notice::error(format!("Could not check the PIN: {e}"));
                false
            }
        }
    }

    /// The pad closes (locked, or unlocked): nothing of this attempt stays on it.
    pub fn clear(&mut self) {
        self.notice = Notice::default();
        self.locked_until = None;
    }

    /// What the pad says: the wrong PIN's message, or the lockout counting down.
    fn message(&self, now: DateTime<Utc>) -> String {
        match self.locked_until {
            Some(until) if until > now => {
                format!("Too many wrong PINs. Try again in {}.", auth::wait_text(until, now))
            }
            Some(_) => "The pad is open again: enter the PIN.".into(),
            None => self.notice.text.clone(),
        }
    }

    /// Whether a lockout is counting down, so the pad is redrawn every second.
    pub fn counting_down(&self, now: DateTime<Utc>) -> bool {
        // Until a moment past the end, so "open again" is shown, then no more redraws.
        self.locked_until.is_some_and(|u| u + chrono::Duration::seconds(2) > now)
    }

    pub fn present(&self, svc: &Services, ui: &AppWindow) {
        ui.global::<PinState>().set_hint(if svc.demo { "Demo PIN: 1234".into() } else { Default::default() });
        ui.global::<PinState>().set_message(self.message(svc.now()).into());
    }
}

impl Page for PinScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
