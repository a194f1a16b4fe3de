//! A case's history: the `table` and `json` formats of `history`.

use anyhow::Result;
use caseledger::{CaseId, CaseState, RecordedEvent, format_timestamp};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::csv::flatten;

/// `k=v` pairs of an event's data, in key order.
fn details(e: &RecordedEvent) -> String {
    let v = serde_json::to_value(&e.event.data).unwrap_or(Value::Null);
    let mut cells = Vec::new();
    flatten("", &v, &mut cells);
    cells
        .into_iter()
        .map(|(k, v)| format!("{k}={}", v.as_str()))
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
    let mut rows: Vec<Vec<String>> = vec![vec![
        "ver".into(),
        "position".into(),
        "at".into(),
        "actor".into(),
        "event".into(),
        "status after".into(),
        "details".into(),
    ]];
    for (e, state) in steps {
        rows.push(vec![
            e.version.to_string(),
            e.position.to_string(),
            format_timestamp(&e.event.at),
            e.event.actor.to_string(),
            e.event.data.event_type().to_string(),
            status_after(state),
            details(e),
        ]);
    }
    format!(
        "case {case_id}: {}\n\n{}",
        crate::commands::output::count(steps.len() as u64, "event"),
        super::text::columns(&rows)
    )
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
