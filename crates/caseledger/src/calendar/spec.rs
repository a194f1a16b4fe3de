//! The calendar value: its checks, its builder and its JSON form.
//!
//! The JSON parser is hand-written over `serde_json::Value`, as for events,
//! so that every error names the field (`week.mon[1]`) and the value. The
//! JSON and the builder share one set of checks ([`CalendarBuilder::build`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Bound, Range};
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::local;
use super::timeline::{BusinessTimeError, Spans};
use super::{
    MAX_CALENDAR_JSON_BYTES, MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY, MAX_SEARCH_DAYS, MAX_WORKING_DAYS,
};

/// Minutes in a day: the end `24:00`.
const MINUTES_PER_DAY: u16 = 24 * 60;

/// The keys of `week`, Monday first (chrono's `num_days_from_monday`).
const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The fields of a calendar's JSON object.
const FIELDS: [&str; 4] = ["time_zone", "week", "holidays", "working_days"];

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

/// Why a calendar was refused. Each message names the field and the value.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The text is not JSON.
    #[error("the calendar is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The text is longer than [`MAX_CALENDAR_JSON_BYTES`].
    #[error(
        "the calendar is {bytes} bytes of JSON; at most {MAX_CALENDAR_JSON_BYTES} are accepted"
    )]
    TooLarge {
        /// The text's length.
        bytes: usize,
    },
    /// A field has the wrong JSON type.
    #[error("{field}: expected {expected}, found {found}")]
    WrongType {
        /// The field's path.
        field: String,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A required field is missing.
    #[error(
        "{field}: missing (a calendar has time_zone and week, and may have holidays and working_days)"
    )]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// An unknown field.
    #[error("unknown field \"{field}\"; the fields are time_zone, week, holidays and working_days")]
    UnknownField {
        /// The field's name.
        field: String,
    },
    /// `time_zone` is not an IANA name.
    #[error(
        "time_zone: \"{value}\" is not an IANA time zone name{}",
        match hint { Some(h) => format!("; did you mean \"{h}\"?"), None => " (such as Asia/Shanghai or Europe/London)".to_owned() }
    )]
    UnknownZone {
        /// The name given.
        value: String,
        /// The nearest known name, when one is close.
        hint: Option<&'static str>,
    },
    /// A key of `week` is not a weekday.
    #[error(
        "week: \"{key}\" is not a weekday key; the keys are mon, tue, wed, thu, fri, sat and sun"
    )]
    UnknownWeekday {
        /// The key given.
        key: String,
    },
    /// A local interval could not be read or is not within a day.
    #[error("{field}: \"{value}\" {source}")]
    BadInterval {
        /// The interval's path, such as `week.mon[1]`.
        field: String,
        /// The text given.
        value: String,
        /// What is wrong with it.
        source: IntervalError,
    },
    /// Two intervals of a day overlap.
    #[error("{field}: \"{value}\" overlaps {other_field} \"{other_value}\"")]
    Overlap {
        /// The later-listed interval's path.
        field: String,
        /// Its text.
        value: String,
        /// The earlier-listed interval's path.
        other_field: String,
        /// Its text.
        other_value: String,
    },
    /// A day has more than [`MAX_INTERVALS_PER_DAY`] intervals.
    #[error("{field}: {count} intervals; a day has at most {MAX_INTERVALS_PER_DAY}")]
    TooManyIntervals {
        /// The day's path, such as `week.mon`.
        field: String,
        /// How many were given.
        count: usize,
    },
    /// A date is not `YYYY-MM-DD` in the years 0000 to 9999.
    #[error("{field}: \"{value}\" is not a date YYYY-MM-DD in the years 0000 to 9999")]
    BadDate {
        /// The date's path, such as `holidays[2]`.
        field: String,
        /// The text given.
        value: String,
    },
    /// Too many holidays or make-up days.
    #[error("{field}: {count} dates; at most {limit} are accepted")]
    TooManyDates {
        /// `holidays` or `working_days`.
        field: &'static str,
        /// How many were given.
        count: usize,
        /// The limit ([`MAX_HOLIDAYS`] or [`MAX_WORKING_DAYS`]).
        limit: usize,
    },
    /// A date is listed twice in one list.
    #[error("{field}: \"{date}\" is listed twice (also {other_field})")]
    DuplicateDate {
        /// The second listing's path.
        field: String,
        /// The date.
        date: NaiveDate,
        /// The first listing's path.
        other_field: String,
    },
    /// A date is both a holiday and a make-up working day.
    #[error(
        "{working_field}: \"{date}\" is also a holiday ({holiday_field}); a date is either a holiday or a make-up working day"
    )]
    DateInBoth {
        /// The date.
        date: NaiveDate,
        /// Its path in `holidays`.
        holiday_field: String,
        /// Its path in `working_days`.
        working_field: String,
    },
}

