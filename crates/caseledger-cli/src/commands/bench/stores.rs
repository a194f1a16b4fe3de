//! The replay stores `bench` measures: one per customer shape, generated
//! once from a fixed seed and reused across runs.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use caseledger_store::LogReader;
use caseledger_synth::{Customers, SynthConfig};

use super::args::BenchArgs;
use super::measure::Row;
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
/// (with a row for its generation) if it is not there yet.
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

/// A store of one case, built once in `args.dir`: what `report` takes in
/// memory before any case (the program, its threads, the read buffers), to
/// subtract from a replay's peak for the memory a case costs.
pub(super) fn empty_store(args: &BenchArgs) -> Result<PathBuf> {
    let dir = args.dir.join("replay-one-case");
    if !dir.join(caseledger_store::CHECKPOINT_FILE).exists() {
        let config = SynthConfig {
            cases: 1,
            seed: 2026,
            start: chrono::DateTime::parse_from_rfc3339("2025-01-06T08:00:00Z")?.to_utc(),
            span_days: 365,
            customers: Customers::Uniform,
        };
        generate(&dir, config, false)?;
    }
    Ok(dir)
}
