//! The replay stores `bench` measures: one per customer shape, generated
//! once from a fixed seed and reused across runs, and their exports. A
//! store is reused only if its completion marker, written after its
//! generation, says it is whole.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use caseledger_store::{Head, LogReader};
use caseledger_synth::{Customers, SynthConfig};

use super::args::BenchArgs;
use super::measure::{Row, remove_dir};
use super::workdir::write_whole;
use crate::commands::generate::generate;

/// Events per synthetic case, on average, for each customer shape
/// (measured on the generator: fewer follow-ups fit the cap of a busy
/// customer, so long-tailed histories have fewer events per case).
fn events_per_case(customers: Customers) -> f64 {
    match customers {
        Customers::Uniform => 7.2,
        Customers::LongTail => 6.85,
    }
}

/// A replay store of one customer shape.
pub(super) struct Shape {
    pub(super) customers: Customers,
    pub(super) dir: PathBuf,
    pub(super) events: u64,
    pub(super) cases: u64,
    pub(super) bytes: u64,
}

/// The replay store of `customers` with about `args.events` events, built
/// (with a row for its generation) unless a whole one is there already.
pub(super) fn replay_store(
    args: &BenchArgs,
    customers: Customers,
    rows: &mut Vec<Row>,
) -> Result<Shape> {
    let cases = ((args.events() as f64) / events_per_case(customers)).ceil() as u64;
    // The uniform store keeps the name it had before there were two.
    let name = match customers {
        Customers::Uniform => format!("replay-{}", args.events()),
        Customers::LongTail => format!("replay-long-tail-{}", args.events()),
    };
    let dir = args.dir.join(name);
    let config = config(cases, customers)?;
    // The export is made from the store: a new store makes it stale.
    let export = export_path(args, customers);
    if let Some((added, took)) = build_unless_whole(&dir, &config, &[export])? {
        let bytes = LogReader::open(&dir)?.bytes()?;
        rows.push(Row {
            what: format!(
                "generate into a store ({} customers, one batch, one fsync)",
                customers.as_str()
            ),
            median: took,
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

/// A store of one case, built once in `args.dir`: what `report` takes in
/// memory before any case (the program, its threads, the read buffers), to
/// subtract from a replay's peak for the memory a case costs.
pub(super) fn empty_store(args: &BenchArgs) -> Result<PathBuf> {
    let dir = args.dir.join("replay-one-case");
    build_unless_whole(&dir, &config(1, Customers::Uniform)?, &[])?;
    Ok(dir)
}

/// Where the export of the replay store of `customers` is kept.
pub(super) fn export_path(args: &BenchArgs, customers: Customers) -> PathBuf {
    args.dir.join(match customers {
        Customers::Uniform => format!("export-{}.jsonl", args.events()),
        Customers::LongTail => format!("export-long-tail-{}.jsonl", args.events()),
    })
}

/// Writes the export of `store` to `path` whole: into a file beside it,
/// renamed to `path` once the export has succeeded, so that an
/// interrupted export never passes for the store's events.
pub(super) fn export(exe: &Path, store: &Path, path: &Path) -> Result<()> {
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("bench: cannot create {}", partial.display()))?;
    let status = Command::new(exe)
        .arg("--store")
        .arg(store)
        .arg("export")
        .stdout(file)
        .status()
        .context("bench: cannot start an export")?;
    if !status.success() {
        // Best effort: the failure is what to report, and a leftover
        // `.partial` file is bench's own and never read.
        let _ = std::fs::remove_file(&partial);
        bail!("bench: the export of {} failed", store.display());
    }
    std::fs::rename(&partial, path)
        .with_context(|| format!("bench: cannot rename {}", partial.display()))
}

/// How the bench's stores are generated: a fixed seed and span, so that
/// their bytes are the same in every session.
fn config(cases: u64, customers: Customers) -> Result<SynthConfig> {
    Ok(SynthConfig {
        cases,
        seed: 2026,
        start: chrono::DateTime::parse_from_rfc3339("2025-01-06T08:00:00Z")?.to_utc(),
        span_days: 365,
        customers,
    })
}

/// What a store generated from `config` is, as its completion marker
/// records it above the head.
fn recipe(config: &SynthConfig) -> String {
    format!(
        "caseledger bench store, generated whole\ncustomers {}\nseed {}\ncases {}\nstart {}\n\
         span_days {}\n",
        config.customers.as_str(),
        config.seed,
        config.cases,
        config
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        config.span_days
    )
}

/// The completion marker of the store in `dir`: a file beside it, written
/// after the store is generated, that names what it was generated from
/// and the head it was left with.
fn marker_path(dir: &Path) -> PathBuf {
    dir.with_extension("complete")
}

/// Why the store in `dir` is not a whole one generated from `config`, if
/// it is not: the existence of its checkpoint says nothing (a generation
/// killed before its commit leaves an empty store), so it counts only
/// with its completion marker, which must name `config` and the head the
/// store has.
fn not_whole(dir: &Path, config: &SynthConfig) -> Option<String> {
    let marker = marker_path(dir);
    let Ok(text) = std::fs::read_to_string(&marker) else {
        return Some(format!(
            "it has no completion marker {} (its generation was interrupted, or an older \
             bench made it)",
            marker.display()
        ));
    };
    let Some(head_lines) = text.strip_prefix(&recipe(config)) else {
        return Some(format!(
            "its completion marker {} names other settings",
            marker.display()
        ));
    };
    let head = match LogReader::open(dir) {
        Ok(reader) => reader.head(),
        Err(e) => return Some(format!("it does not open: {e}")),
    };
    if head_lines != head_text(&head) {
        return Some(format!(
            "its head (position {}) is not the one its completion marker {} records",
            head.position,
            marker.display()
        ));
    }
    None
}

/// The marker's lines about the head.
fn head_text(head: &Head) -> String {
    format!("events {}\nhead {}\n", head.position, head.hash_hex())
}

/// Generates the store in `dir` from `config` unless a whole one is there
/// ([`not_whole`]); otherwise removes what is there, the store and
/// `derived` (files made from it), all bench's own, and generates it
/// anew. Returns the events added and the time taken, if it generated.
fn build_unless_whole(
    dir: &Path,
    config: &SynthConfig,
    derived: &[PathBuf],
) -> Result<Option<(u64, Duration)>> {
    let marker = marker_path(dir);
    if !dir.exists() && !marker.exists() {
        eprintln!(
            "bench: generating {} cases ({} customers) into {}",
            config.cases,
            config.customers.as_str(),
            dir.display()
        );
    } else {
        match not_whole(dir, config) {
            None => return Ok(None),
            Some(why) => eprintln!(
                "bench: {}: {why}; generating it again ({} cases, {} customers)",
                dir.display(),
                config.cases,
                config.customers.as_str()
            ),
        }
    }
    // The marker first: a run stopped in between finds no marker, never
    // one beside a store it does not describe.
    remove_file(&marker)?;
    remove_dir(dir)?;
    for path in derived {
        remove_file(path)?;
    }
    let t = Instant::now();
    let added = generate(dir, config.clone(), false)?;
    let took = t.elapsed();
    let head = LogReader::open(dir)?.head();
    write_whole(&marker, &(recipe(config) + &head_text(&head)))?;
    Ok(Some((added, took)))
}

/// Removes the file at `path` if it is there.
fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("bench: cannot remove {}", path.display())),
    }
}