/// When a desk works: a time zone, working hours per weekday, holidays and
/// make-up working days. The module documentation specifies it; build one
/// with [`BusinessCalendar::from_json`] or [`BusinessCalendar::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    time_zone: Tz,
    /// Monday first; each sorted and non-overlapping.
    week: [Vec<LocalInterval>; 7],
    holidays: BTreeSet<NaiveDate>,
    working_days: BTreeSet<NaiveDate>,
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
    /// A builder for a calendar in the IANA zone `time_zone`, with no working
    /// hours until some are given.
    pub fn builder(time_zone: impl Into<String>) -> CalendarBuilder {
        CalendarBuilder::new(time_zone)
    }

    /// Reads a calendar from its JSON form (see the module documentation).
    pub fn from_json(text: &str) -> Result<BusinessCalendar, CalendarError> {
        if text.len() > MAX_CALENDAR_JSON_BYTES {
            return Err(CalendarError::TooLarge { bytes: text.len() });
        }
        let value: Value = serde_json::from_str(text).map_err(CalendarError::Json)?;
        BusinessCalendar::from_json_value(&value)
    }

    /// Reads a calendar from a parsed JSON value (for a calendar inside
    /// another document).
    pub fn from_json_value(value: &Value) -> Result<BusinessCalendar, CalendarError> {
        let Value::Object(map) = value else {
            return Err(wrong_type("calendar", "an object", value));
        };
        if let Some(unknown) = map.keys().filter(|k| !FIELDS.contains(&k.as_str())).min() {
            return Err(CalendarError::UnknownField {
                field: unknown.clone(),
            });
        }
        let time_zone = match map.get("time_zone") {
            None => return Err(CalendarError::Missing { field: "time_zone" }),
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(wrong_type("time_zone", "a string", other)),
        };
        let mut builder = CalendarBuilder::new(time_zone);
        let week = match map.get("week") {
            None => return Err(CalendarError::Missing { field: "week" }),
            Some(Value::Object(week)) => week,
            Some(other) => return Err(wrong_type("week", "an object", other)),
        };
        if let Some(unknown) = week
            .keys()
            .filter(|k| !WEEKDAY_KEYS.contains(&k.as_str()))
            .min()
        {
            return Err(CalendarError::UnknownWeekday {
                key: unknown.clone(),
            });
        }
        for (index, key) in WEEKDAY_KEYS.iter().enumerate() {
            let Some(day) = week.get(*key) else { continue };
            let field = format!("week.{key}");
            let Value::Array(items) = day else {
                return Err(wrong_type(
                    &field,
                    "an array of \"HH:MM-HH:MM\" strings",
                    day,
                ));
            };
            if items.len() > MAX_INTERVALS_PER_DAY {
                return Err(CalendarError::TooManyIntervals {
                    field,
                    count: items.len(),
                });
            }
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => texts.push(s.clone()),
                    other => return Err(wrong_type(&format!("{field}[{i}]"), "a string", other)),
                }
            }
            builder.week[index] = texts;
        }
        // Report a bad zone or week before a bad date, as build() does.
        builder.zone_and_week()?;
        builder.holidays = json_dates(map.get("holidays"), "holidays", MAX_HOLIDAYS)?;
        builder.working_days =
            json_dates(map.get("working_days"), "working_days", MAX_WORKING_DAYS)?;
        builder.build()
    }

    /// The JSON form: all seven days named, Monday first; holidays and make-up
    /// days sorted. [`BusinessCalendar::from_json`] reads it back to an equal
    /// calendar.
    pub fn to_json(&self) -> String {
        // Serializing strings, arrays and maps of strings into a String
        // cannot fail.
        serde_json::to_string(self).expect("a calendar serializes to JSON")
    }

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

    /// The business time between two instants, in milliseconds (see the
    /// module documentation). Walks the days of the span: for many questions
    /// use a [`CalendarTimeline`](super::CalendarTimeline).
    pub fn business_ms(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        Spans::exact().business_ms(self, start.timestamp_millis(), end.timestamp_millis())
    }

    /// The earliest instant at which `b_ms` of business time have passed
    /// since `start`. Errors: `b_ms` negative, `start` outside the counted
    /// years, or the instant more than [`MAX_SEARCH_DAYS`] days after
    /// `start`.
    pub fn add_business_ms(
        &self,
        start: DateTime<Utc>,
        b_ms: i64,
    ) -> Result<DateTime<Utc>, BusinessTimeError> {
        Spans::exact()
            .add_business_ms(self, start.timestamp_millis(), b_ms)
            .map(local::utc_from_ms)
    }

    /// The number of working days after `from` up to and including `to` (0
    /// when `to` is not after `from`). Takes time in the number of listed
    /// dates between them, not the number of days.
    pub fn business_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let days = (to - from).num_days();
        if days <= 0 {
            return 0;
        }
        let works = |k: usize| i64::from(!self.week[k].is_empty());
        let weekday = |d: NaiveDate| d.weekday().num_days_from_monday() as usize;
        let per_week: i64 = (0..7).map(works).sum();
        // Any 7 consecutive days hold each weekday once; the remainder is
        // counted from the weekday after `from`.
        let mut count = days / 7 * per_week;
        let first = weekday(from) + 1;
        count += (0..(days % 7) as usize)
            .map(|i| works((first + i) % 7))
            .sum::<i64>();
        let range = (Bound::Excluded(from), Bound::Included(to));
        for holiday in self.holidays.range(range) {
            count -= works(weekday(*holiday));
        }
        for make_up in self.working_days.range(range) {
            count += works(0) - works(weekday(*make_up));
        }
        count
    }

    /// The `n`th working day after `date` (`date` itself when `n` is 0).
    /// Error when it lies more than [`MAX_SEARCH_DAYS`] days after `date`.
    pub fn add_business_days(
        &self,
        date: NaiveDate,
        n: u32,
    ) -> Result<NaiveDate, BusinessTimeError> {
        let mut found = 0;
        let mut day = date;
        for _ in 0..MAX_SEARCH_DAYS {
            if found == n {
                return Ok(day);
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
            if self.is_working_day(day) {
                found += 1;
            }
        }
        if found == n {
            return Ok(day);
        }
        Err(BusinessTimeError::NoWorkingDay {
            after: date,
            wanted: n,
            found,
        })
    }

    /// The first working day after `date` (the same as
    /// `add_business_days(date, 1)`).
    pub fn next_working_day(&self, date: NaiveDate) -> Result<NaiveDate, BusinessTimeError> {
        self.add_business_days(date, 1)
    }
}

