//! Unit tests of the private parts: the gap search and the zone hint.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::local;
use super::spec::BusinessCalendar;
use super::timeline::CalendarTimeline;

fn local_time(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("test literal")
}

#[test]
fn a_time_in_a_gap_moves_to_the_instant_the_clocks_jumped() {
    let london: Tz = "Europe/London".parse().expect("known zone");
    for t in [
        "2026-03-29 01:00:00",
        "2026-03-29 01:00:01",
        "2026-03-29 01:59:59",
    ] {
        assert_eq!(
            local::to_instant(london, local_time(t)),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap(),
            "{t}"
        );
    }
    // Samoa skipped 2011-12-30 whole: its clocks went from 23:59:59 on the
    // 29th (-10:00) to 00:00 on the 31st (+14:00), at 10:00 UTC on the 30th.
    let apia: Tz = "Pacific/Apia".parse().expect("known zone");
    assert_eq!(
        local::to_instant(apia, local_time("2011-12-30 12:00:00")),
        Utc.with_ymd_and_hms(2011, 12, 30, 10, 0, 0).unwrap()
    );
}

#[test]
fn an_ambiguous_time_takes_the_earlier_instant() {
    let london: Tz = "Europe/London".parse().expect("known zone");
    assert_eq!(
        local::to_instant(london, local_time("2026-10-25 01:30:00")),
        Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap()
    );
}

#[test]
fn conversions_at_the_ends_of_the_range_do_not_panic() {
    let cal = BusinessCalendar::default();
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Manila"] {
        let cal = BusinessCalendar::from_json(&format!(
            r#"{{"time_zone": "{zone}", "week": {{"mon": ["00:00-24:00"]}}}}"#
        ))
        .expect("valid calendar");
        for date in [
            NaiveDate::MIN,
            NaiveDate::MAX,
            local::FIRST_DAY,
            local::LAST_DAY,
        ] {
            let _ = cal.start_of_local_day(date);
            let _ = cal.working_intervals(date);
        }
        let _ = cal.local_date(chrono::DateTime::<Utc>::MAX_UTC);
        let _ = cal.local_date(chrono::DateTime::<Utc>::MIN_UTC);
    }
    let far = chrono::DateTime::<Utc>::MAX_UTC;
    assert_eq!(
        cal.business_ms(far - chrono::TimeDelta::days(1), far),
        0,
        "nothing is counted after the year 9999"
    );
}

#[test]
fn the_zone_hint_finds_near_names() {
    let hint = |name: &str| match BusinessCalendar::from_json(&format!(
        r#"{{"time_zone": "{name}", "week": {{}}}}"#
    )) {
        Err(super::CalendarError::UnknownZone { hint, .. }) => hint,
        other => panic!("{name}: expected an unknown zone, got {other:?}"),
    };
    assert_eq!(hint("asia/shanghai"), Some("Asia/Shanghai"));
    assert_eq!(hint("Shanghai"), Some("Asia/Shanghai"));
    assert_eq!(hint("Asia/Shangai"), Some("Asia/Shanghai"));
    assert_eq!(hint("New York"), Some("America/New_York"));
    assert_eq!(hint("Mars/Olympus_Mons"), None);
}

/// The report's Shanghai desk of the attack: a store of 2026 cases and one
/// opened in the year 9026 by a typo, so that T is in 9026.
fn shanghai_desk() -> BusinessCalendar {
    BusinessCalendar::from_json(
        r#"{"time_zone":"Asia/Shanghai","week":{"mon":["09:00-12:00","13:00-18:00"],"tue":["09:00-12:00","13:00-18:00"],"wed":["09:00-12:00","13:00-18:00"],"thu":["09:00-12:00","13:00-18:00"],"fri":["09:00-12:00","13:00-18:00"]},"holidays":["2026-10-01","2026-10-02"],"working_days":["2026-09-27"]}"#,
    )
    .expect("valid calendar")
}

fn utc_ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("test instant")
        .timestamp_millis()
}

