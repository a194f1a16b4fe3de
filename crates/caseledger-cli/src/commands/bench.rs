//! `bench`: the performance harness of docs/performance.md.
//!
//! Every figure is a median over several runs, printed beside a baseline
//! measured in the same session (raw fdatasync, raw read plus CRC-32C, a
//! plain serde_json fold, DuckDB over the same events), because these
//! machines are noisy and only ratios within one run compare. The report is
//! measured on two stores of the same size that differ only in how cases
//! spread over customers (uniform, long tail).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use caseledger::{Event, EventLog, ExpectedVersion};
use caseledger_store::{LogReader, Store, StoreOptions, verify};
use caseledger_synth::{Customers, Synth, SynthConfig};
use serde::Deserialize;

use super::generate::generate;
use super::output::write_stdout;
use crate::exit::PEAK_MEMORY_ENV;

/// Events per synthetic case, on average, for each customer shape
/// (measured on the generator: fewer follow-ups fit the cap of a busy
/// customer, so long-tailed histories have fewer events per case).
fn events_per_case(customers: Customers) -> f64 {
    match customers {
        Customers::Uniform => 7.2,
        Customers::LongTail => 6.85,
    }
}

/// What to tell someone whose Python has no `duckdb` module.
const INSTALL_DUCKDB: &str = "python3 -m venv /tmp/venv && /tmp/venv/bin/pip install duckdb, \
                              then pass --python /tmp/venv/bin/python";

/// The flags of `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Where to build the benchmark stores (reused across runs). Use a
    /// directory on the disk you want to measure, not a tmpfs.
    #[arg(long, value_name = "DIR", default_value = "caseledger-bench")]
    dir: PathBuf,
    /// Size of the replay store, in events (about; whole cases).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    events: u64,
    /// Runs per figure; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    runs: u32,
    /// Run only these parts (comma-separated: report, duckdb, verify, open,
    /// import, append); all by default.
    #[arg(long, value_delimiter = ',', value_parser = ["report", "duckdb", "verify", "open", "import", "append"])]
    only: Vec<String>,
    /// The Python that runs the DuckDB baselines. It needs the `duckdb`
    /// module, which bench does not install: python3 -m venv /tmp/venv &&
    /// /tmp/venv/bin/pip install duckdb, then --python /tmp/venv/bin/python.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,
    /// A DuckDB baseline script (its protocol is in docs/performance.md);
    /// repeat the flag for several. Each must first give the report's
    /// overall figures; the fastest is the baseline. A missing file is
    /// skipped with a message.
    #[arg(long = "duckdb-script", value_name = "FILE",
          default_values = ["scripts/baselines/duckdb_kpis.py", "../shared/baselines/duckdb_kpis.py"])]
    duckdb_scripts: Vec<PathBuf>,
    /// Durable appends per thread in the append benchmarks.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    appends: u64,
}

/// One printed figure.
struct Row {
    what: String,
    median: Duration,
    units: u64,
    unit: &'static str,
    bytes: Option<u64>,
    note: String,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn per_second(units: u64, d: Duration) -> f64 {
    units as f64 / d.as_secs_f64().max(1e-9)
}

/// Runs `bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut rows = Vec::new();
    // Said after the table: what was skipped and why.
    let mut notes: Vec<String> = Vec::new();
    eprintln!(
        "bench: {} runs per figure, in {}",
        args.runs,
        args.dir.display()
    );
    let wants = |part: &str| args.only.is_empty() || args.only.iter().any(|o| o == part);

    // The replay stores, built once and reused: their bytes depend only on
    // the seed, so every session measures the same logs. The uniform one
    // serves every other figure too.
    let mut shapes = Vec::new();
    for customers in Customers::ALL {
        let shape = replay_store(args, customers, &mut rows)?;
        shapes.push(shape);
    }
    let [uniform, _] = &shapes[..] else {
        bail!("bench: expected a store per customer shape");
    };
    let store_dir = uniform.dir.clone();
    let reader = LogReader::open(&store_dir)?;
    let events = reader.head().position;
    let bytes = reader.bytes()?;

