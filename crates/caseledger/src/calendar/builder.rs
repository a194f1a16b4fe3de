//! Building a calendar: the one set of checks a calendar passes, whether it
//! comes from a program ([`CalendarBuilder`]) or from its JSON form.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;

use super::error::CalendarError;
use super::spec::{BusinessCalendar, LocalInterval, WEEKDAY_KEYS};
use super::{MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY, MAX_WORKING_DAYS};

impl BusinessCalendar {
    /// A builder for a calendar in the IANA zone `time_zone`, with no working
    /// hours until some are given (a calendar needs some: see
    /// [`CalendarError::NoWorkingHours`]).
    pub fn builder(time_zone: impl Into<String>) -> CalendarBuilder {
        CalendarBuilder::new(time_zone)
    }
}

/// A calendar being put together in a program; [`CalendarBuilder::build`]
/// checks it exactly as [`BusinessCalendar::from_json`] checks a file, and
/// names fields the same way (`week.mon[1]`, `holidays[3]` in the order
/// given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarBuilder {
    time_zone: String,
    pub(super) week: [Vec<String>; 7],
    pub(super) holidays: Vec<NaiveDate>,
    pub(super) working_days: Vec<NaiveDate>,
}

impl CalendarBuilder {
    /// A calendar in the IANA zone `time_zone` with no working hours yet:
    /// [`build`](Self::build) refuses it until some weekday has hours.
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
        self.week[day.num_days_from_monday() as usize] = owned(intervals);
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

    /// Sets all seven days to the same hours (`&["00:00-24:00"]`: a desk
    /// that works around the clock, in this calendar's zone).
    pub fn every_day(mut self, intervals: &[&str]) -> CalendarBuilder {
        self.week = std::array::from_fn(|_| owned(intervals));
        self
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
    /// reported, looking at time_zone, then Monday to Sunday, then whether
    /// some weekday has working hours, then holidays, then make-up days.
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

/// A day's interval texts, owned.
fn owned(intervals: &[&str]) -> Vec<String> {
    intervals.iter().map(|s| (*s).to_owned()).collect()
}

impl CalendarBuilder {
    /// The zone and the week, checked.
    pub(super) fn zone_and_week(&self) -> Result<(Tz, [Vec<LocalInterval>; 7]), CalendarError> {
        let time_zone = parse_zone(&self.time_zone)?;
        let mut week: [Vec<LocalInterval>; 7] = Default::default();
        for (index, texts) in self.week.iter().enumerate() {
            week[index] = day_hours(WEEKDAY_KEYS[index], texts)?;
        }
        // A week without working hours makes a calendar in which business
        // time never passes: every SLA target would be met and no
        // complaint deadline ever reached, silently. No desk works that
        // way; such a file is a mistake (`"week": {}`, every day `[]`).
        if week.iter().all(Vec::is_empty) {
            return Err(CalendarError::NoWorkingHours);
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
        if b.start_min() < a.end_min() {
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
