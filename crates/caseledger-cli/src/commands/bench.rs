//! `bench`: the performance harness of docs/performance.md.
//!
//! Every figure is a median over several runs, printed beside a baseline
//! measured in the same session (raw fdatasync, raw read plus CRC-32C, a
//! plain serde_json fold), because these machines are noisy and only ratios
//! within one run compare.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use caseledger::{Event, EventLog, ExpectedVersion};
use caseledger_store::{LogReader, Store, StoreOptions, verify};
use caseledger_synth::{Synth, SynthConfig};
use serde::Deserialize;

use super::generate::generate;
use super::output::write_stdout;
use crate::exit::PEAK_MEMORY_ENV;

/// Events per synthetic case, on average (measured on the generator).
const EVENTS_PER_CASE: f64 = 7.2;

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
    /// Run only these parts (comma-separated: report, verify, open, import,
    /// append); all by default.
    #[arg(long, value_delimiter = ',', value_parser = ["report", "verify", "open", "import", "append"])]
    only: Vec<String>,
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
    let cases = ((args.events as f64) / EVENTS_PER_CASE).ceil() as u64;
    let store_dir = args.dir.join(format!("replay-{}", args.events));
    let mut rows = Vec::new();
    eprintln!(
        "bench: {} runs per figure, in {}",
        args.runs,
        args.dir.display()
    );

    // The replay store, built once and reused: its bytes depend only on the
    // seed, so every session measures the same log.
    if !store_dir.join(caseledger_store::CHECKPOINT_FILE).exists() {
        eprintln!(
            "bench: generating {cases} cases into {}",
            store_dir.display()
        );
        let t = Instant::now();
        let config = SynthConfig {
            cases,
            seed: 2026,
            start: chrono::DateTime::parse_from_rfc3339("2025-01-06T08:00:00Z")?.to_utc(),
            span_days: 365,
            customers: caseledger_synth::Customers::Uniform,
        };
        let added = generate(&store_dir, config, false)?;
        let bytes = LogReader::open(&store_dir)?.bytes()?;
        rows.push(Row {
            what: "generate into a store (one batch, one fsync)".into(),
            median: t.elapsed(),
            units: added,
            unit: "events",
            bytes: Some(bytes),
            note: "single run".into(),
        });
    }
    let reader = LogReader::open(&store_dir)?;
    let events = reader.head().position;
    let bytes = reader.bytes()?;
    eprintln!("bench: store of {events} events, {bytes} bytes");

    let wants = |part: &str| args.only.is_empty() || args.only.iter().any(|o| o == part);

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

    // report, cold process, 1 and 2 threads; peak memory from the child.
    let exe = std::env::current_exe().context("cannot find this program")?;
    for threads in ["1", "2"].into_iter().filter(|_| wants("report")) {
        let mut peak_kib = 0;
        let d = repeat(args.runs, || {
            let (d, peak) = cold(
                &exe,
                &store_dir,
                &["report", "--format", "json", "--threads", threads],
            )?;
            peak_kib = peak_kib.max(peak);
            Ok(d)
        })?;
        rows.push(Row {
            what: format!("report, full KPI set, cold process, {threads} thread(s)"),
            median: d,
            units: events,
            unit: "events",
            bytes: Some(bytes),
            note: format!(
                "peak RSS {} MiB; {:.1}x baseline time",
                peak_kib / 1024,
                ratio(d, raw)
            ),
        });
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
    write_stdout(&out)
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
        let at = caseledger::parse_timestamp(l.at)
            .map_err(anyhow::Error::msg)?
            .timestamp();
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