impl Serialize for BusinessCalendar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Intervals<'a>(&'a [LocalInterval]);
        impl Serialize for Intervals<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|i| i.to_string()))
            }
        }
        struct Week<'a>(&'a [Vec<LocalInterval>; 7]);
        impl Serialize for Week<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(7))?;
                for (key, day) in WEEKDAY_KEYS.iter().zip(self.0) {
                    map.serialize_entry(key, &Intervals(day))?;
                }
                map.end()
            }
        }
        struct Dates<'a>(&'a BTreeSet<NaiveDate>);
        impl Serialize for Dates<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for date in self.0 {
                    seq.serialize_element(&date.format("%Y-%m-%d").to_string())?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("time_zone", self.time_zone.name())?;
        map.serialize_entry("week", &Week(&self.week))?;
        map.serialize_entry("holidays", &Dates(&self.holidays))?;
        map.serialize_entry("working_days", &Dates(&self.working_days))?;
        map.end()
    }
}

/// A calendar being put together in a program; [`CalendarBuilder::build`]
/// checks it exactly as [`BusinessCalendar::from_json`] checks a file, and
/// names fields the same way (`week.mon[1]`, `holidays[3]` in the order
/// given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarBuilder {
    time_zone: String,
    week: [Vec<String>; 7],
    holidays: Vec<NaiveDate>,
    working_days: Vec<NaiveDate>,
}

