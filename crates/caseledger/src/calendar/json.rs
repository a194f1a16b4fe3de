//! A calendar's JSON form: reading it (hand-written over
//! `serde_json::Value`, as for events, so that every error names the field,
//! such as `week.mon[1]`, and the value) and writing it. What is read goes
//! through the builder's checks ([`CalendarBuilder::build`]).

use std::collections::BTreeSet;
use std::ops::Range;

use chrono::NaiveDate;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::builder::CalendarBuilder;
use super::error::CalendarError;
use super::spec::{BusinessCalendar, LocalInterval, WEEKDAY_KEYS};
use super::{MAX_CALENDAR_JSON_BYTES, MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY, MAX_WORKING_DAYS};
use crate::event::kind_of;

/// The fields of a calendar's JSON object.
const FIELDS: [&str; 4] = ["time_zone", "week", "holidays", "working_days"];

impl BusinessCalendar {
    /// Reads a calendar from its JSON form (see the module documentation).
    pub fn from_json(text: &str) -> Result<BusinessCalendar, CalendarError> {
        if text.len() > MAX_CALENDAR_JSON_BYTES {
            return Err(CalendarError::TooLarge { bytes: text.len() });
        }
        let value = crate::unique_json::parse(text).map_err(|e| match e {
            crate::unique_json::JsonError::Syntax(e) => CalendarError::Json(e),
            crate::unique_json::JsonError::DuplicateKey(key) => CalendarError::DuplicateKey { key },
        })?;
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

fn wrong_type(field: &str, expected: &'static str, found: &Value) -> CalendarError {
    CalendarError::WrongType {
        field: field.to_owned(),
        expected,
        found: kind_of(found),
    }
}
