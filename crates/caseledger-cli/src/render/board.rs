//! The `cases` table and CSV: one row per case of the board.

use std::io::{self, Write};

use caseledger::board::{BoardRow, BoardSelection};
use caseledger::format_timestamp;
use caseledger_store::Head;
use chrono::{DateTime, Utc};
use unicode_width::UnicodeWidthStr;

use super::csv::csv_text;
use super::table::{MIN_TABLE_COLUMNS, TableWidth, orphan_events_note};
use super::text::{cut, pad, shown_id, wrap};

/// What `cases` shows above and in its table.
pub struct BoardView<'a> {
    /// The board's T.
    pub as_of: Option<DateTime<Utc>>,
    /// Events counted.
    pub events: u64,
    /// Cases on the board (before the filters).
    pub cases: usize,
    /// Events of cases never opened.
    pub orphan_events: u64,
    /// The head the replay checked the chain to.
    pub head: &'a Head,
    /// The rows answered, built as they are printed.
    pub rows: &'a BoardSelection<'a>,
}

/// The widest a name cell (agent, customer, team) gets, in display cells;
/// ids may be 128 bytes.
const MAX_NAME_COLUMNS: usize = 16;

/// Space between two columns.
const GAP: usize = 2;

/// A time as the table shows it: `2026-03-06 06:00`, UTC, to the minute.
fn minute(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// A name cell cut to `names` display cells, or `-`.
fn or_dash(s: Option<&str>, names: usize) -> String {
    s.map_or_else(|| "-".to_owned(), |s| cut(&shown_id(s), names))
}

/// The status column: the phase of an open case, else its status.
fn status(r: &BoardRow) -> String {
    r.phase
        .map_or_else(|| r.status.as_str(), |p| p.as_str())
        .to_owned()
}

/// How a column's cell is made from a row, name cells cut to the given
/// display cells ([`MAX_NAME_COLUMNS`], or whole in a wide table).
type Cell = fn(&BoardRow, usize) -> String;

/// A column of the table: its title and each row's cell.
type Column = (&'static str, Cell);

/// The table's columns, most important first: a narrow table shows those
/// that fit, `--wide` all of them.
const COLUMNS: [Column; 12] = [
    ("case", |r, _| r.case_id.to_string()),
    ("next deadline", |r, _| minute(r.next_deadline)),
    ("flag", |r, _| {
        if r.overdue {
            "OVERDUE".to_owned()
        } else if r.at_risk {
            "at risk".to_owned()
        } else {
            String::new()
        }
    }),
    ("status", |r, _| status(r)),
    ("priority", |r, n| {
        or_dash(r.priority.map(|p| p.as_str()), n)
    }),
    ("agent", |r, n| {
        or_dash(r.agent.as_ref().map(|a| a.as_str()), n)
    }),
    ("customer", |r, n| cut(&shown_id(r.customer_id.as_str()), n)),
    ("team", |r, n| {
        or_dash(r.team.as_ref().map(|t| t.as_str()), n)
    }),
    ("category", |r, n| {
        or_dash(r.category.map(|c| c.as_str()), n)
    }),
    ("complaint", |r, _| {
        r.complaint.map_or_else(
            || "-".to_owned(),
            |c| format!("{} {}", c.regime, c.state.as_str()),
        )
    }),
    ("follow-up due", |r, _| minute(r.follow_up_due)),
    ("last event", |r, _| minute(Some(r.last_event))),
];

/// The `table` format of `cases`, written to `out` as the rows are built
/// (the rows are built twice: once to measure the columns, once to print
/// them, so that no more than one row is held at a time). Within
/// [`TableWidth::Fit`] no line is longer than the width: the most
/// important columns that fit, and a line saying how to see the rest.
pub fn board_table(
    view: &BoardView<'_>,
    width: TableWidth,
    out: &mut impl Write,
) -> io::Result<()> {
    let max = match width {
        TableWidth::Fit(n) => Some(n.max(MIN_TABLE_COLUMNS)),
        TableWidth::Wide => None,
    };
    // With a limit that cut the list, the heading says how many matched:
    // "the first 20" alone would hide whether there are 21 or 2,000.
    let shown = match view.rows.matched() {
        m if m > view.rows.len() => format!(
            "{m} of {} cases match, the first {} shown",
            view.cases,
            view.rows.len()
        ),
        _ => format!("{} of {} cases", view.rows.len(), view.cases),
    };
    out.write_all(
        wrap(
            &format!(
                "Case board as of {} (UTC), {}: {shown}, by the nearest open deadline",
                view.as_of.as_ref().map_or("-".to_owned(), format_timestamp),
                crate::commands::output::count(view.events, "event"),
            ),
            max,
            2,
        )
        .as_bytes(),
    )?;
    out.write_all(
        wrap(
            &format!(
                "log head: position {} hash {}",
                view.head.position,
                view.head.hash_hex()
            ),
            max,
            2,
        )
        .as_bytes(),
    )?;
    if view.orphan_events > 0 {
        out.write_all(wrap(&orphan_events_note(view.orphan_events), max, 2).as_bytes())?;
    }
    out.write_all(b"\n")?;
    if view.rows.is_empty() {
        return out.write_all(b"No case matches.\n");
    }
    // A wide table shows every name whole.
    let names = max.map_or(usize::MAX, |_| MAX_NAME_COLUMNS);
    // Each column's width: its widest cell or its title.
    let mut widths = COLUMNS.map(|(title, _)| title.width());
    for row in view.rows.iter() {
        for (w, (_, cell)) in widths.iter_mut().zip(COLUMNS) {
            *w = (*w).max(cell(&row, names).width());
        }
    }
    let mut used = 0;
    let mut shown: Vec<(&str, Cell, usize)> = Vec::new();
    for ((title, cell), w) in COLUMNS.into_iter().zip(widths) {
        let need = if shown.is_empty() { w } else { used + GAP + w };
        if max.is_some_and(|m| need > m) && !shown.is_empty() {
            continue;
        }
        used = need;
        shown.push((title, cell, w));
    }
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let mut l = String::new();
        for (i, (c, (_, _, w))) in cells.zip(&shown).enumerate() {
            if i > 0 {
                l.push_str(&" ".repeat(GAP));
            }
            l.push_str(&pad(&c, *w, true));
        }
        let mut l = l.trim_end().to_owned();
        l.push('\n');
        l
    };
    out.write_all(line(&mut shown.iter().map(|(t, _, _)| (*t).to_owned())).as_bytes())?;
    for row in view.rows.iter() {
        out.write_all(line(&mut shown.iter().map(|(_, cell, _)| cell(&row, names))).as_bytes())?;
    }
    let hidden = COLUMNS.len() - shown.len();
    if hidden > 0 {
        out.write_all(b"\n")?;
        out.write_all(
            wrap(
                &format!(
                    "{hidden} more columns with --wide, every column with --format json or csv \
                     (docs/kpis.md, \"The case board\")"
                ),
                max,
                0,
            )
            .as_bytes(),
        )?;
    }
    Ok(())
}

/// The CSV columns, in order (docs/cli.md).
const CSV_HEADER: [&str; 28] = [
    "case_id",
    "status",
    "phase",
    "customer_id",
    "tier",
    "channel",
    "category",
    "topic",
    "priority",
    "agent",
    "team",
    "opened",
    "first_response",
    "latest_resolution",
    "escalation_level",
    "awaiting_customer",
    "follow_up_due",
    "sla_response_deadline",
    "sla_response_state",
    "sla_resolution_deadline",
    "sla_resolution_state",
    "complaint_regime",
    "complaint_deadline",
    "complaint_state",
    "last_event",
    "overdue",
    "at_risk",
    "next_deadline",
];

/// The `csv` format of `cases`, written to `out` a row at a time: a
/// header, then one row per case with a cell under every column (empty
/// when none). Text cells are guarded against spreadsheet formulas.
pub fn board_csv(rows: impl Iterator<Item = BoardRow>, out: &mut impl Write) -> io::Result<()> {
    let mut line = CSV_HEADER.join(",");
    line.push('\n');
    out.write_all(line.as_bytes())?;
    let t = |t: Option<DateTime<Utc>>| t.as_ref().map_or_else(String::new, format_timestamp);
    let text = |s: Option<&str>| s.map_or_else(String::new, csv_text);
    for r in rows {
        let r = &r;
        let cells: [String; 28] = [
            r.case_id.to_string(),
            r.status.as_str().to_owned(),
            r.phase.map_or_else(String::new, |p| p.as_str().to_owned()),
            csv_text(r.customer_id.as_str()),
            r.tier.as_str().to_owned(),
            r.channel.as_str().to_owned(),
            text(r.category.map(|c| c.as_str())),
            text(r.topic.map(|c| c.as_str())),
            text(r.priority.map(|c| c.as_str())),
            text(r.agent.as_ref().map(|a| a.as_str())),
            text(r.team.as_ref().map(|a| a.as_str())),
            t(Some(r.opened)),
            t(r.first_response),
            t(r.latest_resolution),
            r.escalation_level.to_string(),
            r.awaiting_customer.to_string(),
            t(r.follow_up_due),
            t(r.sla_response.deadline),
            r.sla_response.state.as_str().to_owned(),
            t(r.sla_resolution.deadline),
            r.sla_resolution.state.as_str().to_owned(),
            r.complaint
                .map_or_else(String::new, |c| c.regime.as_str().to_owned()),
            t(r.complaint.and_then(|c| c.deadline)),
            r.complaint
                .map_or_else(String::new, |c| c.state.as_str().to_owned()),
            t(Some(r.last_event)),
            r.overdue.to_string(),
            r.at_risk.to_string(),
            t(r.next_deadline),
        ];
        line.clear();
        line.push_str(&cells.join(","));
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}
