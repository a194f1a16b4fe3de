//! The terminal table of a report, the notes it prints under its
//! head, and how wide it may be.

use std::fmt::Write;

use caseledger::format_timestamp;
use caseledger::kpi::{GroupBy, Kpis, Report, TOTAL_ROW_KEY};
use caseledger_store::Head;
use chrono::{DateTime, Utc};
use unicode_width::UnicodeWidthStr;

use crate::figures::{self, Figure, duration, percent};

use super::text::{cut, pad, shown_id, wrap};

/// The figures of the terminal table, most important first: a narrow
/// table shows a prefix-by-importance of them (whatever fits), `--wide`
/// all of them.
pub(super) const TABLE_FIGURES: [&Figure; 18] = [
    &figures::CASES,
    &figures::BACKLOG,
    &figures::FCR,
    &figures::SLA_ATTAINMENT,
    &figures::SATISFIED_SHARE,
    &figures::FIRST_RESPONSE_MEDIAN,
    &figures::RESOLUTION_MEDIAN,
    &figures::DEADLINE_RATE,
    &figures::MEAN_SCORE,
    &figures::RESOLVED,
    &figures::RESOLUTION_RATE,
    &figures::ESCALATION_RATE,
    &figures::REOPEN_RATE,
    &figures::COMPLAINTS,
    &figures::COMPLAINTS_OVERDUE,
    &figures::SURVEYS,
    &figures::SURVEY_RESPONSE_RATE,
    &figures::REPEAT_RATE,
];

/// How wide the terminal table may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableWidth {
    /// At most this many columns (display cells): the figures that matter
    /// most that fit.
    Fit(usize),
    /// Every figure, however wide.
    Wide,
}

/// The width of the terminal table when stdout is not a terminal: the
/// classic terminal, which also fits a printed page and an e-mail.
pub const DEFAULT_TABLE_COLUMNS: usize = 80;

/// The narrowest table drawn: the group and two figures, whatever the
/// terminal says (a narrower one would show nothing useful).
pub const MIN_TABLE_COLUMNS: usize = 40;

/// The widest the group column gets, in display cells; longer keys (ids
/// may be 128 bytes) are cut with `…`, so that the figures still fit; a
/// wide table (`--wide`) shows every key whole.
const MAX_KEY_COLUMNS: usize = 24;

/// Space between two columns.
const GAP: usize = 2;

/// What a report read with `--no-verify` says of its head.
pub const UNVERIFIED_HEAD: &str = "UNVERIFIED: read with --no-verify; the hash chain was not \
                                   checked, so altered records would go unnoticed";

/// What a report says when `orphan_events` events (of cases never seen
/// opened) are in none of its figures: the table's line and `report`'s
/// warning on stderr.
pub fn orphan_events_note(orphan_events: u64) -> String {
    format!(
        "WARNING: {} of cases never opened in this log {} in no figure (orphan_events, \
         docs/kpis.md); `caseledger verify` names the first such case",
        crate::commands::output::count(orphan_events, "event"),
        if orphan_events == 1 { "is" } else { "are" }
    )
}