    // Baseline: read every segment byte and CRC it, in this process.
    let raw = repeat(args.runs, || read_and_crc(&store_dir))?;
    rows.push(Row {
        what: "baseline: read segments + CRC-32C (1 thread)".into(),
        median: raw,
        units: events,
        unit: "events",
        bytes: Some(bytes),
        note: String::new(),
    });

    // report, cold process, 1 and 2 threads, on both shapes; peak memory
    // from the child. Medians kept for the ratios: (shape, threads) ->
    // seconds per million events.
    let exe = std::env::current_exe().context("cannot find this program")?;
    let mut per_event: Vec<((Customers, &str), f64)> = Vec::new();
    for shape in shapes.iter().filter(|_| wants("report")) {
        for threads in ["1", "2"] {
            let mut peak_kib = 0;
            let d = repeat(args.runs, || {
                let (d, peak) = cold(
                    &exe,
                    &shape.dir,
                    &["report", "--format", "json", "--threads", threads],
                )?;
                peak_kib = peak_kib.max(peak);
                Ok(d)
            })?;
            let us_per_event = d.as_secs_f64() * 1e6 / shape.events.max(1) as f64;
            let mut note = format!(
                "peak RSS {} MiB ({} B/case); {:.1}x baseline time",
                peak_kib / 1024,
                peak_kib * 1024 / shape.cases.max(1),
                ratio(d, raw)
            );
            if threads == "2"
                && let Some((_, one)) = per_event.iter().find(|(k, _)| *k == (shape.customers, "1"))
            {
                note.push_str(&format!("; 2 threads / 1: {:.2}x", us_per_event / one));
            }
            if let (Customers::LongTail, Some((_, u))) = (
                shape.customers,
                per_event
                    .iter()
                    .find(|(k, _)| *k == (Customers::Uniform, threads)),
            ) {
                note.push_str(&format!(
                    "; long-tail / uniform (per event): {:.2}x",
                    us_per_event / u
                ));
            }
            per_event.push(((shape.customers, threads), us_per_event));
            rows.push(Row {
                what: format!(
                    "report, full KPI set, {} customers, cold, {threads} thread(s)",
                    shape.customers.as_str()
                ),
                median: d,
                units: shape.events,
                unit: "events",
                bytes: Some(shape.bytes),
                note,
            });
        }
    }

    // DuckDB over the same events (exported), same session: the faster of
    // the scripts, once its overall figures are checked equal to ours.
    if wants("duckdb") {
        match duckdb_missing(&args.python) {
            Some(why) => {
                let msg = format!(
                    "DuckDB baseline skipped: {why}. bench installs nothing; to measure it: \
                     {INSTALL_DUCKDB}"
                );
                eprintln!("bench: {msg}");
                notes.push(msg);
            }
            None => {
                for shape in &shapes {
                    if let Some(row) = duckdb_row(args, &exe, shape, &mut notes)? {
                        rows.push(row);
                    }
                }
            }
        }
    }

    // verify: in process (checksums, chain), and the command (plus rules).
    if wants("verify") {
        let d = repeat(args.runs, || {
            let t = Instant::now();
            verify(&store_dir, |_| {})?;
            Ok(t.elapsed())
        })?;
        rows.push(Row {
            what: "verify: checksums + SHA-256 chain (library)".into(),
            median: d,
            units: events,
            unit: "events",
            bytes: Some(bytes),
            note: format!("{:.1}x baseline time", ratio(d, raw)),
        });
        let d = repeat(args.runs, || {
            cold(&exe, &store_dir, &["verify"]).map(|r| r.0)
        })?;
        rows.push(Row {
            what: "caseledger verify (+ case rules), cold process".into(),
            median: d,
            units: events,
            unit: "events",
            bytes: Some(bytes),
            note: String::new(),
        });
    }

    // Opening: the index-building opens and the index-free reader.
    for (what, open) in [
        ("open read-only (index rebuilt from the log)", 0),
        ("open for writing (recovery scan + index)", 1),
        ("open LogReader (no index)", 2),
    ]
    .into_iter()
    .filter(|_| wants("open"))
    {
        let d = repeat(args.runs, || {
            let t = Instant::now();
            match open {
                0 => drop(Store::open_read_only(&store_dir)?),
                1 => drop(Store::open(&store_dir, StoreOptions::default())?),
                _ => drop(LogReader::open(&store_dir)?),
            }
            Ok(t.elapsed())
        })?;
        rows.push(Row {
            what: what.into(),
            median: d,
            units: events,
            unit: "events",
            bytes: Some(bytes),
            note: String::new(),
        });
    }

