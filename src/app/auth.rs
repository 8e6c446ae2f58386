//! Staff PIN: hashed with Argon2, checked against a persisted lockout.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};

use crate::domain::lockout;
use crate::i18n::{Language, Localized};
use crate::store::{Store, StoreError};
use crate::{t, tn};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Wrong PIN. {0} tries left before the pad locks.")]
    Wrong(u32),
    #[error("Too many wrong PINs. Try again in {}.", wait_between(.until, .at))]
    LockedOut {
        until: DateTime<Utc>,
        /// When this was said (the wait is counted from it).
        at: DateTime<Utc>,
    },
    #[error("No staff PIN is set on this kiosk. Set one with `marketday set-pin`.")]
    NoPin,
    #[error("A PIN is 4 to 8 digits.")]
    BadPin,
    #[error("could not hash the PIN: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Localized for AuthError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            AuthError::Wrong(left) => tn!(
                l,
                "Wrong PIN. {n} try left before the pad locks.",
                "Wrong PIN. {n} tries left before the pad locks.",
                *left
            ),
            AuthError::LockedOut { until, at } => {
                t!(l, "Too many wrong PINs. Try again in {wait}.", wait = wait_text(l, *until, *at))
            }
            AuthError::NoPin => t!(l, "No staff PIN is set on this kiosk. Set one with `marketday set-pin`."),
            AuthError::BadPin => t!(l, "A PIN is 4 to 8 digits."),
            AuthError::Hash(detail) => t!(l, "could not hash the PIN: {detail}", detail = detail),
            AuthError::Store(e) => e.localized(l),
        }
    }
}

pub fn hash_pin(pin: &str) -> Result<String, AuthError> {
    if !lockout::valid_pin(pin) {
        return Err(AuthError::BadPin);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// The English `Display` (logs).
fn wait_between(until: &DateTime<Utc>, at: &DateTime<Utc>) -> String {
    wait_text(Language::En, *until, *at)
}

/// How long until the pad opens, in words ("30 seconds", "5 minutes"), in `language`.
pub fn wait_text(language: Language, until: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (until - now).num_seconds().max(1);
    if secs < 90 {
        tn!(language, "{n} second", "{n} seconds", secs)
    } else {
        tn!(language, "{n} minute", "{n} minutes", (secs + 59) / 60)
    }
}

/// Checks a PIN typed at the pad, counting failures in the store so a restart does not
/// reset them.
pub fn check_pin(store: &mut Store, pin: &str, now: DateTime<Utc>) -> Result<(), AuthError> {
    let state = store.pin_state()?.ok_or(AuthError::NoPin)?;
    if let Some(until) = state.locked_until.filter(|u| *u > now) {
        return Err(AuthError::LockedOut { until, at: now });
    }
    let parsed = PasswordHash::new(&state.hash).map_err(|e| AuthError::Hash(e.to_string()))?;
    if Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok() {
        store.record_pin_attempt(0, None)?;
        return Ok(());
    }
    let failed = state.failed_attempts + 1;
    let until = lockout::locked_until(failed, now);
    store.record_pin_attempt(failed, until)?;
    match until {
        Some(until) => Err(AuthError::LockedOut { until, at: now }),
        None => Err(AuthError::Wrong(lockout::FREE_ATTEMPTS - failed)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn pin_is_never_stored_in_clear_and_locks_after_repeated_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let mut store = Store::open(&path).unwrap();
        let now = Utc::now();
        assert!(matches!(check_pin(&mut store, "1234", now), Err(AuthError::NoPin)));
        store.set_pin_hash(&hash_pin("4821").unwrap()).unwrap();
        let stored = store.pin_state().unwrap().unwrap().hash;
        assert!(stored.starts_with("$argon2id$v=19$"), "stored as an Argon2id hash: {stored}");
        // On disk (the database file and its write-ahead log) the hash is there, and the
        // PIN's digits are nowhere.
        let on_disk: Vec<u8> = ["", "-wal"]
            .iter()
            .flat_map(|suffix| std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default())
            .collect();
        assert!(on_disk.windows(stored.len()).any(|w| w == stored.as_bytes()), "read the file the hash is in");
        assert!(!on_disk.windows(4).any(|w| w == b"4821"), "the PIN is in the database file in clear");
        check_pin(&mut store, "4821", now).unwrap();
        for left in (1..lockout::FREE_ATTEMPTS).rev() {
            assert!(matches!(check_pin(&mut store, "0000", now), Err(AuthError::Wrong(n)) if n == left));
        }
        assert!(matches!(check_pin(&mut store, "0000", now), Err(AuthError::LockedOut { .. })));
        // The right PIN does not help while locked, even after a restart.
        drop(store);
        let mut store = Store::open(&path).unwrap();
        assert!(matches!(check_pin(&mut store, "4821", now + Duration::seconds(10)), Err(AuthError::LockedOut { .. })));
        check_pin(&mut store, "4821", now + Duration::seconds(31)).unwrap();
        assert_eq!(store.pin_state().unwrap().unwrap().failed_attempts, 0);
    }
}
