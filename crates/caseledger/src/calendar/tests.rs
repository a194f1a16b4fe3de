//! Unit tests of the private parts: the gap search and the zone hint.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::local;
use super::spec::BusinessCalendar;

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
