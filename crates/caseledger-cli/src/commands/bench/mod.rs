//! `bench`: the performance harness of docs/performance.md.
//!
//! Every figure is a median over several runs, printed beside a baseline
//! measured in the same session (raw fdatasync, raw read plus CRC-32C, a
//! plain serde_json fold, DuckDB over the same events), because these
//! machines are noisy and only ratios within one run compare. The report is
//! measured on two stores of the same size that differ only in how cases
//! spread over customers (uniform, long tail).

mod append;
mod args;
mod baselines;
mod cases;
mod duckdb;
mod measure;
pub(crate) mod pg;
mod stores;
mod workdir;

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use caseledger::{Event, ExpectedVersion};
use caseledger_store::{LogReader, Store, StoreOptions, verify};
use caseledger_synth::Customers;

use super::output::write_stdout;
use append::appends;
pub use args::BenchArgs;
use baselines::{json_fold, raw_fdatasync, read_and_crc};
use cases::cases_rows;
use duckdb::{duckdb_missing, duckdb_row};
use measure::{Peaks, Row, cold, median, per_second, ratio, remove_dir, repeat, short};
use stores::{empty_store, export, export_path, replay_store};

/// What to tell someone whose Python has no `duckdb` module.
const INSTALL_DUCKDB: &str = "python3 -m venv /tmp/venv && /tmp/venv/bin/pip install duckdb, \
                              then pass --python /tmp/venv/bin/python";

/// Runs `bench` on store directories; `store` is a store directory given
/// with `--store` (or `CASELEDGER_STORE`), which is refused.
pub fn run(store: Option<&std::path::Path>, args: &BenchArgs) -> Result<()> {
    if args.pg_database.is_some() || !args.pg_child_appends.is_empty() {
        return Err(crate::exit::UsageError(
            "bench: --pg-database is for a PostgreSQL bench: pass --store postgres://...".into(),
        )
        .into());
    }
    // Refused rather than ignored: whoever names a store expects bench to
    // measure it (or to leave it alone), and bench does neither knowingly.
    if let Some(store) = store {
        return Err(crate::exit::UsageError(format!(
            "bench does not take a store directory (--store or CASELEDGER_STORE {}): it \
             builds and measures stores of its own in --dir; only a postgres:// URL has a \
             meaning for bench (the server to measure). Leave --store out and \
             CASELEDGER_STORE unset",
            store.display()
        ))
        .into());
    }
    // Before anything is written: --dir must be bench's own (or new).
    workdir::claim(&args.dir)?;
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
    // The peak of `report` over a store of one case, by threads: the
    // memory that is not the cases'.
    let mut fixed_kib: Vec<(&str, Peaks)> = Vec::new();
    if wants("report") {
        let empty = empty_store(args)?;
        for threads in ["1", "2"] {
            let mut peaks_kib = Vec::with_capacity(args.runs as usize);
            for _ in 0..args.runs {
                let args = ["report", "--format", "json", "--threads", threads];
                peaks_kib.push(cold(&exe, &empty, &args)?.1);
            }
            fixed_kib.push((threads, Peaks::of(peaks_kib)));
        }
    }
    for shape in shapes.iter().filter(|_| wants("report")) {
        for threads in ["1", "2"] {
            let mut peaks_kib = Vec::with_capacity(args.runs as usize);
            let d = repeat(args.runs, || {
                let (d, peak) = cold(
                    &exe,
                    &shape.dir,
                    &["report", "--format", "json", "--threads", threads],
                )?;
                peaks_kib.push(peak);
                Ok(d)
            })?;
            let peak = Peaks::of(peaks_kib);
            let us_per_event = d.as_secs_f64() * 1e6 / shape.events.max(1) as f64;
            let fixed = fixed_kib
                .iter()
                .find(|(t, _)| *t == threads)
                .map_or(Peaks::default(), |(_, kib)| *kib);
            let cases = shape.cases.max(1);
            let mut note = format!(
                "peak RSS {} MiB ({} B/case; {} B/case above a one-case store's {} MiB, \
                 medians; the largest run's peak {} B/case above that median); \
                 {:.1}x baseline time",
                peak.median / 1024,
                peak.median * 1024 / cases,
                peak.median.saturating_sub(fixed.median) * 1024 / cases,
                fixed.median / 1024,
                peak.max.saturating_sub(fixed.median) * 1024 / cases,
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

    // The case board (issue 22), in rounds with `report`.
    for shape in shapes.iter().filter(|_| wants("cases")) {
        rows.extend(cases_rows(&exe, shape, args.runs)?);
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
        let export_path = export_path(args, uniform.customers);
        let t = Instant::now();
        export(&exe, &store_dir, &export_path)?;
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
        let sync = repeat(args.runs, || raw_fdatasync(&args.dir, args.appends()))?;
        let sync_rate = per_second(args.appends(), sync);
        rows.push(Row {
            what: "baseline: write 128 B + fdatasync".into(),
            median: sync,
            units: args.appends(),
            unit: "syncs",
            bytes: None,
            note: String::new(),
        });
        for threads in [1u64, 8, 64] {
            let d = repeat(args.runs, || appends(&args.dir, threads, args.appends()))?;
            let total = threads * args.appends();
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
