//! The compiled calendar: working intervals of a range of days as UTC
//! milliseconds with running totals, so that business time and deadlines are
//! answered by binary search.

use chrono::{Days, NaiveDate};

use super::local::{self, AFTER_LAST_DAY, FIRST_DAY, LAST_DAY};
use super::spec::BusinessCalendar;
use super::{MAX_INSTANT_MS, MAX_SEARCH_DAYS, MAX_SEARCH_MS, MAX_TIMELINE_DAYS, MIN_INSTANT_MS};
use crate::time::format_timestamp;

/// How many days a growing timeline adds at the least when a question falls
/// outside it: a year, so that a report's questions (spans of hours to a
/// year) rebuild it rarely.
const MIN_GROW_DAYS: i64 = 366;

/// How many days after its start a deadline search first builds: a month,
/// enough for most service targets (hours to weeks of business time).
const FIRST_SEARCH_DAYS: i64 = 31;

/// Why business time or a working day could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessTimeError {
    /// A negative amount of business time was asked for.
    #[error("business time cannot be negative ({b_ms} ms)")]
    Negative {
        /// The amount asked for.
        b_ms: i64,
    },
    /// The start instant is outside the years 0000 to 9999.
    #[error(
        "the instant {instant_ms} ms after 1970-01-01T00:00:00Z is outside the years 0000 to 9999 that a calendar counts"
    )]
    OutOfRange {
        /// The instant, in milliseconds since the Unix epoch.
        instant_ms: i64,
    },
    /// The business time does not pass within 20 years of its start.
    #[error(
        "{b_ms} ms of business time from {} do not pass within {MAX_SEARCH_DAYS} days (20 years) or before the year 10000",
        format_timestamp(&local::utc_from_ms(*start_ms))
    )]
    BeyondSearchLimit {
        /// The start, in milliseconds since the Unix epoch.
        start_ms: i64,
        /// The business time asked for.
        b_ms: i64,
    },
    /// Not enough working days within 20 years of a date.
    #[error(
        "only {found} of {wanted} working days lie within {MAX_SEARCH_DAYS} days (20 years) after {after}"
    )]
    NoWorkingDay {
        /// The date counted from.
        after: NaiveDate,
        /// How many working days were asked for.
        wanted: u32,
        /// How many were found.
        found: u32,
    },
    /// A timeline was asked to cover an empty range, or more than
    /// [`MAX_TIMELINE_DAYS`] days.
    #[error("a timeline covers 1 to {MAX_TIMELINE_DAYS} days, not {first} to {last}")]
    TimelineRange {
        /// The first day asked for.
        first: NaiveDate,
        /// The last day asked for.
        last: NaiveDate,
    },
}

/// A calendar compiled for many questions: the working intervals of a range
/// of local days as UTC milliseconds with running totals.
///
/// Building takes time linear in the number of days; then
/// [`business_ms`](Self::business_ms) is two binary searches and
/// [`add_business_ms`](Self::add_business_ms) two, O(log n) in the number of
/// intervals. A question outside the range grows it (at least a year, and at
/// least doubling, so a sweep through the years costs linear time in all),
/// up to [`MAX_TIMELINE_DAYS`]; past that the range is rebuilt around the
/// question, and a question spanning more is answered in pieces.
///
/// Memory: 24 bytes per working interval (start, end and running total, each
/// an `i64`); intervals that touch (such as one day's `18:00-24:00` and the
/// next day's `00:00-06:00`) are merged. A Monday-to-Friday week with a
/// lunch break is 10 intervals a week, 34 bytes a day (125 KB for 10 years);
/// the worst, 24 intervals every day, is 576 bytes a day; a calendar that
/// works around the clock is one interval in all.
///
/// Methods take `&mut self` because they may grow the timeline; a program
/// answering questions on several threads gives each its own clone.
/// Instants are milliseconds since the Unix epoch, counted within the years
/// 0000 to 9999 (see the module documentation).
#[derive(Debug, Clone)]
pub struct CalendarTimeline {
    calendar: BusinessCalendar,
    spans: Spans,
}

impl CalendarTimeline {
    /// An empty timeline for a calendar; it builds itself on the first
    /// question.
    pub fn new(calendar: BusinessCalendar) -> CalendarTimeline {
        CalendarTimeline {
            calendar,
            spans: Spans::growing(),
        }
    }

