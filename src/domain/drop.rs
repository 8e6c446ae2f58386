//! Drops: limited releases with a members-only window before general sale.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drop {
    pub id: String,
    pub name: String,
    pub opens_at: DateTime<Utc>,
    /// End of the waitlist-exclusive window; equal to `opens_at` when there is none.
    pub general_sale_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Pieces one member may buy in the members' window; 0 for no limit.
    #[serde(default)]
    pub member_limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPhase {
    Upcoming,
    MembersOnly,
    GeneralSale,
    Closed,
}

impl Drop {
    pub fn phase(&self, now: DateTime<Utc>) -> DropPhase {
        if now < self.opens_at {
            DropPhase::Upcoming
        } else if now < self.general_sale_at {
            DropPhase::MembersOnly
        } else if now < self.closes_at {
            DropPhase::GeneralSale
        } else {
            DropPhase::Closed
        }
    }

    /// The next moment the phase changes, for the countdown in the status bar.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.phase(now) {
            DropPhase::Upcoming => Some(self.opens_at),
            DropPhase::MembersOnly => Some(self.general_sale_at),
            DropPhase::GeneralSale => Some(self.closes_at),
            DropPhase::Closed => None,
        }
    }
}

impl DropPhase {
    pub fn label(self) -> &'static str {
        match self {
            DropPhase::Upcoming => "Opens soon",
            DropPhase::MembersOnly => "Members only",
            DropPhase::GeneralSale => "On sale",
            DropPhase::Closed => "Closed",
        }
    }
}

/// A waitlist member, identified at the stall by pass or lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Drops whose exclusive window this member may buy in.
    pub drops: Vec<String>,
}

impl Member {
    pub fn on_waitlist_for(&self, drop_id: &str) -> bool {
        self.drops.iter().any(|d| d == drop_id)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn phases_follow_the_clock() {
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).unwrap();
        let d = Drop {
            id: "d".into(),
            name: "Rose".into(),
            opens_at: at(8),
            general_sale_at: at(10),
            closes_at: at(18),
            member_limit: 1,
        };
        assert_eq!(d.phase(at(7)), DropPhase::Upcoming);
        assert_eq!(d.phase(at(8)), DropPhase::MembersOnly);
        assert_eq!(d.phase(at(10)), DropPhase::GeneralSale);
        assert_eq!(d.phase(at(18)), DropPhase::Closed);
        assert_eq!(d.next_change(at(9)), Some(at(10)));
        assert_eq!(d.next_change(at(19)), None);
    }
}