    // Export, then the plain serde_json baseline over the export, then the
    // bulk import of the export into a fresh store (cold process).
    if wants("import") {
        let export_path = args.dir.join(format!("export-{}.jsonl", args.events));
        let t = Instant::now();
        let status = Command::new(&exe)
            .arg("--store")
            .arg(&store_dir)
            .arg("export")
            .stdout(std::fs::File::create(&export_path)?)
            .status()?;
        if !status.success() {
            bail!("export failed");
        }
        let json_bytes = std::fs::metadata(&export_path)?.len();
        rows.push(Row {
            what: "export to JSON Lines, cold process".into(),
            median: t.elapsed(),
            units: events,
            unit: "events",
            bytes: Some(json_bytes),
            note: "single run".into(),
        });
        let d = repeat(args.runs, || json_fold(&export_path).map(|r| r.0))?;
        rows.push(Row {
            what: "baseline: serde_json borrowed parse + simple fold (1 thread)".into(),
            median: d,
            units: events,
            unit: "events",
            bytes: Some(json_bytes),
            note: "over the export".into(),
        });
        let import_dir = args.dir.join("import");
        let mut import_runs = Vec::new();
        for _ in 0..args.runs.min(3) {
            remove_dir(&import_dir)?;
            let t = Instant::now();
            let status = Command::new(&exe)
                .arg("--store")
                .arg(&import_dir)
                .arg("import")
                .arg(&export_path)
                .stdout(std::process::Stdio::null())
                .status()?;
            if !status.success() {
                bail!("import failed");
            }
            import_runs.push(t.elapsed());
        }
        rows.push(Row {
            what: "import JSON Lines (validate + one batch, one fsync), cold process".into(),
            median: median(import_runs),
            units: events,
            unit: "events",
            bytes: Some(json_bytes),
            note: format!("median of {}", args.runs.min(3)),
        });
        remove_dir(&import_dir)?;

        // The store alone: the same events, already in memory, appended in one
        // batch (no JSON, no rules), durable at the commit.
        let all: Vec<Event> = reader
            .read(1, caseledger_store::Until::End)
            .map(|e| e.map(|r| r.event))
            .collect::<Result<_, _>>()?;
        let bulk_dir = args.dir.join("bulk");
        let d = repeat(args.runs.min(3), || {
            remove_dir(&bulk_dir)?;
            let store = Store::open(&bulk_dir, StoreOptions::default())?;
            let t = Instant::now();
            let mut batch = store.batch()?;
            for e in &all {
                let expected = ExpectedVersion::Exact(batch.stream_version(e.case_id));
                batch.append(e.case_id, expected, std::slice::from_ref(e))?;
            }
            batch.commit()?;
            Ok(t.elapsed())
        })?;
        drop(all);
        remove_dir(&bulk_dir)?;
        rows.push(Row {
            what: "bulk append of in-memory events, one batch (library)".into(),
            median: d,
            units: events,
            unit: "events",
            bytes: Some(bytes),
            note: String::new(),
        });
    }

    // Durable appends against the raw fdatasync rate on the same disk.
    if wants("append") {
        let sync = repeat(args.runs, || raw_fdatasync(&args.dir, args.appends))?;
        let sync_rate = per_second(args.appends, sync);
        rows.push(Row {
            what: "baseline: write 128 B + fdatasync".into(),
            median: sync,
            units: args.appends,
            unit: "syncs",
            bytes: None,
            note: String::new(),
        });
        for threads in [1u64, 8, 64] {
            let d = repeat(args.runs, || appends(&args.dir, threads, args.appends))?;
            let total = threads * args.appends;
            rows.push(Row {
                what: format!("durable append, 1 event per append, {threads} thread(s)"),
                median: d,
                units: total,
                unit: "appends",
                bytes: None,
                note: format!(
                    "{:.2}x raw fdatasync rate",
                    per_second(total, d) / sync_rate
                ),
            });
        }
    }

