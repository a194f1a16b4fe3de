//! Business calendars: hand-computed cases (a Chinese holiday week with
//! make-up days, DST in Europe/London, clocks that jump at midnight, nights
//! and weekends), the JSON form and its errors, and property tests against a
//! deliberately simple reference implementation.

use std::collections::BTreeSet;

use caseledger::calendar::{
    BusinessCalendar, BusinessTimeError, CalendarError, CalendarTimeline, LocalInterval,
    MAX_HOLIDAYS, MAX_INSTANT_MS, MAX_INTERVALS_PER_DAY, MAX_SEARCH_MS, MAX_TIMELINE_DAYS,
    MAX_WORKING_DAYS, MIN_INSTANT_MS, Tz,
};
use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, TimeDelta, TimeZone, Utc, Weekday,
};
use proptest::prelude::*;

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("test date")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("test instant")
}

/// A wall-clock time at a fixed offset (hours east of UTC), as an instant.
fn at_offset(offset_h: i32, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(offset_h * 3600)
        .expect("test offset")
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("test instant")
        .to_utc()
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The issue's Shanghai desk: 09:00-18:00 with a lunch break, Monday to
/// Friday, the 2026 National Day week off, Sunday 27 September and Saturday
/// 10 October worked.
const SHANGHAI: &str = r#"{
  "time_zone": "Asia/Shanghai",
  "week": {"mon": ["09:00-12:00", "13:00-18:00"], "tue": ["09:00-12:00", "13:00-18:00"],
           "wed": ["09:00-12:00", "13:00-18:00"], "thu": ["09:00-12:00", "13:00-18:00"],
           "fri": ["09:00-12:00", "13:00-18:00"], "sat": []},
  "holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"],
  "working_days": ["2026-09-27", "2026-10-10"]
}"#;

fn shanghai() -> BusinessCalendar {
    BusinessCalendar::from_json(SHANGHAI).expect("valid calendar")
}

/// Shanghai wall-clock time (UTC+8 all year) as an instant.
fn sh(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    at_offset(8, 2026, mo, d, h, mi)
}

fn calendar(json: &str) -> BusinessCalendar {
    BusinessCalendar::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

// ---------------------------------------------------------------------------
// The JSON form and its errors

#[test]
fn the_issue_example_reads_and_round_trips() {
    let json = r#"{"time_zone": "Asia/Shanghai",
     "week": {"mon": ["09:00-12:00", "13:00-18:00"], "tue": ["09:00-18:00"], "sat": []},
     "holidays": ["2026-10-01", "2026-10-02"],
     "working_days": ["2026-09-27"]}"#;
    let cal = calendar(json);
    assert_eq!(cal.time_zone(), Tz::Asia__Shanghai);
    let texts = |d| {
        cal.week_hours(d)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(Weekday::Mon), ["09:00-12:00", "13:00-18:00"]);
    assert_eq!(texts(Weekday::Tue), ["09:00-18:00"]);
    assert!(
        texts(Weekday::Wed).is_empty(),
        "a day not named has no hours"
    );
    assert!(texts(Weekday::Sat).is_empty());
    assert_eq!(
        cal.to_json(),
        r#"{"time_zone":"Asia/Shanghai","week":{"mon":["09:00-12:00","13:00-18:00"],"tue":["09:00-18:00"],"wed":[],"thu":[],"fri":[],"sat":[],"sun":[]},"holidays":["2026-10-01","2026-10-02"],"working_days":["2026-09-27"]}"#
    );
    assert_eq!(calendar(&cal.to_json()), cal);
}

#[test]
fn intervals_are_kept_sorted_and_may_touch() {
    let cal = calendar(
        r#"{"time_zone": "UTC", "week": {"mon": ["13:00-18:00", "12:00-13:00", "00:00-09:00", "18:00-24:00"]}}"#,
    );
    let texts: Vec<String> = cal
        .week_hours(Weekday::Mon)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        texts,
        ["00:00-09:00", "12:00-13:00", "13:00-18:00", "18:00-24:00"]
    );
    assert_eq!(cal.week_hours(Weekday::Mon)[3].end_min(), 1440);
}

#[test]
fn the_builder_makes_the_same_calendar_as_the_json() {
    let built = BusinessCalendar::builder("Asia/Shanghai")
        .weekdays(&["13:00-18:00", "09:00-12:00"])
        .hours(Weekday::Sat, &[])
        .holidays((1..=7).map(|d| date(2026, 10, d)))
        .working_day(date(2026, 9, 27))
        .working_day(date(2026, 10, 10))
        .build()
        .expect("valid calendar");
    assert_eq!(built, shanghai());
}

#[test]
fn the_default_calendar_is_utc_around_the_clock() {
    let cal = BusinessCalendar::default();
    assert_eq!(cal.time_zone(), Tz::UTC);
    assert_eq!(
        cal.to_json(),
        r#"{"time_zone":"UTC","week":{"mon":["00:00-24:00"],"tue":["00:00-24:00"],"wed":["00:00-24:00"],"thu":["00:00-24:00"],"fri":["00:00-24:00"],"sat":["00:00-24:00"],"sun":["00:00-24:00"]},"holidays":[],"working_days":[]}"#
    );
    assert_eq!(calendar(&cal.to_json()), cal);
}

