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

/// How many built ranges a timeline keeps at once, the most recently used
/// kept: questions in two distant eras (a report whose cases are in 2026 and
/// whose T is in 9026), plus one more, are each answered from a range of
/// their own instead of rebuilding one range back and forth.
const MAX_RANGES: usize = 3;

/// The length, in days, of the pieces of the fixed grid that a span longer
/// than [`MAX_TIMELINE_DAYS`] is counted in: four years. Grid piece `k`
/// is the local days from [`FIRST_DAY`] + `k` × this to the day before piece
/// `k + 1`; a timeline keeps the running totals of the pieces it has counted
/// (8 bytes a piece, at most 20 KB for the years 0000 to 9999).
const GRID_DAYS: i64 = 1_461;

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

/// A calendar compiled for many questions: the working intervals of a few
/// ranges of local days as UTC milliseconds with running totals, and the
/// business time of the pieces of a fixed grid of days.
///
/// Building a range takes time linear in its days; then
/// [`business_ms`](Self::business_ms) is two binary searches and
/// [`add_business_ms`](Self::add_business_ms) two, O(log n) in the number of
/// intervals. A question outside the ranges grows the nearest one (at least a
/// year, and at least doubling, so a sweep through the years costs linear
/// time in all), up to [`MAX_TIMELINE_DAYS`]; a question too far from every
/// range gets a range of its own, and the least recently used of three is
/// dropped. So questions that alternate between distant eras (cases opened
/// in 2026, T in 9026) each keep their range built.
///
/// A span of more than [`MAX_TIMELINE_DAYS`] days is counted in three parts
/// cut at the days of a fixed grid (pieces of four years from the year -1):
/// from its start to the first grid day after it, and from the last grid day
/// before its end to its end, each answered from a built range (at most four
/// years), and the whole grid pieces between from their running totals. Each
/// piece's total is counted once, by walking its days without keeping their
/// intervals, and kept (8 bytes a piece); the totals a timeline holds are one
/// run of consecutive pieces, extended to each question's. So many questions
/// over the same long span cost one walk of its days in all, and then O(log n)
/// each. Business time is additive and every piece ends at a local midnight,
/// where no working interval is cut, so the parts add up to exactly what one
/// range over the whole span would give.
///
/// Memory: 24 bytes per working interval (start, end and running total, each
/// an `i64`) of the built ranges; intervals that touch (such as one day's
/// `18:00-24:00` and the next day's `00:00-06:00`) are merged. A
/// Monday-to-Friday week with a lunch break is 10 intervals a week, 34 bytes
/// a day (125 KB for 10 years); the worst, 24 intervals every day, is 576
/// bytes a day; a calendar that works around the clock is one interval in
/// all. Each range holds at most [`MAX_TIMELINE_DAYS`] days and there are at
/// most three, so the worst calendar takes at most 63 MB (4 MB for the
/// Monday-to-Friday week), plus at most 20 KB of grid totals.
///
/// Methods take `&mut self` because they may grow the timeline; a program
/// answering questions on several threads gives each its own clone.
/// Instants are milliseconds since the Unix epoch, counted within the years
/// 0000 to 9999 (see the module documentation).
#[derive(Debug, Clone)]
pub struct CalendarTimeline {
    calendar: BusinessCalendar,
    ranges: Ranges,
}

