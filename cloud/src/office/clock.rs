//! The atelier's own clock: its time zone (an IANA name kept per atelier, UTC until an owner
//! sets one), by which the office counts its days and shows and reads its times. A kiosk's Z
//! report counts its day by the kiosk's own zone, so an atelier whose zone matches its stalls'
//! sees the same day's takings here as each kiosk prints.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// The zone an atelier keeps, or UTC for a name this build no longer knows (the database of
/// zones is compiled in, and a name could be withdrawn from it between releases).
pub(super) fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// An owner's typed zone, as kept: "europe/paris" and " Europe/Paris " are Europe/Paris.
pub(super) fn typed_zone(text: &str) -> Option<Tz> {
    let text = text.trim();
    text.parse().ok().or_else(|| chrono_tz::TZ_VARIANTS.iter().copied().find(|z| z.name().eq_ignore_ascii_case(text)))
}

/// The day `ms` falls in, in `tz`.
pub(super) fn day_of(ms: i64, tz: Tz) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz).date_naive())
}

/// `date`'s first and last instant + 1 in `tz`, in ms. Midnight skipped by a clock change
/// starts the day at the first instant after it, as the kiosk's Z report does.
pub(super) fn day_bounds(date: NaiveDate, tz: Tz) -> Option<(i64, i64)> {
    // Where midnight does not exist (a few zones change clocks at 00:00), one hour on.
    let start = |d: NaiveDate| instant(d.and_time(NaiveTime::MIN), tz);
    Some((start(date)?, start(date.succ_opt()?)?))
}

/// A wall-clock time in `tz` as ms: one a clock change skips is read an hour on; one it
/// repeats, as its first.
fn instant(local: NaiveDateTime, tz: Tz) -> Option<i64> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
        .map(|t| t.timestamp_millis())
}

/// A time as the office shows it: "2026-12-05 14:03 CET".
pub(super) fn when(ms: i64, tz: Tz) -> String {
    DateTime::from_timestamp_millis(ms)
        .map_or_else(String::new, |t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
}

/// A time as a `datetime-local` field holds it, in the atelier's zone.
pub(super) fn field_time(ms: i64, tz: Tz) -> String {
    DateTime::from_timestamp_millis(ms)
        .map_or_else(String::new, |t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
}

/// A `datetime-local` value (or one typed with a space) read in the atelier's zone, as ms.
pub(super) fn parse_field_time(text: &str, tz: Tz) -> Option<i64> {
    let text = text.trim();
    let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
    instant(local, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn a_day_runs_midnight_to_midnight_in_the_atelier_s_zone() {
        let auckland = zone("Pacific/Auckland");
        let date = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        // New Zealand keeps summer time in December: UTC+13.
        assert_eq!(day_bounds(date, auckland), Some((ms("2026-12-08T11:00:00Z"), ms("2026-12-09T11:00:00Z"))));
        assert_eq!(day_of(ms("2026-12-08T12:30:00Z"), auckland), Some(date));
        assert_eq!(day_bounds(date, Tz::UTC), Some((ms("2026-12-09T00:00:00Z"), ms("2026-12-10T00:00:00Z"))));
        // The day the clocks go forward in London is 23 hours long.
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let (from, to) = day_bounds(spring, zone("Europe/London")).unwrap();
        assert_eq!(to - from, 23 * 3_600_000);
    }

    #[test]
    fn typed_times_are_the_atelier_s_and_read_back_the_same() {
        let paris = zone("Europe/Paris");
        let opens = parse_field_time("2026-12-12T10:00", paris).unwrap();
        assert_eq!(opens, ms("2026-12-12T09:00:00Z"));
        assert_eq!(field_time(opens, paris), "2026-12-12T10:00");
        assert_eq!(when(opens, paris), "2026-12-12 10:00 CET");
        // 02:30 on the morning the clocks go forward does not exist in Paris: an hour on.
        assert_eq!(parse_field_time("2026-03-29 02:30", paris), Some(ms("2026-03-29T01:30:00Z")));
        assert_eq!(parse_field_time("12/12/2026", paris), None);
    }

    #[test]
    fn a_zone_is_known_by_its_name_in_any_case_and_nothing_else() {
        assert_eq!(typed_zone(" europe/paris "), Some(chrono_tz::Europe::Paris));
        assert_eq!(typed_zone("America/New_York"), Some(chrono_tz::America::New_York));
        assert_eq!(typed_zone("Mars/Olympus_Mons"), None);
        assert_eq!(typed_zone(""), None);
        assert_eq!(zone("Not/A_Zone"), Tz::UTC);
    }
}
