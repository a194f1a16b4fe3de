//! Business-time questions asked of a calendar one at a time: business
//! time between instants, the instant a business time has passed, and
//! counting working days. Each walks the days of its span; a report that
//! asks many compiles a [`CalendarTimeline`](super::CalendarTimeline).

use std::ops::Bound;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::MAX_SEARCH_DAYS;
use super::local;
use super::spec::BusinessCalendar;
use super::timeline::{BusinessTimeError, Ranges};

impl BusinessCalendar {
    /// The business time between two instants, in milliseconds (see the
    /// module documentation). Walks the days of the span: for many questions
    /// use a [`CalendarTimeline`](super::CalendarTimeline).
    pub fn business_ms(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        Ranges::exact().business_ms(self, start.timestamp_millis(), end.timestamp_millis())
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
        Ranges::exact()
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