impl CalendarTimeline {
    /// An empty timeline for a calendar; it builds itself on the first
    /// question.
    pub fn new(calendar: BusinessCalendar) -> CalendarTimeline {
        CalendarTimeline {
            calendar,
            ranges: Ranges::growing(),
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
        let spans = Spans::build(&calendar, first, next_day(last));
        let mut timeline = CalendarTimeline::new(calendar);
        timeline.ranges.built.push(spans);
        Ok(timeline)
    }

    /// The calendar.
    pub fn calendar(&self) -> &BusinessCalendar {
        &self.calendar
    }

    /// The local days of the range built or used most recently, first and
    /// last (`None` before the first question).
    pub fn covered_days(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.ranges.built.first().map(|spans| {
            (
                spans.first_day,
                spans.end_day.pred_opt().unwrap_or(spans.first_day),
            )
        })
    }

    /// How many working intervals are held, in all the built ranges
    /// (touching ones merged).
    pub fn interval_count(&self) -> usize {
        self.ranges.built.iter().map(|s| s.starts_ms.len()).sum()
    }

    /// The heap and inline bytes the timeline's ranges and grid totals take
    /// (the calendar itself not counted).
    pub fn memory_bytes(&self) -> usize {
        let held: usize = self
            .ranges
            .built
            .iter()
            .map(|s| s.starts_ms.capacity() + s.ends_ms.capacity() + s.cum_end_ms.capacity())
            .sum();
        std::mem::size_of::<Ranges>()
            + self.ranges.built.capacity() * std::mem::size_of::<Spans>()
            + (held + self.ranges.grid.prefix_ms.capacity()) * std::mem::size_of::<i64>()
    }

    /// The business time between two instants, in milliseconds (0 when
    /// `end_ms` is not after `start_ms`).
    pub fn business_ms(&mut self, start_ms: i64, end_ms: i64) -> i64 {
        self.ranges.business_ms(&self.calendar, start_ms, end_ms)
    }

    /// The earliest instant, in milliseconds, at which `b_ms` of business
    /// time have passed since `start_ms`.
    pub fn add_business_ms(&mut self, start_ms: i64, b_ms: i64) -> Result<i64, BusinessTimeError> {
        self.ranges.add_business_ms(&self.calendar, start_ms, b_ms)
    }

    /// How much work the timeline has done so far (tests only).
    #[cfg(test)]
    pub(crate) fn work(&self) -> Work {
        self.ranges.work
    }
}

/// How much work a timeline has done: what the tests count instead of
/// timing it.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Ranges built.
    pub(crate) builds: usize,
    /// Days walked, to build ranges or to count grid pieces.
    pub(crate) days: i64,
}

/// What answers the questions: a few built ranges, most recently used first,
/// and the running totals of grid pieces.
#[derive(Debug, Clone)]
pub(crate) struct Ranges {
    /// Whether a question outside the ranges adds slack (a timeline), or
    /// builds just what it needs (a one-off question).
    grow: bool,
    /// At most [`MAX_RANGES`], the most recently used first.
    built: Vec<Spans>,
    grid: GridTotals,
    #[cfg(test)]
    work: Work,
}

impl Ranges {
    fn empty(grow: bool) -> Ranges {
        Ranges {
            grow,
            built: Vec::new(),
            grid: GridTotals::default(),
            #[cfg(test)]
            work: Work::default(),
        }
    }

    /// For one question: builds exactly the days it needs.
    pub(crate) fn exact() -> Ranges {
        Ranges::empty(false)
    }

    fn growing() -> Ranges {
        Ranges::empty(true)
    }

    /// Moves range `i` to the front, as the most recently used.
    fn use_range(&mut self, i: usize) -> &Spans {
        self.built[..=i].rotate_right(1);
        &self.built[0]
    }