/// The `table` format of a report; `head_verified` says whether the replay
/// checked the chain to the head. Within [`TableWidth::Fit`] no line is
/// longer than the width (so a terminal never wraps a row): the table
/// shows the most important figures that fit and says how to see the
/// rest; a legend under it defines every abbreviation shown.
pub fn report_table(
    report: &Report,
    head: &Head,
    head_verified: bool,
    width: TableWidth,
) -> String {
    let max = match width {
        TableWidth::Fit(n) => Some(n.max(MIN_TABLE_COLUMNS)),
        TableWidth::Wide => None,
    };
    let mut out = String::new();
    let t = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("-".to_owned(), format_timestamp);
    out.push_str(&wrap(
        &format!(
            "KPI report as of {} (UTC), {}: cases opened from {} to {}",
            t(&report.as_of),
            crate::commands::output::count(report.events, "event"),
            report
                .from
                .as_ref()
                .map_or("the start".to_owned(), format_timestamp),
            report
                .to
                .as_ref()
                .map_or("the end".to_owned(), format_timestamp),
        ),
        max,
        2,
    ));
    out.push_str(&wrap(
        &format!(
            "log head: position {} hash {}",
            head.position,
            head.hash_hex()
        ),
        max,
        2,
    ));
    if !head_verified {
        out.push_str(&wrap(UNVERIFIED_HEAD, max, 2));
    }
    if report.orphan_events > 0 {
        out.push_str(&wrap(&orphan_events_note(report.orphan_events), max, 2));
    }
    out.push('\n');

    if report.group_by == Some(GroupBy::Responder) {
        responder_table(report, max, &mut out);
        return out;
    }
    // With two dimensions a row's key is both keys, `agent-1 / 2026-03`.
    let mut keys: Vec<String> = report
        .groups
        .iter()
        .map(|g| match &g.then_key {
            Some(then) => format!("{} / {}", shown_id(&g.key), shown_id(then)),
            None => shown_id(&g.key).into_owned(),
        })
        .collect();
    keys.push(TOTAL_ROW_KEY.to_owned());
    let mut sets: Vec<&Kpis> = report.groups.iter().map(|g| &g.kpis).collect();
    sets.push(&report.overall);
    let key_title = match (report.group_by, report.then_by) {
        (Some(first), Some(second)) => format!("{first} / {second}"),
        (first, _) => first.map_or("group", GroupBy::as_str).to_owned(),
    };
    let key_title = key_title.as_str();
    let key_width = keys
        .iter()
        .map(|k| k.width())
        .chain([key_title.width()])
        .max()
        .unwrap_or(0)
        // Wide: every key whole, so that two keys with a long common
        // prefix (`cn-shanghai-pudong-branch-agent-0001`, `…-0002`) are
        // told apart.
        .min(max.map_or(usize::MAX, |_| MAX_KEY_COLUMNS));

    // Each figure's cells and width; then, most important first, those
    // that fit (a narrower one further down may fit where a wide one did
    // not), shown in order of importance.
    let mut used = key_width;
    let mut shown: Vec<(&Figure, Vec<String>, usize)> = Vec::new();
    for figure in TABLE_FIGURES {
        let cells: Vec<String> = sets.iter().map(|k| figure.format_in(k)).collect();
        let w = cells
            .iter()
            .map(|c| c.width())
            .chain([figure.abbrev.width()])
            .max()
            .unwrap_or(0);
        if max.is_none_or(|max| used + GAP + w <= max) {
            used += GAP + w;
            shown.push((figure, cells, w));
        }
    }

    let mut line = pad(&cut(key_title, key_width), key_width, true);
    for (figure, _, w) in &shown {
        line.push_str(&" ".repeat(GAP));
        line.push_str(&pad(figure.abbrev, *w, false));
    }
    let rule = "-".repeat(used);
    let _ = writeln!(out, "{}\n{rule}", line.trim_end());
    for (row, key) in keys.iter().enumerate() {
        if row == keys.len() - 1 && row > 0 {
            let _ = writeln!(out, "{rule}");
        }
        let mut line = pad(&cut(key, key_width), key_width, true);
        for (_, cells, w) in &shown {
            line.push_str(&" ".repeat(GAP));
            line.push_str(&pad(&cells[row], *w, false));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }

    let o = &report.overall;
    out.push('\n');
    out.push_str(&wrap(
        &format!(
            "first response: mean {}, p90 {}; resolution: mean {}, p90 {}",
            duration(o.first_response.mean_s),
            duration(o.first_response.p90_s),
            duration(o.resolution_time.mean_s),
            duration(o.resolution_time.p90_s)
        ),
        max,
        2,
    ));
    out.push_str(&wrap(
        &format!(
            "SLA: {} met, {} breached, {} pending; complaints within deadline {} ({} of {} with \
             a verdict, {} pending); satisfied {} (target {}); follow-ups {} scheduled, {} \
             completed, {} overdue, on time {}, {} cap violations",
            o.sla.met,
            o.sla.breached,
            o.sla.pending,
            // Read against its target as the table's column reads it.
            crate::figures::DEADLINE_RATE.format_in(o),
            // The rate's own denominator (within + overdue): pending
            // complaints have no verdict yet and are counted apart.
            o.complaints.within_deadline,
            o.complaints.within_deadline + o.complaints.overdue,
            o.complaints.pending,
            crate::figures::SATISFIED_SHARE.format_in(o),
            o.targets
                .get(caseledger::kpi::TargetFigure::SatisfiedShare)
                .map_or_else(
                    || "-".to_owned(),
                    |t| crate::figures::format_target(crate::figures::Unit::Rate, t.target)
                ),
            o.follow_up.scheduled,
            o.follow_up.completed,
            o.follow_up.overdue,
            percent(o.follow_up.on_time_rate),
            o.follow_up.cap_violations
        ),
        max,
        2,
    ));

    out.push_str("\nLegend:\n");
    let abbrev_width = shown
        .iter()
        .map(|(f, _, _)| f.abbrev.width())
        .max()
        .unwrap_or(0);
    for (figure, _, _) in &shown {
        out.push_str(&wrap(
            &format!(
                "{}  {}: {}",
                pad(figure.abbrev, abbrev_width, true),
                figure.label,
                figure.definition
            ),
            max,
            abbrev_width + 2,
        ));
    }
    let more = if shown.len() == TABLE_FIGURES.len() {
        "Every figure of the table is shown; --format csv gives every field, --format html a \
         page with charts. Definitions: docs/kpis.md."
            .to_owned()
    } else {
        format!(
            "Showing {} of {} figures: --wide shows them all, --format csv every field, \
             --format html a page with charts. Definitions: docs/kpis.md.",
            shown.len(),
            TABLE_FIGURES.len()
        )
    };
    out.push_str(&wrap(&more, max, 0));
    out
}

/// The table of a report grouped by responder: per agent, their contacts,
/// the cases assigned to them and replied to, the reply rate, and the time
/// to respond (docs/kpis.md, "Responders"), with its legend. Seven narrow
/// columns: the agent's column is cut to fit `max`.
fn responder_table(report: &Report, max: Option<usize>, out: &mut String) {
    const HEADINGS: [&str; 6] = [
        "contacts",
        "assigned",
        "replied",
        "reply%",
        "to respond",
        "respond p90",
    ];
    let rows: Vec<[String; 6]> = report
        .responders
        .iter()
        .map(|r| {
            [
                r.contacts.to_string(),
                r.cases_assigned.to_string(),
                r.cases_replied.to_string(),
                percent(r.reply_rate),
                duration(r.time_to_respond.median_s),
                duration(r.time_to_respond.p90_s),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..HEADINGS.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].width())
                .chain([HEADINGS[c].width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let figures_width: usize = widths.iter().map(|w| w + GAP).sum();
    // MAX_KEY_COLUMNS (24) is above 4: the clamp's bounds are in order.
    let key_room = max.map_or(usize::MAX, |m| {
        m.saturating_sub(figures_width).clamp(4, MAX_KEY_COLUMNS)
    });
    let key_width = report
        .responders
        .iter()
        .map(|r| shown_id(&r.key).width())
        .chain(["agent".width()])
        .max()
        .unwrap_or(0)
        .min(key_room);
    let line = |key: &str, cells: &[&str]| {
        let mut line = pad(&cut(key, key_width), key_width, true);
        for (cell, w) in cells.iter().zip(&widths) {
            line.push_str(&" ".repeat(GAP));
            line.push_str(&pad(cell, *w, false));
        }
        line.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line("agent", &HEADINGS));
    let _ = writeln!(out, "{}", "-".repeat(key_width + figures_width));
    for (r, cells) in report.responders.iter().zip(&rows) {
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&shown_id(&r.key), &cells));
    }
    out.push_str("\nLegend:\n");
    for text in [
        "contacts  their responded events on cohort cases",
        "assigned  cohort cases ever assigned to them",
        "replied   of those, the cases they responded to while assigned to them",
        "reply%    replied / assigned",
        "to respond, respond p90  median and 90th percentile of the time from each of their \
         assignments to their first response while it lasted",
        "Definitions: docs/kpis.md, \"Responders\".",
    ] {
        out.push_str(&wrap(text, max, 10));
    }
}