impl CalendarBuilder {
    /// A calendar in the IANA zone `time_zone` with no working hours.
    pub fn new(time_zone: impl Into<String>) -> CalendarBuilder {
        CalendarBuilder {
            time_zone: time_zone.into(),
            week: Default::default(),
            holidays: Vec::new(),
            working_days: Vec::new(),
        }
    }

    /// Sets (replaces) a weekday's hours, as `"HH:MM-HH:MM"` texts.
    pub fn hours(mut self, day: Weekday, intervals: &[&str]) -> CalendarBuilder {
        self.week[day.num_days_from_monday() as usize] =
            intervals.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Sets Monday to Friday to the same hours.
    pub fn weekdays(self, intervals: &[&str]) -> CalendarBuilder {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .fold(self, |b, day| b.hours(day, intervals))
    }

    /// Adds a holiday.
    pub fn holiday(mut self, date: NaiveDate) -> CalendarBuilder {
        self.holidays.push(date);
        self
    }

    /// Adds holidays.
    pub fn holidays(mut self, dates: impl IntoIterator<Item = NaiveDate>) -> CalendarBuilder {
        self.holidays.extend(dates);
        self
    }

    /// Adds a make-up working day.
    pub fn working_day(mut self, date: NaiveDate) -> CalendarBuilder {
        self.working_days.push(date);
        self
    }

    /// Adds make-up working days.
    pub fn working_days(mut self, dates: impl IntoIterator<Item = NaiveDate>) -> CalendarBuilder {
        self.working_days.extend(dates);
        self
    }

    /// Checks everything and makes the calendar. The first problem found is
    /// reported, looking at time_zone, then Monday to Sunday, then holidays,
    /// then make-up days.
    pub fn build(&self) -> Result<BusinessCalendar, CalendarError> {
        let (time_zone, week) = self.zone_and_week()?;
        let holidays = date_set("holidays", &self.holidays, MAX_HOLIDAYS)?;
        let working_days = date_set("working_days", &self.working_days, MAX_WORKING_DAYS)?;
        for (date, working_index) in &working_days {
            if let Some(holiday_index) = holidays.get(date) {
                return Err(CalendarError::DateInBoth {
                    date: *date,
                    holiday_field: format!("holidays[{holiday_index}]"),
                    working_field: format!("working_days[{working_index}]"),
                });
            }
        }
        Ok(BusinessCalendar {
            time_zone,
            week,
            holidays: holidays.into_keys().collect(),
            working_days: working_days.into_keys().collect(),
        })
    }
}

impl CalendarBuilder {
    /// The zone and the week, checked.
    fn zone_and_week(&self) -> Result<(Tz, [Vec<LocalInterval>; 7]), CalendarError> {
        let time_zone = parse_zone(&self.time_zone)?;
        let mut week: [Vec<LocalInterval>; 7] = Default::default();
        for (index, texts) in self.week.iter().enumerate() {
            week[index] = day_hours(WEEKDAY_KEYS[index], texts)?;
        }
        Ok((time_zone, week))
    }
}

/// A weekday's intervals, checked, sorted, non-overlapping.
fn day_hours(key: &str, texts: &[String]) -> Result<Vec<LocalInterval>, CalendarError> {
    if texts.len() > MAX_INTERVALS_PER_DAY {
        return Err(CalendarError::TooManyIntervals {
            field: format!("week.{key}"),
            count: texts.len(),
        });
    }
    let mut parsed = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let interval = LocalInterval::parse(text).map_err(|source| CalendarError::BadInterval {
            field: format!("week.{key}[{i}]"),
            value: text.clone(),
            source,
        })?;
        parsed.push((interval, i));
    }
    parsed.sort_unstable();
    // Sorted by start, any overlap shows between neighbours.
    for pair in parsed.windows(2) {
        let ((a, ai), (b, bi)) = (pair[0], pair[1]);
        if b.start_min < a.end_min {
            // Blame the one listed later.
            let (later, earlier) = (ai.max(bi), ai.min(bi));
            return Err(CalendarError::Overlap {
                field: format!("week.{key}[{later}]"),
                value: texts[later].clone(),
                other_field: format!("week.{key}[{earlier}]"),
                other_value: texts[earlier].clone(),
            });
        }
    }
    Ok(parsed.into_iter().map(|(interval, _)| interval).collect())
}

