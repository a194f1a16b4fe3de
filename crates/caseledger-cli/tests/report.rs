//! Snapshots of every output over a fixed generated store.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

fn snapshot_of(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let case = first_case(dir.path());
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "CASE" { case.as_str() } else { a })
        .collect();
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn report_table() {
    insta::assert_snapshot!(snapshot_of(&["report", "--group-by", "month"]));
}

#[test]
fn report_table_wide() {
    insta::assert_snapshot!(snapshot_of(&["report", "--group-by", "month", "--wide"]));
}

#[test]
fn report_csv() {
    insta::assert_snapshot!(snapshot_of(&[
        "report",
        "--group-by",
        "category",
        "--format",
        "csv"
    ]));
}

#[test]
fn report_json() {
    let out = snapshot_of(&[
        "report",
        "--group-by",
        "channel",
        "--format",
        "json",
        "--as-of",
        "2026-03-01",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    // serde_json sorts the keys it parses; the documented set is all there.
    assert_eq!(
        keys,
        [
            "as_of",
            "events",
            "from",
            "group_by",
            "groups",
            "head",
            "head_verified",
            "orphan_events",
            "overall",
            "schema_version",
            "time_zone",
            "to"
        ]
    );
    insta::assert_snapshot!(out);
}

#[test]
fn report_is_byte_identical_across_runs_and_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let args = ["report", "--group-by", "agent", "--format", "json"];
    let (_, one, _) = run(dir.path(), &[&args[..], &["--threads", "1"]].concat());
    let (_, three, _) = run(dir.path(), &[&args[..], &["--threads", "3"]].concat());
    let (_, again, _) = run(dir.path(), &args);
    assert_eq!(one, three);
    assert_eq!(one, again);
}

#[test]
fn a_long_tailed_report_is_the_same_on_any_number_of_threads() {
    // One customer with a quarter of the cases: the report's cross-case
    // work splits by customer, the rest by case.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["generate", "--cases", "3000", "--customers", "long-tail"],
    );
    assert_eq!(code, 0, "{err}");
    for group in ["topic", "agent", "month"] {
        let args = ["report", "--group-by", group, "--format", "json"];
        let (_, one, _) = run(dir.path(), &[&args[..], &["--threads", "1"]].concat());
        assert!(one.contains("\"repeat_rate\""), "{one}");
        for threads in ["2", "3", "8"] {
            let (_, more, _) = run(dir.path(), &[&args[..], &["--threads", threads]].concat());
            assert_eq!(one, more, "--group-by {group}, {threads} threads");
        }
    }
}

#[test]
fn history_table() {
    insta::assert_snapshot!(snapshot_of(&["history", "CASE"]));
}

#[test]
fn history_json() {
    insta::assert_snapshot!(snapshot_of(&["history", "CASE", "--format", "json"]));
}

#[test]
fn verify_output() {
    insta::assert_snapshot!(snapshot_of(&["verify"]));
}

#[test]
fn sla_policy_file_changes_the_sla_figures() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let policy = dir.path().join("strict.json");
    let target = r#"{"response_s": 60, "resolution_s": 600}"#;
    std::fs::write(
        &policy,
        format!(r#"{{"low": {target}, "normal": {target}, "high": {target}, "urgent": {target}}}"#),
    )
    .unwrap();
    let sla = |args: &[&str]| {
        let (code, out, err) = run(dir.path(), args);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["overall"]["sla"]["met_rate"].as_f64().unwrap()
    };
    let default = sla(&["report", "--format", "json"]);
    let strict = sla(&[
        "report",
        "--format",
        "json",
        "--sla-policy",
        policy.to_str().unwrap(),
    ]);
    assert!(strict < default, "{strict} < {default}");
    std::fs::write(&policy, "{\"low\": 1}").unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["report", "--sla-policy", policy.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(err.contains("invalid SLA policy"), "{err}");
    // Read up to its limit, never whole: a file that never ends (or a
    // store segment given by mistake) is refused as too large.
    let huge = dir.path().join("huge.json");
    std::fs::write(
        &huge,
        vec![b' '; caseledger::kpi::MAX_SLA_POLICY_JSON_BYTES + 1],
    )
    .unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["report", "--sla-policy", huge.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "invalid SLA policy {}: larger than {} bytes",
            huge.display(),
            caseledger::kpi::MAX_SLA_POLICY_JSON_BYTES
        )),
        "{err}"
    );
    // The library's own bound, for a text an embedder passes.
    let text = " ".repeat(caseledger::kpi::MAX_SLA_POLICY_JSON_BYTES + 1);
    assert!(matches!(
        caseledger::kpi::SlaPolicy::from_json(&text),
        Err(caseledger::kpi::SlaPolicyError::TooLarge { .. })
    ));
}

