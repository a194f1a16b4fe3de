//! Business calendars: when a desk works, and how much working time lies
//! between two instants.
//!
//! This module is the full specification of business calendars; docs/kpis.md
//! ("Business calendars") summarises it beside the SLA rule that counts on
//! them, and docs/cli.md ("Local time") gives the report's time zone. It is pure: no
//! I/O and no clock. Time zones come from the IANA database compiled into
//! `chrono-tz` (its version is [`chrono_tz::IANA_TZDB_VERSION`]).
//!
//! # The calendar
//!
//! A [`BusinessCalendar`] has
//! - a `time_zone`: an IANA name such as `Asia/Shanghai`;
//! - a `week`: for each weekday (`mon` `tue` `wed` `thu` `fri` `sat` `sun`) a
//!   list of local, half-open intervals `"HH:MM-HH:MM"` (`[start, end)`); an
//!   end may be `24:00`, the midnight that ends the day. A day not named has
//!   no working hours. Within a day the intervals must not overlap (touching,
//!   as in `09:00-12:00` and `12:00-13:00`, is allowed); their order does not
//!   matter, and they are kept sorted. At least one weekday must have
//!   working hours: in a calendar that never works business time never
//!   passes, so no SLA target or complaint deadline would ever be reached
//!   ([`CalendarError::NoWorkingHours`]);
//! - `holidays`: dates with no working hours;
//! - `working_days`: make-up dates (China moves weekends around its public
//!   holidays) that have Monday's hours, whatever their weekday.
//!
//! A date in both lists, or twice in one list, is an error. The default
//! calendar ([`BusinessCalendar::default`]) is UTC, every day 00:00-24:00, no
//! holidays: with it, business time equals wall-clock time.
//!
//! Its JSON form (read with [`BusinessCalendar::from_json`], written with
//! [`BusinessCalendar::to_json`], which names all seven days):
//! ```json
//! {"time_zone": "Asia/Shanghai",
//!  "week": {"mon": ["09:00-12:00", "13:00-18:00"], "tue": ["09:00-18:00"], "sat": []},
//!  "holidays": ["2026-10-01", "2026-10-02"],
//!  "working_days": ["2026-09-27"]}
//! ```
//! `time_zone` and `week` are required; `holidays` and `working_days` may be
//! left out (empty). A key given twice in one object (`week.mon`) is an
//! error, not the last one kept. Dates are `YYYY-MM-DD` in the years 0000 to 9999. Every
//! error names the field and the value, such as
//! `week.mon[1]: "13:00-12:00" ends before it starts`. A program builds the
//! same value with [`BusinessCalendar::builder`], checked by the same code.
//!
//! Limits: at most [`MAX_HOLIDAYS`] holidays, [`MAX_WORKING_DAYS`] make-up
//! days, [`MAX_INTERVALS_PER_DAY`] intervals per weekday, and
//! [`MAX_CALENDAR_JSON_BYTES`] of JSON.
//!
//! # Local time
//!
//! One rule turns a local date and time into an instant
//! ([`BusinessCalendar::to_instant`]):
//! - a local time that does not exist (the gap when clocks go forward) moves
//!   forward to the first instant after the gap (in Europe/London, 01:30 on
//!   2026-03-29 becomes 01:00 UTC, the instant the clocks jumped);
//! - an ambiguous local time (the overlap when clocks go back) takes the
//!   earlier instant (01:30 on 2026-10-25 in London is 00:30 UTC).
//!
//! This rule is monotone: a later local time never gives an earlier instant.
//! The start of a local day is the instant of its 00:00 by this rule, so in a
//! zone whose clocks jump at midnight (America/Santiago on 2026-09-06) the day
//! starts at the end of the gap, 01:00 local. The local date of an instant is
//! its date on the zone's wall clock.
//!
//! A working interval of a date is its local interval with both ends turned
//! into instants by the rule (`24:00` is 00:00 of the next day). So a day
//! worked 00:00-24:00 lasts 23 hours on the day the clocks go forward and 25
//! on the day they go back, and a local interval inside a gap has no length.
//!
//! A *working day* is a date with working hours (a weekday with intervals or a
//! make-up day, and not a holiday), whatever their instants.
//!
//! # Business time
//!
//! - **Business time** between instants `start` and `end`
//!   ([`BusinessCalendar::business_ms`]): the total length, in milliseconds,
//!   of the overlap of `[start, end)` with the working intervals; 0 when `end`
//!   is not after `start`. It is additive: for `a <= b <= c`,
//!   business(a, c) = business(a, b) + business(b, c).
//! - **The instant when `b_ms` of business time have passed since `start`**
//!   ([`BusinessCalendar::add_business_ms`]): the earliest instant `D` with
//!   business(start, D) = `b_ms`. `b_ms` = 0 gives `start`; when the working
//!   time runs out exactly at the end of an interval, `D` is that end, not the
//!   start of the next interval. A `D` more than [`MAX_SEARCH_DAYS`] days (20
//!   years) after `start` is an error, not a loop.
//! - **Business days** between two dates
//!   ([`BusinessCalendar::business_days_between`]): the number of working
//!   days after the first date up to and including the second.
//!
//! Instants are counted within [`MIN_INSTANT_MS`]..[`MAX_INSTANT_MS`], the
//! years 0000 to 9999 that the event log's RFC 3339 timestamps can hold; an
//! instant outside is taken as that range's nearest end, so no business time
//! is counted outside it.
//!
//! # Speed
//!
//! The methods of [`BusinessCalendar`] answer one question at a time and walk
//! the days of its span. A report that asks for every case compiles the
//! calendar once into a [`CalendarTimeline`]: the working intervals of a range
//! of days as UTC milliseconds with running totals, built in time linear in
//! the number of days, so that each question is two binary searches
//! (O(log n)). It grows itself for questions outside its range, up to
//! [`MAX_TIMELINE_DAYS`], and keeps up to three ranges for questions in
//! distant eras. A span longer than [`MAX_TIMELINE_DAYS`] is counted from
//! its two ends and the running totals of the four-year pieces of a fixed
//! grid between them, each piece counted once; so many questions over the
//! same long span (cases of 2026 asked about a T in 9026) cost one walk of
//! its days in all. See its documentation for the design and the bytes it
//! takes per day.

