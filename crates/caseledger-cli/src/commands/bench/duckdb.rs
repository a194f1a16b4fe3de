//! The DuckDB baseline: the same events exported, run through each DuckDB
//! script, its figures checked equal to `caseledger report`'s, and timed
//! alternately with `report`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::args::BenchArgs;
use super::measure::{Row, children_cpu, cold, median, ratio};
use super::stores::{Shape, export, export_path};

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

/// A definition of the report that changed after DuckDB scripts were
/// written against the old one: a script that does not declare it (in its
/// JSON's `definitions` object, `"key": "value"`) computes other figures
/// under the same names, which are then not compared.
struct Definition {
    /// The declaration's key and value in the script's `definitions`.
    key: &'static str,
    value: &'static str,
    /// The report's figures it defines (paths from `overall`).
    figures: &'static [&'static str],
    /// What changed, for the note.
    change: &'static str,
}

/// The definitions a script must declare to have these figures compared
/// (docs/performance.md, the scripts' protocol).
const DEFINITIONS: [Definition; 3] = [
    Definition {
        key: "complaint_deadlines",
        value: "regime",
        figures: &[
            "overall.complaints.within_deadline",
            "overall.complaints.overdue",
            "overall.complaints.pending",
            "overall.complaints.deadline_rate",
            "overall.complaints.by_regime",
        ],
        change: "since issue 18 each complaint counts against its regime's deadline \
                 (docs/kpis.md, \"Complaint deadlines\"), not a flat 15 days",
    },
    Definition {
        key: "fcr_rate",
        value: "not_resolved_follow_up",
        figures: &["overall.fcr_rate"],
        change: "since issue 19 a case whose follow-up was completed `not_resolved` is \
                 no first contact resolution (docs/kpis.md, `fcr_rate`)",
    },
    Definition {
        key: "follow_up_on_time_rate",
        value: "overdue_counted",
        figures: &["overall.follow_up.on_time_rate"],
        change: "since report schema 4 a follow-up never completed and past due counts \
                 against the on-time rate (docs/kpis.md, \"Follow-up\")",
    },
];

/// One script's output: its overall figures, its own time, and the CPU
/// time (user + system) of its whole process.
struct ScriptRun {
    overall: serde_json::Value,
    /// The script's `definitions` object (null when it has none).
    definitions: serde_json::Value,
    seconds: Duration,
    cpu: Duration,
}

/// The DuckDB baseline on `shape`'s events: every script of
/// `args.duckdb_scripts` that exists is run over the same export, its
/// overall figures checked against `caseledger report`'s (a difference is an
/// error; the complaint-deadline figures are skipped, with a note, for a
/// script that does not declare the regime rule), and timed; the row is the
/// fastest. `report` with 2 threads (cold) is timed in the same rounds,
/// alternating with the scripts, so that both see the same load on a shared
/// machine and the ratio compares; so is the CPU time of each side.
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
    let mut ours_cpu = Vec::new();
    let mut theirs: Vec<(Vec<Duration>, Vec<Duration>)> = vec![Default::default(); scripts.len()];
    let report_args = ["report", "--format", "json", "--threads", "2"];
    for round in 0..args.runs.min(5) {
        let cpu = children_cpu();
        ours.push(cold(exe, &shape.dir, &report_args)?.0);
        ours_cpu.push(children_cpu().saturating_sub(cpu));
        for (script, (times, cpus)) in scripts.iter().zip(&mut theirs) {
            let run = run_duckdb(&args.python, script, &export)?;
            if round == 0 {
                check_script(script, &run, &report, shape, notes)?;
            }
            times.push(run.seconds);
            cpus.push(run.cpu);
        }
    }
    let timed: Vec<(String, Duration, Duration)> = scripts
        .iter()
        .zip(theirs)
        .map(|(s, (times, cpus))| (s.display().to_string(), median(times), median(cpus)))
        .collect();
    let Some((_, best, best_cpu)) = timed.iter().min_by_key(|(_, d, _)| *d) else {
        return Ok(None);
    };
    let ours = median(ours);
    let ours_cpu = median(ours_cpu);
    let each = timed
        .iter()
        .map(|(s, d, cpu)| {
            format!(
                "{s} {:.2} s (process CPU {:.2} s)",
                d.as_secs_f64(),
                cpu.as_secs_f64()
            )
        })
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
            "faster of: {each}; every overall figure compared is equal (skips are in the notes); report (2 threads, cold), timed \
             alternately: {:.3} s, {:.1}x faster; CPU {:.3} s, {:.1}x less",
            ours.as_secs_f64(),
            ratio(*best, ours),
            ours_cpu.as_secs_f64(),
            ratio(*best_cpu, ours_cpu)
        ),
    }))
}