/// Imports one good case per agent, case 1 up, each assigned to its agent.
fn import_assigned(dir: &std::path::Path, agents: &[&str]) {
    let mut lines = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        let case = u32::try_from(i).unwrap() + 1;
        let mut case_lines = good_case(case);
        case_lines.insert(
            1,
            line(
                case,
                case * 10 + 9,
                "assigned",
                "2026-03-02T09:15:30+08:00",
                &format!(r#"{{"agent":"{agent}"}}"#),
            ),
        );
        lines.extend(case_lines);
    }
    let (code, _, err) = run_with_stdin(dir, &["import", "-"], lines.join("\n").into_bytes());
    assert_eq!(code, 0, "{err}");
}

/// Agent names that a spreadsheet would run as formulas come out of the
/// CSV with a leading `'` (and quoted when they hold a comma or a quote),
/// while negative or fractional figures stay numbers.
#[test]
fn report_csv_guards_names_that_start_like_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let agents = [
        r#"=HYPERLINK(\"http://evil.example\",\"x\")"#,
        "@SUM(1)",
        "-2+3",
        "agent-17",
    ];
    import_assigned(dir.path(), &agents);
    let (code, out, err) = run(
        dir.path(),
        &["report", "--group-by", "agent", "--format", "csv"],
    );
    assert_eq!(code, 0, "{err}");
    let keys: Vec<String> = out.lines().skip(1).map(first_csv_field).collect();
    assert_eq!(
        keys,
        [
            "'-2+3",
            r#""'=HYPERLINK(""http://evil.example"",""x"")""#,
            "'@SUM(1)",
            "agent-17",
        ],
        "{out}"
    );
    // No cell of any row starts like a formula once its quotes are off,
    // except figures, which are numbers.
    for row in out.lines().skip(1) {
        let key = first_csv_field(row);
        let rest = &row[key.len() + 1..];
        for cell in rest.split(',') {
            assert!(
                cell.is_empty() || cell == "true" || cell == "false" || cell.parse::<f64>().is_ok(),
                "a figure cell is not a number: {cell:?} in {row}"
            );
        }
    }
}

/// The first field of a CSV row, with its quotes as written.
fn first_csv_field(row: &str) -> String {
    if let Some(inner) = row.strip_prefix('"') {
        // A quoted field ends at a quote not followed by another quote.
        let mut end = 0;
        let bytes = inner.as_bytes();
        while end < bytes.len() {
            if bytes[end] == b'"' {
                if bytes.get(end + 1) == Some(&b'"') {
                    end += 2;
                    continue;
                }
                break;
            }
            end += 1;
        }
        format!("\"{}", &inner[..=end])
    } else {
        row.split(',').next().unwrap_or_default().to_owned()
    }
}

