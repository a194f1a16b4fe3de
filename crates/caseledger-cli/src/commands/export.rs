//! `export` (the whole log as JSON Lines) and `history` (one case's events
//! with its state after each).

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use caseledger::{CaseId, CaseState, EventLog, RecordedEvent};
use caseledger_store::Until;
use chrono::{DateTime, Utc};

use super::open::{open_read_only, open_reader_at};
use super::output::{out_err, write_stdout};
use crate::args::{HeadArg, HistoryFormat};

/// Runs `export`: the whole log, or with `at` (`--head`) the log as it
/// stood then.
pub fn export(dir: &Path, as_of: Option<DateTime<Utc>>, at: Option<&HeadArg>) -> Result<()> {
    let store = open_reader_at(dir, at)?;
    let head = store.head();
    write_events(store.read(1, Until::End), head.position, as_of)
}

/// Writes `events` (`total` of them, for the progress bar) as JSON Lines
/// to stdout, those after `as_of` left out: `export`, whatever the store.
pub fn write_events<E>(
    events: impl Iterator<Item = Result<RecordedEvent, E>>,
    total: u64,
    as_of: Option<DateTime<Utc>>,
) -> Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let bar = crate::progress::bar(Some(total), "exporting");
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for event in events {
        let event = event?;
        bar.set_position(event.position);
        if as_of.is_some_and(|t| event.event.at > t) {
            continue;
        }
        serde_json::to_writer(&mut out, &event).map_err(|e| {
            // Writing through a full buffer reaches stdout: a write error
            // is stdout's (a closed pipe ends quietly), not the event's.
            if e.is_io() {
                out_err(e.into())
            } else {
                anyhow::Error::new(e).context("cannot encode an event")
            }
        })?;
        out.write_all(b"\n").map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    bar.finish_and_clear();
    Ok(())
}

/// Runs `history`: the case's events from the store's index, or with `at`
/// (`--head`) from the checked read of the log as it stood then (the
/// index is of today's log, whose open reads every record, those after
/// that head too).
pub fn history(
    dir: &Path,
    case_id: CaseId,
    as_of: Option<DateTime<Utc>>,
    at: Option<&HeadArg>,
    format: HistoryFormat,
) -> Result<()> {
    let events = match at {
        None => open_read_only(dir)?.read_stream(case_id)?,
        Some(at) => {
            let mut events = Vec::new();
            for e in open_reader_at(dir, Some(at))?.read(1, Until::End) {
                let e = e.with_context(|| format!("cannot read store {}", dir.display()))?;
                if e.event.case_id == case_id {
                    events.push(e);
                }
            }
            events
        }
    };
    if events.is_empty() {
        bail!("case {case_id} has no events in {}", dir.display());
    }
    write_history(case_id, events, as_of, format)
}

/// Writes one case's `events` with its state after each: `history`,
/// whatever the store. The whole history is checked against the case
/// rules before anything is written; the renderers then fold it again as
/// they write, so that no state is kept per event (a case of n events
/// touched by k agents would keep n copies of its k-long lists).
pub fn write_history(
    case_id: CaseId,
    events: Vec<RecordedEvent>,
    as_of: Option<DateTime<Utc>>,
    format: HistoryFormat,
) -> Result<()> {
    let events: Vec<RecordedEvent> = events
        .into_iter()
        .filter(|e| as_of.is_none_or(|t| e.event.at <= t))
        .collect();
    let mut state = CaseState::initial();
    for e in &events {
        state.apply_in_place(&e.event).with_context(|| {
            format!(
                "the stored history breaks a rule at position {}",
                e.position
            )
        })?;
    }
    let text = match format {
        HistoryFormat::Table => crate::render::history_table(case_id, &events),
        HistoryFormat::Json => crate::render::history_json(case_id, as_of, &events)?,
    };
    write_stdout(&text)
}
