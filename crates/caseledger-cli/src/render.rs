//! Text renderings: report tables and CSV, case histories.

use std::fmt::Write;

use anyhow::Result;
use caseledger::kpi::{Kpis, Report};
use caseledger::{CaseId, CaseState, RecordedEvent, format_timestamp};
use caseledger_store::Head;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::figures::{self, Figure, duration, percent};

/// The figures of the terminal table, most important first: a narrow
/// table shows a prefix-by-importance of them (whatever fits), `--wide`
/// all of them.
const TABLE_FIGURES: [&Figure; 18] = [
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
/// may be 128 bytes) are cut with `…`, so that the figures still fit.
const MAX_KEY_COLUMNS: usize = 24;

/// Space between two columns.
const GAP: usize = 2;

/// `s` padded with spaces to `width` display cells (CJK characters take
/// two), on the right (`left_align`) or the left.
fn pad(s: &str, width: usize, left_align: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if left_align {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// `s` cut to at most `width` display cells, ending in `…` when cut.
fn cut(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` as lines of at most `width` display cells (when given), broken
/// at spaces; later lines indented by `indent` spaces. A word longer than a
/// line (a hash) is broken inside.
fn wrap(text: &str, width: Option<usize>, indent: usize) -> String {
    let Some(width) = width else {
        return format!("{text}\n");
    };
    let mut out = String::new();
    let mut line = String::new();
    let mut words: Vec<String> = text.split(' ').rev().map(str::to_owned).collect();
    while let Some(word) = words.pop() {
        let sep = usize::from(!line.trim_start().is_empty());
        if line.width() + sep + word.width() <= width {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(&word);
            continue;
        }
        if line.trim_start().is_empty() {
            // A word longer than a whole line: break it where it must.
            let room = width.saturating_sub(line.width()).max(1);
            let mut head = String::new();
            let mut rest = word.chars().peekable();
            while let Some(&c) = rest.peek() {
                if head.width() + c.width().unwrap_or(0) > room && !head.is_empty() {
                    break;
                }
                head.push(c);
                rest.next();
            }
            line.push_str(&head);
            let tail: String = rest.collect();
            if !tail.is_empty() {
                words.push(tail);
            }
        } else {
            words.push(word);
        }
        out.push_str(line.trim_end());
        out.push('\n');
        line = " ".repeat(indent);
    }
    if !line.trim().is_empty() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

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

    let mut keys: Vec<&str> = report.groups.iter().map(|g| g.key.as_str()).collect();
    keys.push("all");
    let mut sets: Vec<&Kpis> = report.groups.iter().map(|g| &g.kpis).collect();
    sets.push(&report.overall);
    let key_title = report.group_by.map_or("group", |g| g.as_str());
    let key_width = keys
        .iter()
        .map(|k| k.width())
        .chain([key_title.width()])
        .max()
        .unwrap_or(0)
        .min(MAX_KEY_COLUMNS);

    // Each figure's cells and width; then, most important first, those
    // that fit (a narrower one further down may fit where a wide one did
    // not), shown in order of importance.
    let mut used = key_width;
    let mut shown: Vec<(&Figure, Vec<String>, usize)> = Vec::new();
    for figure in TABLE_FIGURES {
        let cells: Vec<String> = sets
            .iter()
            .map(|k| figure.format(figure.value(k)))
            .collect();
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
            "SLA: {} met, {} breached, {} pending; complaints within deadline {} ({} of {}); \
             satisfied {} (target {}); follow-ups {} scheduled, {} completed, on time {}, {} \
             cap violations",
            o.sla.met,
            o.sla.breached,
            o.sla.pending,
            percent(o.complaints.deadline_rate),
            o.complaints.within_deadline,
            o.complaints.count,
            percent(o.csat.satisfied_rate),
            percent(Some(caseledger::kpi::CSAT_TARGET)),
            o.follow_up.scheduled,
            o.follow_up.completed,
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

/// Flattens a JSON object into `a_b_c` keys (sorted) and scalar cells.
/// A leaf of a flattened JSON value.
enum Leaf {
    /// A JSON string: a name that came from input (an agent) or a word.
    Text(String),
    /// A JSON number or boolean as JSON writes it, or empty for `null`.
    Figure(String),
}

impl Leaf {
    fn as_str(&self) -> &str {
        match self {
            Leaf::Text(s) | Leaf::Figure(s) => s,
        }
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Leaf)>) {
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
        Value::Null => out.push((prefix.to_owned(), Leaf::Figure(String::new()))),
        Value::String(s) => out.push((prefix.to_owned(), Leaf::Text(s.clone()))),
        other => out.push((prefix.to_owned(), Leaf::Figure(other.to_string()))),
    }
}

/// The first characters that make a spreadsheet read a cell as a formula
/// (OWASP, "CSV Injection"): `=`, `+`, `-`, `@`, tab, carriage return.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV cell of text (a group key such as an agent's name, a column
/// name): a leading `'` when the text starts like a formula, so that a
/// spreadsheet shows it instead of running it, then quoted (`"`, doubled
/// inside) when it holds a comma, a quote or a line break. Only for text:
/// a figure is written as JSON writes it (`-0.5` stays a number).
fn csv_text(s: &str) -> String {
    let guarded = if s.starts_with(FORMULA_STARTS) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A flattened leaf as a CSV cell: text through [`csv_text`], a figure as
/// it is (a JSON number or boolean never holds a separator or a quote).
fn csv_cell(leaf: &Leaf) -> String {
    match leaf {
        Leaf::Text(s) => csv_text(s),
        Leaf::Figure(s) => s.clone(),
    }
}

/// The `csv` format: a header, then one row per group (one row `all`
/// without a grouping). Columns are the KPI fields flattened, sorted. Text
/// cells are guarded against spreadsheet formulas ([`csv_text`]).
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
            let names: Vec<String> = cells.iter().map(|(k, _)| csv_text(k)).collect();
            let _ = writeln!(out, "key,{}", names.join(","));
            header_written = true;
        }
        let values: Vec<String> = cells.iter().map(|(_, v)| csv_cell(v)).collect();
        let _ = writeln!(out, "{},{}", csv_text(&key), values.join(","));
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

#[cfg(test)]
mod tests {
    use super::*;
    use caseledger::kpi::{GroupBy, GroupKpis, KpiAccumulator, ReportParams};

    /// A report by agent with the given keys (every group with the figures
    /// of an empty report, with a few counts set so that cells have width).
    fn report_with_keys(keys: &[&str]) -> Report {
        let mut report = KpiAccumulator::new(None).report(&ReportParams::default());
        report.group_by = Some(GroupBy::Agent);
        report.overall.cases_opened = 123_456;
        report.overall.fcr_rate = Some(0.5);
        report.overall.first_response.median_s = Some(7_500.0);
        report.groups = keys
            .iter()
            .map(|k| GroupKpis {
                key: (*k).to_owned(),
                kpis: report.overall,
            })
            .collect();
        report
    }

    fn head() -> Head {
        Head {
            position: 7,
            hash: [0xab; 32],
        }
    }

    #[test]
    fn no_line_is_wider_than_the_width() {
        let long = "agent-".repeat(20);
        let report = report_with_keys(&["agent-001", "王小明", &long]);
        for width in [10, 40, 60, 80, 100, 132] {
            let text = report_table(&report, &head(), false, TableWidth::Fit(width));
            let limit = width.max(MIN_TABLE_COLUMNS);
            for line in text.lines() {
                assert!(line.width() <= limit, "{width}: {line:?}");
            }
            assert!(text.contains("Legend:"), "{text}");
        }
    }

    #[test]
    fn the_narrow_table_says_how_to_see_the_rest_and_wide_shows_all() {
        let report = report_with_keys(&["agent-001"]);
        let narrow = report_table(&report, &head(), true, TableWidth::Fit(80));
        assert!(narrow.contains("--wide shows them all"), "{narrow}");
        let wide = report_table(&report, &head(), true, TableWidth::Wide);
        let header = wide
            .lines()
            .find(|l| l.starts_with("agent "))
            .unwrap_or_default();
        for f in TABLE_FIGURES {
            assert!(header.contains(f.abbrev), "{}: {header}", f.abbrev);
            // Every abbreviation shown has its line in the legend.
            assert!(
                wide.lines()
                    .any(|l| l.starts_with(&format!("{} ", f.abbrev)) && l.contains(f.label)),
                "{}",
                f.abbrev
            );
        }
        assert!(wide.contains("Every figure of the table is shown"));
    }

    #[test]
    fn wide_characters_line_up_by_display_width() {
        let report = report_with_keys(&["王小明", "agent-1"]);
        let text = report_table(&report, &head(), true, TableWidth::Fit(80));
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("王小明") || l.starts_with("agent-1"))
            .collect();
        assert_eq!(rows.len(), 2, "{text}");
        // The same display width, though not the same number of chars.
        assert_eq!(rows[0].width(), rows[1].width(), "{text}");
        assert_ne!(rows[0].chars().count(), rows[1].chars().count());
    }

    #[test]
    fn long_keys_are_cut_with_an_ellipsis() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("王小明", 4), "王…");
        assert_eq!(cut("abc", 3), "abc");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_inside_overlong_words() {
        assert_eq!(wrap("aa bb cc", Some(5), 1), "aa bb\n cc\n");
        assert_eq!(wrap("abcdefgh", Some(3), 0), "abc\ndef\ngh\n");
        assert_eq!(wrap("aa bb", None, 0), "aa bb\n");
    }

    #[test]
    fn text_starting_like_a_formula_gets_a_leading_quote() {
        assert_eq!(csv_text("=1+2"), "'=1+2");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("-1"), "'-1");
        assert_eq!(csv_text("@SUM(1)"), "'@SUM(1)");
        assert_eq!(csv_text("\tx"), "'\tx");
        // A carriage return also needs quoting: both apply.
        assert_eq!(csv_text("\rx"), "\"'\rx\"");
        // Quoting comes after the guard, with quotes doubled.
        assert_eq!(
            csv_text("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
    }

    #[test]
    fn ordinary_text_is_unchanged_or_only_quoted() {
        assert_eq!(csv_text("agent-17"), "agent-17");
        assert_eq!(csv_text("a=b"), "a=b");
        assert_eq!(csv_text("2026-03"), "2026-03");
        assert_eq!(csv_text(""), "");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn figures_stay_numbers_even_when_negative() {
        assert_eq!(csv_cell(&Leaf::Figure("-0.5".into())), "-0.5");
        assert_eq!(csv_cell(&Leaf::Figure("-3".into())), "-3");
        assert_eq!(csv_cell(&Leaf::Figure(String::new())), "");
        assert_eq!(csv_cell(&Leaf::Text("-3".into())), "'-3");
    }

    #[test]
    fn flatten_tells_text_from_figures() {
        let v = serde_json::json!({"a": {"b": -1.5, "c": null}, "d": "-x", "e": true});
        let mut cells = Vec::new();
        flatten("", &v, &mut cells);
        let csv: Vec<(String, String)> = cells
            .iter()
            .map(|(k, leaf)| (k.clone(), csv_cell(leaf)))
            .collect();
        let expected = [("a_b", "-1.5"), ("a_c", ""), ("d", "'-x"), ("e", "true")];
        assert_eq!(
            csv,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
    }
}
