//! Generates a realistic, deterministic history of a few thousand cases,
//! checks every case against the case rules (the same path an import takes),
//! and prints the KPI report grouped by month.
//!
//! Run: `cargo run --release --example kpi_demo`

use std::collections::HashMap;

use caseledger::kpi::{CSAT_TARGET, GroupBy, KpiAccumulator, Kpis, ReportParams};
use caseledger::{CaseId, CaseState};
use caseledger_synth::{Synth, SynthConfig};
use chrono::{TimeZone, Utc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SynthConfig {
        cases: 5000,
        seed: 2026,
        start: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .ok_or("bad start date")?,
        span_days: 180,
        customers: caseledger_synth::Customers::Uniform,
    };
    let mut states: HashMap<CaseId, CaseState> = HashMap::new();
    let mut kpis = KpiAccumulator::new(None);
    for (position, event) in (1u64..).zip(Synth::new(config)) {
        // Every event passes the case rules before it counts.
        let state = states.entry(event.case_id).or_default();
        *state = state.apply(&event)?;
        kpis.observe(position, &event);
    }
    let report = kpis.report(&ReportParams {
        group_by: Some(GroupBy::Month),
        ..ReportParams::default()
    });
    println!(
        "{} events, {} cases, as of {}\n",
        report.events,
        states.len(),
        report
            .as_of
            .map(|t| caseledger::format_timestamp(&t))
            .unwrap_or_default()
    );
    // The columns are called as in `caseledger report`'s table (the
    // abbreviations of docs/kpis.md, "Display labels").
    println!(
        "{:<8} {:>6} {:>7} {:>6} {:>9} {:>9} {:>6} {:>6} {:>9} {:>6} {:>8}",
        "month",
        "cases",
        "backlog",
        "res%",
        "1st resp",
        "resolve",
        "FCR",
        "SLA",
        "satisfied",
        "repeat",
        "deadline"
    );
    let row = |key: &str, k: &Kpis| {
        println!(
            "{:<8} {:>6} {:>7} {:>6} {:>9} {:>9} {:>6} {:>6} {:>9} {:>6} {:>8}",
            key,
            k.cases_opened,
            k.backlog,
            pct(k.resolution_rate),
            duration(k.first_response.median_s),
            duration(k.resolution_time.median_s),
            pct(k.fcr_rate),
            pct(k.sla.met_rate),
            pct(k.csat.satisfied_share),
            pct(k.repeat_rate),
            pct(k.complaints.deadline_rate),
        );
    };
    for g in &report.groups {
        row(&g.key, &g.kpis);
    }
    row("all", &report.overall);
    println!(
        "\ncases: cases opened; res%: resolution rate; 1st resp, resolve: median first \
         response and resolution time; FCR: first contact resolution; SLA: SLA attainment; \
         satisfied: satisfied share, survey scores of 4 or 5 (target {}); repeat: repeat \
         rate; deadline: complaint deadline rate.",
        pct(Some(CSAT_TARGET))
    );
    println!("Definitions: docs/kpis.md, \"Display labels\"");
    Ok(())
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds else {
        return "-".to_owned();
    };
    let minutes = (s / 60.0).round() as i64;
    match minutes {
        m if m < 60 => format!("{m}m"),
        m if m < 48 * 60 => format!("{}h {:02}m", m / 60, m % 60),
        m => format!("{}d {:02}h", m / (24 * 60), (m / 60) % 24),
    }
}