/// Checks one script's overall figures against the report's: an error
/// naming the first that differs. The figures of a [`Definition`] the
/// script does not declare are skipped, and a note names them and says
/// why.
fn check_script(
    script: &Path,
    run: &ScriptRun,
    report: &serde_json::Value,
    shape: &Shape,
    notes: &mut Vec<String>,
) -> Result<()> {
    let undeclared: Vec<&Definition> = DEFINITIONS
        .iter()
        .filter(|d| run.definitions[d.key] != d.value)
        .collect();
    let skip: Vec<&str> = undeclared
        .iter()
        .flat_map(|d| d.figures.iter().copied())
        .collect();
    let mut skipped = Vec::new();
    let checked = same_figures(
        &run.overall,
        &report["overall"],
        "overall",
        &skip,
        &mut skipped,
    )
    .with_context(|| {
        format!(
            "DuckDB script {} disagrees with caseledger report on the {} store {}: the \
             baseline would not compute the same figures",
            script.display(),
            shape.customers.as_str(),
            shape.dir.display()
        )
    })?;
    eprintln!(
        "bench: {} ({} store): {checked} overall figures equal the report's",
        script.display(),
        shape.customers.as_str()
    );
    for d in undeclared {
        let names: Vec<&str> = skipped
            .iter()
            .filter(|s| d.figures.contains(&format!("overall.{s}").as_str()))
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            continue;
        }
        let msg = format!(
            "DuckDB script {}: {} not compared: {}, and the script does not declare \
             \"definitions\": {{\"{}\": \"{}\"}}, so it computes the old definition \
             under the same names. Every other figure it prints is compared.",
            script.display(),
            names.join(", "),
            d.change,
            d.key,
            d.value
        );
        eprintln!("bench: {msg}");
        if !notes.contains(&msg) {
            notes.push(msg);
        }
    }
    Ok(())
}

