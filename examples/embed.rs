//! A bank system embedding caseledger: the application service over the
//! durable file store, with production ids (UUID v7, `caseledger-ids`). It
//! runs one complaint from intake to survey, shows that a refused command
//! records nothing, restarts (a new service over the reopened store) and
//! closes the case, and verifies the log. Run it twice on one directory:
//! each run adds a new case.
//!
//! Run: `cargo run --example embed [STORE_DIR]` (default: a temporary
//! directory, removed at the end).

use caseledger::kpi::{KpiAccumulator, ReportParams};
use caseledger::prelude::*;
use caseledger_ids::UuidV7Ids;
use caseledger_store::{Store, StoreOptions, verify};
use chrono::{DateTime, TimeZone, Utc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp = tempfile::tempdir()?;
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| temp.path().to_path_buf(), Into::into);
    // Case and event ids from the clock and the OS's randomness: unique
    // across restarts, so no command can reuse an id recorded before.
    let ids = UuidV7Ids::new();
    let case = ids.new_case_id();
    let agent = Actor::parse("agent-17")?;
    let at = |h: u32, m: u32| -> Result<DateTime<Utc>, &'static str> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0)
            .single()
            .ok_or("bad time")
    };
    {
        // Every append is durable (fdatasync) before `execute` returns.
        let store = Store::open(&dir, StoreOptions::default())?;
        let service = CaseService::new(store, ids);
        let steps = [
            (
                at(9, 15)?,
                agent.clone(),
                Action::Open(Opened {
                    customer_id: CustomerId::new("C-1001")?,
                    channel: Channel::Phone,
                    tier: Tier::Vip,
                    summary: Some("card blocked abroad".into()),
                    origin: caseledger::Origin::Customer,
                }),
            ),
            (
                at(9, 16)?,
                agent.clone(),
                Action::Classify(Classified {
                    category: Category::Complaint,
                    topic: Topic::Card,
                    priority: Priority::High,
                }),
            ),
            (
                at(9, 17)?,
                Actor::System,
                Action::Assign(Assigned {
                    agent: AgentId::new("agent-17")?,
                    // A complaint goes to a complaint team before it is
                    // resolved (process policy, docs/events.md).
                    team: Some(TeamId::new("complaints")?),
                }),
            ),
            (at(9, 20)?, agent.clone(), Action::Respond),
            (
                at(10, 5)?,
                agent.clone(),
                Action::Resolve(Resolved {
                    resolution: Some("card unblocked, fee refunded".into()),
                    root_cause: Some(caseledger::RootCause::ThirdParty),
                }),
            ),
            (
                at(18, 0)?,
                Actor::Customer,
                Action::RecordSurvey(Surveyed {
                    comment: Some("quick and friendly".into()),
                    ..Surveyed::new(Score::new(5)?)
                }),
            ),
        ];
        for (when, who, action) in steps {
            let outcome = service.execute(case, when, who, action)?;
            let last = outcome.events.last().ok_or("no event recorded")?;
            println!(
                "{}  {:<10} -> {}",
                format_timestamp(&last.at),
                last.data.event_type().as_str(),
                outcome.state.status()
            );
        }
        // A second survey breaks a rule: refused, nothing recorded.
        let again = Action::RecordSurvey(Surveyed::new(Score::new(1)?));
        match service.execute(case, at(19, 0)?, Actor::Customer, again) {
            Err(e) => println!("refused: {e}"),
            Ok(_) => return Err("a second survey was accepted".into()),
        }
    }
    // After a restart: a new service over the reopened store, with a new id
    // source, goes on where the last one stopped.
    let service = CaseService::new(
        Store::open(&dir, StoreOptions::default())?,
        UuidV7Ids::new(),
    );
    let closed = service.execute(case, at(18, 5)?, agent, Action::Close)?;
    println!(
        "after a restart: closed at position {:?} -> {}",
        closed.positions,
        closed.state.status()
    );
    let store = service.log();
    let history = store.read_stream(case)?;
    println!("case {case} has {} events", history.len());
    let mut kpis = KpiAccumulator::new(None);
    for e in store.read_all(1)? {
        let e = e?;
        kpis.observe(e.position, &e.event);
    }
    let report = kpis.report(&ReportParams::default());
    println!(
        "first contact resolution: {:.0}%, mean survey score {:?}",
        report.overall.fcr_rate.unwrap_or(0.0) * 100.0,
        report.overall.csat.mean_score
    );
    drop(service);
    let checked = verify(&dir, |_| {})?;
    println!(
        "verified {} events; head position {} hash {}",
        checked.events,
        checked.head.position,
        checked.head.hash_hex()
    );
    Ok(())
}