/// A list of dates as a map from date to its position, checked for the
/// limit, the years and duplicates.
fn date_set(
    field: &'static str,
    dates: &[NaiveDate],
    limit: usize,
) -> Result<BTreeMap<NaiveDate, usize>, CalendarError> {
    if dates.len() > limit {
        return Err(CalendarError::TooManyDates {
            field,
            count: dates.len(),
            limit,
        });
    }
    let mut set = BTreeMap::new();
    for (i, date) in dates.iter().enumerate() {
        if !(0..=9999).contains(&date.year()) {
            return Err(CalendarError::BadDate {
                field: format!("{field}[{i}]"),
                value: date.to_string(),
            });
        }
        if let Some(first) = set.insert(*date, i) {
            return Err(CalendarError::DuplicateDate {
                field: format!("{field}[{i}]"),
                date: *date,
                other_field: format!("{field}[{first}]"),
            });
        }
    }
    Ok(set)
}

/// An optional JSON array of `YYYY-MM-DD` dates.
fn json_dates(
    value: Option<&Value>,
    field: &'static str,
    limit: usize,
) -> Result<Vec<NaiveDate>, CalendarError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(wrong_type(
                field,
                "an array of \"YYYY-MM-DD\" strings",
                other,
            ));
        }
    };
    if items.len() > limit {
        return Err(CalendarError::TooManyDates {
            field,
            count: items.len(),
            limit,
        });
    }
    let mut dates = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::String(text) = item else {
            return Err(wrong_type(&format!("{field}[{i}]"), "a string", item));
        };
        dates.push(parse_date(text).ok_or_else(|| CalendarError::BadDate {
            field: format!("{field}[{i}]"),
            value: text.clone(),
        })?);
    }
    Ok(dates)
}

/// `YYYY-MM-DD` exactly: four-digit year, two-digit month and day.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |r: Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    // All ten bytes are ASCII, so these slices are on char boundaries.
    let number = |r: Range<usize>| text[r].parse::<u32>().ok();
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

/// The zone named, or an error with the nearest known name.
fn parse_zone(name: &str) -> Result<Tz, CalendarError> {
    name.parse::<Tz>().map_err(|_| CalendarError::UnknownZone {
        value: name.to_owned(),
        hint: zone_hint(name),
    })
}

/// The known zone nearest to a wrong name: the same name in another case,
/// then the same city in another region (`Europe/Shanghai`, `Shanghai`),
/// then a name at most two letters off (`Asia/Shangai`).
fn zone_hint(name: &str) -> Option<&'static str> {
    let wanted = name.trim().replace(' ', "_").to_ascii_lowercase();
    let names = || chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    if let Some(found) = names().find(|n| n.eq_ignore_ascii_case(&wanted)) {
        return Some(found);
    }
    let city = |n: &str| n.rsplit('/').next().unwrap_or(n).to_ascii_lowercase();
    let wanted_city = city(&wanted);
    if let Some(found) = names().find(|n| n.contains('/') && city(n) == wanted_city) {
        return Some(found);
    }
    names()
        .map(|n| (edit_distance(&n.to_ascii_lowercase(), &wanted), n))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance over bytes (names are ASCII); only for the error hint.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

fn wrong_type(field: &str, expected: &'static str, found: &Value) -> CalendarError {
    CalendarError::WrongType {
        field: field.to_owned(),
        expected,
        found: match found {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        },
    }
}
