//! The `csv` format of a report: flattened figures, cells made safe
//! from spreadsheet formulas.

use std::fmt::Write;

use anyhow::Result;
use caseledger::kpi::{Kpis, Report};
use serde_json::Value;

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
    // Groups may flatten to different columns (a map such as
    // `complaints.by_regime` is empty in a group without complaints), so
    // the header is the union of every row's columns, sorted, and a row
    // leaves a column it lacks empty: every row has the header's width.
    let mut flat = Vec::with_capacity(rows.len());
    let mut columns = std::collections::BTreeSet::new();
    for (key, kpis) in rows {
        let mut cells = Vec::new();
        flatten("", &serde_json::to_value(kpis)?, &mut cells);
        columns.extend(cells.iter().map(|(k, _)| k.clone()));
        let cells: std::collections::HashMap<String, Leaf> = cells.into_iter().collect();
        flat.push((key, cells));
    }
    let mut out = String::new();
    let names: Vec<String> = columns.iter().map(|k| csv_text(k)).collect();
    let _ = writeln!(out, "key,{}", names.join(","));
    for (key, cells) in &flat {
        let values: Vec<String> = columns
            .iter()
            .map(|c| cells.get(c).map(csv_cell).unwrap_or_default())
            .collect();
        let _ = writeln!(out, "{},{}", csv_text(key), values.join(","));
    }
    Ok(out)
}