/// The store's export as JSON Lines, written again on every run (a file
/// left by an interrupted run must not pass for the store's events).
fn export_of(args: &BenchArgs, exe: &Path, shape: &Shape) -> Result<PathBuf> {
    let path = export_path(args, shape.customers);
    export(exe, &shape.dir, &path)?;
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
/// figures, the definitions it declares, its own time (load
/// and query, without Python's start) and its process's CPU time (with
/// Python's start and DuckDB's import).
fn run_duckdb(python: &Path, script: &Path, export: &Path) -> Result<ScriptRun> {
    let cpu = children_cpu();
    let out = Command::new(python)
        .arg(script)
        .arg(export)
        .args(["--threads", "2", "--time"])
        .output()?;
    let cpu = children_cpu().saturating_sub(cpu);
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
    let mut overall = v["overall"].clone();
    read_old_names(&mut overall);
    Ok(ScriptRun {
        overall,
        definitions: v["definitions"].clone(),
        seconds: Duration::from_secs_f64(seconds),
        cpu,
    })
}

/// The report keys that issue 23 renamed (report schema 3), as (the
/// object's path in `overall`, the old key, the new key). A script written
/// against schema 2, as `../shared/baselines/duckdb_kpis.py` is, prints
/// the old names; its figures are the same ones, so they are read under
/// the new names rather than refused as figures the report lacks.
const RENAMED_KEYS: [(&[&str], &str, &str); 6] = [
    (&["csat"], "mean", "mean_score"),
    (&["csat"], "satisfied_rate", "satisfied_share"),
    (&["csat", "speed"], "mean", "mean_score"),
    (&["csat", "problem_solving"], "mean", "mean_score"),
    (&["csat", "attitude"], "mean", "mean_score"),
    (&["sla"], "rate", "met_rate"),
];

/// Renames a script's schema-2 keys in `overall` to today's
/// ([`RENAMED_KEYS`]); a key already under its new name is left alone.
fn read_old_names(overall: &mut serde_json::Value) {
    for (path, old, new) in RENAMED_KEYS {
        let object = path
            .iter()
            .try_fold(&mut *overall, |at, key| at.get_mut(*key))
            .and_then(serde_json::Value::as_object_mut);
        if let Some(object) = object
            && !object.contains_key(new)
            && let Some(value) = object.remove(old)
        {
            object.insert(new.to_string(), value);
        }
    }
}

/// Checks that every figure of `theirs` (a subset of the report's keys)
/// equals `ours` at the same place: integers exactly, other numbers to 9
/// significant digits (DuckDB sums and divides in its own order), nulls
/// and booleans exactly. A figure whose path is in `skip` is not compared
/// and its path is pushed to `skipped`. Returns how many figures were
/// compared.
fn same_figures(
    theirs: &serde_json::Value,
    ours: &serde_json::Value,
    at: &str,
    skip: &[&str],
    skipped: &mut Vec<String>,
) -> Result<usize> {
    use serde_json::Value;
    if skip.contains(&at) {
        skipped.push(at.strip_prefix("overall.").unwrap_or(at).to_string());
        return Ok(0);
    }
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            let mut n = 0;
            for (key, value) in t {
                let path = format!("{at}.{key}");
                let Some(mine) = o.get(key) else {
                    bail!("{path}: the report has no such figure");
                };
                n += same_figures(value, mine, &path, skip, skipped)?;
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
    fn a_schema_2_script_is_read_under_todays_names() {
        let mut theirs = json!({"sla": {"met": 3, "rate": 0.5},
                                "csat": {"mean": 4.2, "satisfied_rate": 0.8, "responses": 7}});
        read_old_names(&mut theirs);
        assert_eq!(
            theirs,
            json!({"sla": {"met": 3, "met_rate": 0.5},
                   "csat": {"mean_score": 4.2, "satisfied_share": 0.8, "responses": 7}})
        );
        // Today's names stay; a script that prints both keeps the new one.
        let mut both = json!({"sla": {"rate": 0.1, "met_rate": 0.5}});
        read_old_names(&mut both);
        assert_eq!(both, json!({"sla": {"rate": 0.1, "met_rate": 0.5}}));
    }

    #[test]
    fn duckdb_figures_must_equal_the_reports() {
        let ours = json!({"cases_opened": 10, "repeat_rate": 0.1, "sla": {"met": 3, "met_rate": null},
                          "first_response": {"median_s": 1800.5}});
        // A subset, floats to 9 significant digits.
        let theirs = json!({"cases_opened": 10, "sla": {"met": 3, "met_rate": null},
                            "first_response": {"median_s": 1_800.499_999_999_9}});
        let mut skipped = Vec::new();
        assert_eq!(
            same_figures(&theirs, &ours, "overall", &[], &mut skipped).unwrap(),
            4
        );
        assert!(skipped.is_empty());
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
            let err = same_figures(&bad, &ours, "overall", &[], &mut Vec::new())
                .unwrap_err()
                .to_string();
            assert!(err.contains(names), "{err}");
        }
    }

    #[test]
    fn deadline_figures_are_skipped_only_when_asked_and_named() {
        let ours = json!({"complaints": {"count": 5, "overdue": 2, "within_deadline": 3,
                                         "deadline_rate": 0.6}});
        // A flat-deadline script: other figures under the same names.
        let flat = json!({"complaints": {"count": 5, "overdue": 1, "within_deadline": 4,
                                         "deadline_rate": 0.8}});
        let mut skipped = Vec::new();
        let deadlines = DEFINITIONS[0].figures;
        let n = same_figures(&flat, &ours, "overall", deadlines, &mut skipped).unwrap();
        assert_eq!(n, 1, "only complaints.count is compared");
        assert_eq!(
            skipped,
            [
                "complaints.deadline_rate",
                "complaints.overdue",
                "complaints.within_deadline"
            ]
        );
        // Skipping does not hide the figures that keep their definition.
        let wrong_count = json!({"complaints": {"count": 6, "overdue": 1}});
        let err = same_figures(&wrong_count, &ours, "overall", deadlines, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("overall.complaints.count: DuckDB 6"), "{err}");
        // Without the skip list, the flat figures are a disagreement.
        let err = same_figures(&flat, &ours, "overall", &[], &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("overall.complaints"), "{err}");
    }

    #[test]
    fn a_python_without_duckdb_is_named() {
        let why = duckdb_missing(Path::new("/nonexistent/python3")).unwrap();
        assert!(why.contains("cannot run /nonexistent/python3"), "{why}");
    }
}
