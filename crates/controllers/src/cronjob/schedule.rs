//! Cron schedules as upstream reads them (robfig/cron's standard parser): five fields —
//! minute, hour, day of month, month, day of week — each `*`, a value, a range `a-b`, a list,
//! or a step `*/n` / `a-b/n` / `a/n`; month and weekday names (`JAN`, `MON`); `?` as `*`;
//! and the macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
//! `@hourly`. When both day fields are restricted, a day matching either is a match.
//! Times are computed in the CronJob's time zone (`spec.timeZone`, UTC by default).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether the day-of-month / day-of-week fields were `*` (then the other alone decides).
    any_day: bool,
    any_weekday: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(text: &str, names: &[&str], offset: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(u32::try_from(i).unwrap_or(0) + offset);
    }
    text.parse()
        .map_err(|_| format!("failed to parse int from {text}"))
}

/// One field as a bit set over `min..=max`.
fn field(
    text: &str,
    min: u32,
    max: u32,
    names: &[&str],
    offset: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                Some(
                    s.parse::<u32>()
                        .map_err(|_| format!("failed to parse int from {s}"))?,
                ),
            ),
            None => (part, None),
        };
        let (low, high) = if range == "*" || range == "?" {
            star = step.is_none();
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, offset)?, value(b, names, offset)?)
        } else {
            let v = value(range, names, offset)?;
            // `a/n` runs from a to the end.
            (v, if step.is_some() { max } else { v })
        };
        let step = step.unwrap_or(1);
        if low < min || high > max || low > high {
            return Err(format!(
                "end of range ({high}) above maximum ({max}): {part}"
            ));
        }
        if step == 0 {
            return Err(format!("step of range should be a positive number: {part}"));
        }
        let mut v = low;
        while v <= high {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Schedule {
    /// Parses a schedule; the error reads as upstream's.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(format!("unrecognized descriptor: {other}"));
            }
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: {text}",
                fields.len()
            ));
        }
        let (minutes, _) = field(fields[0], 0, 59, &[], 0)?;
        let (hours, _) = field(fields[1], 0, 23, &[], 0)?;
        let (days, any_day) = field(fields[2], 1, 31, &[], 0)?;
        let (months, _) = field(fields[3], 1, 12, &MONTHS, 1)?;
        let (mut weekdays, any_weekday) = field(fields[4], 0, 7, &WEEKDAYS, 0)?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Self {
            minutes,
            hours,
            days,
            months,
            weekdays,
            any_day,
            any_weekday,
        })
    }

    fn day_matches(&self, date: Date) -> bool {
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        if self.any_day || self.any_weekday {
            day && weekday
        } else {
            day || weekday
        }
    }

    /// The first time strictly after `after` that the schedule fires, in `zone`; `None` if
    /// none within five years (a schedule such as `0 0 30 2 *` never fires).
    pub fn next(&self, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let start = zone.to_datetime(after);
        // The next whole minute.
        let mut t = DateTime::from_parts(
            start.date(),
            Time::new(start.hour(), start.minute(), 0, 0).ok()?,
        )
        .checked_add(1.minute())
        .ok()?;
        let limit = start.year() + 5;
        while t.year() <= limit {
            if self.months & (1 << t.month()) == 0 {
                let first = Date::new(t.year(), t.month(), 1)
                    .ok()?
                    .checked_add(1.month())
                    .ok()?;
                t = first.to_datetime(Time::midnight());
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t
                    .date()
                    .checked_add(1.day())
                    .ok()?
                    .to_datetime(Time::midnight());
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = DateTime::from_parts(t.date(), Time::new(t.hour(), 0, 0, 0).ok()?)
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            let at = zone.to_ambiguous_zoned(t).compatible().ok()?.timestamp();
            if at > after {
                return Some(at);
            }
            t = t.checked_add(1.minute()).ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn fields_ranges_steps_names_and_macros_parse() {
        assert!(Schedule::parse("*/15 9-17 * JAN-MAR mon-fri").is_ok());
        assert_eq!(Schedule::parse("@hourly"), Schedule::parse("0 * * * *"));
        assert!(
            Schedule::parse("* * *")
                .unwrap_err()
                .starts_with("expected exactly 5 fields")
        );
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("@every 1m").is_err());
    }

    #[test]
    fn next_runs_follow_the_schedule() {
        let utc = TimeZone::UTC;
        let every_minute = Schedule::parse("* * * * *").unwrap();
        assert_eq!(
            every_minute.next(at("2026-11-22T10:00:30Z"), &utc),
            Some(at("2026-11-22T10:01:00Z"))
        );
        assert_eq!(
            every_minute.next(at("2026-11-22T10:01:00Z"), &utc),
            Some(at("2026-11-22T10:02:00Z"))
        );
        let hourly = Schedule::parse("@hourly").unwrap();
        assert_eq!(
            hourly.next(at("2026-12-31T23:30:00Z"), &utc),
            Some(at("2027-01-01T00:00:00Z"))
        );
        let weekdays = Schedule::parse("30 8 * * 1-5").unwrap();
        // 2026-11-21 is a Saturday: the next run is Monday.
        assert_eq!(
            weekdays.next(at("2026-11-21T09:00:00Z"), &utc),
            Some(at("2026-11-23T08:30:00Z"))
        );
        let either = Schedule::parse("0 0 13 * 5").unwrap();
        // The 13th or any Friday: Friday 2026-11-27 comes before 2026-12-13.
        assert_eq!(
            either.next(at("2026-11-22T00:00:00Z"), &utc),
            Some(at("2026-11-27T00:00:00Z"))
        );
        assert_eq!(
            Schedule::parse("0 0 30 2 *")
                .unwrap()
                .next(at("2026-01-01T00:00:00Z"), &utc),
            None
        );
    }

    #[test]
    fn a_time_zone_moves_the_run() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let daily = Schedule::parse("0 9 * * *").unwrap();
        // 09:00 in Berlin is 08:00 UTC in winter.
        assert_eq!(
            daily.next(at("2026-11-22T12:00:00Z"), &zone),
            Some(at("2026-11-23T08:00:00Z"))
        );
    }
}
