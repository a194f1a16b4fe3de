//! The one rule between local wall-clock time and instants (see the module
//! documentation, "Local time"). Every conversion of the calendar goes
//! through these functions.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{MAX_INSTANT_MS, MIN_INSTANT_MS};

/// How far either side of a local time read as UTC the end of a clock gap
/// can lie, in seconds: a day, more than any zone's offset has ever been
/// (about 16 hours, in 19th-century local mean time) and more than the
/// longest gap (Samoa skipped a whole day in 2011).
const GAP_SEARCH_S: i64 = 24 * 60 * 60;

/// The first local date the calendar converts: the local date of
/// [`MIN_INSTANT_MS`] in any zone is this or later.
pub(crate) const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(-1, 12, 31) {
    Some(day) => day,
    None => panic!("-0001-12-31 is a date"),
};

/// The last local date the calendar converts: the local date of
/// [`MAX_INSTANT_MS`] in any zone is this or earlier.
pub(crate) const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(10_000, 1, 1) {
    Some(day) => day,
    None => panic!("10000-01-01 is a date"),
};

/// The day after [`LAST_DAY`], whose midnight ends the converted range.
pub(crate) const AFTER_LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(10_000, 1, 2) {
    Some(day) => day,
    None => panic!("10000-01-02 is a date"),
};

/// An instant in milliseconds brought into the counted range.
pub(crate) fn clamp_ms(t_ms: i64) -> i64 {
    t_ms.clamp(MIN_INSTANT_MS, MAX_INSTANT_MS)
}

/// A date brought into the converted range.
pub(crate) fn clamp_day(day: NaiveDate) -> NaiveDate {
    day.clamp(FIRST_DAY, LAST_DAY)
}

/// The instant of a local date and time: the earlier instant when the time
/// is ambiguous, the first instant after the gap when it does not exist.
/// Local times before [`FIRST_DAY`] or after the end of [`LAST_DAY`] are
/// clamped to those ends.
pub(crate) fn to_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let local = if local.date() < FIRST_DAY {
        FIRST_DAY.and_time(NaiveTime::MIN)
    } else if local.date() > LAST_DAY {
        AFTER_LAST_DAY.and_time(NaiveTime::MIN)
    } else {
        local
    };
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.to_utc(),
        LocalResult::Ambiguous(a, b) => a.to_utc().min(b.to_utc()),
        LocalResult::None => first_instant_after_gap(tz, local),
    }
}

/// The first instant whose wall-clock time is at or after `local`, which lies
/// in a gap: the instant the clocks jumped. Found by bisection over whole
/// seconds (transitions happen on whole seconds) in a window around `local`
/// read as UTC, where the wall clock is below `local` at the window's start
/// and above it at its end.
fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let guess_s = local.and_utc().timestamp();
    let mut before_s = guess_s - GAP_SEARCH_S;
    let mut after_s = guess_s + GAP_SEARCH_S;
    while after_s - before_s > 1 {
        let mid_s = before_s + (after_s - before_s) / 2;
        if wall_clock(tz, mid_s) >= local {
            after_s = mid_s;
        } else {
            before_s = mid_s;
        }
    }
    utc_from_s(after_s)
}

fn wall_clock(tz: Tz, t_s: i64) -> NaiveDateTime {
    tz.from_utc_datetime(&utc_from_s(t_s).naive_utc())
        .naive_local()
}

fn utc_from_s(t_s: i64) -> DateTime<Utc> {
    // Callers stay within a day of the dates FIRST_DAY..=LAST_DAY, far inside
    // chrono's range of about 262,000 years.
    DateTime::from_timestamp(t_s, 0).expect("instant within chrono's range")
}

/// The instant of a millisecond count, clamped to the counted range.
pub(crate) fn utc_from_ms(t_ms: i64) -> DateTime<Utc> {
    // The clamped range, years 0000 to 10000, is inside chrono's range.
    DateTime::from_timestamp_millis(clamp_ms(t_ms)).expect("clamped instant within chrono's range")
}

/// The local date of an instant (clamped to the counted range).
pub(crate) fn local_date(tz: Tz, t_ms: i64) -> NaiveDate {
    utc_from_ms(t_ms).with_timezone(&tz).date_naive()
}

/// The instant, in milliseconds, of `minute` minutes after local midnight of
/// `day` on the wall clock (1440 is 00:00 of the next day). The day is
/// clamped to [`FIRST_DAY`]..=[`AFTER_LAST_DAY`].
pub(crate) fn instant_ms(tz: Tz, day: NaiveDate, minute: u16) -> i64 {
    let midnight = day
        .clamp(FIRST_DAY, AFTER_LAST_DAY)
        .and_time(NaiveTime::MIN);
    let local = midnight + chrono::TimeDelta::minutes(i64::from(minute));
    to_instant(tz, local).timestamp_millis()
}

/// The instant, in milliseconds, at which a local day starts.
pub(crate) fn start_of_day_ms(tz: Tz, day: NaiveDate) -> i64 {
    instant_ms(tz, day, 0)
}
