//! Which archives a retention policy keeps: a pure function of the list, the policy and `now`,
//! with the semantics of restic's `forget`, so its users meet no surprise:
//! - archives are taken newest first; a counting rule (`--keep-daily 7`) keeps the newest
//!   archive of each period (UTC day here) until it has kept its count of periods;
//! - one archive may be kept by several rules at once, and says so;
//! - a rule still short of periods when the list runs out also keeps the oldest archive
//!   (the longest history its count allows);
//! - `--keep-within 7d` keeps everything newer than the newest archive minus that span (the
//!   newest that is not in the future of `now`, so an archive from a clock set wrong does not
//!   move the window, and a week without archives does not empty it).
//!
//! An empty policy keeps everything: pruning needs at least one rule.

use std::fmt;
use time::{Date, Duration, Month, OffsetDateTime};

/// A counting rule: how one period is told from the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// Every archive is its own period.
    Last,
    Hourly,
    Daily,
    /// ISO 8601 weeks (Monday to Sunday, the week-based year).
    Weekly,
    Monthly,
    Yearly,
}

impl Rule {
    const ALL: [Rule; 6] = [Rule::Last, Rule::Hourly, Rule::Daily, Rule::Weekly, Rule::Monthly, Rule::Yearly];

    /// The period `t` falls in (`index`: its place in the newest-first list, for [`Rule::Last`]).
    fn period(self, t: OffsetDateTime, index: usize) -> i64 {
        let (y, m, d, h) =
            (i64::from(t.year()), i64::from(u8::from(t.month())), i64::from(t.day()), i64::from(t.hour()));
        match self {
            Rule::Last => index as i64,
            Rule::Hourly => ((y * 100 + m) * 100 + d) * 100 + h,
            Rule::Daily => (y * 100 + m) * 100 + d,
            Rule::Weekly => {
                let (year, week, _) = t.to_iso_week_date();
                i64::from(year) * 100 + i64::from(week)
            }
            Rule::Monthly => y * 100 + m,
            Rule::Yearly => y,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Rule::Last => "last",
            Rule::Hourly => "hourly",
            Rule::Daily => "daily",
            Rule::Weekly => "weekly",
            Rule::Monthly => "monthly",
            Rule::Yearly => "yearly",
        }
    }
}

/// A span of calendar time for `--keep-within`: `1y6m`, `7d`, `36h`, `2m15d`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub hours: u32,
}

impl std::str::FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Span, String> {
        let bad = || format!("{text:?} is not a span of time: give numbers with units y, m, d, h (e.g. 7d, 1y6m, 36h)");
        let mut span = Span::default();
        let mut seen = String::new();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            let n: u32 = rest[..digits].parse().map_err(|_| bad())?;
            let unit = rest[digits..].chars().next().expect("a unit follows the digits");
            let field = match unit {
                'y' => &mut span.years,
                'm' => &mut span.months,
                'd' => &mut span.days,
                'h' => &mut span.hours,
                _ => return Err(bad()),
            };
            if seen.contains(unit) {
                return Err(format!("{text:?} gives the unit {unit} twice"));
            }
            seen.push(unit);
            *field = n;
            rest = &rest[digits + 1..];
        }
        if span == Span::default() {
            return Err(format!("{text:?} is no time at all: a span keeps nothing unless it is longer than zero"));
        }
        Ok(span)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, unit) in [(self.years, 'y'), (self.months, 'm'), (self.days, 'd'), (self.hours, 'h')] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl Span {
    /// `t` moved back by this span: years and months on the calendar (the 31st a month back
    /// from a shorter month is that month's last day), then days and hours.
    fn before(self, t: OffsetDateTime) -> OffsetDateTime {
        let months = i64::from(t.year()) * 12 + i64::from(u8::from(t.month()))
            - 1
            - i64::from(self.years) * 12
            - i64::from(self.months);
        let (year, month) = (months.div_euclid(12), months.rem_euclid(12) as u8 + 1);
        let moved = i32::try_from(year).ok().and_then(|year| {
            let month = Month::try_from(month).ok()?;
            let date = Date::from_calendar_date(year, month, t.day().min(month.length(year))).ok()?;
            Some(t.replace_date(date))
        });
        let Some(moved) = moved else { return Date::MIN.midnight().assume_utc() };
        moved
            .checked_sub(Duration::days(i64::from(self.days)) + Duration::hours(i64::from(self.hours)))
            .unwrap_or(moved)
    }
}