    /// A timeline built for the local days `first..=last` (at most
    /// [`MAX_TIMELINE_DAYS`], within the years 0000 to 9999); it still grows
    /// for questions outside them.
    pub fn covering(
        calendar: BusinessCalendar,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<CalendarTimeline, BusinessTimeError> {
        let days = (last - first).num_days() + 1;
        if !(1..=MAX_TIMELINE_DAYS).contains(&days) || first < FIRST_DAY || last > LAST_DAY {
            return Err(BusinessTimeError::TimelineRange { first, last });
        }
        let mut timeline = CalendarTimeline::new(calendar);
        timeline
            .spans
            .build(&timeline.calendar, first, next_day(last));
        Ok(timeline)
    }

    /// The calendar.
    pub fn calendar(&self) -> &BusinessCalendar {
        &self.calendar
    }

    /// The local days built so far, first and last (`None` before the first
    /// question).
    pub fn covered_days(&self) -> Option<(NaiveDate, NaiveDate)> {
        (!self.spans.is_empty()).then(|| {
            (
                self.spans.first_day,
                self.spans
                    .end_day
                    .pred_opt()
                    .unwrap_or(self.spans.first_day),
            )
        })
    }

    /// How many working intervals are held (touching ones merged).
    pub fn interval_count(&self) -> usize {
        self.spans.starts_ms.len()
    }

    /// The heap and inline bytes the timeline's intervals take (the
    /// calendar itself not counted).
    pub fn memory_bytes(&self) -> usize {
        let held = self.spans.starts_ms.capacity()
            + self.spans.ends_ms.capacity()
            + self.spans.cum_end_ms.capacity();
        std::mem::size_of::<Spans>() + held * std::mem::size_of::<i64>()
    }

    /// The business time between two instants, in milliseconds (0 when
    /// `end_ms` is not after `start_ms`).
    pub fn business_ms(&mut self, start_ms: i64, end_ms: i64) -> i64 {
        self.spans.business_ms(&self.calendar, start_ms, end_ms)
    }

    /// The earliest instant, in milliseconds, at which `b_ms` of business
    /// time have passed since `start_ms`.
    pub fn add_business_ms(&mut self, start_ms: i64, b_ms: i64) -> Result<i64, BusinessTimeError> {
        self.spans.add_business_ms(&self.calendar, start_ms, b_ms)
    }
}

/// The compiled intervals of the local days `first_day..end_day`, whose
/// instants are `lo_ms..=hi_ms`. The three vectors are parallel and sorted;
/// `cum_end_ms[i]` is the business time from `lo_ms` to `ends_ms[i]`.
#[derive(Debug, Clone)]
pub(crate) struct Spans {
    /// Whether a question outside the range adds slack (a timeline), or builds
    /// just what it needs (a one-off question).
    grow: bool,
    first_day: NaiveDate,
    end_day: NaiveDate,
    lo_ms: i64,
    hi_ms: i64,
    starts_ms: Vec<i64>,
    ends_ms: Vec<i64>,
    cum_end_ms: Vec<i64>,
}

impl Spans {
    fn empty(grow: bool) -> Spans {
        Spans {
            grow,
            first_day: FIRST_DAY,
            end_day: FIRST_DAY,
            // No instant is covered: lo > hi.
            lo_ms: i64::MAX,
            hi_ms: i64::MIN,
            starts_ms: Vec::new(),
            ends_ms: Vec::new(),
            cum_end_ms: Vec::new(),
        }
    }

    /// For one question: builds exactly the days it needs.
    pub(crate) fn exact() -> Spans {
        Spans::empty(false)
    }

    fn growing() -> Spans {
        Spans::empty(true)
    }

    fn is_empty(&self) -> bool {
        self.first_day >= self.end_day
    }

    fn covers(&self, a_ms: i64, b_ms: i64) -> bool {
        self.lo_ms <= a_ms && b_ms <= self.hi_ms
    }

