//! Record times from their stored parts (seconds since the Unix epoch and
//! nanoseconds), checked as `chrono` checks them, with the calendar date of
//! recently seen days remembered.
//!
//! Every event record holds two times (occurred and recorded) and a
//! follow-up a third; turning the day number into a calendar date
//! (`NaiveDate::from_num_days_from_ce_opt`: a 400-year cycle, a year table)
//! was about a tenth of the instructions a replay spends per event. A log
//! is written in time order, so consecutive records fall on the same day
//! thousands of times in a row: each kind of time remembers the last day it
//! converted, per thread, and reuses its date. The result is the same
//! value, and the same refusals, as `DateTime::from_timestamp`.

use std::cell::Cell;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// Seconds in a day (UTC has no leap seconds in timestamps).
const SECS_PER_DAY: i64 = 86_400;

/// Days from 0001-01-01 (day 1 of the common era, as `chrono` counts) to
/// 1970-01-01.
const UNIX_EPOCH_DAY: i64 = 719_163;

/// Which remembered day a time uses: times of one kind (the occurred times
/// of a log, its recorded times) come in near order, but the two kinds may
/// be days apart, so each has its own.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    /// An event's occurred time.
    Occurred = 0,
    /// An event's recorded time.
    Recorded = 1,
    /// Any other time: a follow-up's due time (days after its event),
    /// the encoder's checks.
    Other = 2,
}

/// A remembered day: its number since the common era and its date. The
/// number `i64::MIN` is never a day (days are seconds / 86,400 + 719,163),
/// so it marks an empty slot.
type Day = (i64, NaiveDate);

thread_local! {
    static DAYS: [Cell<Day>; 3] = const {
        [
            Cell::new((i64::MIN, NaiveDate::MIN)),
            Cell::new((i64::MIN, NaiveDate::MIN)),
            Cell::new((i64::MIN, NaiveDate::MIN)),
        ]
    };
}

/// The calendar date of day `days` of the common era, or `None` out of
/// `chrono`'s range, remembered in `slot` for the next call.
fn date_of(days: i64, slot: Slot) -> Option<NaiveDate> {
    DAYS.with(|cache| {
        let cell = &cache[slot as usize];
        let (known, date) = cell.get();
        if known == days {
            return Some(date);
        }
        let date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(days).ok()?)?;
        cell.set((days, date));
        Some(date)
    })
}

/// The time of `secs` seconds and `nanos` nanoseconds after the Unix epoch
/// (UTC), exactly as `DateTime::from_timestamp` gives it, with the same
/// refusals: `None` out of range (a date beyond `chrono`'s years, or
/// `nanos` past a leap second's). The callers refuse `nanos` of a second
/// or more first.
pub(crate) fn from_timestamp(secs: i64, nanos: u32, slot: Slot) -> Option<DateTime<Utc>> {
    let days = secs.div_euclid(SECS_PER_DAY) + UNIX_EPOCH_DAY;
    // rem_euclid of a positive divisor is in 0..86,400: it fits a u32.
    let second = secs.rem_euclid(SECS_PER_DAY) as u32;
    let date = date_of(days, slot)?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(second, nanos)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every remembered and freshly converted time equals chrono's, in
    /// order and out of order, across day boundaries, at the ends of the
    /// range and past them.
    #[test]
    fn same_as_chrono() {
        let max = DateTime::<Utc>::MAX_UTC.timestamp();
        let min = DateTime::<Utc>::MIN_UTC.timestamp();
        let mut secs: Vec<i64> = vec![
            0,
            -1,
            1,
            86_399,
            86_400,
            -86_400,
            -86_401,
            1_790_000_000,
            1_790_000_000,
            1_790_086_399,
            1_790_086_400,
            min,
            min - 1,
            max,
            max + 1,
            i64::MIN,
            i64::MAX,
            i64::MIN / SECS_PER_DAY,
        ];
        // A walk in steps of a few hours through some years, back and forth.
        let mut s = 1_700_000_000_i64;
        for i in 0..20_000 {
            s += if i % 7 == 0 { -40_000 } else { 13_333 };
            secs.push(s);
        }
        for &slot in &[Slot::Occurred, Slot::Recorded, Slot::Other] {
            for &s in &secs {
                for nanos in [
                    0,
                    1,
                    999_999_999,
                    1_000_000_000,
                    1_999_999_999,
                    2_000_000_000,
                ] {
                    assert_eq!(
                        from_timestamp(s, nanos, slot),
                        DateTime::from_timestamp(s, nanos),
                        "{s} s {nanos} ns"
                    );
                }
            }
        }
    }
}