    let mut out = format!(
        "caseledger bench: {events} events, {:.1} MB store, {} runs per figure (medians)\n\n",
        bytes as f64 / 1e6,
        args.runs
    );
    out.push_str(&format!(
        "{:<66} {:>10} {:>14} {:>9}  {}\n",
        "measurement", "median", "rate", "MB/s", "note"
    ));
    for r in rows {
        let rate = per_second(r.units, r.median);
        let mbs = r.bytes.map_or_else(String::new, |b| {
            format!("{:.0}", b as f64 / 1e6 / r.median.as_secs_f64().max(1e-9))
        });
        out.push_str(&format!(
            "{:<66} {:>8.3} s {:>9.0} {}/s {:>9}  {}\n",
            r.what,
            r.median.as_secs_f64(),
            rate,
            short(r.unit),
            mbs,
            r.note
        ));
    }
    for note in notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    write_stdout(&out)
}

/// A replay store of one customer shape.
struct Shape {
    customers: Customers,
    dir: PathBuf,
    events: u64,
    cases: u64,
    bytes: u64,
}

/// The replay store of `customers` with about `args.events` events, built
/// (with a row for its generation) if it is not there yet.
fn replay_store(args: &BenchArgs, customers: Customers, rows: &mut Vec<Row>) -> Result<Shape> {
    let cases = ((args.events as f64) / events_per_case(customers)).ceil() as u64;
    // The uniform store keeps the name it had before there were two.
    let name = match customers {
        Customers::Uniform => format!("replay-{}", args.events),
        Customers::LongTail => format!("replay-long-tail-{}", args.events),
    };
    let dir = args.dir.join(name);
    if !dir.join(caseledger_store::CHECKPOINT_FILE).exists() {
        eprintln!(
            "bench: generating {cases} cases ({} customers) into {}",
            customers.as_str(),
            dir.display()
        );
        let t = Instant::now();
        let config = SynthConfig {
            cases,
            seed: 2026,
            start: chrono::DateTime::parse_from_rfc3339("2025-01-06T08:00:00Z")?.to_utc(),
            span_days: 365,
            customers,
        };
        let added = generate(&dir, config, false)?;
        let bytes = LogReader::open(&dir)?.bytes()?;
        rows.push(Row {
            what: format!(
                "generate into a store ({} customers, one batch, one fsync)",
                customers.as_str()
            ),
            median: t.elapsed(),
            units: added,
            unit: "events",
            bytes: Some(bytes),
            note: "single run".into(),
        });
    }
    let reader = LogReader::open(&dir)?;
    let events = reader.head().position;
    let bytes = reader.bytes()?;
    eprintln!(
        "bench: {} store of {events} events, {cases} cases, {bytes} bytes",
        customers.as_str()
    );
    Ok(Shape {
        customers,
        dir,
        events,
        cases,
        bytes,
    })
}