    /// Makes sure the local days `need_first..=need_last` (at most
    /// [`MAX_TIMELINE_DAYS`]) are built in one range, and returns it (now the
    /// most recently used). A range that holds them answers; else the most
    /// recently used range that can grow to them within [`MAX_TIMELINE_DAYS`]
    /// grows; else a new range is built around them, in place of the least
    /// recently used when there are [`MAX_RANGES`].
    fn ensure(
        &mut self,
        calendar: &BusinessCalendar,
        need_first: NaiveDate,
        need_last: NaiveDate,
    ) -> &Spans {
        let need_end = next_day(need_last);
        if let Some(i) = self
            .built
            .iter()
            .position(|s| s.first_day <= need_first && need_end <= s.end_day)
        {
            return self.use_range(i);
        }
        let near = self.built.iter().position(|s| {
            (s.end_day.max(need_end) - s.first_day.min(need_first)).num_days() <= MAX_TIMELINE_DAYS
        });
        let (mut first, mut end, grow_left, grow_right) = match near {
            Some(i) => {
                let s = &self.built[i];
                (
                    s.first_day.min(need_first),
                    s.end_day.max(need_end),
                    need_first < s.first_day,
                    need_end > s.end_day,
                )
            }
            None => (need_first, need_end, true, true),
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
        let spans = Spans::build(calendar, first, end);
        #[cfg(test)]
        {
            self.work.builds += 1;
            self.work.days += (end - first).num_days();
        }
        match near {
            Some(i) => {
                self.built[i] = spans;
                self.use_range(i)
            }
            None => {
                if self.built.len() == MAX_RANGES {
                    self.built.pop();
                }
                self.built.insert(0, spans);
                &self.built[0]
            }
        }
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
        if let Some(i) = self.built.iter().position(|s| s.covers(a, b)) {
            let spans = self.use_range(i);
            return spans.cum(b) - spans.cum(a);
        }
        self.business_ms_outside(calendar, a, b)
    }

    /// [`Ranges::business_ms`] for a span no range covers: grows or builds a
    /// range for it, or, for a span of more than [`MAX_TIMELINE_DAYS`] days,
    /// counts its two ends from ranges and the grid pieces between from
    /// their totals.
    #[cold]
    fn business_ms_outside(&mut self, calendar: &BusinessCalendar, a: i64, b: i64) -> i64 {
        let tz = calendar.time_zone();
        let first = local::local_date(tz, a);
        let last = local::local_date(tz, b);
        if (last - first).num_days() < MAX_TIMELINE_DAYS {
            let spans = self.ensure(calendar, first, last);
            return spans.cum(b) - spans.cum(a);
        }
        // The first grid day after `first` and the last one at or before
        // `last`: the span is at least MAX_TIMELINE_DAYS > 2 × GRID_DAYS days
        // long, so `k_head <= k_tail`.
        let k_head = grid_index(first) + 1;
        let k_tail = grid_index(last);
        let (head_day, tail_day) = (grid_day(k_head), grid_day(k_tail));
        let head_ms = local::start_of_day_ms(tz, head_day);
        let tail_ms = local::start_of_day_ms(tz, tail_day);
        // The head's range takes in the grid day itself, so that it covers
        // `a` even where clocks going back after midnight make `a` (on the
        // day before) later than that day's start.
        let head = {
            let spans = self.ensure(calendar, first, head_day);
            spans.cum(head_ms) - spans.cum(a)
        };
        let middle = self.grid.business_ms(calendar, k_head, k_tail);
        #[cfg(test)]
        {
            self.work.days += std::mem::take(&mut self.grid.walked_days);
        }
        let tail = {
            let spans = self.ensure(calendar, tail_day, last);
            spans.cum(b) - spans.cum(tail_ms)
        };
        head + middle + tail
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
        let held = self
            .built
            .iter()
            .position(|s| s.covers(start_ms, start_ms))
            .and_then(|i| self.use_range(i).find(start_ms, b_ms));
        let found = match held {
            Some(d) => Some(d),
            None => self.find_outside(calendar, start_ms, b_ms, limit_ms),
        };
        match found {
            Some(d) if d <= limit_ms => Ok(d),
            _ => Err(BusinessTimeError::BeyondSearchLimit { start_ms, b_ms }),
        }
    }

    /// [`Spans::find`] for a start or an end not yet built: builds from the
    /// start's day over a month, then eight times as many days each round,
    /// until found or past the day of `limit_ms` (at most four rounds). The
    /// search never spans more than [`MAX_SEARCH_DAYS`] days, so one range
    /// holds it; a range kept for another era is left alone.
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
            if let Some(d) = self.ensure(calendar, first, last).find(start_ms, b_ms) {
                return Some(d);
            }
            if last >= last_needed {
                return None;
            }
            days = days.saturating_mul(8);
        }
    }
}

/// The compiled intervals of the local days `first_day..end_day`, whose
/// instants are `lo_ms..=hi_ms`. The three vectors are parallel and sorted;
/// `cum_end_ms[i]` is the business time from `lo_ms` to `ends_ms[i]`.
#[derive(Debug, Clone)]
struct Spans {
    first_day: NaiveDate,
    end_day: NaiveDate,
    lo_ms: i64,
    hi_ms: i64,
    starts_ms: Vec<i64>,
    ends_ms: Vec<i64>,
    cum_end_ms: Vec<i64>,
}

impl Spans {
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