    /// Business time from `lo_ms` to `t_ms`, which is covered.
    fn cum(&self, t_ms: i64) -> i64 {
        let after = self.starts_ms.partition_point(|&s| s < t_ms);
        match after.checked_sub(1) {
            None => 0,
            Some(i) => self.cum_end_ms[i] - (self.ends_ms[i] - t_ms).max(0),
        }
    }

    /// Rebuilds for the local days `first..end`, in time linear in the days.
    fn build(&mut self, calendar: &BusinessCalendar, first: NaiveDate, end: NaiveDate) {
        let days = (end - first).num_days().max(0);
        // Enough for every week's intervals plus Monday's on each make-up
        // day; holidays and merging only remove.
        let per_week: usize = [
            chrono::Weekday::Mon,
            chrono::Weekday::Tue,
            chrono::Weekday::Wed,
            chrono::Weekday::Thu,
            chrono::Weekday::Fri,
            chrono::Weekday::Sat,
            chrono::Weekday::Sun,
        ]
        .into_iter()
        .map(|d| calendar.week_hours(d).len())
        .sum();
        let make_ups = calendar.working_days().range(first..end).count();
        let capacity = (days as usize).div_ceil(7) * per_week
            + make_ups * calendar.week_hours(chrono::Weekday::Mon).len();
        let mut starts_ms = Vec::with_capacity(capacity);
        let mut ends_ms: Vec<i64> = Vec::with_capacity(capacity);
        let mut cum_end_ms: Vec<i64> = Vec::with_capacity(capacity);
        let mut total_ms = 0;
        let mut day = first;
        while day < end {
            calendar.for_each_span_ms(day, |start_ms, end_ms| {
                // The local rule is monotone, so spans come in order; the
                // clamp keeps the vectors sorted even if a zone's history
                // broke that.
                let start_ms = ends_ms.last().map_or(start_ms, |&last| start_ms.max(last));
                if end_ms <= start_ms {
                    return;
                }
                total_ms += end_ms - start_ms;
                if ends_ms.last() == Some(&start_ms) {
                    // Touching the previous span: merge.
                    let last = ends_ms.len() - 1;
                    ends_ms[last] = end_ms;
                    cum_end_ms[last] = total_ms;
                } else {
                    starts_ms.push(start_ms);
                    ends_ms.push(end_ms);
                    cum_end_ms.push(total_ms);
                }
            });
            day = next_day(day);
        }
        self.first_day = first;
        self.end_day = end;
        self.lo_ms = local::start_of_day_ms(calendar.time_zone(), first);
        self.hi_ms = local::start_of_day_ms(calendar.time_zone(), end);
        self.starts_ms = starts_ms;
        self.ends_ms = ends_ms;
        self.cum_end_ms = cum_end_ms;
    }

    /// Makes sure the local days `need_first..=need_last` (at most
    /// [`MAX_TIMELINE_DAYS`]) are built, growing or rebuilding.
    fn ensure(&mut self, calendar: &BusinessCalendar, need_first: NaiveDate, need_last: NaiveDate) {
        let need_end = next_day(need_last);
        if !self.is_empty() && self.first_day <= need_first && need_end <= self.end_day {
            return;
        }
        let union_first = self.first_day.min(need_first);
        let union_end = self.end_day.max(need_end);
        let (mut first, mut end, grow_left, grow_right) =
            if self.is_empty() || (union_end - union_first).num_days() > MAX_TIMELINE_DAYS {
                (need_first, need_end, true, true)
            } else {
                (
                    union_first,
                    union_end,
                    need_first < self.first_day,
                    need_end > self.end_day,
                )
            };
        if self.grow {
            let len = (end - first).num_days();
            let slack = (MAX_TIMELINE_DAYS - len).clamp(0, len.max(MIN_GROW_DAYS));
            let (left, right) = match (grow_left, grow_right) {
                (true, true) => (slack / 2, slack - slack / 2),
                (true, false) => (slack, 0),
                _ => (0, slack),
            };
            first = shift(first, -left);
            end = shift(end, right);
        }
        self.build(calendar, first, end);
    }

    pub(crate) fn business_ms(
        &mut self,
        calendar: &BusinessCalendar,
        start_ms: i64,
        end_ms: i64,
    ) -> i64 {
        let (a, b) = (local::clamp_ms(start_ms), local::clamp_ms(end_ms));
        if b <= a {
            return 0;
        }
        if self.covers(a, b) {
            return self.cum(b) - self.cum(a);
        }
        self.business_ms_outside(calendar, a, b)
    }

