//! The calendar value: a zone, the week's local working hours, holidays and
//! make-up days, and how a date's local hours become instants. The checks
//! that make one are in `builder.rs`, its JSON form in `json.rs`, and the
//! business-time questions asked of it in `business.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc, Weekday};
use chrono_tz::Tz;

use super::local;

/// Minutes in a day: the end `24:00`.
const MINUTES_PER_DAY: u16 = 24 * 60;

/// The keys of `week`, Monday first (chrono's `num_days_from_monday`).
pub(super) const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A half-open interval `[start, end)` of a day's wall-clock time, in whole
/// minutes after local midnight; written `"HH:MM-HH:MM"`, with `24:00` as the
/// end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalInterval {
    start_min: u16,
    end_min: u16,
}

/// Why a local interval was refused; the calendar's error adds the field and
/// the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    /// The text is not `HH:MM-HH:MM`.
    #[error("is not a local interval HH:MM-HH:MM (such as 09:00-12:00)")]
    Format,
    /// An hour above 24, minutes above 59, or a time after 24:00.
    #[error("has a time that is not between 00:00 and 24:00")]
    OutOfDay,
    /// The start is 24:00, which only ends a day.
    #[error("starts at 24:00, which can only end a day")]
    StartsAtEndOfDay,
    /// The end comes before the start.
    #[error("ends before it starts")]
    EndsBeforeStart,
    /// The end equals the start.
    #[error("is empty (it ends where it starts)")]
    Empty,
}

impl LocalInterval {
    /// The interval from `start_min` to `end_min` minutes after local
    /// midnight (`end_min` at most 1440, `24:00`).
    pub fn new(start_min: u16, end_min: u16) -> Result<LocalInterval, IntervalError> {
        if start_min > MINUTES_PER_DAY || end_min > MINUTES_PER_DAY {
            return Err(IntervalError::OutOfDay);
        }
        if start_min == MINUTES_PER_DAY {
            return Err(IntervalError::StartsAtEndOfDay);
        }
        if end_min < start_min {
            return Err(IntervalError::EndsBeforeStart);
        }
        if end_min == start_min {
            return Err(IntervalError::Empty);
        }
        Ok(LocalInterval { start_min, end_min })
    }

    /// Parses `"HH:MM-HH:MM"` exactly (two digits each).
    pub fn parse(text: &str) -> Result<LocalInterval, IntervalError> {
        let b = text.as_bytes();
        if b.len() != 11 || b[2] != b':' || b[5] != b'-' || b[8] != b':' {
            return Err(IntervalError::Format);
        }
        let two = |i: usize| -> Result<u16, IntervalError> {
            match (b[i], b[i + 1]) {
                (h @ b'0'..=b'9', l @ b'0'..=b'9') => {
                    Ok(u16::from(h - b'0') * 10 + u16::from(l - b'0'))
                }
                _ => Err(IntervalError::Format),
            }
        };
        let minute = |i: usize| -> Result<u16, IntervalError> {
            let (hours, minutes) = (two(i)?, two(i + 3)?);
            if minutes > 59 {
                return Err(IntervalError::OutOfDay);
            }
            Ok(hours * 60 + minutes)
        };
        LocalInterval::new(minute(0)?, minute(6)?)
    }

    /// Minutes after local midnight at which the interval starts.
    pub fn start_min(self) -> u16 {
        self.start_min
    }

    /// Minutes after local midnight at which it ends (1440: midnight ending
    /// the day).
    pub fn end_min(self) -> u16 {
        self.end_min
    }

    /// Its length on the wall clock, in minutes.
    pub fn len_min(self) -> u16 {
        self.end_min - self.start_min
    }
}

impl fmt::Display for LocalInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start_min, self.end_min);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

impl FromStr for LocalInterval {
    type Err = IntervalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LocalInterval::parse(s)
    }
}

/// When a desk works: a time zone, working hours per weekday, holidays and
/// make-up working days. The module documentation specifies it; build one
/// with [`BusinessCalendar::from_json`] or [`BusinessCalendar::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    pub(super) time_zone: Tz,
    /// Monday first; each sorted and non-overlapping.
    pub(super) week: [Vec<LocalInterval>; 7],
    pub(super) holidays: BTreeSet<NaiveDate>,
    pub(super) working_days: BTreeSet<NaiveDate>,
}

impl Default for BusinessCalendar {
    /// UTC, every day 00:00-24:00, no holidays: business time is wall time.
    fn default() -> Self {
        let all_day = vec![LocalInterval {
            start_min: 0,
            end_min: MINUTES_PER_DAY,
        }];
        BusinessCalendar {
            time_zone: Tz::UTC,
            week: std::array::from_fn(|_| all_day.clone()),
            holidays: BTreeSet::new(),
            working_days: BTreeSet::new(),
        }
    }
}

impl BusinessCalendar {
    /// The IANA time zone.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The working hours of a weekday (before holidays and make-up days),
    /// sorted.
    pub fn week_hours(&self, day: Weekday) -> &[LocalInterval] {
        &self.week[day.num_days_from_monday() as usize]
    }

    /// The holidays, sorted.
    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// The make-up working days, sorted.
    pub fn working_days(&self) -> &BTreeSet<NaiveDate> {
        &self.working_days
    }

    /// The local working hours of a date: none on a holiday, Monday's on a
    /// make-up day, else its weekday's.
    pub fn local_hours(&self, date: NaiveDate) -> &[LocalInterval] {
        if self.holidays.contains(&date) {
            &[]
        } else if self.working_days.contains(&date) {
            &self.week[0]
        } else {
            &self.week[date.weekday().num_days_from_monday() as usize]
        }
    }

    /// Whether a date has working hours (a working day).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.local_hours(date).is_empty()
    }

    /// The instant of a local date and time by the calendar's one rule: the
    /// earlier instant when ambiguous, the first instant after the gap when it
    /// does not exist. Local times outside the years -1 to 10000 are clamped.
    pub fn to_instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        local::to_instant(self.time_zone, local)
    }

    /// The local date of an instant (clamped to the counted years).
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        local::local_date(self.time_zone, instant.timestamp_millis())
    }

    /// The instant a local date starts: its 00:00, or the end of the gap when
    /// the clocks jump at midnight.
    pub fn start_of_local_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.to_instant(local::clamp_day(date).and_time(chrono::NaiveTime::MIN))
    }

    /// The working intervals of a date as instants, in order; intervals that
    /// fall wholly in a clock gap are left out.
    pub fn working_intervals(&self, date: NaiveDate) -> Vec<Range<DateTime<Utc>>> {
        let mut out = Vec::new();
        self.for_each_span_ms(date, |start_ms, end_ms| {
            out.push(local::utc_from_ms(start_ms)..local::utc_from_ms(end_ms));
        });
        out
    }

    /// Calls `f(start_ms, end_ms)` for each working interval of a date with
    /// positive length, in order: the one place local hours become instants.
    pub(crate) fn for_each_span_ms(&self, date: NaiveDate, mut f: impl FnMut(i64, i64)) {
        for interval in self.local_hours(date) {
            let start_ms = local::instant_ms(self.time_zone, date, interval.start_min);
            let end_ms = local::instant_ms(self.time_zone, date, interval.end_min);
            if end_ms > start_ms {
                f(start_ms, end_ms);
            }
        }
    }
}
