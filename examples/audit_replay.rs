//! An auditor's replay: verify a store (every checksum, the hash chain and
//! the case rules), then replay it as of a date and print the complaint
//! deadline figure together with the verified head it was computed from.
//!
//! Run: `cargo run --example audit_replay [STORE_DIR [AS_OF]]`. Without a
//! directory it builds a sample store of 2,000 synthetic cases first; AS_OF
//! defaults to 2026-03-31T23:59:59Z.

use std::collections::HashMap;

use caseledger::kpi::{GroupBy, KpiAccumulator, ReportParams};
use caseledger::{CaseId, CaseState, ExpectedVersion, parse_timestamp};
use caseledger_store::{Clock, Store, StoreOptions, Until, verify};
use caseledger_synth::{Synth, SynthConfig};
use chrono::{TimeZone, Utc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let dir = match args.next() {
        Some(d) => d.into(),
        None => {
            build_sample(temp.path())?;
            temp.path().to_path_buf()
        }
    };
    let as_of = parse_timestamp(&args.next().unwrap_or_else(|| "2026-03-31T23:59:59Z".into()))?;

    // 1. Verify: checksums, chain, and the case rules over every history.
    let mut states: HashMap<CaseId, CaseState> = HashMap::new();
    let mut broken = None;
    let checked = verify(&dir, |e| {
        let state = states.entry(e.event.case_id).or_default();
        match state.apply(&e.event) {
            Ok(next) => *state = next,
            Err(err) => {
                broken.get_or_insert(format!("position {}: {err}", e.position));
            }
        }
    })?;
    if let Some(b) = broken {
        return Err(format!("a case history breaks a rule at {b}").into());
    }
    println!(
        "verified {} events in {} cases; head position {} hash {}",
        checked.events,
        checked.streams,
        checked.head.position,
        checked.head.hash_hex()
    );

    // 2. Replay up to that head, as of the date, from a read-only open.
    let store = Store::open_read_only(&dir)?;
    let mut kpis = KpiAccumulator::new(Some(as_of));
    for e in store.read(1, Until::Position(checked.head.position))? {
        let e = e?;
        kpis.observe(e.position, &e.event);
    }
    let report = kpis.report(&ReportParams {
        group_by: Some(GroupBy::Month),
        ..ReportParams::default()
    });
    let c = &report.overall.complaints;
    println!(
        "as of {}: {} complaints, {} resolved within the deadline, {} overdue ({})",
        caseledger::format_timestamp(&as_of),
        c.count,
        c.within_deadline,
        c.overdue,
        c.deadline_rate
            .map_or("no complaint resolved yet".to_owned(), |r| format!(
                "{:.1}% on time",
                r * 100.0
            ))
    );
    for g in &report.groups {
        println!(
            "  {}: {} complaints, {} overdue",
            g.key, g.kpis.complaints.count, g.kpis.complaints.overdue
        );
    }
    Ok(())
}

/// A sample store: 2,000 synthetic cases appended in one atomic batch.
fn build_sample(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let options = StoreOptions::default().clock(Clock::EventTime);
    let store = Store::open(dir, options)?;
    let mut batch = store.batch()?;
    let start = Utc
        .with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .ok_or("bad start")?;
    for event in Synth::new(SynthConfig {
        cases: 2_000,
        seed: 7,
        start,
        span_days: 120,
        customers: caseledger_synth::Customers::Uniform,
    }) {
        let expected = ExpectedVersion::Exact(batch.stream_version(event.case_id));
        batch.append(event.case_id, expected, std::slice::from_ref(&event))?;
    }
    batch.commit()?;
    Ok(())
}