#[test]
fn many_questions_over_one_long_span_build_a_bounded_number_of_times() {
    let mut timeline = CalendarTimeline::new(shanghai_desk());
    let t = utc_ms(9026, 3, 2, 1, 15);
    let opened = utc_ms(2026, 3, 2, 1, 15);
    let whole = timeline.business_ms(opened, t);
    let after_first = timeline.work();
    assert!(
        after_first.builds <= 2,
        "{after_first:?} for the first question"
    );
    assert!(
        after_first.days <= 7_000 * 366 + 8 * 366,
        "the first question walks its 7,000 years once: {after_first:?}"
    );
    // Every open case asks for the business time from its opening (a few
    // minutes apart, all in 2026) to T, twice (response and resolution),
    // and short questions in 2026 in between.
    for case in 0..50 {
        let opened_i = opened + case * 60_000;
        let b = timeline.business_ms(opened_i, t);
        assert_eq!(b, whole - case * 60_000, "case {case}");
        assert_eq!(timeline.business_ms(opened_i, t), b);
        assert_eq!(
            timeline.business_ms(opened_i, opened_i + 3_600_000),
            3_600_000
        );
    }
    assert_eq!(
        timeline.work(),
        after_first,
        "the later questions build and walk nothing"
    );
}

#[test]
fn questions_ping_ponging_between_eras_build_a_bounded_number_of_times() {
    let mut timeline = CalendarTimeline::new(shanghai_desk());
    // Three eras (1900, 5000, 9000), asked in turn: short spans in each,
    // spans across them, and a year in one.
    let questions = [
        (utc_ms(1900, 6, 1, 0, 0), utc_ms(1900, 6, 8, 0, 0)),
        (utc_ms(9000, 6, 1, 0, 0), utc_ms(9000, 6, 8, 0, 0)),
        (utc_ms(1900, 3, 1, 0, 0), utc_ms(9000, 6, 1, 0, 0)),
        (utc_ms(5000, 6, 1, 0, 0), utc_ms(5001, 6, 8, 0, 0)),
        (utc_ms(1901, 3, 2, 1, 15), utc_ms(9026, 3, 2, 1, 15)),
        (utc_ms(5000, 3, 2, 1, 15), utc_ms(9026, 3, 2, 1, 15)),
    ];
    let answers: Vec<i64> = questions
        .iter()
        .map(|&(a, b)| timeline.business_ms(a, b))
        .collect();
    // Deadlines from the same eras.
    let deadlines: Vec<_> = questions
        .iter()
        .map(|&(a, _)| timeline.add_business_ms(a, 40 * 3_600_000))
        .collect();
    for _ in 0..3 {
        for (&(a, b), &answer) in questions.iter().zip(&answers) {
            assert_eq!(timeline.business_ms(a, b), answer);
        }
        for (&(a, _), deadline) in questions.iter().zip(&deadlines) {
            assert_eq!(&timeline.add_business_ms(a, 40 * 3_600_000), deadline);
        }
    }
    let settled = timeline.work();
    for _ in 0..30 {
        for (&(a, b), &answer) in questions.iter().zip(&answers) {
            assert_eq!(timeline.business_ms(a, b), answer);
        }
    }
    assert_eq!(timeline.work(), settled, "no building once settled");
    // The same answers as fresh timelines and one-off questions give.
    for (&(a, b), &answer) in questions.iter().zip(&answers) {
        assert_eq!(
            CalendarTimeline::new(shanghai_desk()).business_ms(a, b),
            answer
        );
    }
    // Alternating deadlines in two eras, with a long question between,
    // keep both eras built.
    let before = timeline.work();
    for round in 0..30 {
        for &(a, _) in &questions[..2] {
            let _ = timeline.add_business_ms(a + round * 60_000, 3_600_000);
        }
        let _ = timeline.business_ms(questions[4].0, questions[4].1);
    }
    assert_eq!(timeline.work(), before);
}