/// What to keep. Counts of 0 are rules not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
    pub within: Option<Span>,
}

impl Policy {
    /// No rule given: nothing is pruned.
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }

    fn count(&self, rule: Rule) -> u32 {
        match rule {
            Rule::Last => self.last,
            Rule::Hourly => self.hourly,
            Rule::Daily => self.daily,
            Rule::Weekly => self.weekly,
            Rule::Monthly => self.monthly,
            Rule::Yearly => self.yearly,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Rule::ALL
            .iter()
            .filter(|r| self.count(**r) > 0)
            .map(|r| match r {
                Rule::Last => format!("last {}", self.last),
                r => format!("{} {}", self.count(*r), r.name()),
            })
            .collect();
        if let Some(span) = self.within {
            parts.push(format!("all within {span}"));
        }
        if parts.is_empty() {
            return f.write_str("no rule (keep everything)");
        }
        f.write_str(&parts.join(", "))
    }
}

/// Why an archive is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The newest archive of one of the rule's periods.
    Rule(Rule),
    /// The oldest archive, kept because the rule is still short of periods.
    Oldest(Rule),
    /// Newer than the newest archive minus the span.
    Within(Span),
    /// The policy has no rule: everything is kept.
    NoPolicy,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Rule(r) => f.write_str(r.name()),
            Reason::Oldest(r) => write!(f, "oldest {}", r.name()),
            Reason::Within(s) => write!(f, "within {s}"),
            Reason::NoPolicy => f.write_str("no keep rule given"),
        }
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Every archive, newest first (equal times: by name, the greatest first), with the reasons
/// the policy keeps it; an empty list means the policy removes it.
pub fn keep(archives: &[(String, OffsetDateTime)], policy: &Policy, now: OffsetDateTime) -> Vec<(String, Vec<Reason>)> {
    let mut list: Vec<&(String, OffsetDateTime)> = archives.iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    if policy.is_empty() {
        return list.into_iter().map(|(name, _)| (name.clone(), vec![Reason::NoPolicy])).collect();
    }
    let newest = list.iter().map(|(_, t)| *t).find(|t| *t <= now).unwrap_or(now);
    let cutoff = policy.within.map(|span| (span, span.before(newest)));
    // Per rule: how many periods it may still keep, and the period it kept last.
    let mut rules: Vec<(Rule, u32, Option<i64>)> =
        Rule::ALL.iter().map(|r| (*r, policy.count(*r), None)).filter(|(_, n, _)| *n > 0).collect();
    let oldest = list.len().saturating_sub(1);
    list.iter()
        .enumerate()
        .map(|(i, (name, t))| {
            let mut reasons = Vec::new();
            if let Some((span, cutoff)) = cutoff
                && *t > cutoff
            {
                reasons.push(Reason::Within(span));
            }
            for (rule, left, last) in rules.iter_mut().filter(|(_, left, _)| *left > 0) {
                let period = rule.period(*t, i);
                let new_period = *last != Some(period);
                if new_period || i == oldest {
                    reasons.push(if new_period { Reason::Rule(*rule) } else { Reason::Oldest(*rule) });
                    *last = Some(period);
                    *left -= 1;
                }
            }
            (name.clone(), reasons)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `YYYY-MM-DD HH:MM` in UTC.
    fn at(s: &str) -> OffsetDateTime {
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap();
        let date = Date::from_calendar_date(n(0..4) as i32, Month::try_from(n(5..7) as u8).unwrap(), n(8..10) as u8);
        date.unwrap().with_hms(n(11..13) as u8, n(14..16) as u8, 0).unwrap().assume_utc()
    }

    /// The fixture: a year and a half of irregular archives, some hours and days with
    /// several, gaps of weeks and months, two in the same ISO week across a year's end.
    const TIMES: [&str; 24] = [
        "2023-06-15 09:00",
        "2023-11-02 12:00",
        "2023-12-28 08:00", // ISO week 2023-W52
        "2024-01-01 10:00", // ISO week 2024-W01, a Monday
        "2024-01-07 23:00", // still 2024-W01 (a Sunday)
        "2024-01-08 01:00", // 2024-W02
        "2024-02-10 10:00",
        "2024-02-29 18:00",
        "2024-03-01 07:00",
        "2024-03-03 07:00",
        "2024-03-04 09:00",
        "2024-03-04 09:40", // same hour as the one before
        "2024-03-04 17:00",
        "2024-03-05 08:00",
        "2024-03-05 08:30",
        "2024-03-06 12:00",
        "2024-03-07 12:00",
        "2024-03-08 06:00",
        "2024-03-08 06:10",
        "2024-03-08 06:20",
        "2024-03-08 11:00",
        "2024-03-09 23:59",
        "2024-03-10 00:00",
        "2024-03-10 00:30",
    ];
    const NOW: &str = "2024-03-10 12:00";

    fn fixture() -> Vec<(String, OffsetDateTime)> {
        TIMES.iter().map(|t| (t.to_string(), at(t))).collect()
    }

    /// The kept archives, newest first, as `"time: reason, reason"`.
    fn kept(policy: &Policy) -> Vec<String> {
        kept_of(&fixture(), policy, at(NOW))
    }

    fn kept_of(list: &[(String, OffsetDateTime)], policy: &Policy, now: OffsetDateTime) -> Vec<String> {
        let result = keep(list, policy, now);
        assert_eq!(result.len(), list.len(), "every archive is in the answer");
        result
            .into_iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(name, reasons)| {
                let reasons: Vec<String> = reasons.iter().map(Reason::to_string).collect();
                format!("{name}: {}", reasons.join(", "))
            })
            .collect()
    }

    fn within(s: &str) -> Option<Span> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn no_rule_keeps_everything() {
        let all = kept(&Policy::default());
        assert_eq!(all.len(), TIMES.len());
        assert!(all.iter().all(|k| k.ends_with(": no keep rule given")), "{all:?}");
        assert_eq!(all[0], "2024-03-10 00:30: no keep rule given", "newest first");
    }

    #[test]
    fn keep_last() {
        assert_eq!(
            kept(&Policy { last: 3, ..Policy::default() }),
            ["2024-03-10 00:30: last", "2024-03-10 00:00: last", "2024-03-09 23:59: last",]
        );
        // More than there are: every archive, the oldest as the oldest.
        let all = kept(&Policy { last: 30, ..Policy::default() });
        assert_eq!(all.len(), TIMES.len());
        assert_eq!(all.last().unwrap(), "2023-06-15 09:00: last");
    }

    #[test]
    fn keep_hourly() {
        assert_eq!(
            kept(&Policy { hourly: 6, ..Policy::default() }),
            [
                "2024-03-10 00:30: hourly",
                "2024-03-09 23:59: hourly",
                "2024-03-08 11:00: hourly",
                "2024-03-08 06:20: hourly", // the newest of the three at 06:xx
                "2024-03-07 12:00: hourly",
                "2024-03-06 12:00: hourly",
            ]
        );
    }

    #[test]
    fn keep_daily() {
        assert_eq!(
            kept(&Policy { daily: 5, ..Policy::default() }),
            [
                "2024-03-10 00:30: daily",
                "2024-03-09 23:59: daily",
                "2024-03-08 11:00: daily",
                "2024-03-07 12:00: daily",
                "2024-03-06 12:00: daily",
            ]
        );
        // Days without an archive do not count: the 10 newest days with one reach back to
        // February, and the leap day is a day of its own.
        let ten = kept(&Policy { daily: 10, ..Policy::default() });
        assert_eq!(
            ten[6..],
            [
                "2024-03-04 17:00: daily",
                "2024-03-03 07:00: daily",
                "2024-03-01 07:00: daily",
                "2024-02-29 18:00: daily",
            ]
        );
    }

    #[test]
    fn keep_weekly_uses_iso_weeks() {
        assert_eq!(
            kept(&Policy { weekly: 6, ..Policy::default() }),
            [
                "2024-03-10 00:30: weekly", // 2024-W10, a Sunday
                "2024-03-03 07:00: weekly", // W09, which also holds 1 March and the leap day
                "2024-02-10 10:00: weekly", // W06
                "2024-01-08 01:00: weekly", // W02, a Monday
                "2024-01-07 23:00: weekly", // W01, the Sunday after New Year's Day
                "2023-12-28 08:00: weekly", // 2023-W52: a week of its own, though four days away
            ]
        );
    }

    #[test]
    fn keep_monthly() {
        assert_eq!(
            kept(&Policy { monthly: 3, ..Policy::default() }),
            ["2024-03-10 00:30: monthly", "2024-02-29 18:00: monthly", "2024-01-08 01:00: monthly",]
        );
    }

    #[test]
    fn keep_yearly() {
        assert_eq!(
            kept(&Policy { yearly: 2, ..Policy::default() }),
            ["2024-03-10 00:30: yearly", "2023-12-28 08:00: yearly",]
        );
    }

    #[test]
    fn a_rule_short_of_periods_keeps_the_oldest() {
        // Three years asked for, two there: the oldest archive of 2023 is kept too.
        assert_eq!(
            kept(&Policy { yearly: 3, ..Policy::default() }),
            ["2024-03-10 00:30: yearly", "2023-12-28 08:00: yearly", "2023-06-15 09:00: oldest yearly",]
        );
        // Seventeen days have an archive; thirty asked for: the oldest is its day's newest
        // anyway, so it is kept as a daily one.
        let days = kept(&Policy { daily: 30, ..Policy::default() });
        assert_eq!(days.len(), 17);
        assert_eq!(days.last().unwrap(), "2023-06-15 09:00: daily");
        // Two on one day, a rule of five days.
        let list: Vec<(String, OffsetDateTime)> =
            ["2024-03-01 08:00", "2024-03-01 10:00"].iter().map(|t| (t.to_string(), at(t))).collect();
        assert_eq!(
            kept_of(&list, &Policy { daily: 5, ..Policy::default() }, at(NOW)),
            ["2024-03-01 10:00: daily", "2024-03-01 08:00: oldest daily",]
        );
        // A rule whose count is used up keeps no oldest.
        assert_eq!(kept_of(&list, &Policy { daily: 1, ..Policy::default() }, at(NOW)), ["2024-03-01 10:00: daily"]);
    }

    #[test]
    fn keep_within_counts_back_from_the_newest_archive() {
        let w = |s: &str| kept(&Policy { within: within(s), ..Policy::default() });
        assert_eq!(
            w("1d"),
            ["2024-03-10 00:30: within 1d", "2024-03-10 00:00: within 1d", "2024-03-09 23:59: within 1d",]
        );
        assert_eq!(w("2d").len(), 7, "down to 8 March 06:00");
        assert_eq!(w("2d").last().unwrap(), "2024-03-08 06:00: within 2d");
        assert_eq!(w("1m").last().unwrap(), "2024-02-10 10:00: within 1m");
        assert_eq!(w("1m").len(), 18);
        assert_eq!(w("6m").len(), 23, "all but June 2023");
        assert_eq!(w("9999y").len(), TIMES.len());
        // Not from `now`: a week without archives keeps the same window.
        let later = at("2024-03-17 12:00");
        assert_eq!(kept_of(&fixture(), &Policy { within: within("1d"), ..Policy::default() }, later).len(), 3);
        // An archive from the future (a clock set wrong) is kept but does not move the window.
        let mut list = fixture();
        list.push(("2030-01-01 00:00".into(), at("2030-01-01 00:00")));
        let kept = kept_of(&list, &Policy { within: within("1d"), ..Policy::default() }, at(NOW));
        assert_eq!(kept.len(), 4, "{kept:?}");
        assert_eq!(kept[0], "2030-01-01 00:00: within 1d");
    }

    #[test]
    fn rules_combine_and_one_archive_may_count_for_several() {
        let policy = Policy { last: 2, daily: 3, weekly: 2, monthly: 3, yearly: 3, ..Policy::default() };
        assert_eq!(
            kept(&policy),
            [
                "2024-03-10 00:30: last, daily, weekly, monthly, yearly",
                "2024-03-10 00:00: last",
                "2024-03-09 23:59: daily",
                "2024-03-08 11:00: daily",
                "2024-03-03 07:00: weekly",
                "2024-02-29 18:00: monthly",
                "2024-01-08 01:00: monthly",
                "2023-12-28 08:00: yearly",
                "2023-06-15 09:00: oldest yearly",
            ]
        );
        let policy = Policy { hourly: 2, within: within("1d"), ..Policy::default() };
        assert_eq!(
            kept(&policy),
            [
                "2024-03-10 00:30: within 1d, hourly",
                "2024-03-10 00:00: within 1d",
                "2024-03-09 23:59: within 1d, hourly",
            ]
        );
        let policy = Policy { daily: 7, weekly: 4, monthly: 12, within: within("2d"), ..Policy::default() };
        let all = kept(&policy);
        assert_eq!(all.len(), 18, "{all:#?}");
        assert!(all.contains(&"2024-03-04 17:00: daily".to_string()), "{all:#?}");
        assert!(all.contains(&"2024-03-08 06:00: within 2d".to_string()), "{all:#?}");
        assert!(all.contains(&"2024-02-10 10:00: weekly".to_string()), "{all:#?}");
        assert!(all.contains(&"2023-06-15 09:00: monthly".to_string()), "{all:#?}");
    }

    #[test]
    fn counting_rules_never_keep_more_than_their_sum() {
        for last in [0, 1, 4] {
            for daily in [0, 2, 9] {
                for weekly in [0, 3] {
                    for monthly in [0, 1, 5] {
                        let policy = Policy { last, daily, weekly, monthly, yearly: 1, ..Policy::default() };
                        let n = kept(&policy).len() as u32;
                        assert!(n <= last + daily + weekly + monthly + 1, "{policy}: {n}");
                        assert!(n >= 1, "the newest is always kept");
                    }
                }
            }
        }
        assert!(keep(&[], &Policy { last: 1, ..Policy::default() }, at(NOW)).is_empty());
    }

    #[test]
    fn spans_parse_print_and_count_back_on_the_calendar() {
        for (text, printed) in [("7d", "7d"), ("1y6m", "1y6m"), ("36h", "36h"), ("15d2m", "2m15d"), ("0y3d", "3d")] {
            assert_eq!(text.parse::<Span>().unwrap().to_string(), printed);
        }
        for bad in ["", "7", "d", "7w", "1d1d", "0d", "-1d", "1.5d", "7 d", "99999999999d"] {
            assert!(bad.parse::<Span>().is_err(), "{bad:?}");
        }
        let back = |from: &str, span: &str| span.parse::<Span>().unwrap().before(at(from));
        assert_eq!(back("2024-03-31 10:00", "1m"), at("2024-02-29 10:00"));
        assert_eq!(back("2024-03-31 10:00", "1y1m"), at("2023-02-28 10:00"));
        assert_eq!(back("2024-03-31 10:00", "1d12h"), at("2024-03-29 22:00"));
        assert_eq!(back("2024-01-15 00:00", "13m"), at("2022-12-15 00:00"));
        assert_eq!(back("2024-01-15 00:00", "1m1d"), at("2023-12-14 00:00"));
    }

    #[test]
    fn policies_describe_themselves() {
        assert_eq!(Policy::default().to_string(), "no rule (keep everything)");
        let p = Policy { last: 2, daily: 7, within: within("1y"), ..Policy::default() };
        assert_eq!(p.to_string(), "last 2, 7 daily, all within 1y");
    }
}
