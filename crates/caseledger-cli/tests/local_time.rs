//! `report --calendar` and `--time-zone` (issue 17; docs/cli.md, "Local
//! time"): the one rule for the report's zone, local months and date-only
//! times, a second-form SLA policy counting on a calendar, and the errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;

/// The Shanghai desk of the issue, working Monday to Friday with a lunch
/// hour, over the store's months (January to May 2026), with a holiday and
/// a make-up Saturday.
const SHANGHAI: &str = r#"{"time_zone": "Asia/Shanghai",
  "week": {"mon": ["09:00-12:00", "13:00-18:00"], "tue": ["09:00-12:00", "13:00-18:00"],
           "wed": ["09:00-12:00", "13:00-18:00"], "thu": ["09:00-12:00", "13:00-18:00"],
           "fri": ["09:00-12:00", "13:00-18:00"]},
  "holidays": ["2026-02-17", "2026-02-18"], "working_days": ["2026-02-28"]}"#;

/// A second-form policy with the default policy's targets, in business
/// seconds of the calendar it names (if any).
fn policy(calendar: Option<&str>) -> String {
    let calendar = calendar.map_or(String::new(), |c| format!(r#""calendar": "{c}", "#));
    format!(
        r#"{{{calendar}"warn_at": 0.8, "priorities": {{
            "urgent": {{"response_s": 3600, "resolution_s": 86400}},
            "high": {{"response_s": 14400, "resolution_s": 259200}},
            "normal": {{"response_s": 86400, "resolution_s": 604800}},
            "low": {{"response_s": 259200, "resolution_s": 1209600}}}},
          "categories": {{"complaint": {{"urgent": {{"response_s": 1800, "resolution_s": 28800}}}}}}}}"#
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: std::path::PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fixed_store(dir.path());
        let store = dir.path().to_owned();
        std::fs::write(store.join("shanghai.json"), SHANGHAI).unwrap();
        std::fs::write(store.join("named.json"), policy(Some("shanghai.json"))).unwrap();
        std::fs::write(store.join("unnamed.json"), policy(None)).unwrap();
        Fixture { _dir: dir, store }
    }

    fn path(&self, name: &str) -> String {
        self.store.join(name).to_str().unwrap().to_owned()
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = run(&self.store, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["report", "--format", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
}

fn keys_and_counts(v: &serde_json::Value) -> Vec<(String, u64)> {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["cases_opened"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn report_with_a_calendar_and_a_business_hours_policy() {
    let f = Fixture::new();
    insta::assert_snapshot!(f.ok(&[
        "report",
        "--group-by",
        "month",
        "--wide",
        "--calendar",
        &f.path("shanghai.json"),
        "--sla-policy",
        &f.path("named.json"),
    ]));
}

#[test]
fn the_zone_is_the_flag_s_else_the_calendar_s_else_utc() {
    let f = Fixture::new();
    let cal = f.path("shanghai.json");
    let by_month = ["--group-by", "month"];
    let utc = f.json(&by_month);
    assert_eq!(utc["time_zone"], "UTC");
    let with_calendar = f.json(&[&by_month[..], &["--calendar", &cal]].concat());
    assert_eq!(with_calendar["time_zone"], "Asia/Shanghai");
    let with_zone = f.json(&[&by_month[..], &["--time-zone", "Asia/Shanghai"]].concat());
    // The default policy counts calendar hours: the calendar changes only
    // the zone, so both reports are the same.
    assert_eq!(with_calendar, with_zone);
    // --time-zone wins over the calendar's zone.
    let both = f.json(&[&by_month[..], &["--calendar", &cal, "--time-zone", "UTC"]].concat());
    assert_eq!(both, utc);
    // Shanghai's months move the cases opened after 16:00 UTC on a month's
    // last day into the next month: the same cases, regrouped.
    let total = |v: &serde_json::Value| keys_and_counts(v).iter().map(|(_, n)| n).sum::<u64>();
    assert_eq!(total(&utc), total(&with_zone));
    assert_ne!(keys_and_counts(&utc), keys_and_counts(&with_zone));
    // A zone 14 hours ahead moves even more; quarters regroup the same way.
    let kiritimati = f.json(&["--group-by", "quarter", "--time-zone", "Pacific/Kiritimati"]);
    assert_eq!(kiritimati["time_zone"], "Pacific/Kiritimati");
    assert_eq!(total(&kiritimati), total(&utc));
}

#[test]
fn a_date_alone_is_local_midnight_in_the_report_s_zone() {
    let f = Fixture::new();
    let local = f.json(&[
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-01",
        "--as-of",
        "2026-03-15",
        "--time-zone",
        "Asia/Shanghai",
    ]);
    let instants = f.json(&[
        "--from",
        "2026-01-31T16:00:00Z",
        "--to",
        "2026-02-28T16:00:00Z",
        "--as-of",
        "2026-03-14T16:00:00Z",
        "--time-zone",
        "Asia/Shanghai",
    ]);
    assert_eq!(local, instants);
    assert_eq!(local["from"], "2026-01-31T16:00:00Z");
    assert_eq!(local["as_of"], "2026-03-14T16:00:00Z");
    // In UTC the same dates are other instants and another cohort.
    let utc = f.json(&[
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-01",
        "--as-of",
        "2026-03-15",
    ]);
    assert_eq!(utc["from"], "2026-02-01T00:00:00Z");
    assert_ne!(utc["overall"], local["overall"]);
    // A time with an offset is that instant in any zone.
    let offset = |zone: &str| {
        f.json(&["--from", "2026-02-01T00:00:00+08:00", "--time-zone", zone])["from"].clone()
    };
    assert_eq!(offset("UTC"), offset("Europe/London"));
}

/// A date whose local midnight is not a storable instant (0001-01-01 in a
/// zone east of UTC begins in the year 0) is a usage error naming the
/// flag, in `report` and `cases` alike: never a year-0 time printed, nor a
/// T silently dropped.
#[test]
fn a_date_that_begins_before_the_year_1_in_the_zone_is_refused() {
    let f = Fixture::new();
    for (command, flag) in [
        ("report", "--as-of"),
        ("report", "--from"),
        ("report", "--to"),
        ("cases", "--as-of"),
    ] {
        let args = [command, flag, "0001-01-01", "--time-zone", "Asia/Tokyo"];
        let (code, out, err) = run(&f.store, &args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(
            err.contains(&format!(
                "{flag} 0001-01-01 begins in Asia/Tokyo outside the times a store holds"
            )),
            "{args:?}: {err}"
        );
    }
    // In UTC the same date begins at the first storable instant.
    f.ok(&["report", "--as-of", "0001-01-01"]);
}

#[test]
fn a_business_hours_policy_counts_on_its_calendar() {
    let f = Fixture::new();
    let sla = |args: &[&str]| f.json(args)["overall"]["sla"].clone();
    let cal = f.path("shanghai.json");
    let flat = sla(&[]);
    // The policy names the calendar; or --calendar gives it to a policy
    // that names none: the same figures.
    let named = sla(&["--sla-policy", &f.path("named.json")]);
    let given = sla(&["--sla-policy", &f.path("unnamed.json"), "--calendar", &cal]);
    assert_eq!(named, given);
    assert_ne!(named, flat);
    // Without a calendar, the second form with the default targets counts
    // on the default calendar: the default policy's figures, but for the
    // complaint override.
    let no_calendar = sla(&["--sla-policy", &f.path("unnamed.json")]);
    let total = |v: &serde_json::Value| {
        v["met"].as_u64().unwrap()
            + v["breached"].as_u64().unwrap()
            + v["pending"].as_u64().unwrap()
    };
    assert_eq!(total(&no_calendar), total(&flat));
    assert!(no_calendar["met"].as_u64() <= flat["met"].as_u64());
    // at_risk is counted among pending.
    assert!(named["at_risk"].as_u64() <= named["pending"].as_u64());
}

fn refused(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, _, err) = run(dir, args);
    (code, err)
}

#[test]
fn bad_zones_calendars_and_policies_are_refused_naming_what_is_wrong() {
    let f = Fixture::new();
    let (code, err) = refused(&f.store, &["report", "--time-zone", "Mars/Olympus"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`Mars/Olympus` is not an IANA time zone name"),
        "{err}"
    );
    let bad = f.path("bad-calendar.json");
    std::fs::write(
        &bad,
        r#"{"time_zone": "Asia/Shanghai", "week": {"mon": ["13:00-12:00"]}}"#,
    )
    .unwrap();
    let (code, err) = refused(&f.store, &["report", "--calendar", &bad]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("invalid calendar") && err.contains("week.mon[0]"),
        "{err}"
    );
    let policy = f.path("bad-policy.json");
    std::fs::write(
        &policy,
        r#"{"priorities": {"normal": {"response_s": 1, "resolution_s": 2}}, "warn_at": 2}"#,
    )
    .unwrap();
    let (code, err) = refused(&f.store, &["report", "--sla-policy", &policy]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("field `warn_at`"), "{err}");
    std::fs::write(
        &policy,
        r#"{"calendar": "missing.json", "priorities": {"normal": {"response_s": 1, "resolution_s": 2}}}"#,
    )
    .unwrap();
    let (code, err) = refused(&f.store, &["report", "--sla-policy", &policy]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn without_a_calendar_a_complaint_is_received_on_the_report_s_local_date() {
    // Received at 07:00 in Shanghai on 10 March (23:00 UTC on 9 March) and
    // decided on 25 March at 10:00 there. Counted from the local date of
    // receipt (cn-2020, 15 days, every day worked), the last day is 25
    // March: within the deadline. Counted from the UTC date, it is 24
    // March: overdue.
    let dir = tempfile::tempdir().unwrap();
    let case = "00000000-0000-4000-8000-000000000002";
    let line = |kind: &str, at: &str, data: &str| {
        format!(
            r#"{{"case_id":"{case}","type":"{kind}","at":"{at}","actor":"agent-1","data":{data}}}"#
        )
    };
    let lines = [
        line(
            "opened",
            "2026-03-10T07:00:00+08:00",
            r#"{"customer_id":"C-B","channel":"phone"}"#,
        ),
        line(
            "classified",
            "2026-03-10T07:00:00+08:00",
            r#"{"category":"complaint","topic":"account","priority":"normal"}"#,
        ),
        line("responded", "2026-03-10T07:05:00+08:00", "{}"),
        line("resolved", "2026-03-25T10:00:00+08:00", "{}"),
    ];
    let (code, _, err) =
        run_with_stdin(dir.path(), &["import", "-"], lines.join("\n").into_bytes());
    assert_eq!(code, 0, "{err}");
    let complaints = |args: &[&str]| {
        let (code, out, err) = run(
            dir.path(),
            &[&["report", "--format", "json"], args].concat(),
        );
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let c = &v["overall"]["complaints"];
        (c["within_deadline"].as_u64(), c["overdue"].as_u64())
    };
    assert_eq!(complaints(&[]), (Some(0), Some(1)), "UTC: received 9 March");
    assert_eq!(
        complaints(&["--time-zone", "Asia/Shanghai"]),
        (Some(1), Some(0)),
        "Shanghai: received 10 March"
    );
}