/// Why `python` cannot run the DuckDB baselines, if it cannot.
fn duckdb_missing(python: &Path) -> Option<String> {
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
fn duckdb_row(
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
        Customers::Uniform => format!("export-{}.jsonl", args.events),
        Customers::LongTail => format!("export-long-tail-{}.jsonl", args.events),
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

fn short(unit: &str) -> &str {
    match unit {
        "events" => "ev",
        "appends" => "ap",
        other => other,
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn repeat(runs: u32, mut f: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    let mut v = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        v.push(f()?);
    }
    Ok(median(v))
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

/// Runs this program as a child; returns its wall time and peak RSS (KiB,
/// reported by the child itself, see `main::report_peak_memory`).
fn cold(exe: &Path, store: &Path, args: &[&str]) -> Result<(Duration, u64)> {
    let t = Instant::now();
    let out = Command::new(exe)
        .arg("--store")
        .arg(store)
        .args(args)
        .env(PEAK_MEMORY_ENV, "1")
        .stdout(std::process::Stdio::null())
        .output()?;
    let d = t.elapsed();
    if !out.status.success() {
        bail!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok((d, peak))
}

fn read_and_crc(dir: &Path) -> Result<Duration> {
    let t = Instant::now();
    let mut crc = 0u32;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 1;
    loop {
        let path = dir.join(caseledger_store::segment_name(n));
        let Ok(file) = std::fs::File::open(&path) else {
            break;
        };
        let mut offset = 0;
        loop {
            let got = file.read_at(&mut buf, offset)?;
            if got == 0 {
                break;
            }
            crc = crc32c::crc32c_append(crc, &buf[..got]);
            offset += got as u64;
        }
        n += 1;
    }
    std::hint::black_box(crc);
    Ok(t.elapsed())
}

/// The fields a simple KPI query needs, borrowed from the line.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    case_id: &'a str,
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(borrow)]
    at: &'a str,
}

/// Parses every line into borrowed fields and counts opened and resolved
/// cases and the mean hours from opening to the first response: what a
/// straightforward JSON replay does, with nothing of the full KPI set.
fn json_fold(path: &Path) -> Result<(Duration, u64)> {
    let t = Instant::now();
    let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut line = String::new();
    let mut opened_at: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let (mut opened, mut resolved, mut responses, mut response_s) = (0u64, 0u64, 0u64, 0i64);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let l: Line<'_> = serde_json::from_str(&line)?;
        let at = caseledger::parse_timestamp(l.at)?.timestamp();
        match l.kind {
            "opened" => {
                opened += 1;
                opened_at.insert(l.case_id.to_owned(), at);
            }
            "resolved" => resolved += 1,
            "responded" => {
                if let Some(o) = opened_at.remove(l.case_id) {
                    responses += 1;
                    response_s += at - o;
                }
            }
            _ => {}
        }
    }
    std::hint::black_box((opened, resolved, response_s / responses.max(1) as i64));
    Ok((t.elapsed(), opened))
}

fn raw_fdatasync(dir: &Path, n: u64) -> Result<Duration> {
    let path = dir.join("fdatasync-baseline");
    let mut f = std::fs::File::create(&path)?;
    let record = [0x5au8; 128];
    let t = Instant::now();
    for _ in 0..n {
        f.write_all(&record)?;
        f.sync_data()?;
    }
    let d = t.elapsed();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(d)
}

/// `threads` threads each append `n` single-event appends to their own
/// streams of a fresh store; returns the wall time.
fn appends(dir: &Path, threads: u64, n: u64) -> Result<Duration> {
    let store_dir = dir.join(format!("append-{threads}"));
    remove_dir(&store_dir)?;
    let store = Arc::new(Store::open(&store_dir, StoreOptions::default())?);
    let events: Vec<Event> = Synth::new(SynthConfig {
        cases: (threads * n / 5).max(1),
        seed: 9,
        start: chrono::DateTime::parse_from_rfc3339("2026-01-05T08:00:00Z")?.to_utc(),
        span_days: 30,
        customers: caseledger_synth::Customers::Uniform,
    })
    .take((threads * n) as usize)
    .collect();
    let events = Arc::new(events);
    let t = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let store = Arc::clone(&store);
                let events = Arc::clone(&events);
                s.spawn(move || -> Result<()> {
                    for e in events.iter().skip(k as usize).step_by(threads as usize) {
                        store.append(e.case_id, ExpectedVersion::Any, std::slice::from_ref(e))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("an appender panicked"))??;
        }
        Ok(())
    })?;
    let d = t.elapsed();
    drop(store);
    remove_dir(&store_dir)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
    use super::*;
    use serde_json::json;

    #[test]
    fn duckdb_figures_must_equal_the_reports() {
        let ours = json!({"cases_opened": 10, "repeat_rate": 0.1, "sla": {"met": 3, "rate": null},
                          "first_response": {"median_s": 1800.5}});
        // A subset, floats to 9 significant digits.
        let theirs = json!({"cases_opened": 10, "sla": {"met": 3, "rate": null},
                            "first_response": {"median_s": 1_800.499_999_999_9}});
        assert_eq!(same_figures(&theirs, &ours, "overall").unwrap(), 4);
        for (bad, names) in [
            (
                json!({"cases_opened": 11}),
                "overall.cases_opened: DuckDB 11, report 10",
            ),
            (json!({"repeat_rate": 0.100_001}), "overall.repeat_rate"),
            (json!({"sla": {"met": 3, "rate": 0.5}}), "overall.sla.rate"),
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