/// A store written by a program through the store's own `append` (which
/// knows the append contract, not the case rules) can hold events of a case
/// that was never opened. `report` counts them (`orphan_events`) in every
/// format and warns on stderr; they are in no figure.
#[test]
fn events_of_a_case_never_opened_are_counted_and_warned_about() {
    use caseledger::{
        Actor, AgentId, Assigned, CaseId, Event, EventData, EventId, EventLog, ExpectedVersion,
    };
    use caseledger_store::{Store, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_with_stdin(
        dir.path(),
        &["import", "-"],
        good_case(1).join("\n").into_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let (_, clean, _) = run(dir.path(), &["report", "--format", "json"]);
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let case = CaseId::from_u128(99);
        let at = "2026-03-02T11:00:00Z".parse().unwrap();
        let assigned = |id: u128, agent: &str| Event {
            event_id: EventId::from_u128(id),
            case_id: case,
            at,
            actor: Actor::System,
            data: EventData::Assigned(Assigned {
                agent: AgentId::new(agent).unwrap(),
                team: None,
            }),
        };
        store
            .append(
                case,
                ExpectedVersion::NoStream,
                &[assigned(991, "agent-5"), assigned(992, "agent-6")],
            )
            .unwrap();
    }

    let (code, out, err) = run(dir.path(), &["report", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("WARNING: 2 events of cases never opened in this log are in no figure"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let before: serde_json::Value = serde_json::from_str(&clean).unwrap();
    assert_eq!(v["orphan_events"], 2);
    assert_eq!(before["orphan_events"], 0);
    assert_eq!(v["events"], 7);
    // In no figure: the overall figures are those of the store before.
    assert_eq!(v["overall"], before["overall"]);

    let (_, table, err) = run(dir.path(), &["report"]);
    assert!(
        table.contains("WARNING: 2 events of cases never opened"),
        "{table}"
    );
    assert!(err.contains("WARNING: 2 events"), "{err}");
    let (_, _, err) = run(dir.path(), &["report", "--format", "csv"]);
    assert!(err.contains("WARNING: 2 events"), "{err}");
    let (_, page, _) = run(dir.path(), &["report", "--format", "html"]);
    assert!(
        page.contains(r#"<span data-src="month#/orphan_events">2</span>"#),
        "the page shows the count"
    );
    // A clean store says nothing.
    let (_, _, err) = run(dir.path(), &["report", "--as-of", "2026-03-02T10:30:00Z"]);
    assert!(!err.contains("WARNING"), "{err}");
}

/// A CJK agent name (two columns per character) lines up with a Latin one
/// in the table: the columns are padded by display width, not characters.
#[test]
fn report_table_lines_up_cjk_agent_names() {
    use unicode_width::UnicodeWidthStr;
    let dir = tempfile::tempdir().unwrap();
    import_assigned(dir.path(), &["王小明", "agent-17"]);
    let (code, out, err) = run(dir.path(), &["report", "--group-by", "agent"]);
    assert_eq!(code, 0, "{err}");
    let row = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no row {key}: {out}"))
    };
    let (cjk, latin) = (row("王小明"), row("agent-17"));
    // Both cases have the same figures: after the key, the rows are the
    // same text, starting at the same display column.
    let rest = |r: &str, key: &str| r[key.len()..].trim_start().to_owned();
    assert_eq!(rest(cjk, "王小明"), rest(latin, "agent-17"), "{out}");
    assert_eq!(cjk.width(), latin.width(), "{out}");
    assert_ne!(cjk.chars().count(), latin.chars().count());
}

/// Issue 18: `--complaint-policy` and `--calendar` decide each complaint's
/// deadline; a `deadline_extended` imports, exports and counts.
#[test]
fn complaint_policy_and_calendar_decide_the_complaint_deadline() {
    let dir = tempfile::tempdir().unwrap();
    // Received Wednesday 16 September 2026 10:00 in Shanghai, resolved
    // Monday 5 October 10:00 there.
    let lines = [
        line(
            1,
            1,
            "opened",
            "2026-09-16T10:00:00+08:00",
            r#"{"customer_id":"C-1","channel":"phone"}"#,
        ),
        line(
            1,
            2,
            "classified",
            "2026-09-16T10:00:00+08:00",
            r#"{"category":"complaint","topic":"card","priority":"high"}"#,
        ),
        line(
            1,
            3,
            "deadline_extended",
            "2026-09-20T10:00:00+08:00",
            r#"{"days":30,"approved_by":"lead-1","reason":"external appraisal"}"#,
        ),
        line(1, 4, "resolved", "2026-10-05T10:00:00+08:00", "{}"),
        // The same complaint about a loan, not extended.
        line(
            2,
            5,
            "opened",
            "2026-09-16T10:00:00+08:00",
            r#"{"customer_id":"C-2","channel":"phone"}"#,
        ),
        line(
            2,
            6,
            "classified",
            "2026-09-16T10:00:00+08:00",
            r#"{"category":"complaint","topic":"loan","priority":"high"}"#,
        ),
        line(2, 7, "resolved", "2026-10-05T10:00:00+08:00", "{}"),
    ];
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], lines.join("\n").into());
    assert_eq!(code, 0, "{err}");
    assert!(export(dir.path()).contains(r#""type":"deadline_extended""#));
    let files = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let shanghai = file(
        "shanghai.json",
        r#"{"time_zone": "Asia/Shanghai",
            "week": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"],
                     "thu": ["09:00-18:00"], "fri": ["09:00-18:00"]},
            "holidays": ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"]}"#,
    );
    let disp = file(
        "disp.json",
        r#"{"default": "cn-2020", "topics": {"card": "uk-fca-disp"}}"#,
    );
    let complaints = |extra: &[&str]| {
        let args = [&["report", "--format", "json"][..], extra].concat();
        let (code, out, err) = run(dir.path(), &args);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["overall"]["complaints"].clone()
    };
    // cn-2020, default calendar (UTC): case 1's extension to 30 days is in
    // time (deadline 2026-10-17 00:00 UTC), so it is within; case 2's day 15
    // is 1 October, its deadline 2 October 00:00 UTC: overdue.
    let c = complaints(&[]);
    assert_eq!(
        (
            &c["within_deadline"],
            &c["overdue"],
            &c["extended"],
            &c["late_extensions"]
        ),
        (&1.into(), &1.into(), &1.into(), &0.into())
    );
    assert_eq!(c["by_regime"]["cn-2020"]["count"], 2);
    // In Shanghai's calendar case 2's day 15 is a holiday; the rest days
    // run to 7 October, so its deadline is 9 October 00:00: within.
    let c = complaints(&["--calendar", &shanghai]);
    assert_eq!(
        (&c["within_deadline"], &c["overdue"]),
        (&2.into(), &0.into())
    );
    // uk-fca-disp for cards (case 1): 56 days, within; case 2 stays cn-2020.
    let c = complaints(&["--complaint-policy", &disp]);
    assert_eq!(c["by_regime"]["uk-fca-disp"]["within_deadline"], 1);
    assert_eq!(c["by_regime"]["cn-2020"]["overdue"], 1);
    // A bad policy names its field; a bad calendar names its file.
    let bad = file("bad.json", r#"{"topics": {"cards": "eu-psd2"}}"#);
    let (code, _, err) = run(dir.path(), &["report", "--complaint-policy", &bad]);
    assert_eq!(code, 1);
    assert!(
        err.contains("invalid complaint policy") && err.contains("topics.cards"),
        "{err}"
    );
    let bad = file("cal.json", r#"{"time_zone": "Mars/Olympus", "week": {}}"#);
    let (code, _, err) = run(dir.path(), &["report", "--calendar", &bad]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid calendar"), "{err}");
}

/// The table's complaint summary prints the denominator its rate uses:
/// the complaints with a verdict (within + overdue), and the pending ones
/// apart, not every complaint (docs/kpis.md, "Complaints").
#[test]
fn the_table_says_of_how_many_complaints_the_deadline_rate_is() {
    let dir = tempfile::tempdir().unwrap();
    let complaint = r#"{"category":"complaint","topic":"card","priority":"high"}"#;
    let mut lines = Vec::new();
    // 1 and 2 resolved within their deadline (cn-2020: 15 days), 3 never
    // resolved and past it, 4 opened at T: pending.
    for (case, opened, resolved) in [
        (1, "2026-08-03T10:00:00Z", Some("2026-08-05T10:00:00Z")),
        (2, "2026-08-10T10:00:00Z", Some("2026-08-12T10:00:00Z")),
        (3, "2026-08-10T10:00:00Z", None),
        (4, "2026-10-01T10:00:00Z", None),
    ] {
        let id = case * 10;
        let customer = format!(r#"{{"customer_id":"C-{case}","channel":"phone"}}"#);
        lines.push(line(case, id, "opened", opened, &customer));
        lines.push(line(case, id + 1, "classified", opened, complaint));
        if let Some(at) = resolved {
            lines.push(line(case, id + 2, "resolved", at, "{}"));
        }
    }
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], lines.join("\n").into());
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(dir.path(), &["report", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &v["overall"]["complaints"];
    assert_eq!(
        (&c["within_deadline"], &c["overdue"], &c["pending"]),
        (&2.into(), &1.into(), &1.into())
    );
    let (code, out, err) = run(dir.path(), &["report"]);
    assert_eq!(code, 0, "{err}");
    // The summary may wrap: compare with single spaces.
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("complaints within deadline 66.7% (2 of 3 with a verdict, 1 pending)"),
        "{out}"
    );
    // Under a target of 66.67 % (docs/cli.md, "Figures as people read
    // them"), 2 of 3 reads under it in the summary as in the table's
    // `deadline` column: `66.667%`, never `66.7%`, above the target.
    let targets = dir.path().join("targets.json");
    std::fs::write(&targets, r#"{"deadline_rate": 0.6667}"#).unwrap();
    let targets = targets.to_str().unwrap();
    let (code, out, err) = run(dir.path(), &["report", "--wide", "--targets", targets]);
    assert_eq!(code, 0, "{err}");
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("complaints within deadline 66.667% (2 of 3 with a verdict, 1 pending)"),
        "{out}"
    );
}

/// Every CSV row has as many cells as the header, also when groups flatten
/// to different columns (a category without complaints has an empty
/// `complaints.by_regime`, a complaint category has one column per regime).
#[test]
fn report_csv_rows_have_the_header_width() {
    let out = snapshot_of(&["report", "--group-by", "category", "--format", "csv"]);
    let mut lines = out.lines();
    let header = lines.next().expect("a header line");
    let width = header.split(',').count();
    assert!(header.contains("complaints_by_regime_"), "{header}");
    let mut rows = 0;
    for row in lines {
        // Category keys and figures hold no comma or quote.
        assert_eq!(row.split(',').count(), width, "{row}");
        rows += 1;
    }
    assert!(rows >= 2, "{out}");
}

/// The CSV's columns do not depend on the data (docs/cli.md, "`--format
/// csv`"): an empty cohort and a full one have the same header, for every
/// grouping, and it holds each known regime's and purpose's columns
/// whether or not any case has them (the store has complaints under
/// `cn-2020` alone, and no bank-originated case).
#[test]
fn report_csv_has_the_same_columns_whatever_the_data() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let header = |args: &[&str]| {
        let all = [&["report", "--format", "csv"][..], args].concat();
        let (code, out, err) = run(dir.path(), &all);
        assert_eq!(code, 0, "{err}");
        out.lines().next().unwrap_or_default().to_owned()
    };
    for grouping in [
        &[][..],
        &["--group-by", "channel"],
        &["--group-by", "category"],
        &["--group-by", "agent,month"],
        &["--group-by", "responder"],
    ] {
        let full = header(grouping);
        let empty = header(&[grouping, &["--from", "2030-01-01"]].concat());
        assert_eq!(empty, full, "{grouping:?}");
        if grouping.last() == Some(&"responder") {
            assert!(full.contains(",time_to_respond_p90_s"), "{full}");
            continue;
        }
        let columns: Vec<&str> = full.split(',').collect();
        for regime in caseledger::complaint::Regime::ALL {
            let column = format!("complaints_by_regime_{}_deadline_rate", regime.as_str());
            assert!(columns.contains(&column.as_str()), "{column}: {full}");
        }
        for purpose in caseledger::FollowUpPurpose::ALL {
            let column = format!("outreach_by_purpose_{}_scheduled", purpose.as_str());
            assert!(columns.contains(&column.as_str()), "{column}: {full}");
        }
    }
}

/// Issue 20, point 4: two dimensions in the table (`agent / month` rows),
/// and in JSON (each key an object, `group_by` both).
#[test]
fn report_table_by_agent_and_month() {
    insta::assert_snapshot!(snapshot_of(&["report", "--group-by", "agent,month"]));
}

#[test]
fn report_csv_by_agent_and_month() {
    let out = snapshot_of(&["report", "--group-by", "agent,month", "--format", "csv"]);
    assert!(out.starts_with("key_agent,key_month,backlog,"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn report_json_by_month_and_channel_has_object_keys() {
    let out = snapshot_of(&["report", "--group-by", "month,channel", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["group_by"], serde_json::json!(["month", "channel"]));
    let groups = v["groups"].as_array().unwrap();
    let keys: Vec<(String, String)> = groups
        .iter()
        .map(|g| {
            (
                g["key"]["month"].as_str().unwrap().to_owned(),
                g["key"]["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by month, then channel");
    let sum: u64 = groups
        .iter()
        .map(|g| g["cases_opened"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, v["overall"]["cases_opened"].as_u64().unwrap());
}

/// Every period of `--group-by` on the fixed store (its keys pinned).
#[test]
fn report_periods() {
    let mut out = String::new();
    for period in ["week", "half_year", "year"] {
        let json = snapshot_of(&["report", "--group-by", period, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let keys: Vec<String> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| format!("{} {}", g["key"].as_str().unwrap(), g["cases_opened"]))
            .collect();
        out.push_str(&format!("{period}: {}\n", keys.join(", ")));
    }
    insta::assert_snapshot!(out);
}

/// Issue 20, point 5: the responder rows in the table and in JSON.
#[test]
fn report_responders() {
    insta::assert_snapshot!(snapshot_of(&["report", "--group-by", "responder"]));
    let json = snapshot_of(&["report", "--group-by", "responder", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["group_by"], "responder");
    let rows = v["groups"].as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        let (assigned, replied) = (
            r["cases_assigned"].as_u64().unwrap(),
            r["cases_replied"].as_u64().unwrap(),
        );
        assert!(replied <= assigned, "{r}");
        if assigned > 0 {
            assert_eq!(
                r["reply_rate"].as_f64().unwrap(),
                replied as f64 / assigned as f64
            );
        }
    }
    let csv = snapshot_of(&["report", "--group-by", "responder", "--format", "csv"]);
    assert!(
        csv.starts_with("key,cases_assigned,cases_replied,contacts,reply_rate,"),
        "{csv}"
    );
}

/// More than two dimensions, one twice, or responder with another: wrong
/// usage, status 2, saying why.
#[test]
fn a_wrong_grouping_is_wrong_usage() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    for (group, why) in [
        ("agent,month,channel", "at most 2"),
        ("month,month", "names month twice"),
        ("responder,month", "takes no second dimension"),
        ("agent,decade", "decade"),
    ] {
        let (code, _, err) = run(dir.path(), &["report", "--group-by", group]);
        assert_eq!(code, 2, "{group}: {err}");
        assert!(err.contains(why), "{group}: {err}");
    }
}