fn error_of(json: &str) -> String {
    match BusinessCalendar::from_json(json) {
        Ok(cal) => panic!("{json} was accepted as {cal:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_error_names_the_field_and_the_value() {
    let week = |mon: &str| format!(r#"{{"time_zone": "UTC", "week": {{"mon": {mon}}}}}"#);
    let cases: Vec<(String, &str)> = vec![
        (week(r#"["09:00-12:00", "13:00-12:00"]"#), r#"week.mon[1]: "13:00-12:00" ends before it starts"#),
        (week(r#"["09:00-12:00", "11:00-13:00"]"#), r#"week.mon[1]: "11:00-13:00" overlaps week.mon[0] "09:00-12:00""#),
        (week(r#"["11:00-13:00", "09:00-12:00"]"#), r#"week.mon[1]: "09:00-12:00" overlaps week.mon[0] "11:00-13:00""#),
        (week(r#"["09:00-12:00", "09:00-12:00"]"#), r#"week.mon[1]: "09:00-12:00" overlaps week.mon[0] "09:00-12:00""#),
        (week(r#"["9:00-12:00"]"#), r#"week.mon[0]: "9:00-12:00" is not a local interval HH:MM-HH:MM (such as 09:00-12:00)"#),
        (week(r#"["09:00-24:30"]"#), r#"week.mon[0]: "09:00-24:30" has a time that is not between 00:00 and 24:00"#),
        (week(r#"["09:60-10:00"]"#), r#"week.mon[0]: "09:60-10:00" has a time that is not between 00:00 and 24:00"#),
        (week(r#"["24:00-24:00"]"#), r#"week.mon[0]: "24:00-24:00" starts at 24:00, which can only end a day"#),
        (week(r#"["10:00-10:00"]"#), r#"week.mon[0]: "10:00-10:00" is empty (it ends where it starts)"#),
        (week(r#"[900]"#), "week.mon[0]: expected a string, found a number"),
        (week(r#""09:00-12:00""#), r#"week.mon: expected an array of "HH:MM-HH:MM" strings, found a string"#),
        (
            r#"{"time_zone": "UTC", "week": {"monday": []}}"#.to_owned(),
            r#"week: "monday" is not a weekday key; the keys are mon, tue, wed, thu, fri, sat and sun"#,
        ),
        (
            r#"{"time_zone": "Asia/Shangai", "week": {}}"#.to_owned(),
            r#"time_zone: "Asia/Shangai" is not an IANA time zone name; did you mean "Asia/Shanghai"?"#,
        ),
        (
            r#"{"time_zone": "Beijing Time", "week": {}}"#.to_owned(),
            r#"time_zone: "Beijing Time" is not an IANA time zone name (such as Asia/Shanghai or Europe/London)"#,
        ),
        (r#"{"time_zone": 8, "week": {}}"#.to_owned(), "time_zone: expected a string, found a number"),
        (
            r#"{"week": {}}"#.to_owned(),
            "time_zone: missing (a calendar has time_zone and week, and may have holidays and working_days)",
        ),
        (
            r#"{"time_zone": "UTC"}"#.to_owned(),
            "week: missing (a calendar has time_zone and week, and may have holidays and working_days)",
        ),
        (
            r#"{"time_zone": "UTC", "week": {}, "holiday": []}"#.to_owned(),
            r#"unknown field "holiday"; the fields are time_zone, week, holidays and working_days"#,
        ),
        (r#"[]"#.to_owned(), "calendar: expected an object, found an array"),
        (
            r#"{"time_zone": "UTC", "week": {"mon": ["09:00-17:00"]}, "holidays": ["2026-10-01", "2026-02-30"]}"#.to_owned(),
            r#"holidays[1]: "2026-02-30" is not a date YYYY-MM-DD in the years 0000 to 9999"#,
        ),
        (
            r#"{"time_zone": "UTC", "week": {"mon": ["09:00-17:00"]}, "working_days": ["2026-9-27"]}"#.to_owned(),
            r#"working_days[0]: "2026-9-27" is not a date YYYY-MM-DD in the years 0000 to 9999"#,
        ),
        (
            r#"{"time_zone": "UTC", "week": {"mon": ["09:00-17:00"]}, "holidays": "2026-10-01"}"#.to_owned(),
            r#"holidays: expected an array of "YYYY-MM-DD" strings, found a string"#,
        ),
        (
            r#"{"time_zone": "UTC", "week": {"mon": ["09:00-17:00"]}, "holidays": ["2026-10-01", "2026-10-02", "2026-10-01"]}"#.to_owned(),
            r#"holidays[2]: "2026-10-01" is listed twice (also holidays[0])"#,
        ),
        (
            r#"{"time_zone": "UTC", "week": {"mon": ["09:00-17:00"]}, "holidays": ["2026-10-02", "2026-10-01"], "working_days": ["2026-09-27", "2026-10-01"]}"#.to_owned(),
            r#"working_days[1]: "2026-10-01" is also a holiday (holidays[1]); a date is either a holiday or a make-up working day"#,
        ),
        (
            r#"{"time_zone": "Mars/Base", "week": {"mon": ["09:00-08:00"]}, "holidays": ["soon"]}"#.to_owned(),
            r#"time_zone: "Mars/Base" is not an IANA time zone name (such as Asia/Shanghai or Europe/London)"#,
        ),
        (
            r#"{"time_zone": "UTC", "week": {"sun": ["09:00-08:00"]}, "holidays": ["soon"]}"#.to_owned(),
            r#"week.sun[0]: "09:00-08:00" ends before it starts"#,
        ),
        (
            r#"{"time_zone": "UTC", "week": {}, "holidays": ["soon"]}"#.to_owned(),
            "week: no weekday has working hours; a calendar must work some time each week (in one that never works, no SLA target or deadline is ever reached)",
        ),
        (
            r#"{"time_zone": "UTC", "week": {"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}, "working_days": ["2026-09-27"]}"#.to_owned(),
            "week: no weekday has working hours; a calendar must work some time each week (in one that never works, no SLA target or deadline is ever reached)",
        ),
    ];
    for (json, expected) in cases {
        assert_eq!(error_of(&json), expected, "{json}");
    }
    assert!(error_of("{").starts_with("the calendar is not valid JSON: "));
}

#[test]
fn errors_carry_their_source() {
    use std::error::Error as _;
    let bad =
        BusinessCalendar::from_json(r#"{"time_zone": "UTC", "week": {"mon": ["13:00-12:00"]}}"#)
            .expect_err("refused");
    assert!(matches!(&bad, CalendarError::BadInterval { .. }));
    assert_eq!(
        bad.source().map(ToString::to_string).as_deref(),
        Some("ends before it starts")
    );
    let not_json = BusinessCalendar::from_json("{").expect_err("refused");
    assert!(
        not_json.source().is_some(),
        "the JSON parser's error is the source"
    );
}

#[test]
fn the_builder_names_fields_like_the_json() {
    let err = BusinessCalendar::builder("UTC")
        .hours(Weekday::Wed, &["08:00-10:00", "09:30-11:00"])
        .build()
        .expect_err("overlap");
    assert_eq!(
        err.to_string(),
        r#"week.wed[1]: "09:30-11:00" overlaps week.wed[0] "08:00-10:00""#
    );
    let err = BusinessCalendar::builder("UTC")
        .weekdays(&["09:00-17:00"])
        .holiday(date(2026, 1, 1))
        .working_day(date(2026, 1, 1))
        .build()
        .expect_err("both");
    assert_eq!(
        err.to_string(),
        r#"working_days[0]: "2026-01-01" is also a holiday (holidays[0]); a date is either a holiday or a make-up working day"#
    );
    let err = BusinessCalendar::builder("UTC")
        .weekdays(&["09:00-17:00"])
        .holiday(date(10_000, 1, 1))
        .build()
        .expect_err("year");
    assert_eq!(
        err.to_string(),
        r#"holidays[0]: "+10000-01-01" is not a date YYYY-MM-DD in the years 0000 to 9999"#
    );
}

#[test]
fn every_day_sets_the_seven_days() {
    let all = BusinessCalendar::builder("Asia/Tokyo")
        .every_day(&["08:00-12:00", "13:00-17:00"])
        .build()
        .expect("valid");
    for day in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ] {
        assert_eq!(all.week_hours(day).len(), 2, "{day}");
        assert_eq!(
            all.week_hours(day),
            all.week_hours(Weekday::Mon),
            "{day} as Monday"
        );
    }
}

#[test]
fn a_week_without_working_hours_is_refused() {
    // Business time never passes in such a calendar: every SLA target
    // would be met and no complaint deadline reached.
    let refused = |b: caseledger::calendar::CalendarBuilder| {
        matches!(b.build(), Err(CalendarError::NoWorkingHours))
    };
    assert!(refused(BusinessCalendar::builder("UTC")));
    assert!(refused(
        BusinessCalendar::builder("Asia/Shanghai")
            .hours(Weekday::Sat, &[])
            .working_day(date(2026, 9, 27))
    ));
    // One interval on one day is enough.
    assert!(
        BusinessCalendar::builder("UTC")
            .hours(Weekday::Sun, &["23:30-24:00"])
            .build()
            .is_ok()
    );
    assert!(matches!(
        BusinessCalendar::from_json(r#"{"time_zone": "UTC", "week": {"sat": []}}"#),
        Err(CalendarError::NoWorkingHours)
    ));
}

#[test]
fn limits_are_enforced_at_their_values() {
    let dates =
        |n: usize, from: NaiveDate| -> Vec<NaiveDate> { from.iter_days().take(n).collect() };
    let base = date(2000, 1, 1);
    let ok = BusinessCalendar::builder("UTC")
        .weekdays(&["09:00-17:00"])
        .holidays(dates(MAX_HOLIDAYS, base))
        .working_days(dates(MAX_WORKING_DAYS, date(2040, 1, 1)))
        .build()
        .expect("the limits themselves are allowed");
    let json = ok.to_json();
    assert_eq!(calendar(&json), ok, "the largest calendar reads back");
    assert!(json.len() < 270_000, "{} bytes", json.len());
    assert_eq!(
        BusinessCalendar::builder("UTC")
            .weekdays(&["09:00-17:00"])
            .holidays(dates(MAX_HOLIDAYS + 1, base))
            .build()
            .expect_err("too many")
            .to_string(),
        "holidays: 10001 dates; at most 10000 are accepted"
    );
    assert_eq!(
        BusinessCalendar::builder("UTC")
            .weekdays(&["09:00-17:00"])
            .working_days(dates(MAX_WORKING_DAYS + 1, base))
            .build()
            .expect_err("too many")
            .to_string(),
        "working_days: 10001 dates; at most 10000 are accepted"
    );
    let hours: Vec<String> = (0..=MAX_INTERVALS_PER_DAY)
        .map(|h| format!("{:02}:00-{:02}:30", h % 24, h % 24))
        .collect();
    let at_limit: Vec<&str> = hours[..MAX_INTERVALS_PER_DAY]
        .iter()
        .map(String::as_str)
        .collect();
    BusinessCalendar::builder("UTC")
        .hours(Weekday::Mon, &at_limit)
        .build()
        .expect("24 intervals are allowed");
    let over: Vec<&str> = hours.iter().map(String::as_str).collect();
    assert_eq!(
        BusinessCalendar::builder("UTC")
            .hours(Weekday::Mon, &over)
            .build()
            .expect_err("too many")
            .to_string(),
        "week.mon: 25 intervals; a day has at most 24"
    );
    let huge = format!(
        r#"{{"time_zone": "UTC", "week": {{}}, "pad": "{}"}}"#,
        " ".repeat(1024 * 1024)
    );
    assert!(
        error_of(&huge).starts_with("the calendar is 1048"),
        "{}",
        error_of(&huge)
    );
}

#[test]
fn local_interval_parsing_is_exact() {
    let i = LocalInterval::parse("00:00-24:00").expect("whole day");
    assert_eq!((i.start_min(), i.end_min(), i.len_min()), (0, 1440, 1440));
    assert_eq!(i.to_string(), "00:00-24:00");
    for bad in [
        "",
        "09:00-12:00 ",
        "09:00 - 12:00",
        "09-12",
        "0900-1200",
        "09:00–12:00",
        "０９:00-12:00",
    ] {
        assert!(LocalInterval::parse(bad).is_err(), "{bad:?}");
    }
}

// ---------------------------------------------------------------------------
// A Chinese holiday week with make-up days (Asia/Shanghai, UTC+8, no DST)

#[test]
fn shanghai_holiday_week_business_time() {
    let cal = shanghai();
    let h = |hours: f64| (hours * HOUR_MS as f64) as i64;
    // Fri 25 Sep 17:00 to Mon 28 Sep 10:00: Friday 17-18, the make-up
    // Sunday's 8 hours, Monday 9-10.
    assert_eq!(cal.business_ms(sh(9, 25, 17, 0), sh(9, 28, 10, 0)), h(10.0));
    // Wed 30 Sep 16:00 to Fri 9 Oct 10:00: 16-18, the holiday week, Thursday
    // 8 October's 8 hours, Friday 9-10.
    assert_eq!(cal.business_ms(sh(9, 30, 16, 0), sh(10, 9, 10, 0)), h(11.0));
    // Fri 9 Oct 17:00 to Mon 12 Oct 09:30: 17-18, the make-up Saturday, not
    // Sunday, Monday 9-9:30.
    assert_eq!(cal.business_ms(sh(10, 9, 17, 0), sh(10, 12, 9, 30)), h(9.5));
    // The lunch break does not count.
    assert_eq!(
        cal.business_ms(sh(9, 28, 11, 30), sh(9, 28, 13, 30)),
        h(1.0)
    );
    // Inside the holiday week: nothing.
    assert_eq!(cal.business_ms(sh(10, 1, 0, 0), sh(10, 8, 0, 0)), 0);
    assert_eq!(
        cal.business_ms(sh(10, 9, 10, 0), sh(9, 30, 16, 0)),
        0,
        "end before start"
    );
}

#[test]
fn shanghai_holiday_week_deadlines() {
    let cal = shanghai();
    let add = |start, hours: i64| {
        cal.add_business_ms(start, hours * HOUR_MS)
            .expect("within 20 years")
    };
    // Wed 30 Sep 17:00 + 8 h: 17-18 (1 h), the holidays, Thu 8 Oct 9-12
    // (3 h) and 13-17 (4 h).
    assert_eq!(add(sh(9, 30, 17, 0), 8), sh(10, 8, 17, 0));
    // 8 hours from Wed 09:00 end at 18:00 that day, not the next morning.
    assert_eq!(add(sh(9, 30, 9, 0), 8), sh(9, 30, 18, 0));
    // From the lunch break: the hour starts at 13:00.
    assert_eq!(add(sh(9, 28, 12, 30), 1), sh(9, 28, 14, 0));
    // From a Saturday: the make-up Sunday.
    assert_eq!(add(sh(9, 26, 10, 0), 1), sh(9, 27, 10, 0));
    // 0 ms is the start itself, even on a holiday.
    assert_eq!(
        cal.add_business_ms(sh(10, 3, 10, 0), 0),
        Ok(sh(10, 3, 10, 0))
    );
    assert_eq!(
        cal.add_business_ms(sh(10, 3, 10, 0), -1),
        Err(BusinessTimeError::Negative { b_ms: -1 })
    );
}

#[test]
fn shanghai_working_days() {
    let cal = shanghai();
    let works: Vec<bool> = [
        (9, 26),
        (9, 27),
        (9, 28),
        (10, 1),
        (10, 7),
        (10, 8),
        (10, 10),
        (10, 11),
    ]
    .iter()
    .map(|&(m, d)| cal.is_working_day(date(2026, m, d)))
    .collect();
    assert_eq!(works, [false, true, true, false, false, true, true, false]);
    assert_eq!(
        cal.next_working_day(date(2026, 9, 30)),
        Ok(date(2026, 10, 8))
    );
    assert_eq!(
        cal.next_working_day(date(2026, 10, 9)),
        Ok(date(2026, 10, 10))
    );
    assert_eq!(
        cal.next_working_day(date(2026, 9, 25)),
        Ok(date(2026, 9, 27))
    );
    // (30 Sep, 10 Oct]: 8, 9 and 10 October.
    assert_eq!(
        cal.business_days_between(date(2026, 9, 30), date(2026, 10, 10)),
        3
    );
    // (25 Sep, 12 Oct]: 27, 28, 29, 30 Sep, 8, 9, 10, 12 Oct.
    assert_eq!(
        cal.business_days_between(date(2026, 9, 25), date(2026, 10, 12)),
        8
    );
    assert_eq!(
        cal.business_days_between(date(2026, 10, 12), date(2026, 9, 25)),
        0
    );
    // The 15th working day after 30 September: 8, 9, 10, 12-16, 19-23,
    // 26, 27 October.
    assert_eq!(
        cal.add_business_days(date(2026, 9, 30), 15),
        Ok(date(2026, 10, 27))
    );
    assert_eq!(
        cal.add_business_days(date(2026, 10, 3), 0),
        Ok(date(2026, 10, 3))
    );
    // The make-up Sunday keeps Monday's two intervals, as instants.
    assert_eq!(
        cal.working_intervals(date(2026, 9, 27)),
        [
            utc(2026, 9, 27, 1, 0)..utc(2026, 9, 27, 4, 0),
            utc(2026, 9, 27, 5, 0)..utc(2026, 9, 27, 10, 0)
        ]
    );
    assert!(cal.working_intervals(date(2026, 10, 1)).is_empty());
    assert_eq!(
        cal.local_date(utc(2026, 9, 30, 16, 0)),
        date(2026, 10, 1),
        "midnight in Shanghai is 16:00 UTC"
    );
    assert_eq!(
        cal.start_of_local_day(date(2026, 10, 1)),
        utc(2026, 9, 30, 16, 0)
    );
}

// ---------------------------------------------------------------------------
// DST in Europe/London: clocks go forward 2026-03-29 01:00 UTC, back
// 2026-10-25 01:00 UTC.

#[test]
fn london_days_last_23_and_25_hours() {
    let around_the_clock = BusinessCalendar::builder("Europe/London")
        .weekdays(&["00:00-24:00"])
        .hours(Weekday::Sat, &["00:00-24:00"])
        .hours(Weekday::Sun, &["00:00-24:00"])
        .build()
        .expect("valid");
    assert_eq!(
        around_the_clock.working_intervals(date(2026, 3, 29)),
        [utc(2026, 3, 29, 0, 0)..utc(2026, 3, 29, 23, 0)]
    );
    assert_eq!(
        around_the_clock.working_intervals(date(2026, 10, 25)),
        [utc(2026, 10, 24, 23, 0)..utc(2026, 10, 26, 0, 0)]
    );
    // Around the clock in any zone, business time is wall time.
    for (a, b) in [
        (utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 0, 0)),
        (utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 12, 0)),
    ] {
        assert_eq!(around_the_clock.business_ms(a, b), 48 * HOUR_MS);
    }
    assert_eq!(
        around_the_clock.start_of_local_day(date(2026, 3, 30)),
        utc(2026, 3, 29, 23, 0)
    );
    assert_eq!(
        around_the_clock.local_date(utc(2026, 3, 29, 23, 30)),
        date(2026, 3, 30)
    );
}

#[test]
fn london_intervals_in_the_gap_and_the_overlap() {
    // Sunday hours that straddle 01:00-02:00 local, the hour that does not
    // exist in March and happens twice in October.
    let cal = BusinessCalendar::builder("Europe/London")
        .weekdays(&["09:00-17:00"])
        .hours(Weekday::Sun, &["00:30-01:30", "01:30-03:00"])
        .build()
        .expect("valid");
    // March: 00:30 GMT to the jump (01:00 UTC), then 01:00 UTC to 03:00 BST
    // (02:00 UTC).
    assert_eq!(
        cal.working_intervals(date(2026, 3, 29)),
        [
            utc(2026, 3, 29, 0, 30)..utc(2026, 3, 29, 1, 0),
            utc(2026, 3, 29, 1, 0)..utc(2026, 3, 29, 2, 0)
        ]
    );
    let day = |d: NaiveDate| {
        cal.business_ms(
            cal.start_of_local_day(d),
            cal.start_of_local_day(d.succ_opt().expect("date")),
        )
    };
    assert_eq!(day(date(2026, 3, 29)), 90 * MINUTE_MS);
    // October: 00:30 BST (23:30 UTC) to the first 01:30 (00:30 UTC), then to
    // 03:00 GMT (03:00 UTC): the repeated hour is worked once, in the second.
    assert_eq!(
        cal.working_intervals(date(2026, 10, 25)),
        [
            utc(2026, 10, 24, 23, 30)..utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 0, 30)..utc(2026, 10, 25, 3, 0)
        ]
    );
    assert_eq!(day(date(2026, 10, 25)), 210 * MINUTE_MS);
    // Weekday hours follow the wall clock across the change: Friday 16:00
    // GMT to Monday 10:00 BST (09:00 UTC) is Friday's hour and Monday's.
    assert_eq!(
        cal.business_ms(utc(2026, 3, 27, 16, 0), utc(2026, 3, 30, 9, 0)),
        2 * HOUR_MS + 90 * MINUTE_MS
    );
    assert_eq!(
        cal.add_business_ms(utc(2026, 3, 27, 16, 0), 120 * MINUTE_MS),
        Ok(utc(2026, 3, 29, 1, 30))
    );
    assert_eq!(
        cal.add_business_ms(utc(2026, 3, 27, 16, 0), 3 * HOUR_MS + 90 * MINUTE_MS),
        Ok(utc(2026, 3, 30, 10, 0))
    );
    // Friday 16:30 BST (15:30 UTC) to Monday 09:30 GMT (09:30 UTC), without
    // the Sunday: half an hour each side.
    let weekdays_only = BusinessCalendar::builder("Europe/London")
        .weekdays(&["09:00-17:00"])
        .build()
        .expect("valid");
    assert_eq!(
        weekdays_only.business_ms(utc(2026, 10, 23, 15, 30), utc(2026, 10, 26, 9, 30)),
        HOUR_MS
    );
    assert_eq!(
        weekdays_only.add_business_ms(utc(2026, 10, 23, 15, 30), HOUR_MS),
        Ok(utc(2026, 10, 26, 9, 30))
    );
}

// ---------------------------------------------------------------------------
// Clocks that jump at midnight: America/Santiago (2026-04-05 back at 03:00
// UTC, 2026-09-06 forward at 04:00 UTC) and America/Havana (2026-03-08
// forward at 05:00 UTC).

#[test]
fn start_of_a_day_whose_midnight_does_not_exist() {
    let santiago = calendar(
        r#"{"time_zone": "America/Santiago", "week": {"sat": ["22:00-24:00"], "sun": ["00:00-24:00"]}}"#,
    );
    // 00:00 on 6 September does not exist; the day starts at 01:00 -03.
    assert_eq!(
        santiago.start_of_local_day(date(2026, 9, 6)),
        utc(2026, 9, 6, 4, 0)
    );
    assert_eq!(
        santiago.start_of_local_day(date(2026, 9, 5)),
        utc(2026, 9, 5, 4, 0)
    );
    assert_eq!(
        santiago.start_of_local_day(date(2026, 9, 7)),
        utc(2026, 9, 7, 3, 0)
    );
    assert_eq!(
        santiago.local_date(utc(2026, 9, 6, 3, 59)),
        date(2026, 9, 5)
    );
    assert_eq!(santiago.local_date(utc(2026, 9, 6, 4, 0)), date(2026, 9, 6));
    // Sunday 6 September lasts 23 hours.
    assert_eq!(
        santiago.working_intervals(date(2026, 9, 6)),
        [utc(2026, 9, 6, 4, 0)..utc(2026, 9, 7, 3, 0)]
    );
    // Saturday 5 September 22:00-24:00 -04: two hours.
    assert_eq!(
        santiago.working_intervals(date(2026, 9, 5)),
        [utc(2026, 9, 6, 2, 0)..utc(2026, 9, 6, 4, 0)]
    );
    // 4 April: 23:00-24:00 happens twice, and 24:00 is after the second, so
    // 22:00-24:00 lasts three hours and the day 25.
    assert_eq!(
        santiago.start_of_local_day(date(2026, 4, 4)),
        utc(2026, 4, 4, 3, 0)
    );
    assert_eq!(
        santiago.start_of_local_day(date(2026, 4, 5)),
        utc(2026, 4, 5, 4, 0)
    );
    assert_eq!(
        santiago.working_intervals(date(2026, 4, 4)),
        [utc(2026, 4, 5, 1, 0)..utc(2026, 4, 5, 4, 0)]
    );
    // Saturday night into Sunday is one stretch: 3 h + 24 h.
    assert_eq!(
        santiago.business_ms(utc(2026, 4, 4, 0, 0), utc(2026, 4, 6, 12, 0)),
        27 * HOUR_MS
    );

    let havana = calendar(r#"{"time_zone": "America/Havana", "week": {"sun": ["00:00-24:00"]}}"#);
    assert_eq!(
        havana.start_of_local_day(date(2026, 3, 7)),
        utc(2026, 3, 7, 5, 0)
    );
    assert_eq!(
        havana.start_of_local_day(date(2026, 3, 8)),
        utc(2026, 3, 8, 5, 0)
    );
    assert_eq!(
        havana.start_of_local_day(date(2026, 3, 9)),
        utc(2026, 3, 9, 4, 0)
    );
    assert_eq!(
        havana.business_ms(utc(2026, 3, 1, 0, 0), utc(2026, 3, 10, 0, 0)),
        24 * HOUR_MS + 23 * HOUR_MS
    );
}

// ---------------------------------------------------------------------------
// Nights, weekends and 24:00

#[test]
fn office_hours_across_nights_and_weekends() {
    let cal = BusinessCalendar::builder("UTC")
        .weekdays(&["09:00-17:00"])
        .build()
        .expect("valid");
    // 2026-03-06 is a Friday.
    assert_eq!(
        cal.business_ms(utc(2026, 3, 6, 16, 0), utc(2026, 3, 9, 10, 0)),
        2 * HOUR_MS
    );
    assert_eq!(
        cal.business_ms(utc(2026, 3, 3, 16, 0), utc(2026, 3, 4, 10, 0)),
        2 * HOUR_MS
    );
    assert_eq!(
        cal.business_ms(utc(2026, 3, 7, 0, 0), utc(2026, 3, 9, 0, 0)),
        0
    );
    // Two full weeks.
    assert_eq!(
        cal.business_ms(utc(2026, 3, 2, 0, 0), utc(2026, 3, 16, 0, 0)),
        80 * HOUR_MS
    );
    assert_eq!(
        cal.add_business_ms(utc(2026, 3, 6, 16, 30), HOUR_MS),
        Ok(utc(2026, 3, 9, 9, 30))
    );
    assert_eq!(
        cal.add_business_ms(utc(2026, 3, 7, 12, 0), 8 * HOUR_MS),
        Ok(utc(2026, 3, 9, 17, 0))
    );
    assert_eq!(
        cal.add_business_ms(utc(2026, 3, 7, 12, 0), 8 * HOUR_MS + 1),
        Ok(utc(2026, 3, 10, 9, 0) + TimeDelta::milliseconds(1))
    );
}

#[test]
fn a_night_shift_runs_through_midnight() {
    // Friday 18:00-24:00 and Saturday 00:00-06:00: one stretch of 12 hours.
    let cal = BusinessCalendar::builder("UTC")
        .hours(Weekday::Fri, &["18:00-24:00"])
        .hours(Weekday::Sat, &["00:00-06:00"])
        .build()
        .expect("valid");
    let fri = |h| utc(2026, 3, 6, h, 0);
    let sat = |h| utc(2026, 3, 7, h, 0);
    assert_eq!(cal.business_ms(fri(23), sat(1)), 2 * HOUR_MS);
    assert_eq!(cal.add_business_ms(fri(18), 6 * HOUR_MS), Ok(sat(0)));
    assert_eq!(
        cal.add_business_ms(fri(18), 6 * HOUR_MS + 1),
        Ok(sat(0) + TimeDelta::milliseconds(1))
    );
    assert_eq!(
        cal.add_business_ms(fri(18), 12 * HOUR_MS),
        Ok(sat(6)),
        "the end of the stretch, not next Friday"
    );
    assert_eq!(
        cal.add_business_ms(fri(18), 12 * HOUR_MS + 1),
        Ok(utc(2026, 3, 13, 18, 0) + TimeDelta::milliseconds(1))
    );
    let mut timeline =
        CalendarTimeline::covering(cal, date(2026, 3, 2), date(2026, 3, 29)).expect("four weeks");
    assert_eq!(
        timeline.interval_count(),
        4,
        "each weekend's two intervals are merged into one"
    );
    // Three whole weekends and the Friday evening before the 28th.
    assert_eq!(
        timeline.business_ms(ms(fri(0)), ms(utc(2026, 3, 28, 0, 0))),
        42 * HOUR_MS
    );
}

#[test]
fn searches_stop_after_20_years() {
    // A calendar that works on Mondays, every one of them a holiday for 22
    // years: no working hour within the 20-year search. (A week without
    // any hours is refused: `a_week_without_working_hours_is_refused`.)
    let mondays = date(2026, 1, 5)
        .iter_weeks()
        .take_while(|d| d.year() < 2048);
    let never = BusinessCalendar::builder("Europe/London")
        .hours(Weekday::Mon, &["09:00-17:00"])
        .holidays(mondays)
        .build()
        .expect("valid: at most 10,000 holidays");
    let start = utc(2026, 1, 1, 0, 0);
    assert_eq!(
        never.add_business_ms(start, 1),
        Err(BusinessTimeError::BeyondSearchLimit {
            start_ms: ms(start),
            b_ms: 1
        })
    );
    assert_eq!(
        never
            .add_business_ms(start, 1)
            .expect_err("never")
            .to_string(),
        "1 ms of business time from 2026-01-01T00:00:00Z do not pass within 7305 days (20 years) or before the year 10000"
    );
    assert_eq!(never.business_ms(start, utc(2036, 1, 1, 0, 0)), 0);
    assert_eq!(
        never.next_working_day(date(2026, 1, 1)),
        Err(BusinessTimeError::NoWorkingDay {
            after: date(2026, 1, 1),
            wanted: 1,
            found: 0
        })
    );
    // One hour a week: 1,000 hours take 19.2 years, 1,100 take 21.1.
    let hour_a_week = BusinessCalendar::builder("UTC")
        .hours(Weekday::Mon, &["09:00-10:00"])
        .build()
        .expect("valid");
    let d = hour_a_week
        .add_business_ms(start, 1000 * HOUR_MS)
        .expect("within 20 years");
    assert_eq!(d, utc(2026, 1, 5, 10, 0) + TimeDelta::weeks(999));
    assert!(matches!(
        hour_a_week.add_business_ms(start, 1100 * HOUR_MS),
        Err(BusinessTimeError::BeyondSearchLimit { .. })
    ));
    let mut timeline = CalendarTimeline::new(hour_a_week);
    assert_eq!(
        timeline.add_business_ms(ms(start), 1000 * HOUR_MS),
        Ok(ms(d))
    );
    assert!(timeline.add_business_ms(ms(start), 1100 * HOUR_MS).is_err());
    assert_eq!(
        timeline.add_business_ms(i64::MIN, 1),
        Err(BusinessTimeError::OutOfRange {
            instant_ms: i64::MIN
        })
    );
}

#[test]
fn the_default_calendar_counts_wall_time() {
    let cal = BusinessCalendar::default();
    let (a, b) = (utc(2026, 3, 29, 0, 30), utc(2026, 10, 25, 1, 30));
    assert_eq!(cal.business_ms(a, b), ms(b) - ms(a));
    assert_eq!(cal.add_business_ms(a, ms(b) - ms(a)), Ok(b));
    // A span longer than a timeline holds at once is answered from a range
    // at each end, one interval each, and the grid pieces between.
    let mut timeline = CalendarTimeline::new(cal);
    let (old, new) = (utc(1850, 6, 1, 0, 0), utc(2150, 6, 1, 0, 0));
    assert!((ms(new) - ms(old)) / 86_400_000 > MAX_TIMELINE_DAYS);
    assert_eq!(timeline.business_ms(ms(old), ms(new)), ms(new) - ms(old));
    assert_eq!(timeline.interval_count(), 2);
    assert_eq!(timeline.business_ms(ms(old), ms(new)), ms(new) - ms(old));
    let (old, new) = (utc(1, 1, 1, 0, 0), utc(9999, 12, 31, 23, 59));
    assert_eq!(timeline.business_ms(ms(old), ms(new)), ms(new) - ms(old));
}

#[test]
fn a_timeline_grows_and_rebuilds_for_questions_outside_it() {
    let cal = shanghai();
    let mut timeline =
        CalendarTimeline::covering(cal.clone(), date(2026, 9, 1), date(2026, 10, 31))
            .expect("two months");
    assert_eq!(
        timeline.covered_days(),
        Some((date(2026, 9, 1), date(2026, 10, 31)))
    );
    assert_eq!(
        timeline.business_ms(ms(sh(9, 30, 16, 0)), ms(sh(10, 9, 10, 0))),
        11 * HOUR_MS
    );
    // Later: grows right by at least a year.
    let later = (ms(utc(2027, 6, 1, 0, 0)), ms(utc(2027, 6, 8, 0, 0)));
    assert_eq!(timeline.business_ms(later.0, later.1), 40 * HOUR_MS);
    let (first, last) = timeline.covered_days().expect("built");
    assert_eq!(first, date(2026, 9, 1));
    assert!(last >= date(2027, 6, 8));
    // Earlier: grows left, keeping its right end.
    let before = (ms(utc(2025, 2, 3, 0, 0)), ms(utc(2025, 2, 10, 0, 0)));
    assert_eq!(timeline.business_ms(before.0, before.1), 40 * HOUR_MS);
    let (first, grown_last) = timeline.covered_days().expect("built");
    assert_eq!(grown_last, last, "growing left keeps the right end");
    assert!(
        first <= date(2024, 2, 3),
        "grew by at least a year past the question: {first}"
    );
    // Far earlier than 100 years before: rebuilt around the question.
    let early = (ms(utc(1901, 6, 3, 0, 0)), ms(utc(1901, 6, 10, 0, 0)));
    assert_eq!(
        timeline.business_ms(early.0, early.1),
        cal.business_ms(utc(1901, 6, 3, 0, 0), utc(1901, 6, 10, 0, 0))
    );
    let (first, last) = timeline.covered_days().expect("built");
    assert!(
        first <= date(1901, 6, 3)
            && last >= date(1901, 6, 10)
            && (last - first).num_days() < MAX_TIMELINE_DAYS
    );
    // And back again.
    assert_eq!(timeline.business_ms(later.0, later.1), 40 * HOUR_MS);
    assert_eq!(
        CalendarTimeline::covering(cal.clone(), date(2026, 1, 2), date(2026, 1, 1)).map(|_| ()),
        Err(BusinessTimeError::TimelineRange {
            first: date(2026, 1, 2),
            last: date(2026, 1, 1)
        })
    );
    let first = date(1900, 1, 1);
    let last_allowed = first + TimeDelta::days(MAX_TIMELINE_DAYS - 1);
    let big = CalendarTimeline::covering(cal.clone(), first, last_allowed).expect("36,525 days");
    assert_eq!(big.covered_days(), Some((first, last_allowed)));
    assert!(
        CalendarTimeline::covering(cal, first, last_allowed + TimeDelta::days(1)).is_err(),
        "more than 36,525 days"
    );
}

// ---------------------------------------------------------------------------
// The reference: deliberately simple, day by day and interval by interval,
// from the raw description of a calendar, sharing no code with the crate's
// compiled form.

#[derive(Debug, Clone)]
struct Spec {
    zone: Tz,
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<NaiveDate>,
    working_days: BTreeSet<NaiveDate>,
}

impl Spec {
    fn calendar(&self) -> BusinessCalendar {
        let texts: Vec<Vec<String>> = self
            .week
            .iter()
            .map(|day| {
                day.iter()
                    .map(|&(s, e)| {
                        format!("{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
                    })
                    .collect()
            })
            .collect();
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let mut b = BusinessCalendar::builder(self.zone.name());
        for (day, t) in days.iter().zip(&texts) {
            let t: Vec<&str> = t.iter().map(String::as_str).collect();
            b = b.hours(*day, &t);
        }
        b.holidays(self.holidays.iter().copied())
            .working_days(self.working_days.iter().copied())
            .build()
            .expect("generated calendars are valid")
    }

    fn hours(&self, d: NaiveDate) -> &[(u16, u16)] {
        if self.holidays.contains(&d) {
            &[]
        } else if self.working_days.contains(&d) {
            &self.week[0]
        } else {
            &self.week[d.weekday().num_days_from_monday() as usize]
        }
    }

    /// The first local second at or after `minute` of day `d` that exists,
    /// as its earliest instant.
    fn instant(&self, d: NaiveDate, minute: u16) -> i64 {
        let local = d.and_hms_opt(0, 0, 0).expect("midnight") + TimeDelta::minutes(minute.into());
        for s in 0..(2 * 86_400) {
            match self
                .zone
                .from_local_datetime(&(local + TimeDelta::seconds(s)))
            {
                LocalResult::Single(t) => return t.timestamp_millis(),
                LocalResult::Ambiguous(a, b) => {
                    return a.timestamp_millis().min(b.timestamp_millis());
                }
                LocalResult::None => {}
            }
        }
        panic!("no local time exists within two days after {local}");
    }

    fn local_date(&self, t_ms: i64) -> NaiveDate {
        self.zone
            .timestamp_millis_opt(t_ms)
            .single()
            .expect("in range")
            .date_naive()
    }

    fn intervals(&self, d: NaiveDate) -> Vec<(i64, i64)> {
        self.hours(d)
            .iter()
            .map(|&(s, e)| (self.instant(d, s), self.instant(d, e)))
            .collect()
    }

    fn business_ms(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            return 0;
        }
        let mut total = 0;
        let mut d = self.local_date(a).pred_opt().expect("date");
        let last = self.local_date(b).succ_opt().expect("date");
        while d <= last {
            for (s, e) in self.intervals(d) {
                total += (e.min(b) - s.max(a)).max(0);
            }
            d = d.succ_opt().expect("date");
        }
        total
    }

    fn add_business_ms(&self, start: i64, b_ms: i64) -> Option<i64> {
        if b_ms == 0 {
            return Some(start);
        }
        let mut left = b_ms;
        let mut d = self.local_date(start).pred_opt().expect("date");
        let last = self
            .local_date(start + MAX_SEARCH_MS)
            .succ_opt()
            .expect("date");
        while d <= last {
            for (s, e) in self.intervals(d) {
                let s = s.max(start);
                if e <= s {
                    continue;
                }
                if left <= e - s {
                    let found = s + left;
                    return (found - start <= MAX_SEARCH_MS).then_some(found);
                }
                left -= e - s;
            }
            d = d.succ_opt().expect("date");
        }
        None
    }

    fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| !self.hours(*d).is_empty())
            .count() as i64
    }
}

/// Zones with and without DST, with DST at midnight (Santiago, Havana), of
/// 30 minutes (Lord Howe), at quarter hours (Kathmandu, Chatham), south and
/// north.
const ZONES: [&str; 10] = [
    "UTC",
    "Europe/London",
    "Asia/Shanghai",
    "America/Santiago",
    "America/Havana",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Europe/Berlin",
];

/// The window the random instants and dates fall in: 2025 to 2027.
const WINDOW_START_MS: i64 = 1_735_689_600_000;
const WINDOW_DAYS: i64 = 3 * 365;
const WINDOW_END_MS: i64 = WINDOW_START_MS + WINDOW_DAYS * 86_400_000;

fn window_date(offset: i64) -> NaiveDate {
    date(2025, 1, 1) + TimeDelta::days(offset)
}

/// A day's hours: up to three intervals from distinct half-hour marks, or
/// the whole day.
fn day_strategy() -> impl Strategy<Value = Vec<(u16, u16)>> {
    prop_oneof![
        1 => Just(vec![(0, 1440)]),
        1 => Just(vec![]),
        4 => (0usize..=3).prop_flat_map(|n| proptest::sample::subsequence((0..=48u16).map(|h| h * 30).collect::<Vec<_>>(), 2 * n))
            .prop_map(|marks| marks.chunks(2).map(|p| (p[0], p[1])).collect()),
    ]
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (
        proptest::sample::select(ZONES.to_vec()),
        proptest::array::uniform7(day_strategy()),
        proptest::collection::btree_set(0..WINDOW_DAYS, 0..30),
        proptest::collection::btree_set(0..WINDOW_DAYS, 0..15),
    )
        // A week without hours is refused (CalendarError::NoWorkingHours).
        .prop_filter("a calendar works some time each week", |(_, week, _, _)| {
            week.iter().any(|day| !day.is_empty())
        })
        .prop_map(|(zone, week, holidays, working)| {
            let holidays: BTreeSet<NaiveDate> = holidays.into_iter().map(window_date).collect();
            let working_days = working
                .into_iter()
                .map(window_date)
                .filter(|d| !holidays.contains(d))
                .collect();
            Spec {
                zone: zone.parse().expect("known zone"),
                week,
                holidays,
                working_days,
            }
        })
}

/// An instant in the window: anywhere, or on a half-hour mark (where
/// intervals begin and end).
fn instant_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        WINDOW_START_MS..WINDOW_END_MS,
        (0..WINDOW_DAYS * 48).prop_map(|k| WINDOW_START_MS + k * 30 * MINUTE_MS),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_timeline_equals_the_reference(spec in spec_strategy(), spans in proptest::collection::vec((instant_strategy(), instant_strategy()), 1..8)) {
        let cal = spec.calendar();
        // One timeline for every question, asked in random order, so that it
        // grows both ways.
        let mut timeline = CalendarTimeline::new(cal.clone());
        for (a, b) in spans {
            let expected = spec.business_ms(a, b);
            prop_assert_eq!(timeline.business_ms(a, b), expected, "timeline, {} to {}", a, b);
            let (ta, tb) = (DateTime::from_timestamp_millis(a).expect("in range"), DateTime::from_timestamp_millis(b).expect("in range"));
            prop_assert_eq!(cal.business_ms(ta, tb), expected, "one-off, {} to {}", a, b);
        }
    }

    #[test]
    fn long_spans_equal_the_reference(spec in spec_strategy(), start in instant_strategy(), year in 1i64..9_880, days in MAX_TIMELINE_DAYS..MAX_TIMELINE_DAYS + 400, after in 0..2 * HOUR_MS) {
        // Spans just over the longest range, so that they are counted from
        // the grid, anywhere in the years 0001 to 9999: from the window's
        // year (holidays and make-up days), or from a year far off, to a
        // random time of day.
        let cal = spec.calendar();
        let shift_ms = (year - 2025) * 365 * 86_400_000;
        let a = if year % 2 == 0 { start } else { start + shift_ms };
        let b = a + days * 86_400_000 + after;
        let expected = spec.business_ms(a, b);
        let mut timeline = CalendarTimeline::new(cal.clone());
        prop_assert_eq!(timeline.business_ms(a, b), expected, "timeline, {} to {}", a, b);
        let (ta, tb) = (DateTime::from_timestamp_millis(a).expect("in range"), DateTime::from_timestamp_millis(b).expect("in range"));
        prop_assert_eq!(cal.business_ms(ta, tb), expected, "one-off, {} to {}", a, b);
        // A deadline from the span's start on the same timeline.
        prop_assert_eq!(timeline.add_business_ms(a, 40 * HOUR_MS).ok(), spec.add_business_ms(a, 40 * HOUR_MS));
    }

    #[test]
    fn deadlines_equal_the_reference_and_are_the_earliest(spec in spec_strategy(), start in instant_strategy(), b_ms in prop_oneof![0..HOUR_MS, 0..60 * 24 * HOUR_MS]) {
        let cal = spec.calendar();
        let mut timeline = CalendarTimeline::new(cal.clone());
        let found = timeline.add_business_ms(start, b_ms);
        prop_assert_eq!(found.clone().ok(), spec.add_business_ms(start, b_ms));
        let one_off = cal.add_business_ms(DateTime::from_timestamp_millis(start).expect("in range"), b_ms);
        prop_assert_eq!(one_off.map(|t| t.timestamp_millis()), found.clone());
        if let Ok(d) = found {
            prop_assert_eq!(timeline.business_ms(start, d), b_ms);
            if b_ms > 0 {
                prop_assert!(timeline.business_ms(start, d - 1) < b_ms, "an earlier instant would do");
            }
        } else {
            let beyond = matches!(found, Err(BusinessTimeError::BeyondSearchLimit { .. }));
            prop_assert!(beyond, "only the 20-year limit stops a search: {:?}", found);
        }
    }

    #[test]
    fn business_time_is_additive(spec in spec_strategy(), mut points in proptest::collection::vec(instant_strategy(), 3)) {
        points.sort_unstable();
        let (a, b, c) = (points[0], points[1], points[2]);
        let mut timeline = CalendarTimeline::new(spec.calendar());
        let whole = timeline.business_ms(a, c);
        prop_assert_eq!(timeline.business_ms(a, b) + timeline.business_ms(b, c), whole);
        prop_assert!(whole <= c - a);
    }

    #[test]
    fn the_default_calendar_counts_wall_time_everywhere(a in -2_000_000_000_000i64..4_000_000_000_000, len in 0i64..400 * 86_400_000) {
        let mut timeline = CalendarTimeline::new(BusinessCalendar::default());
        prop_assert_eq!(timeline.business_ms(a, a + len), len);
        prop_assert_eq!(timeline.add_business_ms(a, len), Ok(a + len));
    }

    #[test]
    fn business_days_equal_the_reference(spec in spec_strategy(), from in 0..WINDOW_DAYS, to in 0..WINDOW_DAYS, n in 0u32..40) {
        let cal = spec.calendar();
        let (from, to) = (window_date(from), window_date(to));
        prop_assert_eq!(cal.business_days_between(from, to), spec.working_days_between(from, to));
        if let Ok(d) = cal.add_business_days(from, n) {
            prop_assert_eq!(spec.working_days_between(from, d), i64::from(n));
            prop_assert!(n == 0 || !spec.hours(d).is_empty(), "the nth working day is a working day");
        } else {
            prop_assert!(false, "a calendar with weekly hours and at most 30 holidays never runs out of working days");
        }
    }

    #[test]
    fn local_days_start_in_order(zone in proptest::sample::select(ZONES.to_vec()), day in 0..WINDOW_DAYS) {
        let cal = BusinessCalendar::builder(zone).weekdays(&["09:00-17:00"]).build().expect("valid");
        let d = window_date(day);
        let (start, next) = (cal.start_of_local_day(d), cal.start_of_local_day(d.succ_opt().expect("date")));
        prop_assert!(start < next);
        prop_assert_eq!(cal.local_date(start), d);
        prop_assert_eq!(cal.local_date(next - TimeDelta::milliseconds(1)), d);
    }

    #[test]
    fn the_json_form_reads_back(spec in spec_strategy()) {
        let cal = spec.calendar();
        prop_assert_eq!(BusinessCalendar::from_json(&cal.to_json()).expect("valid"), cal);
    }
}

proptest! {
    // Few cases: each walks up to 9,000 years day by day, for the pieces.
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn spans_of_millennia_equal_their_pieces(spec in spec_strategy(), ends in proptest::collection::vec((0i64..10_000, 0i64..3_000), 1..4)) {
        // Spans of up to 30 centuries, anywhere in the years 0000 to 9999,
        // asked of one timeline in turn (so that its ranges and grid totals
        // serve several spans), equal the sums of their pieces of fewer
        // than MAX_TIMELINE_DAYS days, each asked of a calendar alone.
        let cal = spec.calendar();
        let mut timeline = CalendarTimeline::new(cal.clone());
        for (start_year, len_years) in ends {
            let a = MIN_INSTANT_MS + start_year * 365 * 86_400_000 + start_year * 7_919_000;
            let b = (a + len_years * 365 * 86_400_000 + len_years * 104_729).min(MAX_INSTANT_MS);
            let mut pieces = 0;
            let mut t = a;
            while t < b {
                let next = (t + (MAX_TIMELINE_DAYS - 2) * 86_400_000).min(b);
                pieces += cal.business_ms(DateTime::from_timestamp_millis(t).expect("in range"), DateTime::from_timestamp_millis(next).expect("in range"));
                t = next;
            }
            prop_assert_eq!(timeline.business_ms(a, b), pieces, "{} to {}", a, b);
        }
    }
}

// ---------------------------------------------------------------------------
// Measurement, not a test: run with
// cargo test --release -p caseledger --test calendar -- --ignored --nocapture

/// splitmix64: a deterministic source of random numbers for the measurement.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n.unsigned_abs()) as i64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "measurement; prints figures"]
fn measure_timeline() {
    use std::hint::black_box;
    use std::time::Instant;
    // Ten years of a London desk (DST) with a lunch break and ten holidays
    // and two make-up days a year.
    let first = date(2026, 1, 1);
    let last = date(2035, 12, 31);
    let years: Vec<i32> = (2026..=2035).collect();
    let holidays = years
        .iter()
        .flat_map(|&y| (1..=10).map(move |d| date(y, 5, d)));
    let make_ups = years
        .iter()
        .flat_map(|&y| [date(y, 4, 25), date(y, 4, 26)])
        .filter(|d| d.weekday().num_days_from_monday() >= 5);
    let cal = BusinessCalendar::builder("Europe/London")
        .weekdays(&["09:00-12:00", "13:00-18:00"])
        .holidays(holidays)
        .working_days(make_ups)
        .build()
        .expect("valid");
    let builds: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            black_box(CalendarTimeline::covering(cal.clone(), first, last).expect("ten years"));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let mut timeline = CalendarTimeline::covering(cal.clone(), first, last).expect("ten years");
    let days = (last - first).num_days() + 1;
    println!(
        "build 10 years ({days} days, {} intervals): median {:.3} ms; {} bytes ({:.1} bytes/day)",
        timeline.interval_count(),
        median(builds),
        timeline.memory_bytes(),
        timeline.memory_bytes() as f64 / days as f64
    );
    const QUERIES: usize = 1_000_000;
    const YEAR_MS: i64 = 365 * 86_400_000;
    let lo = ms(utc(2026, 1, 1, 0, 0));
    let span_years = 9 * YEAR_MS;
    let mut rng = Random(17);
    let spans: Vec<(i64, i64)> = (0..QUERIES)
        .map(|_| {
            let a = lo + rng.below(span_years);
            (a, a + rng.below(YEAR_MS))
        })
        .collect();
    let budgets: Vec<(i64, i64)> = (0..QUERIES)
        .map(|_| (lo + rng.below(span_years), rng.below(2_000 * HOUR_MS)))
        .collect();
    let mut business_qps = Vec::new();
    let mut add_qps = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let mut sum = 0i64;
        for &(a, b) in &spans {
            sum = sum.wrapping_add(timeline.business_ms(a, b));
        }
        black_box(sum);
        business_qps.push(QUERIES as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut sum = 0i64;
        for &(s, b) in &budgets {
            sum = sum.wrapping_add(timeline.add_business_ms(s, b).unwrap_or(0));
        }
        black_box(sum);
        add_qps.push(QUERIES as f64 / t.elapsed().as_secs_f64());
    }
    println!(
        "business_ms on the timeline: median {:.2} M queries/s",
        median(business_qps) / 1e6
    );
    println!(
        "add_business_ms on the timeline: median {:.2} M queries/s",
        median(add_qps) / 1e6
    );
    let one_off: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut sum = 0i64;
            for &(a, b) in spans.iter().take(2_000) {
                let (a, b) = (
                    DateTime::from_timestamp_millis(a).expect("in range"),
                    DateTime::from_timestamp_millis(b).expect("in range"),
                );
                sum = sum.wrapping_add(cal.business_ms(a, b));
            }
            black_box(sum);
            2_000.0 / t.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "business_ms one-off (BusinessCalendar, day walk): median {:.0} queries/s",
        median(one_off)
    );
    let one_off_add: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut sum = 0i64;
            for &(s, b) in budgets.iter().take(2_000) {
                let s = DateTime::from_timestamp_millis(s).expect("in range");
                sum = sum.wrapping_add(
                    cal.add_business_ms(s, b)
                        .map_or(0, |d| d.timestamp_millis()),
                );
            }
            black_box(sum);
            2_000.0 / t.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "add_business_ms one-off (BusinessCalendar, day walk): median {:.0} queries/s",
        median(one_off_add)
    );
}

#[test]
fn a_key_given_twice_is_refused_by_its_path() {
    let refused = |json: &str| match BusinessCalendar::from_json(json) {
        Err(CalendarError::DuplicateKey { key }) => key,
        other => panic!("{json}: expected a duplicate key, got {other:?}"),
    };
    assert_eq!(
        refused(r#"{"time_zone": "UTC", "week": {}, "time_zone": "Asia/Shanghai"}"#),
        "time_zone"
    );
    assert_eq!(
        refused(r#"{"time_zone": "UTC", "week": {"mon": ["09:00-18:00"], "mon": []}}"#),
        "week.mon"
    );
    assert_eq!(
        refused(
            r#"{"time_zone": "UTC", "week": {"mon": ["09:00-17:00"]}, "holidays": [], "holidays": ["2026-10-01"]}"#
        ),
        "holidays"
    );
    let err = BusinessCalendar::from_json(
        r#"{"time_zone": "UTC", "week": {"mon": ["09:00-18:00"], "mon": []}}"#,
    )
    .expect_err("twice");
    assert_eq!(
        err.to_string(),
        "`week.mon` is given twice; each key may appear once"
    );
}
