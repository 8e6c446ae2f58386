//! How long the PIN pad locks after wrong PINs: a few free tries, then doubling waits,
//! so a passer-by cannot guess a four-digit PIN during a busy market day.

use chrono::{DateTime, Duration, Utc};

pub const FREE_ATTEMPTS: u32 = 5;
const FIRST_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 15 * 60;

/// After the `failed`-th consecutive wrong PIN, the moment until which the pad is locked.
pub fn locked_until(failed: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failed < FREE_ATTEMPTS {
        return None;
    }
    let doublings = (failed - FREE_ATTEMPTS).min(10);
    let secs = (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS);
    Some(now + Duration::seconds(secs))
}

/// How many digits a PIN has: short enough for gloves, long enough to choose well.
pub const PIN_LENGTH: std::ops::RangeInclusive<usize> = 4..=8;

/// A PIN is [`PIN_LENGTH`] digits.
pub fn valid_pin(pin: &str) -> bool {
    PIN_LENGTH.contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_starts_after_free_attempts_and_doubles_to_a_cap() {
        let now = Utc::now();
        assert_eq!(locked_until(4, now), None);
        assert_eq!(locked_until(5, now), Some(now + Duration::seconds(30)));
        assert_eq!(locked_until(6, now), Some(now + Duration::seconds(60)));
        assert_eq!(locked_until(50, now), Some(now + Duration::seconds(15 * 60)));
    }

    #[test]
    fn pins_are_four_to_eight_digits() {
        assert!(valid_pin("1234"));
        assert!(!valid_pin("123"));
        assert!(!valid_pin("12a4"));
        assert!(!valid_pin("123456789"));
    }
}
