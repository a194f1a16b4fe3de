//! Durable appends: threads appending single events to a fresh store.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use caseledger::{Event, EventLog, ExpectedVersion};
use caseledger_store::{Store, StoreOptions};
use caseledger_synth::{Synth, SynthConfig};

use super::measure::remove_dir;

/// `threads` threads each append `n` single-event appends to their own
/// streams of a fresh store; returns the wall time.
pub(super) fn appends(dir: &Path, threads: u64, n: u64) -> Result<Duration> {
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
