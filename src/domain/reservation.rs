//! Holds and reservations: a piece kept for one customer until a moment.
//!
//! A **hold** is made by staff at the stall for a short time (30 minutes, until the end of
//! the day); a **reservation** is made online or at the stall, usually for longer, and the
//! customer brings its code to collect. Both keep the piece off sale and both end in one
//! of three ways: collected (it became a sale), released (with a reason), or expired.
//!
//! The one rule about time: a reservation is alive while `now < expires_at`. At the
//! expiry instant it is expired, so a collection and an expiry racing at the same moment
//! have a defined winner — expiry — and the store applies the same comparison.

use chrono::{DateTime, Duration, NaiveTime, Offset, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::money::Money;
use super::piece::Serial;
use crate::i18n::{Language, Localized};
use crate::{msg, t};
pub use marketday_provenance::{CodeError, ReservationCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationKind {
    Hold,
    Reservation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Stall,
    /// Made in the atelier's online shop and pulled down by sync.
    Online,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReservationState {
    Active,
    Collected { sale_id: Uuid, at: DateTime<Utc> },
    Released { reason: String, at: DateTime<Utc> },
    Expired { at: DateTime<Utc> },
}

/// Why a hold or reservation is released early: the choices the Holds screen offers.
/// English message ids: shown with `i18n::tr`.
pub const RELEASE_REASONS: [&str; 3] = [msg!("Customer asked"), msg!("No show"), msg!("Changed mind")];

/// Who a piece is kept for: a name and a way to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    /// Phone or email.
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: Uuid,
    pub code: ReservationCode,
    pub kind: ReservationKind,
    pub source: Source,
    pub serial: Serial,
    pub customer: Customer,
    pub member_id: Option<String>,
    /// The price agreed when it was made, charged at collection.
    pub price: Money,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: ReservationState,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReservationError {
    #[error("A hold needs the customer's name.")]
    NoName,
    #[error("A hold needs a phone number or email to reach the customer.")]
    NoContact,
    #[error("The expiry must be in the future.")]
    ExpiryInPast,
    #[error("Reservation {0} has expired; the piece is back on sale.")]
    Expired(ReservationCode),
    #[error("Reservation {0} was already collected.")]
    AlreadyCollected(ReservationCode),
    #[error("Reservation {0} was released.")]
    Released(ReservationCode),
    #[error("Changing a reservation needs a reason.")]
    NoReason,
    #[error("No reservation with code {0}. Check the code with the customer.")]
    UnknownCode(String),
}

impl Localized for ReservationError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            ReservationError::NoName => t!(l, "A hold needs the customer's name."),
            ReservationError::NoContact => t!(l, "A hold needs a phone number or email to reach the customer."),
            ReservationError::ExpiryInPast => t!(l, "The expiry must be in the future."),
            ReservationError::Expired(code) => {
                t!(l, "Reservation {code} has expired; the piece is back on sale.", code = code)
            }
            ReservationError::AlreadyCollected(code) => t!(l, "Reservation {code} was already collected.", code = code),
            ReservationError::Released(code) => t!(l, "Reservation {code} was released.", code = code),
            ReservationError::NoReason => t!(l, "Changing a reservation needs a reason."),
            ReservationError::UnknownCode(code) => {
                t!(l, "No reservation with code {code}. Check the code with the customer.", code = code)
            }
        }
    }
}

impl Customer {
    pub fn new(name: &str, contact: &str) -> Result<Customer, ReservationError> {
        let (name, contact) = (name.trim(), contact.trim());
        if name.is_empty() {
            return Err(ReservationError::NoName);
        }
        if contact.is_empty() {
            return Err(ReservationError::NoContact);
        }
        Ok(Customer { name: name.to_owned(), contact: contact.to_owned() })
    }
}

impl Reservation {
    /// Whether it still keeps its piece at `now`.
    pub fn is_alive(&self, now: DateTime<Utc>) -> bool {
        self.state == ReservationState::Active && now < self.expires_at
    }

    /// Why it cannot be collected, extended or released at `now`, if it cannot.
    pub fn check_alive(&self, now: DateTime<Utc>) -> Result<(), ReservationError> {
        match &self.state {
            ReservationState::Active if now < self.expires_at => Ok(()),
            ReservationState::Active | ReservationState::Expired { .. } => {
                Err(ReservationError::Expired(self.code.clone()))
            }
            ReservationState::Collected { .. } => Err(ReservationError::AlreadyCollected(self.code.clone())),
            ReservationState::Released { .. } => Err(ReservationError::Released(self.code.clone())),
        }
    }

    /// A new expiry, with a reason, for a reservation still alive.
    pub fn check_extend(&self, until: DateTime<Utc>, reason: &str, now: DateTime<Utc>) -> Result<(), ReservationError> {
        self.check_alive(now)?;
        if reason.trim().is_empty() {
            return Err(ReservationError::NoReason);
        }
        if until <= now {
            return Err(ReservationError::ExpiryInPast);
        }
        Ok(())
    }
}

/// How long staff hold a piece: the hold panel's quick picks, in the order it offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldLength {
    HalfHour,
    TwoHours,
    EndOfDay,
    OneDay,
}

impl HoldLength {
    pub const ALL: [HoldLength; 4] =
        [HoldLength::HalfHour, HoldLength::TwoHours, HoldLength::EndOfDay, HoldLength::OneDay];
    /// What one tap on the Holds screen adds to a hold.
    pub const EXTENSION: HoldLength = HoldLength::TwoHours;

