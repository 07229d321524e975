//! What `restore --at WHEN` accepts: a commit, a date or time, or a time relative to now.
//!
//! [`parse`] is pure: `now` and the local zone's offset are passed in, so every form has a
//! table test. A time without an offset is local time, with the offset the zone has *at that
//! time* (a date in winter keeps its winter offset when restored in summer). Only
//! [`parse_local`] asks the system, and the `time` crate answers that only while the process
//! has a single thread: the command line parses WHEN before anything starts one.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A point in the store's history, as the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    /// A commit id, full or abbreviated (4 to 40 hex digits).
    Commit(String),
    /// A moment (Unix seconds): the newest commit at or before it.
    Time(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{given}` is no commit or time dotback understands: use a commit id, a date (`2026-11-30`), a date and time (`2026-11-30 18:00`, RFC 3339 `2026-11-30T18:00:00Z`), or a relative time (`2 days ago`, `3 hours ago`, `yesterday`, `yesterday 18:00`)"
)]
pub struct WhenError {
    pub given: String,
}

/// Parses WHEN at `now` (whose offset is the local zone's now); `local` gives the local zone's
/// offset at a local date and time. A date alone means the end of that day: "as it was on the
/// 30th" is its last version that day. `yesterday` is this time one day ago, as git reads it.
pub fn parse(
    text: &str,
    now: OffsetDateTime,
    local: &dyn Fn(PrimitiveDateTime) -> UtcOffset,
) -> Result<When, WhenError> {
    let given = text.trim();
    let bad = || WhenError { given: given.to_string() };
    let at_local = |dt: PrimitiveDateTime| When::Time(dt.assume_offset(local(dt)).unix_timestamp());
    let lower = given.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        [] => return Err(bad()),
        ["now"] => return Ok(When::Time(now.unix_timestamp())),
        ["yesterday"] => return Ok(When::Time((now - Duration::days(1)).unix_timestamp())),
        [day @ ("today" | "yesterday"), clock] => {
            let back = if *day == "today" { 0 } else { 1 };
            let date = now.date() - Duration::days(back);
            return Ok(at_local(PrimitiveDateTime::new(date, clock_time(clock).ok_or_else(bad)?)));
        }
        [count, unit, "ago"] => {
            let n = i64::from(count.parse::<u32>().map_err(|_| bad())?);
            let unit = unit.strip_suffix('s').unwrap_or(unit);
            let secs = match unit {
                "second" | "sec" => 1,
                "minute" | "min" => 60,
                "hour" => 3600,
                "day" => 86_400,
                "week" => 7 * 86_400,
                _ => return Err(bad()),
            };
            let back = n.checked_mul(secs).ok_or_else(bad)?;
            return now.unix_timestamp().checked_sub(back).map(When::Time).ok_or_else(bad);
        }
        _ => {}
    }
    if let Some(secs) = given.strip_prefix('@') {
        return secs.parse().map(When::Time).map_err(|_| bad());
    }
    if let Some(when) = date_time(given, &at_local) {
        return Ok(when);
    }
    if (4..=40).contains(&given.len()) && given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(When::Commit(lower));
    }
    Err(bad())
}

/// [`parse`] at this moment, in the system's local zone (UTC when the zone cannot be told).
pub fn parse_local(text: &str) -> Result<When, WhenError> {
    let now = OffsetDateTime::now_utc();
    let now = now.to_offset(UtcOffset::local_offset_at(now).unwrap_or(UtcOffset::UTC));
    parse(text, now, &local_offset)
}

/// The moment an RFC 3339 time (as the audit trail records them) stands for, in Unix seconds;
/// one without an offset is taken as UTC.
pub fn instant(text: &str) -> Option<i64> {
    match date_time(text, &|dt| When::Time(dt.assume_utc().unix_timestamp()))? {
        When::Time(t) => Some(t),
        When::Commit(_) => None,
    }
}

/// The system's offset at the local date and time `dt`: first guessed at `dt` read as UTC, then
/// asked again at the moment that guess makes of it (which settles it away from a change of
/// offset).
fn local_offset(dt: PrimitiveDateTime) -> UtcOffset {
    let ask = |at: OffsetDateTime| UtcOffset::local_offset_at(at).unwrap_or(UtcOffset::UTC);
    ask(dt.assume_offset(ask(dt.assume_utc())))
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (local), or RFC 3339 (`T` or a space between, a
/// fraction of a second allowed, `Z` or `±HH:MM`).
fn date_time(text: &str, at_local: &dyn Fn(PrimitiveDateTime) -> When) -> Option<When> {
    let date = calendar_date(text.get(..10)?)?;
    let rest = &text[10..];
    if rest.is_empty() {
        let last = Time::from_hms(23, 59, 59).ok()?;
        return Some(at_local(PrimitiveDateTime::new(date, last)));
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?.trim_start();
    // The clock runs up to the zone designator, if any.
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let clock = clock.trim_end();
    let clock = match clock.split_once('.') {
        Some((whole, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => whole,
        Some(_) => return None,
        None => clock,
    };
    let dt = PrimitiveDateTime::new(date, clock_time(clock)?);
    let offset = match zone {
        "" => return Some(at_local(dt)),
        "Z" | "z" => UtcOffset::UTC,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            let (h, m) = (two_digits(h)?, two_digits(m)?);
            UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).ok()?
        }
    };
    Some(When::Time(dt.assume_offset(offset).unix_timestamp()))
}

/// `YYYY-MM-DD`.
fn calendar_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = digits(&text[..4])?.try_into().ok()?;
    let month = Month::try_from(two_digits(&text[5..7])?).ok()?;
    Date::from_calendar_date(year, month, two_digits(&text[8..10])?).ok()
}

/// `HH:MM` or `HH:MM:SS`.
fn clock_time(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let (h, m) = (two_digits(parts.next()?)?, two_digits(parts.next()?)?);
    let s = match parts.next() {
        Some(s) => two_digits(s)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms(h, m, s).ok()
}

fn two_digits(text: &str) -> Option<u8> {
    if text.len() != 2 {
        return None;
    }
    digits(text)?.try_into().ok()
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    /// Tuesday 2026-12-01 10:30:00 at +02:00, in a zone that is +02:00 all year.
    fn at(text: &str) -> Result<When, WhenError> {
        parse(text, datetime!(2026-12-01 10:30:00 +2), &|_| offset!(+2))
    }

    fn time(t: OffsetDateTime) -> Result<When, WhenError> {
        Ok(When::Time(t.unix_timestamp()))
    }

    #[test]
    fn every_form_resolves_to_its_moment() {
        let cases = [
            ("now", datetime!(2026-12-01 10:30:00 +2)),
            ("  now ", datetime!(2026-12-01 10:30:00 +2)),
            ("2 days ago", datetime!(2026-11-29 10:30:00 +2)),
            ("1 day ago", datetime!(2026-11-30 10:30:00 +2)),
            ("3 hours ago", datetime!(2026-12-01 07:30:00 +2)),
            ("3 Hours Ago", datetime!(2026-12-01 07:30:00 +2)),
            ("1 hour ago", datetime!(2026-12-01 09:30:00 +2)),
            ("90 minutes ago", datetime!(2026-12-01 09:00:00 +2)),
            ("5 mins ago", datetime!(2026-12-01 10:25:00 +2)),
            ("30 seconds ago", datetime!(2026-12-01 10:29:30 +2)),
            ("2 weeks ago", datetime!(2026-11-17 10:30:00 +2)),
            ("0 days ago", datetime!(2026-12-01 10:30:00 +2)),
            ("yesterday", datetime!(2026-11-30 10:30:00 +2)),
            ("yesterday 18:00", datetime!(2026-11-30 18:00:00 +2)),
            ("yesterday 18:00:15", datetime!(2026-11-30 18:00:15 +2)),
            ("today 08:00", datetime!(2026-12-01 08:00:00 +2)),
            ("2026-11-30", datetime!(2026-11-30 23:59:59 +2)),
            ("2026-11-30 18:00", datetime!(2026-11-30 18:00:00 +2)),
            ("2026-11-30 18:00:07", datetime!(2026-11-30 18:00:07 +2)),
            ("2026-11-30T18:00", datetime!(2026-11-30 18:00:00 +2)),
            ("2026-11-30T18:00:00Z", datetime!(2026-11-30 18:00:00 UTC)),
            ("2026-11-30t18:00:00z", datetime!(2026-11-30 18:00:00 UTC)),
            ("2026-11-30T18:00:00.250Z", datetime!(2026-11-30 18:00:00 UTC)),
            ("2026-11-30T18:00:00+05:30", datetime!(2026-11-30 18:00:00 +5:30)),
            ("2026-11-30T18:00:00-03:00", datetime!(2026-11-30 18:00:00 -3)),
            ("2026-11-30 18:00:00+00:00", datetime!(2026-11-30 18:00:00 UTC)),
            ("2024-02-29", datetime!(2024-02-29 23:59:59 +2)),
        ];
        for (text, want) in cases {
            assert_eq!(at(text), time(want), "{text:?}");
        }
        assert_eq!(at("@1700000000"), Ok(When::Time(1_700_000_000)));
        assert_eq!(instant("2026-11-30T18:00:00Z"), Some(datetime!(2026-11-30 18:00:00 UTC).unix_timestamp()));
        assert_eq!(instant("2026-11-30 18:00"), Some(datetime!(2026-11-30 18:00:00 UTC).unix_timestamp()));
        assert_eq!(instant("yesterday"), None);
    }

    #[test]
    fn hex_is_a_commit_and_dates_win_over_hex() {
        assert_eq!(at("a1b2c3d"), Ok(When::Commit("a1b2c3d".into())));
        assert_eq!(at("A1B2C3D"), Ok(When::Commit("a1b2c3d".into())));
        assert_eq!(at("2026"), Ok(When::Commit("2026".into())), "four digits are a commit prefix");
        let full = "533f0d5b8a2a45cbcb19cdb327468acf6a0e287d";
        assert_eq!(at(full), Ok(When::Commit(full.into())));
        for not in ["abc", &format!("{full}0"), "g1b2c3d", "abcd ef"] {
            assert!(at(not).is_err(), "{not:?}");
        }
    }

    #[test]
    fn local_times_take_the_offset_of_their_own_date() {
        // A zone at +01:00 in winter and +02:00 from April: a summer "now" must not move a
        // winter date by the summer offset.
        let zone = |dt: PrimitiveDateTime| if dt.month() as u8 >= 4 { offset!(+2) } else { offset!(+1) };
        let now = datetime!(2026-07-01 12:00:00 +2);
        assert_eq!(parse("2026-01-15 18:00", now, &zone), time(datetime!(2026-01-15 18:00:00 +1)));
        assert_eq!(parse("2026-06-15 18:00", now, &zone), time(datetime!(2026-06-15 18:00:00 +2)));
        assert_eq!(parse("2026-01-15", now, &zone), time(datetime!(2026-01-15 23:59:59 +1)));
        // An explicit offset is never replaced.
        assert_eq!(parse("2026-01-15T18:00:00+02:00", now, &zone), time(datetime!(2026-01-15 18:00:00 +2)));
        // `yesterday HH:MM` is local to the zone, not to UTC.
        let late = datetime!(2026-07-01 00:30:00 +2); // still June 30th in UTC
        assert_eq!(parse("yesterday 18:00", late, &zone), time(datetime!(2026-06-30 18:00:00 +2)));
    }

    #[test]
    fn what_is_no_time_is_refused_with_the_forms_that_are() {
        for bad in [
            "",
            "   ",
            "tomorrow",
            "2 fortnights ago",
            "two days ago",
            "-1 days ago",
            "days ago",
            "2026-13-01",
            "2026-02-30",
            "2026-11-30 25:00",
            "2026-11-30 18:60",
            "2026-11-30 18",
            "2026-11-30 18:00:00:00",
            "2026-11-30T18:00:00+5:30",
            "2026-11-30T18:00:00.Z",
            "2026-11-30X",
            "30.11.2026",
            "yesterday 6pm",
            "@soon",
            "99999999999999999999 days ago",
        ] {
            let e = at(bad).unwrap_err();
            assert_eq!(e.given, bad.trim(), "{bad:?}");
            assert!(e.to_string().contains("2 days ago"), "{e}");
        }
    }
}
