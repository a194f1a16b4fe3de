//! A service desk's live read model: a writer thread records cases through
//! the application service into the file store while a follower thread
//! keeps a projection current from the log, checkpointing it, as an
//! embedding program's screen would. At the end the followed state equals
//! a full replay of the log, and a restarted runner resumes from its
//! checkpoint instead of the start.
//!
//! The projection is the library's case board (`caseledger::board`), the
//! read model `caseledger cases` prints; any `Projection` that serde can
//! store fits the same runner: change `ReadModel` and `ReadModel::default()`.
//!
//! Run: `cargo run --example service_desk`

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use caseledger::board::{BoardPolicy, BoardQuery, CaseBoard};
use caseledger::prelude::*;
use caseledger::projection::Projection;
use caseledger_ids::UuidV7Ids;
use caseledger_store::follow::{ProjectionRunner, RunnerOptions};
use caseledger_store::{Store, StoreOptions};
use chrono::{DateTime, TimeZone, Utc};

/// The read model the follower keeps current: the case board.
type ReadModel = CaseBoard;

/// What a desk's screen shows of the board: open cases per agent, and how
/// many are overdue (by the default SLA and complaint policies).
fn per_agent(board: &CaseBoard) -> (BTreeMap<String, usize>, usize) {
    let rows = board.rows(&BoardQuery::default(), &BoardPolicy::default());
    let mut open = BTreeMap::new();
    for row in rows.iter().filter(|r| r.status == Status::Open) {
        let agent = row.agent.as_ref().map_or("(unassigned)", |a| a.as_str());
        *open.entry(agent.to_owned()).or_default() += 1;
    }
    (open, rows.iter().filter(|r| r.overdue).count())
}

/// How many cases the writer records.
const CASES: u32 = 40;
/// How long the example may take before it gives up, in milliseconds.
const DEADLINE_MS: u64 = 20_000;
/// How long the follower waits for an event before looking at the
/// writer's news, in milliseconds.
const STEP_WAIT_MS: u64 = 50;

/// The writer: records `CASES` cases (open, classify, assign, respond, and
/// resolve every other one); sends the log's head when done.
fn write_cases(
    service: &CaseService<Store, UuidV7Ids>,
    done: &mpsc::Sender<u64>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .ok_or("bad date")?;
    let agents = ["agent-01", "agent-02", "agent-03"];
    for n in 0..CASES {
        let case = CaseId::from_u128(u128::from(n) + 1);
        let at = start + chrono::Duration::minutes(i64::from(n) * 7);
        let agent = Actor::parse(agents[n as usize % agents.len()])?;
        let open = Opened {
            customer_id: CustomerId::new(format!("C-{:04}", n % 9))?,
            channel: Channel::ALL[n as usize % Channel::ALL.len()],
            tier: Tier::Standard,
            summary: None,
            origin: caseledger::Origin::Customer,
        };
        service.execute(case, at, Actor::System, Action::Open(open))?;
        let class = Classified {
            category: Category::Inquiry,
            topic: Topic::Account,
            priority: Priority::Normal,
        };
        service.execute(case, at, agent.clone(), Action::Classify(class))?;
        let assignee = Assigned {
            agent: AgentId::new(agent.as_str())?,
            team: None,
        };
        service.execute(case, at, agent.clone(), Action::Assign(assignee))?;
        service.execute(
            case,
            at + chrono::Duration::minutes(3),
            agent.clone(),
            Action::Respond,
        )?;
        if n % 2 == 0 {
            service.execute(
                case,
                at + chrono::Duration::minutes(20),
                agent,
                Action::Resolve(Resolved::default()),
            )?;
        }
    }
    done.send(service.log().head().position)?;
    Ok(())
}

/// The follower: keeps `model` current from the store until it has seen
/// the head the writer announces, printing it as it changes.
fn keep_current<P>(
    dir: &Path,
    checkpoint: &Path,
    model: P,
    done: &mpsc::Receiver<u64>,
    show: impl Fn(&P) -> String,
) -> Result<(u64, P), Box<dyn std::error::Error + Send + Sync>>
where
    P: Projection + serde::Serialize + serde::de::DeserializeOwned,
{
    let options = RunnerOptions::default().every_events(25);
    let mut runner = ProjectionRunner::open(dir, checkpoint, model, options)?;
    let deadline = Instant::now() + Duration::from_millis(DEADLINE_MS);
    let mut end = None;
    let mut saved = runner.saved_position();
    while end.is_none_or(|end| runner.position() < end) {
        if Instant::now() > deadline {
            return Err(format!(
                "the follower reached position {} of {end:?} within {DEADLINE_MS} ms",
                runner.position()
            )
            .into());
        }
        if end.is_none() {
            end = done.try_recv().ok();
        }
        runner.step(STEP_WAIT_MS)?;
        // Shown at each checkpoint (every 25 events), as a screen would
        // refresh.
        if runner.saved_position() != saved {
            saved = runner.saved_position();
            println!(
                "checkpoint at position {saved:>3}: {}",
                show(runner.state())
            );
        }
    }
    runner.checkpoint()?;
    Ok(runner.into_parts())
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    let checkpoint = dir.path().join("read-model.checkpoint");
    let store = Store::open(dir.path(), StoreOptions::default())?;
    let service = CaseService::new(store, UuidV7Ids::new());
    let (tx, rx) = mpsc::channel();
    let show = |m: &ReadModel| format!("{:?}", per_agent(m));
    let (store_dir, checkpoint_file) = (dir.path(), checkpoint.as_path());
    let (position, followed) = std::thread::scope(|s| {
        let writer = s.spawn(|| write_cases(&service, &tx));
        let follower = s.spawn(move || {
            keep_current(store_dir, checkpoint_file, ReadModel::default(), &rx, show)
        });
        let written = writer.join().map_err(|_| "the writer panicked")?;
        let followed = follower.join().map_err(|_| "the follower panicked")?;
        written?;
        followed
    })?;

    // The followed state is the fold of the whole log.
    let mut replayed = ReadModel::default();
    for e in service.log().read_all(1)? {
        let e = e?;
        replayed.observe(e.position, &e.event);
    }
    if followed != replayed {
        return Err("the followed read model differs from a full replay".into());
    }
    println!(
        "followed {position} events; equals a full replay: {}",
        show(&followed)
    );

    // A restart resumes from the checkpoint: nothing left to feed.
    let mut again = ProjectionRunner::open(
        dir.path(),
        &checkpoint,
        ReadModel::default(),
        RunnerOptions::default(),
    )?;
    let fed = again.catch_up()?;
    println!("restarted at position {}, fed {fed} more", again.position());
    if again.state() != &followed || fed != 0 {
        return Err("the restarted runner did not resume from its checkpoint".into());
    }
    Ok(())
}
