//! A case's history: the `table` and `json` formats of `history`.

use anyhow::Result;
use caseledger::{CaseId, CaseState, RecordedEvent, format_timestamp};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::csv::flatten;

/// The data fields that hold text ids (docs/events.md, "The envelope"):
/// shown as ids are ([`super::text::shown_id`]), so that an id stored
/// before the id rule refused invisible characters cannot pass for
/// another; the other fields are free text.
const ID_FIELDS: &[&str] = &["customer_id", "agent", "team", "approved_by", "reviewer"];

/// `k=v` pairs of an event's data, in key order.
fn details(e: &RecordedEvent) -> String {
    let v = serde_json::to_value(&e.event.data).unwrap_or(Value::Null);
    let mut cells = Vec::new();
    flatten("", &v, &mut cells);
    cells
        .into_iter()
        .map(|(k, v)| {
            if ID_FIELDS.contains(&k.as_str()) {
                format!("{k}={}", super::text::shown_id(v.as_str()))
            } else {
                format!("{k}={}", v.as_str())
            }
        })
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

/// The `table` format of `history`, over a history the caller checked
/// against the case rules (`write_history`): the state after each event
/// is folded as the rows are made, one state for all (an event refused
/// here, which cannot happen, would leave it as it was).
pub fn history_table(case_id: CaseId, events: &[RecordedEvent]) -> String {
    let mut rows: Vec<Vec<String>> = vec![vec![
        "ver".into(),
        "position".into(),
        "at".into(),
        "actor".into(),
        "event".into(),
        "status after".into(),
        "details".into(),
    ]];
    let mut state = CaseState::initial();
    for e in events {
        // Checked by the caller: cannot fail.
        let _ = state.apply_in_place(&e.event);
        rows.push(vec![
            e.version.to_string(),
            e.position.to_string(),
            format_timestamp(&e.event.at),
            super::text::shown_id(&e.event.actor.to_string()).into_owned(),
            e.event.data.event_type().to_string(),
            status_after(&state),
            details(e),
        ]);
    }
    format!(
        "case {case_id}: {}\n\n{}",
        crate::commands::output::count(events.len() as u64, "event"),
        super::text::columns(&rows)
    )
}

/// The steps of `history_json`: each event in its export form (its keys
/// in that order), then its version and the case after it, serialized as
/// the case is folded (one state for all, as in `history_table`).
struct Steps<'a>(&'a [RecordedEvent]);

impl serde::Serialize for Steps<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(serde::Serialize)]
        struct Step<'a> {
            #[serde(flatten)]
            event: &'a RecordedEvent,
            version: u64,
            state: Option<&'a caseledger::Case>,
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        let mut state = CaseState::initial();
        for e in self.0 {
            // Checked by the caller: cannot fail.
            let _ = state.apply_in_place(&e.event);
            seq.serialize_element(&Step {
                event: e,
                version: e.version,
                state: state.case(),
            })?;
        }
        seq.end()
    }
}

/// The `json` format of `history`, over a history the caller checked
/// (as `history_table`).
pub fn history_json(
    case_id: CaseId,
    as_of: Option<DateTime<Utc>>,
    events: &[RecordedEvent],
) -> Result<String> {
    /// The keys in docs/cli.md's order (a map would sort them).
    #[derive(serde::Serialize)]
    struct History<'a> {
        case_id: String,
        as_of: Option<String>,
        events: Steps<'a>,
    }
    let history = History {
        case_id: case_id.to_string(),
        as_of: as_of.map(|t| format_timestamp(&t)),
        events: Steps(events),
    };
    let mut s = serde_json::to_string_pretty(&history)?;
    s.push('\n');
    Ok(s)
}
