//! Text renderings: report tables and CSV, case histories.

use std::fmt::Write;

use anyhow::Result;
use caseledger::kpi::{Kpis, Report};
use caseledger::{CaseId, CaseState, RecordedEvent, format_timestamp};
use caseledger_store::Head;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// A duration in seconds for people: `45s`, `12m`, `2h 05m`, `3d 04h`.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "-".to_owned();
    };
    // Rounded to whole seconds; a u64 holds any real duration.
    let s = s.round() as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m:02}m"),
        (d, h, _) => format!("{d}d {h:02}h"),
    }
}

/// A rate as a percentage with one decimal, `-` when undefined.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn number(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"))
}

const COLUMNS: [&str; 16] = [
    "group",
    "opened",
    "resolved",
    "backlog",
    "resolved%",
    "1st resp p50",
    "resolve p50",
    "FCR",
    "escalated",
    "reopened",
    "SLA met",
    "complaints",
    "overdue",
    "CSAT",
    "surveyed",
    "repeat",
];

fn row(key: &str, k: &Kpis) -> Vec<String> {
    vec![
        key.to_owned(),
        k.cases_opened.to_string(),
        k.cases_resolved.to_string(),
        k.backlog.to_string(),
        percent(k.resolution_rate),
        duration(k.first_response.median_s),
        duration(k.resolution_time.median_s),
        percent(k.fcr_rate),
        percent(k.escalation_rate),
        percent(k.reopen_rate),
        percent(k.sla.rate),
        k.complaints.count.to_string(),
        k.complaints.overdue.to_string(),
        number(k.csat.mean),
        percent(k.survey_response_rate),
        percent(k.repeat_rate),
    ]
}

/// What a report read with `--no-verify` says of its head.
pub const UNVERIFIED_HEAD: &str = "UNVERIFIED: read with --no-verify; the hash chain was not \
                                   checked, so altered records would go unnoticed";

/// The `table` format of a report; `head_verified` says whether the replay
/// checked the chain to the head.
pub fn report_table(report: &Report, head: &Head, head_verified: bool) -> String {
    let mut out = String::new();
    let t = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("-".to_owned(), format_timestamp);
    let _ = writeln!(
        out,
        "KPI report as of {}: cases opened from {} to {}, {} events",
        t(&report.as_of),
        report
            .from
            .as_ref()
            .map_or("the start".to_owned(), format_timestamp),
        report
            .to
            .as_ref()
            .map_or("the end".to_owned(), format_timestamp),
        report.events
    );
    let _ = writeln!(
        out,
        "log head: position {} hash {}",
        head.position,
        head.hash_hex()
    );
    if !head_verified {
        let _ = writeln!(out, "{UNVERIFIED_HEAD}");
    }
    out.push('\n');
    let mut rows: Vec<Vec<String>> = vec![COLUMNS.iter().map(|c| (*c).to_owned()).collect()];
    for g in &report.groups {
        rows.push(row(&g.key, &g.kpis));
    }
    rows.push(row("all", &report.overall));
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 || i == rows.len() - 2 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    let o = &report.overall;
    let _ = writeln!(
        out,
        "\nfirst response: mean {}, p90 {}; resolution: mean {}, p90 {}",
        duration(o.first_response.mean_s),
        duration(o.first_response.p90_s),
        duration(o.resolution_time.mean_s),
        duration(o.resolution_time.p90_s)
    );
    let _ = writeln!(
        out,
        "SLA: {} met, {} breached, {} pending; complaints within deadline {} ({} of {}); \
         satisfied {}; follow-ups {} scheduled, {} completed, on time {}, {} cap violations",
        o.sla.met,
        o.sla.breached,
        o.sla.pending,
        percent(o.complaints.deadline_rate),
        o.complaints.within_deadline,
        o.complaints.count,
        percent(o.csat.satisfied_rate),
        o.follow_up.scheduled,
        o.follow_up.completed,
        percent(o.follow_up.on_time_rate),
        o.follow_up.cap_violations
    );
    out
}

/// Flattens a JSON object into `a_b_c` keys (sorted) and scalar cells.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}_{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Null => out.push((prefix.to_owned(), String::new())),
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The `csv` format: a header, then one row per group (one row `all`
/// without a grouping). Columns are the KPI fields flattened, sorted.
pub fn report_csv(report: &Report) -> Result<String> {
    let rows: Vec<(String, &Kpis)> = if report.group_by.is_some() {
        report
            .groups
            .iter()
            .map(|g| (g.key.clone(), &g.kpis))
            .collect()
    } else {
        vec![("all".to_owned(), &report.overall)]
    };
    let mut out = String::new();
    let mut header_written = false;
    for (key, kpis) in rows {
        let mut cells = Vec::new();
        flatten("", &serde_json::to_value(kpis)?, &mut cells);
        if !header_written {
            let names: Vec<String> = cells.iter().map(|(k, _)| csv_cell(k)).collect();
            let _ = writeln!(out, "key,{}", names.join(","));
            header_written = true;
        }
        let values: Vec<String> = cells.iter().map(|(_, v)| csv_cell(v)).collect();
        let _ = writeln!(out, "{},{}", csv_cell(&key), values.join(","));
    }
    Ok(out)
}

/// `k=v` pairs of an event's data, in key order.
fn details(e: &RecordedEvent) -> String {
    let v = serde_json::to_value(&e.event.data).unwrap_or(Value::Null);
    let mut cells = Vec::new();
    flatten("", &v, &mut cells);
    cells
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_after(state: &CaseState) -> String {
    match state.case() {
        Some(c) => match c.phase() {
            Some(p) => format!(
                "{} ({})",
                c.status,
                serde_json::to_value(p)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            None => c.status.to_string(),
        },
        None => "not opened".to_owned(),
    }
}

/// The `table` format of `history`.
pub fn history_table(case_id: CaseId, steps: &[(RecordedEvent, CaseState)]) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        "ver".into(),
        "position".into(),
        "at".into(),
        "actor".into(),
        "event".into(),
        "status after".into(),
        "details".into(),
    ]];
    for (e, state) in steps {
        rows.push([
            e.version.to_string(),
            e.position.to_string(),
            format_timestamp(&e.event.at),
            e.event.actor.to_string(),
            e.event.data.event_type().to_string(),
            status_after(state),
            details(e),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "case {case_id}: {}\n\n",
        crate::commands::output::count(steps.len() as u64, "event")
    );
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The `json` format of `history`.
pub fn history_json(
    case_id: CaseId,
    as_of: Option<DateTime<Utc>>,
    steps: &[(RecordedEvent, CaseState)],
) -> Result<String> {
    let mut events = Vec::with_capacity(steps.len());
    for (e, state) in steps {
        let mut v = serde_json::to_value(e)?;
        if let Value::Object(m) = &mut v {
            m.insert("version".into(), e.version.into());
            m.insert("state".into(), serde_json::to_value(state.case())?);
        }
        events.push(v);
    }
    let mut root = Map::new();
    root.insert("case_id".into(), Value::String(case_id.to_string()));
    root.insert(
        "as_of".into(),
        as_of.map_or(Value::Null, |t| Value::String(format_timestamp(&t))),
    );
    root.insert("events".into(), Value::Array(events));
    let mut s = serde_json::to_string_pretty(&Value::Object(root))?;
    s.push('\n');
    Ok(s)
}
