//! Why a calendar was refused: one error type for the JSON form and the
//! builder, each message naming the field and the value.

use chrono::NaiveDate;

use super::spec::IntervalError;
use super::{MAX_CALENDAR_JSON_BYTES, MAX_INTERVALS_PER_DAY};

/// Why a calendar was refused. Each message names the field and the value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// The text is not JSON.
    #[error("the calendar is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// A key is given twice in one object (at any depth): JSON leaves
    /// duplicates undefined, and keeping the last one silently would read
    /// something the writer may not have seen.
    #[error("{}", crate::unique_json::twice(key))]
    DuplicateKey {
        /// The key's path, such as `week.mon`.
        key: String,
    },
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
    /// No weekday has working hours (`"week": {}`, or every day `[]`).
    /// Business time would never pass in such a calendar: every SLA target
    /// met, no complaint deadline ever reached. Refused as the mistake it
    /// is.
    #[error(
        "week: no weekday has working hours; a calendar must work some time each week (in one that never works, no SLA target or deadline is ever reached)"
    )]
    NoWorkingHours,
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
        /// The limit ([`MAX_HOLIDAYS`](super::MAX_HOLIDAYS) or
        /// [`MAX_WORKING_DAYS`](super::MAX_WORKING_DAYS)).
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
