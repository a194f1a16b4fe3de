//! The DuckDB baseline: the same events exported, run through each DuckDB
//! script, its figures checked equal to `caseledger report`'s, and timed
//! alternately with `report`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use caseledger_synth::Customers;

use super::args::BenchArgs;
use super::measure::{Row, cold, median, ratio};
use super::stores::Shape;

/// Why `python` cannot run the DuckDB baselines, if it cannot.
pub(super) fn duckdb_missing(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args(["-c", "import duckdb; print(duckdb.__version__)"])
        .output();
    match out {
        Ok(out) if out.status.success() => None,
        Ok(_) => Some(format!("{} has no duckdb module", python.display())),
        Err(e) => Some(format!("cannot run {}: {e}", python.display())),
    }
}

/// The DuckDB baseline on `shape`'s events: every script of
/// `args.duckdb_scripts` that exists is run over the same export, its
/// overall figures checked against `caseledger report`'s (a difference is an
/// error), and timed; the row is the fastest. `report` with 2 threads (cold)
/// is timed in the same rounds, alternating with the scripts, so that both
/// see the same load on a shared machine and the ratio compares.
pub(super) fn duckdb_row(
    args: &BenchArgs,
    exe: &Path,
    shape: &Shape,
    notes: &mut Vec<String>,
) -> Result<Option<Row>> {
    let mut scripts = Vec::new();
    for script in &args.duckdb_scripts {
        if script.exists() {
            scripts.push(script);
            continue;
        }
        let msg = format!(
            "DuckDB script {} not found (paths are relative to the current directory); skipped",
            script.display()
        );
        eprintln!("bench: {msg}");
        if !notes.contains(&msg) {
            notes.push(msg);
        }
    }
    if scripts.is_empty() {
        return Ok(None);
    }
    let export = export_of(args, exe, shape)?;
    let report = report_json(exe, &shape.dir)?;
    let mut ours = Vec::new();
    let mut theirs: Vec<Vec<Duration>> = vec![Vec::new(); scripts.len()];
    let report_args = ["report", "--format", "json", "--threads", "2"];
    for round in 0..args.runs.min(5) {
        ours.push(cold(exe, &shape.dir, &report_args)?.0);
        for (script, times) in scripts.iter().zip(&mut theirs) {
            let (figures, seconds) = run_duckdb(&args.python, script, &export)?;
            if round == 0 {
                let checked =
                    same_figures(&figures, &report["overall"], "overall").with_context(|| {
                        format!(
                            "DuckDB script {} disagrees with caseledger report on the {} store \
                             {}: the baseline would not compute the same figures",
                            script.display(),
                            shape.customers.as_str(),
                            shape.dir.display()
                        )
                    })?;
                eprintln!(
                    "bench: {}: {checked} overall figures equal the report's",
                    script.display()
                );
            }
            times.push(seconds);
        }
    }
    let timed: Vec<(String, Duration)> = scripts
        .iter()
        .zip(theirs)
        .map(|(s, times)| (s.display().to_string(), median(times)))
        .collect();
    let Some((_, best)) = timed.iter().min_by_key(|(_, d)| *d) else {
        return Ok(None);
    };
    let ours = median(ours);
    let each = timed
        .iter()
        .map(|(s, d)| format!("{s} {:.2} s", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(Row {
        what: format!(
            "baseline: DuckDB full KPI set, {} customers, 2 threads",
            shape.customers.as_str()
        ),
        median: *best,
        units: shape.events,
        unit: "events",
        bytes: None,
        note: format!(
            "faster of: {each}; same overall figures; report (2 threads, cold), timed \
             alternately: {:.3} s, {:.1}x faster",
            ours.as_secs_f64(),
            ratio(*best, ours)
        ),
    }))
}

/// The store's export as JSON Lines, written again on every run (a file
/// left by an interrupted run must not pass for the store's events).
fn export_of(args: &BenchArgs, exe: &Path, shape: &Shape) -> Result<PathBuf> {
    let name = match shape.customers {
        Customers::Uniform => format!("export-{}.jsonl", args.events()),
        Customers::LongTail => format!("export-long-tail-{}.jsonl", args.events()),
    };
    let path = args.dir.join(name);
    let status = Command::new(exe)
        .arg("--store")
        .arg(&shape.dir)
        .arg("export")
        .stdout(std::fs::File::create(&path)?)
        .status()?;
    if !status.success() {
        bail!("export of {} failed", shape.dir.display());
    }
    Ok(path)
}

/// `report --format json` over `store` (2 threads), parsed.
fn report_json(exe: &Path, store: &Path) -> Result<serde_json::Value> {
    let out = Command::new(exe)
        .arg("--store")
        .arg(store)
        .args(["report", "--format", "json", "--threads", "2"])
        .output()?;
    if !out.status.success() {
        bail!(
            "report failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Runs a DuckDB baseline script over `export` with 2 threads: its overall
/// figures and its own time (load and query, without Python's start).
fn run_duckdb(
    python: &Path,
    script: &Path,
    export: &Path,
) -> Result<(serde_json::Value, Duration)> {
    let out = Command::new(python)
        .arg(script)
        .arg(export)
        .args(["--threads", "2", "--time"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{} failed: {}", script.display(), stderr.trim());
    }
    let seconds: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("duckdb_seconds "))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("{} printed no duckdb_seconds line", script.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{} printed no JSON", script.display()))?;
    Ok((v["overall"].clone(), Duration::from_secs_f64(seconds)))
}

/// Checks that every figure of `theirs` (a subset of the report's keys)
/// equals `ours` at the same place: integers exactly, other numbers to 9
/// significant digits (DuckDB sums and divides in its own order), nulls
/// and booleans exactly. Returns how many figures were compared.
fn same_figures(theirs: &serde_json::Value, ours: &serde_json::Value, at: &str) -> Result<usize> {
    use serde_json::Value;
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            let mut n = 0;
            for (key, value) in t {
                let path = format!("{at}.{key}");
                let Some(mine) = o.get(key) else {
                    bail!("{path}: the report has no such figure");
                };
                n += same_figures(value, mine, &path)?;
            }
            Ok(n)
        }
        (Value::Number(t), Value::Number(o)) => {
            let equal = match (t.as_i64(), o.as_i64()) {
                (Some(a), Some(b)) => a == b,
                _ => {
                    let (a, b) = (
                        t.as_f64().unwrap_or(f64::NAN),
                        o.as_f64().unwrap_or(f64::NAN),
                    );
                    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
                }
            };
            if !equal {
                bail!("{at}: DuckDB {t}, report {o}");
            }
            Ok(1)
        }
        (t, o) if t == o => Ok(1),
        (t, o) => bail!("{at}: DuckDB {t}, report {o}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
    use super::*;
    use serde_json::json;

    #[test]
    fn duckdb_figures_must_equal_the_reports() {
        let ours = json!({"cases_opened": 10, "repeat_rate": 0.1, "sla": {"met": 3, "met_rate": null},
                          "first_response": {"median_s": 1800.5}});
        // A subset, floats to 9 significant digits.
        let theirs = json!({"cases_opened": 10, "sla": {"met": 3, "met_rate": null},
                            "first_response": {"median_s": 1_800.499_999_999_9}});
        assert_eq!(same_figures(&theirs, &ours, "overall").unwrap(), 4);
        for (bad, names) in [
            (
                json!({"cases_opened": 11}),
                "overall.cases_opened: DuckDB 11, report 10",
            ),
            (json!({"repeat_rate": 0.100_001}), "overall.repeat_rate"),
            (
                json!({"sla": {"met": 3, "met_rate": 0.5}}),
                "overall.sla.met_rate",
            ),
            (
                json!({"sla": {"pending": 0}}),
                "overall.sla.pending: the report has no",
            ),
        ] {
            let err = same_figures(&bad, &ours, "overall")
                .unwrap_err()
                .to_string();
            assert!(err.contains(names), "{err}");
        }
    }

    #[test]
    fn a_python_without_duckdb_is_named() {
        let why = duckdb_missing(Path::new("/nonexistent/python3")).unwrap();
        assert!(why.contains("cannot run /nonexistent/python3"), "{why}");
    }
}