mod builder;
mod business;
mod error;
mod json;
mod local;
mod spec;
mod timeline;

#[cfg(test)]
mod tests;

pub use builder::CalendarBuilder;
pub use error::CalendarError;
pub use spec::{BusinessCalendar, IntervalError, LocalInterval};
pub use timeline::{BusinessTimeError, CalendarTimeline};

/// The IANA time zone of a calendar (from `chrono-tz`), so that callers need
/// not depend on that crate.
pub use chrono_tz::Tz;

/// The instant a local date starts in `zone`: its 00:00 by the one rule for
/// local times (see "Local time" above; a midnight in a gap moves forward
/// to the gap's end). What a report's date-only flag means.
pub fn start_of_local_day(zone: Tz, date: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    local::to_instant(zone, date.and_time(chrono::NaiveTime::MIN))
}

/// The instant of a local date and time in `zone`, by the one rule for
/// local times (see "Local time" above: the earlier instant when ambiguous,
/// the first instant after the gap when it does not exist).
pub fn local_instant(zone: Tz, local: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    local::to_instant(zone, local)
}

/// The local date of an instant in `zone`: its date on the zone's wall
/// clock.
pub fn local_date_in(zone: Tz, instant: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    local::local_date(zone, instant.timestamp_millis())
}

/// The most holidays a calendar may list: a desk's public holidays for
/// decades (China has about 30 days a year) fit many times over, and the
/// bound keeps a calendar file small and its lookups fast.
pub const MAX_HOLIDAYS: usize = 10_000;

/// The most make-up working days a calendar may list (the same reasoning as
/// [`MAX_HOLIDAYS`]).
pub const MAX_WORKING_DAYS: usize = 10_000;

/// The most intervals a weekday may have: one per hour of the day, more than
/// any shift pattern needs. It bounds the compiled timeline to 24 intervals
/// (576 bytes) per day.
pub const MAX_INTERVALS_PER_DAY: usize = 24;

/// The largest calendar JSON accepted, in bytes: the largest valid calendar
/// (10,000 holidays, 10,000 make-up days, 24 intervals a day) takes about
/// 270 KB, so anything over four times that is the wrong file.
pub const MAX_CALENDAR_JSON_BYTES: usize = 1024 * 1024;

/// How far after its start a search for a business-time instant or a working
/// day may go, in days: 20 years of 365.25 days. A calendar with few or no
/// working hours gives an error past it instead of looping.
pub const MAX_SEARCH_DAYS: i64 = 7_305;

/// [`MAX_SEARCH_DAYS`] in milliseconds.
pub const MAX_SEARCH_MS: i64 = MAX_SEARCH_DAYS * MS_PER_DAY;

/// The most days a range of a [`CalendarTimeline`] holds: 100 years, enough
/// for every case of a bank's history in one build. It bounds a range's
/// memory to 21 MB at [`MAX_INTERVALS_PER_DAY`] (1.3 MB for a Monday to
/// Friday week with a lunch break), and a timeline keeps at most three
/// ranges; a question spanning more is counted from its ends and the
/// running totals of a fixed grid of pieces between them.
pub const MAX_TIMELINE_DAYS: i64 = 36_525;

/// Milliseconds in a 24-hour day.
pub const MS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

/// The earliest instant counted, 0000-01-01T00:00:00Z, in milliseconds since
/// the Unix epoch.
pub const MIN_INSTANT_MS: i64 = -62_167_219_200_000;

/// The end of the instants counted, 10000-01-01T00:00:00Z (exclusive), in
/// milliseconds since the Unix epoch.
pub const MAX_INSTANT_MS: i64 = 253_402_300_800_000;