    /// [`Spans::business_ms`] for a span not yet covered: grows to it, or
    /// walks it in pieces of [`MAX_TIMELINE_DAYS`] days.
    #[cold]
    fn business_ms_outside(&mut self, calendar: &BusinessCalendar, a: i64, b: i64) -> i64 {
        let tz = calendar.time_zone();
        let last = local::local_date(tz, b);
        let mut total_ms = 0;
        let mut t = a;
        loop {
            let first = local::local_date(tz, t);
            if (last - first).num_days() < MAX_TIMELINE_DAYS {
                self.ensure(calendar, first, last);
                return total_ms + self.cum(b) - self.cum(t);
            }
            // A piece of MAX_TIMELINE_DAYS days; its end is after `t`, which
            // lies before the start of the day after `first`.
            let stop_day = shift(first, MAX_TIMELINE_DAYS);
            self.ensure(calendar, first, shift(stop_day, -1));
            let stop_ms = local::start_of_day_ms(tz, stop_day);
            total_ms += self.cum(stop_ms) - self.cum(t);
            t = stop_ms;
        }
    }

    /// The instant `b_ms` of business time after `start_ms`, if the covered
    /// range holds it (`start_ms` covered).
    fn find(&self, start_ms: i64, b_ms: i64) -> Option<i64> {
        if !self.covers(start_ms, start_ms) {
            return None;
        }
        let target = self.cum(start_ms).saturating_add(b_ms);
        let i = self.cum_end_ms.partition_point(|&c| c < target);
        // The first interval whose running total reaches the target: the
        // target is reached inside it or at its end, never before its start
        // (the previous total is below the target).
        (i < self.cum_end_ms.len()).then(|| self.ends_ms[i] - (self.cum_end_ms[i] - target))
    }

    pub(crate) fn add_business_ms(
        &mut self,
        calendar: &BusinessCalendar,
        start_ms: i64,
        b_ms: i64,
    ) -> Result<i64, BusinessTimeError> {
        if b_ms < 0 {
            return Err(BusinessTimeError::Negative { b_ms });
        }
        if !(MIN_INSTANT_MS..MAX_INSTANT_MS).contains(&start_ms) {
            return Err(BusinessTimeError::OutOfRange {
                instant_ms: start_ms,
            });
        }
        if b_ms == 0 {
            return Ok(start_ms);
        }
        let limit_ms = start_ms.saturating_add(MAX_SEARCH_MS).min(MAX_INSTANT_MS);
        let found = match self.find(start_ms, b_ms) {
            Some(d) => Some(d),
            None => self.find_outside(calendar, start_ms, b_ms, limit_ms),
        };
        match found {
            Some(d) if d <= limit_ms => Ok(d),
            _ => Err(BusinessTimeError::BeyondSearchLimit { start_ms, b_ms }),
        }
    }

    /// [`Spans::find`] for a start or an end not yet covered: builds from the
    /// start's day over a month, then eight times as many days each round,
    /// until found or past the day of `limit_ms` (at most four rounds).
    #[cold]
    fn find_outside(
        &mut self,
        calendar: &BusinessCalendar,
        start_ms: i64,
        b_ms: i64,
        limit_ms: i64,
    ) -> Option<i64> {
        let tz = calendar.time_zone();
        let first = local::local_date(tz, start_ms);
        let last_needed = local::local_date(tz, limit_ms);
        let mut days = FIRST_SEARCH_DAYS;
        loop {
            let last = shift(first, days).min(last_needed);
            self.ensure(calendar, first, last);
            if let Some(d) = self.find(start_ms, b_ms) {
                return Some(d);
            }
            if last >= last_needed {
                return None;
            }
            days = days.saturating_mul(8);
        }
    }
}

/// The next day, or the same day at the end of the converted range (callers
/// stay inside it).
fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt().unwrap_or(day).min(AFTER_LAST_DAY)
}

/// A day shifted by `days`, kept within the converted range.
fn shift(day: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        day.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        day.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.unwrap_or(day).clamp(FIRST_DAY, AFTER_LAST_DAY)
}
