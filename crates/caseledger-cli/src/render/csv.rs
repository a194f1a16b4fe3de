//! The `csv` format of a report: flattened figures, cells made safe
//! from spreadsheet formulas.

use std::fmt::Write;

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use caseledger::FollowUpPurpose;
use caseledger::complaint::Regime;
use caseledger::kpi::{GroupBy, PurposeKpis, RegimeKpis, Report, ResponderKpis, TOTAL_ROW_KEY};
use serde_json::{Map, Value};

/// Flattens a JSON object into `a_b_c` keys (sorted) and scalar cells.
/// A leaf of a flattened JSON value.
pub(super) enum Leaf {
    /// A JSON string: a name that came from input (an agent) or a word.
    Text(String),
    /// A JSON number or boolean as JSON writes it, or empty for `null`.
    Figure(String),
}

impl Leaf {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Leaf::Text(s) | Leaf::Figure(s) => s,
        }
    }
}

pub(super) fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Leaf)>) {
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
pub(crate) fn csv_text(s: &str) -> String {
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
pub(super) fn csv_cell(leaf: &Leaf) -> String {
    match leaf {
        Leaf::Text(s) => csv_text(s),
        Leaf::Figure(s) => s.clone(),
    }
}

/// The columns of a report's rows after the key columns, the same whatever
/// the data (docs/cli.md, "`--format csv`"): a program reading the CSV
/// finds a column in every report, also one of an empty cohort or of a
/// period without complaints. They are the fields of a template row
/// flattened, sorted: a responder row, or else the overall figures (their
/// `targets` keys are those of every row: the report's targets, not the
/// data) with the maps that hold only what was counted,
/// `complaints.by_regime` and `outreach.by_purpose`, holding every known
/// regime and purpose.
fn report_columns(report: &Report) -> Result<BTreeSet<String>> {
    let mut template = if report.group_by == Some(GroupBy::Responder) {
        serde_json::to_value(ResponderKpis::empty(String::new()))?
    } else {
        let mut kpis = serde_json::to_value(report.overall)?;
        let every = |names: &mut dyn Iterator<Item = &'static str>, fields: Value| {
            names
                .map(|name| (name.to_owned(), fields.clone()))
                .collect::<Map<String, Value>>()
        };
        let by_regime = every(
            &mut Regime::ALL.iter().map(|r| r.as_str()),
            serde_json::to_value(RegimeKpis::default())?,
        );
        let by_purpose = every(
            &mut FollowUpPurpose::ALL.iter().map(|p| p.as_str()),
            serde_json::to_value(PurposeKpis::default())?,
        );
        for (pointer, every) in [
            ("/complaints/by_regime", by_regime),
            ("/outreach/by_purpose", by_purpose),
        ] {
            *kpis
                .pointer_mut(pointer)
                .with_context(|| format!("the report's JSON has no `{pointer}`"))? =
                Value::Object(every);
        }
        kpis
    };
    if let Value::Object(m) = &mut template {
        m.remove("key");
    }
    let mut cells = Vec::new();
    flatten("", &template, &mut cells);
    Ok(cells.into_iter().map(|(k, _)| k).collect())
}

/// The `csv` format: a header, then one row per group (one row `all`
/// without a grouping). The first column is the group's `key`; with two
/// dimensions, two columns `key_DIM` (the JSON key object flattened, in
/// the dimensions' order). The other columns are [`report_columns`], the
/// same whatever the data; a row leaves empty a column it lacks (a
/// regime without complaints in the group). Text cells are guarded
/// against spreadsheet formulas ([`csv_text`]).
pub fn report_csv(report: &Report) -> Result<String> {
    let (key_names, rows): (Vec<String>, Vec<(Vec<String>, Value)>) =
        match (report.group_by, report.then_by) {
            (Some(GroupBy::Responder), _) => (
                vec!["key".to_owned()],
                report
                    .responders
                    .iter()
                    .map(|r| Ok((vec![r.key.clone()], serde_json::to_value(r)?)))
                    .collect::<Result<_>>()?,
            ),
            (Some(first), Some(second)) => (
                vec![format!("key_{first}"), format!("key_{second}")],
                report
                    .groups
                    .iter()
                    .map(|g| {
                        let keys = vec![g.key.clone(), g.then_key.clone().unwrap_or_default()];
                        Ok((keys, serde_json::to_value(g.kpis)?))
                    })
                    .collect::<Result<_>>()?,
            ),
            (Some(_), None) => (
                vec!["key".to_owned()],
                report
                    .groups
                    .iter()
                    .map(|g| Ok((vec![g.key.clone()], serde_json::to_value(g.kpis)?)))
                    .collect::<Result<_>>()?,
            ),
            (None, _) => (
                vec!["key".to_owned()],
                vec![(
                    vec![TOTAL_ROW_KEY.to_owned()],
                    serde_json::to_value(report.overall)?,
                )],
            ),
        };
    let columns = report_columns(report)?;
    let mut flat = Vec::with_capacity(rows.len());
    for (keys, mut value) in rows {
        if let Value::Object(m) = &mut value {
            m.remove("key");
        }
        let mut cells = Vec::new();
        flatten("", &value, &mut cells);
        // A field the template lacks would be dropped without a word.
        if let Some((column, _)) = cells.iter().find(|(k, _)| !columns.contains(k)) {
            bail!("the CSV has no column for the report's field `{column}`");
        }
        let cells: std::collections::HashMap<String, Leaf> = cells.into_iter().collect();
        flat.push((keys, cells));
    }
    let mut out = String::new();
    let names: Vec<String> = key_names
        .iter()
        .chain(&columns)
        .map(|k| csv_text(k))
        .collect();
    let _ = writeln!(out, "{}", names.join(","));
    for (keys, cells) in &flat {
        let values: Vec<String> = keys
            .iter()
            .map(|k| csv_text(k))
            .chain(
                columns
                    .iter()
                    .map(|c| cells.get(c).map(csv_cell).unwrap_or_default()),
            )
            .collect();
        let _ = writeln!(out, "{}", values.join(","));
    }
    Ok(out)
}