    /// Builds the local days `first..end`, in time linear in the days.
    fn build(calendar: &BusinessCalendar, first: NaiveDate, end: NaiveDate) -> Spans {
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
        for_each_interval(calendar, first, end, |start_ms, end_ms| {
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
        Spans {
            first_day: first,
            end_day: end,
            lo_ms: local::start_of_day_ms(calendar.time_zone(), first),
            hi_ms: local::start_of_day_ms(calendar.time_zone(), end),
            starts_ms,
            ends_ms,
            cum_end_ms,
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
}

/// Calls `f(start_ms, end_ms)` for the working intervals of the local days
/// `first..end`, in order, each of positive length and starting no earlier
/// than the previous one ends: what a range is built from and a grid piece
/// is counted from, by the same rule. The local rule is monotone, so the
/// intervals come in order; the clamp keeps them so even if a zone's history
/// broke that.
fn for_each_interval(
    calendar: &BusinessCalendar,
    first: NaiveDate,
    end: NaiveDate,
    mut f: impl FnMut(i64, i64),
) {
    let mut last_end_ms = i64::MIN;
    let mut day = first;
    while day < end {
        calendar.for_each_span_ms(day, |start_ms, end_ms| {
            let start_ms = start_ms.max(last_end_ms);
            if end_ms <= start_ms {
                return;
            }
            last_end_ms = end_ms;
            f(start_ms, end_ms);
        });
        day = next_day(day);
    }
}

/// The index of the grid piece that holds a local day (see [`GRID_DAYS`]).
fn grid_index(day: NaiveDate) -> i64 {
    (day - FIRST_DAY).num_days().max(0) / GRID_DAYS
}

/// The first local day of grid piece `k` (kept within the converted range).
fn grid_day(k: i64) -> NaiveDate {
    shift(FIRST_DAY, k.saturating_mul(GRID_DAYS))
}

/// The business time of a run of consecutive grid pieces, as running totals:
/// `prefix_ms[i]` is the business time from the start of piece `first` to
/// the start of piece `first + i`. Empty until a span longer than
/// [`MAX_TIMELINE_DAYS`] is asked for; then extended, one piece at a time, to
/// the pieces each such span holds, so that each piece is counted once.
#[derive(Debug, Clone, Default)]
struct GridTotals {
    first: i64,
    prefix_ms: Vec<i64>,
    /// Days walked since the last look (tests only).
    #[cfg(test)]
    walked_days: i64,
}

impl GridTotals {
    /// The business time from the start of grid piece `k_from` to the start
    /// of piece `k_to` (`k_from <= k_to`), counting the pieces not yet
    /// counted.
    fn business_ms(&mut self, calendar: &BusinessCalendar, k_from: i64, k_to: i64) -> i64 {
        if self.prefix_ms.is_empty() {
            self.first = k_from;
            self.prefix_ms.push(0);
        }
        if k_from < self.first {
            let mut before =
                Vec::with_capacity(self.prefix_ms.len() + (self.first - k_from) as usize);
            let mut total_ms = 0;
            for k in k_from..self.first {
                before.push(total_ms);
                total_ms += self.piece_ms(calendar, k);
            }
            before.extend(self.prefix_ms.iter().map(|&p| p + total_ms));
            self.prefix_ms = before;
            self.first = k_from;
        }
        let mut next = self.first + self.prefix_ms.len() as i64 - 1;
        while next < k_to {
            let total_ms =
                self.prefix_ms.last().copied().unwrap_or(0) + self.piece_ms(calendar, next);
            self.prefix_ms.push(total_ms);
            next += 1;
        }
        let at = |k: i64| self.prefix_ms[(k - self.first) as usize];
        at(k_to) - at(k_from)
    }

    /// The business time of grid piece `k`: the sum of its days' working
    /// intervals, walked and not kept.
    fn piece_ms(&mut self, calendar: &BusinessCalendar, k: i64) -> i64 {
        let (first, end) = (grid_day(k), grid_day(k + 1));
        #[cfg(test)]
        {
            self.walked_days += (end - first).num_days();
        }
        let mut total_ms = 0;
        for_each_interval(calendar, first, end, |start_ms, end_ms| {
            total_ms += end_ms - start_ms;
        });
        total_ms
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