    /// The quick pick's words on the hold panel, in `language`.
    pub fn label(self, language: Language) -> String {
        let l = language;
        match self {
            HoldLength::HalfHour => t!(l, "30 min"),
            HoldLength::TwoHours => t!(l, "2 h"),
            HoldLength::EndOfDay => t!(l, "End of day"),
            HoldLength::OneDay => t!(l, "1 day"),
        }
    }

    /// When a hold of this length, counted from `from`, ends. "End of day" is 23:59 on the
    /// stall's clock (`tz`), or an hour from `from` when that is closer: a customer told "until
    /// we close" at 23:58 still has time to come back.
    pub fn until<Tz: TimeZone>(self, from: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
        match self {
            HoldLength::HalfHour => from + Duration::minutes(30),
            HoldLength::TwoHours => from + Duration::hours(2),
            HoldLength::OneDay => from + Duration::days(1),
            HoldLength::EndOfDay => last_minute_of_day(from, tz).max(from + Duration::hours(1)),
        }
    }
}

/// 23:59 on `at`'s date on the clock `tz`. Should a clock change ever skip that minute, the
/// offset in force at `at` places it.
fn last_minute_of_day<Tz: TimeZone>(at: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
    let local = at.with_timezone(tz);
    let last = local.date_naive().and_time(NaiveTime::from_hms_opt(23, 59, 0).unwrap_or_default());
    match tz.from_local_datetime(&last).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            let offset = Duration::seconds(i64::from(local.offset().fix().local_minus_utc()));
            Utc.from_utc_datetime(&(last - offset))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use chrono_tz::Europe::London;

    use super::*;
    use crate::domain::Currency;

    #[test]
    fn expiry_wins_a_tie_with_collection() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let r = Reservation {
            id: Uuid::nil(),
            code: ReservationCode::from_indices([0; 6]),
            kind: ReservationKind::Hold,
            source: Source::Stall,
            serial: Serial::parse("AT-1").unwrap(),
            customer: Customer::new("Ana", "ana@example.com").unwrap(),
            member_id: None,
            price: Money::new(100, Currency::GBP),
            created_at: now,
            expires_at: now + Duration::minutes(30),
            state: ReservationState::Active,
        };
        assert!(r.is_alive(r.expires_at - Duration::milliseconds(1)));
        assert!(!r.is_alive(r.expires_at));
        assert!(matches!(r.check_alive(r.expires_at), Err(ReservationError::Expired(_))));
        assert_eq!(r.check_extend(now + Duration::hours(1), " ", now), Err(ReservationError::NoReason));
        assert_eq!(r.check_extend(now, "later", now), Err(ReservationError::ExpiryInPast));
        assert!(r.check_extend(now + Duration::hours(1), "Coming back after lunch", now).is_ok());
        assert_eq!(Customer::new(" ", "x"), Err(ReservationError::NoName));
        assert_eq!(Customer::new("Ana", ""), Err(ReservationError::NoContact));
    }
    /// A UTC instant given as London wall-clock time.
    fn london(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        London.with_ymd_and_hms(y, m, d, h, min, 0).earliest().unwrap().with_timezone(&Utc)
    }

    #[test]
    fn end_of_day_is_the_last_minute_of_the_stalls_day_or_an_hour_when_closer() {
        // 00:01: the whole day, to 23:59 the same day.
        let early = london(2026, 7, 14, 0, 1);
        assert_eq!(HoldLength::EndOfDay.until(early, &London), london(2026, 7, 14, 23, 59));
        // 23:58: 23:59 is a minute away, so an hour instead (into tomorrow).
        let late = london(2026, 7, 14, 23, 58);
        assert_eq!(HoldLength::EndOfDay.until(late, &London), late + Duration::hours(1));
        // Summer time: 23:59 BST is 22:59 UTC.
        assert_eq!(london(2026, 7, 14, 23, 59).to_rfc3339(), "2026-07-14T22:59:00+00:00");
    }

    #[test]
    fn end_of_day_follows_the_clock_across_a_clock_change() {
        // 29 March 2026: London's clocks go forward at 01:00 GMT. From 00:30 GMT to 23:59 BST
        // is 22 h 29 min of real time, not 23 h 29 min.
        let spring = london(2026, 3, 29, 0, 30);
        let end = HoldLength::EndOfDay.until(spring, &London);
        assert_eq!(end.with_timezone(&London).format("%F %R").to_string(), "2026-03-29 23:59");
        assert_eq!(end - spring, Duration::minutes(22 * 60 + 29));
        // 25 October 2026: back at 02:00 BST; 00:30 BST to 23:59 GMT is 24 h 29 min.
        let autumn = london(2026, 10, 25, 0, 30);
        let end = HoldLength::EndOfDay.until(autumn, &London);
        assert_eq!(end.with_timezone(&London).format("%F %R").to_string(), "2026-10-25 23:59");
        assert_eq!(end - autumn, Duration::minutes(24 * 60 + 29));
        // The fixed lengths are real time whatever the clock does.
        assert_eq!(HoldLength::TwoHours.until(spring, &London) - spring, Duration::hours(2));
        assert_eq!(HoldLength::OneDay.until(autumn, &London) - autumn, Duration::hours(24));
    }

    #[test]
    fn every_hold_length_has_its_own_label_and_ends_later() {
        let now = london(2026, 12, 5, 14, 0);
        let labels: std::collections::HashSet<_> = HoldLength::ALL.iter().map(|l| l.label(Language::En)).collect();
        assert_eq!(labels.len(), HoldLength::ALL.len());
        for length in HoldLength::ALL {
            assert!(length.until(now, &London) > now, "{}", length.label(Language::En));
        }
    }
}
