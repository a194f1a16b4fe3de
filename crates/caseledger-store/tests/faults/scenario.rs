//! The fault tests' scenario: a small, deterministic run over a store
//! (appends, batches, segment roll-overs, a reopen), the report of what
//! each caller was told, and the checks every faulted run must pass.
//!
//! The same runner works in-process (ENOSPC on a small tmpfs) and in a child
//! process under the LD_PRELOAD shim; its report is a list of lines either
//! way, so one parser and one set of checks serve both.

use std::collections::BTreeSet;
use std::path::Path;

use caseledger::*;
use caseledger_store::{Clock, Error, ErrorKind, MIN_SEGMENT_BYTES, Store, StoreOptions, verify};

/// A page of tmpfs, the unit in which it runs out of space.
pub const PAGE_BYTES: u64 = 4096;
/// The bytes of a commit record's frame (8-byte frame header, 56-byte body;
/// docs/store-format.md).
pub const COMMIT_FRAME_BYTES: u64 = 64;
/// How many times the runner tries to open the store after a failed open
/// (a fault is injected once, so the second try must work).
const OPEN_ATTEMPTS: usize = 2;
/// How many appends the runner tries after a failure that must leave the
/// writer refusing writes.
const PROBES_AFTER_FAILURE: usize = 2;
/// Event ids of probe appends start here (scenario ids are smaller).
const FIRST_PROBE_ID: u128 = 1_000_000;

/// The options of every store in the fault tests: the smallest segments, so
/// that a few dozen events roll over several times, and reproducible bytes.
pub fn options() -> StoreOptions {
    StoreOptions::default()
        .segment_bytes(MIN_SEGMENT_BYTES)
        .clock(Clock::EventTime)
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// One append of events `ids` to case `case`, each with a summary of
    /// `summary` bytes (the size knob: up to 4,096).
    Append {
        case: u128,
        ids: Vec<u128>,
        summary: usize,
    },
    /// A batch of one event per id, to cases `id % 5`.
    Batch { ids: Vec<u128>, summary: usize },
    /// One append of one event sized so that its commit record straddles
    /// the next tmpfs page boundary of the current segment.
    Straddle { case: u128, id: u128 },
    /// Close the store and open it again.
    Reopen,
}

/// The main scenario: 40 events over three segments of 64 KiB, with a
/// batch and a single append that each roll over to a new segment.
pub fn main_steps() -> Vec<Step> {
    scaled_steps(1)
}

/// The main scenario `rounds` times over (with new ids each round and a
/// reopen between rounds): the longer runs behind `--ignored`.
pub fn scaled_steps(rounds: u128) -> Vec<Step> {
    let mut steps = Vec::new();
    for round in 0..rounds {
        if round > 0 {
            steps.push(Step::Reopen);
        }
        steps.extend(round_steps(round * 1_000));
    }
    steps
}

fn round_steps(base: u128) -> Vec<Step> {
    let ids = |from: u128, n: u128| (base + from..base + from + n).collect::<Vec<_>>();
    vec![
        Step::Append {
            case: 1,
            ids: ids(1, 1),
            summary: 0,
        },
        Step::Append {
            case: 2,
            ids: ids(2, 2),
            summary: 1000,
        },
        Step::Straddle {
            case: 3,
            id: base + 4,
        },
        Step::Batch {
            ids: ids(10, 10),
            summary: 3000,
        },
        Step::Straddle {
            case: 3,
            id: base + 5,
        },
        Step::Append {
            case: 1,
            ids: ids(20, 3),
            summary: 4000,
        },
        // Rolls over to segment 2 in the middle of the batch.
        Step::Batch {
            ids: ids(30, 6),
            summary: 4000,
        },
        Step::Append {
            case: 4,
            ids: ids(40, 1),
            summary: 2500,
        },
        Step::Append {
            case: 5,
            ids: ids(41, 1),
            summary: 2500,
        },
        Step::Reopen,
        Step::Batch {
            ids: ids(50, 9),
            summary: 4000,
        },
        // A single append that rolls over to segment 3 after its first
        // event: the append whose own write fails must be told Undone too.
        Step::Append {
            case: 2,
            ids: ids(70, 3),
            summary: 3500,
        },
        Step::Append {
            case: 6,
            ids: ids(80, 2),
            summary: 10,
        },
    ]
}

/// The steps of the recovery scenario: the store already holds a torn tail
/// (the parent made it); opening it cuts it, then two appends.
pub fn recover_steps() -> Vec<Step> {
    vec![
        Step::Append {
            case: 1,
            ids: vec![90_001],
            summary: 100,
        },
        Step::Append {
            case: 2,
            ids: vec![90_002, 90_003],
            summary: 4000,
        },
    ]
}

/// An `opened` event with a summary of `summary` bytes.
pub fn opened(case: u128, id: u128, summary: usize) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: CaseId::from_u128(case),
        // Event ids are small; the minute offset stays within a week.
        at: crate::common::t(i64::try_from(id % 10_000).unwrap_or(0)),
        actor: Actor::parse("agent-1").expect("a valid agent id"),
        data: EventData::Opened(Opened {
            customer_id: CustomerId::new("C-1").expect("a valid customer id"),
            channel: Channel::Phone,
            tier: Tier::Standard,
            summary: Some("x".repeat(summary)),
            origin: caseledger::Origin::Customer,
        }),
    }
}

/// The frame bytes of `opened(_, _, 0)`: measured once on a scratch store
/// (an event's size grows by one byte per summary byte).
fn opened_frame_bytes() -> u64 {
    static BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let store = Store::open(dir.path(), options()).expect("a scratch store");
        store
            .append(
                CaseId::from_u128(1),
                ExpectedVersion::Any,
                &[opened(1, 1, 0)],
            )
            .expect("a scratch append");
        drop(store);
        let seg = dir.path().join(caseledger_store::segment_name(1));
        let len = std::fs::metadata(seg).expect("segment 1").len();
        len - caseledger_store::format::SEGMENT_HEADER_BYTES as u64 - COMMIT_FRAME_BYTES
    })
}

/// Runs `steps` against the store in `dir` (creating it if needed), telling
/// `sink` every outcome as a line; calls `on_error` after each error (the
/// ENOSPC test frees space there).
pub fn run(dir: &Path, steps: &[Step], sink: &mut dyn FnMut(String), on_error: &mut dyn FnMut()) {
    let mut r = Runner {
        dir,
        store: None,
        sink,
        on_error,
        next_probe: FIRST_PROBE_ID,
    };
    if !r.open("open") {
        return;
    }
    for (i, step) in steps.iter().enumerate() {
        let at = format!("step{i}");
        match step {
            Step::Append { case, ids, summary } => {
                let events: Vec<Event> =
                    ids.iter().map(|&id| opened(*case, id, *summary)).collect();
                r.write(&at, Some(*case), &events);
            }
            Step::Batch { ids, summary } => {
                let events: Vec<Event> =
                    ids.iter().map(|&id| opened(id % 5, id, *summary)).collect();
                r.write(&at, None, &events);
            }
            Step::Straddle { case, id } => {
                let summary = r.straddle_summary();
                r.write(&at, Some(*case), &[opened(*case, *id, summary)]);
            }
            Step::Reopen => {
                r.close();
                if !r.open(&format!("open-{at}")) {
                    return;
                }
            }
        }
        if r.store.is_none() && !r.open(&format!("open-after-{at}")) {
            return;
        }
    }
    r.close();
}

struct Runner<'a> {
    dir: &'a Path,
    store: Option<Store>,
    sink: &'a mut dyn FnMut(String),
    on_error: &'a mut dyn FnMut(),
    next_probe: u128,
}

fn kind_name(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::Undone { .. } => "Undone",
        ErrorKind::Failed { .. } => "Failed",
        ErrorKind::Io { .. } => "Io",
        ErrorKind::Corrupt(_) => "Corrupt",
        _ => "Other",
    }
}

fn id_list(events: &[Event]) -> String {
    let ids: Vec<String> = events
        .iter()
        .map(|e| e.event_id.as_uuid().as_u128().to_string())
        .collect();
    ids.join(",")
}

impl Runner<'_> {
    fn say(&mut self, line: String) {
        (self.sink)(line);
    }

    /// Reports an error; returns its kind's name.
    fn error(&mut self, at: &str, e: &Error) -> &'static str {
        let kind = kind_name(e);
        let message = e.to_string().replace('\n', " ");
        self.say(format!("error {at} {kind} {message}"));
        // The OS error behind it, as a caller gets it: `source()`.
        let os = std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .map_or_else(
                || "none".to_owned(),
                |io| format!("{:?} {}", io.kind(), io.raw_os_error().unwrap_or(0)),
            );
        self.say(format!("source {at} {os}"));
        kind
    }

    fn open(&mut self, at: &str) -> bool {
        for _ in 0..OPEN_ATTEMPTS {
            match Store::open(self.dir, options()) {
                Ok(store) => {
                    self.say(format!("opened cut {}", store.recovery().cut.len()));
                    self.store = Some(store);
                    return true;
                }
                Err(e) => {
                    self.error(at, &e);
                    (self.on_error)();
                }
            }
        }
        self.say("fatal the store does not open".to_owned());
        false
    }

    fn close(&mut self) {
        if let Some(store) = self.store.take() {
            self.say("mark close".to_owned());
            drop(store);
            self.say("mark closed".to_owned());
        }
    }

    /// The summary length that makes the next event's commit record start
    /// 32 bytes before a page boundary of the current segment.
    fn straddle_summary(&self) -> usize {
        let last = (1u32..)
            .map(|n| self.dir.join(caseledger_store::segment_name(n)))
            .take_while(|p| p.exists())
            .last();
        let len = last
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        let event = opened_frame_bytes();
        let mut boundary = (len / PAGE_BYTES + 1) * PAGE_BYTES;
        while boundary < len + event + COMMIT_FRAME_BYTES / 2 {
            boundary += PAGE_BYTES;
        }
        usize::try_from(boundary - COMMIT_FRAME_BYTES / 2 - len - event).unwrap_or(0)
    }

    /// Writes `events` (one append to `case`, or a batch when `case` is
    /// `None`). After an error, does what a caller would: an undone write
    /// is retried at once; after any other failure the store must refuse
    /// appends (probed) until it is reopened, and then the in-doubt events
    /// are retried with the same ids, which is safe whether or not they
    /// were stored.
    fn write(&mut self, at: &str, case: Option<u128>, events: &[Event]) {
        let Err(kind) = self.attempt(at, case, events) else {
            return;
        };
        (self.on_error)();
        if kind != "Undone" {
            self.probe_refusals();
            self.say("mark reopen".to_owned());
            self.close();
            if !self.open("reopen") {
                return;
            }
        }
        let retry = format!("{at}-retry");
        if self.attempt(&retry, case, events).is_ok() {
            self.say("retry ok".to_owned());
        }
    }

    /// One attempt at a write; reports what its callers were told.
    fn attempt(
        &mut self,
        at: &str,
        case: Option<u128>,
        events: &[Event],
    ) -> Result<(), &'static str> {
        let Some(store) = self.store.take() else {
            return Err("Closed");
        };
        // In flight: a crash before the answer leaves them in doubt.
        self.say(format!("try {}", id_list(events)));
        let mut notes = Vec::new();
        let result = match case {
            Some(case) => store
                .append(CaseId::from_u128(case), ExpectedVersion::Any, events)
                .map(drop)
                .map_err(|e| match e {
                    AppendError::Log(e) => Some(e),
                    other => {
                        notes.push(format!("fatal {at} refused: {other}"));
                        None
                    }
                }),
            None => match store.batch() {
                Ok(mut batch) => {
                    for e in events {
                        let one = std::slice::from_ref(e);
                        if let Err(err) = batch.append(e.case_id, ExpectedVersion::Any, one) {
                            // What the batch's commit then says is the answer.
                            notes.push(format!("note {at} batch append failed: {err}"));
                            break;
                        }
                    }
                    batch.commit().map(drop).map_err(Some)
                }
                Err(e) => Err(Some(e)),
            },
        };
        self.store = Some(store);
        for note in notes {
            self.say(note);
        }
        match result {
            Ok(()) => {
                self.say(format!("ack {}", id_list(events)));
                Ok(())
            }
            Err(None) => Err("Refused"),
            Err(Some(e)) => {
                let kind = self.error(at, &e);
                // Undone: nothing of them is stored. Otherwise the callers
                // cannot know (a sync, or a step after it, failed).
                let what = if kind == "Undone" { "gone" } else { "doubt" };
                self.say(format!("{what} {}", id_list(events)));
                Err(kind)
            }
        }
    }

    /// Appends that a writer refusing writes must refuse.
    fn probe_refusals(&mut self) {
        for _ in 0..PROBES_AFTER_FAILURE {
            let Some(store) = self.store.take() else {
                return;
            };
            let id = self.next_probe;
            self.next_probe += 1;
            let probe = [opened(7, id, 10)];
            self.say(format!("try {id}"));
            let result = store.append(CaseId::from_u128(7), ExpectedVersion::Any, &probe);
            self.store = Some(store);
            match result {
                Ok(_) => {
                    self.say("probe ok".to_owned());
                    self.say(format!("ack {id}"));
                }
                Err(AppendError::Log(e)) => {
                    let kind = kind_name(&e);
                    let message = e.to_string().replace('\n', " ");
                    self.say(format!("probe {kind} {message}"));
                    // Refused before writing: not stored.
                    let what = if kind == "Failed" { "gone" } else { "doubt" };
                    self.say(format!("{what} {id}"));
                }
                Err(other) => self.say(format!("fatal probe refused: {other}")),
            }
        }
    }
}

/// What a run told its callers, parsed from its report lines.
#[derive(Debug, Default)]
pub struct Report {
    /// Every line, for messages.
    pub lines: Vec<String>,
    /// Event ids acknowledged.
    pub acked: BTreeSet<u128>,
    /// Event ids whose append was answered "not stored" (undone or refused).
    pub gone: BTreeSet<u128>,
    /// Groups of event ids whose callers cannot know: each whole or absent.
    pub doubt: Vec<Vec<u128>>,
    /// `(where, kind, message)` of every error, in order.
    pub errors: Vec<(String, String, String)>,
    /// The OS error each error's `source()` is, in order: its
    /// `io::ErrorKind` and raw code ("StorageFull 28"), or "none".
    pub sources: Vec<String>,
}

impl Report {
    /// Parses the runner's lines (other lines, such as the shim's, are kept
    /// in `lines` but otherwise ignored).
    pub fn parse(lines: &[String]) -> Report {
        let mut r = Report {
            lines: lines.to_vec(),
            ..Report::default()
        };
        let ids = |s: &str| -> Vec<u128> {
            s.split(',')
                .map(|x| x.parse().expect("an event id"))
                .collect()
        };
        // The ids of an append whose answer has not come (yet).
        let mut in_flight = None;
        for line in lines {
            let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
            if matches!(word, "ack" | "gone" | "doubt") {
                in_flight = None;
            }
            match word {
                "try" => in_flight = Some(ids(rest)),
                "ack" => {
                    // A retried append that was undone before.
                    for id in ids(rest) {
                        r.gone.remove(&id);
                        r.acked.insert(id);
                    }
                }
                "gone" => r.gone.extend(ids(rest)),
                "doubt" => r.doubt.push(ids(rest)),
                "error" => {
                    let mut parts = rest.splitn(3, ' ');
                    let at = parts.next().unwrap_or_default().to_owned();
                    let kind = parts.next().unwrap_or_default().to_owned();
                    let message = parts.next().unwrap_or_default().to_owned();
                    r.errors.push((at, kind, message));
                }
                "source" => {
                    let os = rest.split_once(' ').map_or("", |(_, os)| os);
                    r.sources.push(os.to_owned());
                }
                _ => {}
            }
        }
        // A crash before the answer: the caller cannot know.
        r.doubt.extend(in_flight);
        r
    }

    /// A description of the run for assertion messages.
    pub fn dump(&self) -> String {
        self.lines.join("\n")
    }

    /// Checks what the callers were told against itself: no fatal line; an
    /// undone append leaves a store that takes the next one; any other
    /// failure leaves one that refuses appends until reopened.
    pub fn check_answers(&self, context: &str) {
        for (i, line) in self.lines.iter().enumerate() {
            assert!(
                !line.starts_with("fatal"),
                "{context}: {line}\n{}",
                self.dump()
            );
            let Some(rest) = line.strip_prefix("error ") else {
                continue;
            };
            // An answer is said once, not wrapped in itself.
            for said in ["the append was not stored", "refuses writes"] {
                assert!(
                    rest.matches(said).count() <= 1,
                    "{context}: a message wrapped twice: {line}"
                );
            }
            let mut parts = rest.splitn(3, ' ');
            let at = parts.next().unwrap_or_default();
            let kind = parts.next().unwrap_or_default();
            if !at.starts_with("step") {
                // An open failed: it must say why with the file (checked
                // by the caller), never call the store corrupt.
                assert!(
                    kind == "Io",
                    "{context}: a failed open must be an I/O error: {line}\n{}",
                    self.dump()
                );
                continue;
            }
            assert!(
                !at.ends_with("-retry"),
                "{context}: a retry after the fault failed: {line}\n{}",
                self.dump()
            );
            let after: Vec<&String> = self.lines[i + 1..]
                .iter()
                .take_while(|l| !l.starts_with("error") && !l.starts_with("retry"))
                .collect();
            let probes: Vec<&&String> = after.iter().filter(|l| l.starts_with("probe")).collect();
            let reopened = after.iter().any(|l| l.starts_with("mark reopen"));
            let retried = self.lines.get(i + 1 + after.len()).map(String::as_str);
            if kind == "Undone" {
                assert!(
                    probes.is_empty() && !reopened,
                    "{context}: an undone append must leave a store that takes writes\n{}",
                    self.dump()
                );
            } else {
                assert!(
                    probes.len() == PROBES_AFTER_FAILURE
                        && probes.iter().all(|p| p.starts_with("probe Failed"))
                        && reopened,
                    "{context}: after a failure ({kind}) the store must refuse every append \
                     until reopened\n{}",
                    self.dump()
                );
            }
            assert_eq!(
                retried,
                Some("retry ok"),
                "{context}: the retry with the same ids must succeed\n{}",
                self.dump()
            );
        }
    }
}

/// Opens the store as the next process would (recovery) and checks it: it
/// opens, every acknowledged event is there, nothing answered "not stored"
/// is, every in-doubt group is whole or absent, nothing else is there, it
/// verifies, and it takes a new append. Returns how many events it holds.
pub fn check_store(dir: &Path, report: &Report, context: &str) -> u64 {
    let store = Store::open(dir, options()).unwrap_or_else(|e| {
        panic!(
            "{context}: the store does not reopen: {e}\n{}",
            report.dump()
        )
    });
    let stored: Vec<u128> = store
        .read_all(1)
        .unwrap_or_else(|e| panic!("{context}: read: {e}"))
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{context}: read: {e}"))
                .event
                .event_id
                .as_uuid()
                .as_u128()
        })
        .collect();
    let stored_set: BTreeSet<u128> = stored.iter().copied().collect();
    assert_eq!(
        stored_set.len(),
        stored.len(),
        "{context}: an event id repeats"
    );
    let lost: Vec<&u128> = report.acked.difference(&stored_set).collect();
    assert!(
        lost.is_empty(),
        "{context}: acknowledged events lost: {lost:?}\n{}",
        report.dump()
    );
    let visible: Vec<&u128> = report.gone.intersection(&stored_set).collect();
    assert!(
        visible.is_empty(),
        "{context}: events answered 'not stored' are visible: {visible:?}\n{}",
        report.dump()
    );
    let mut allowed = report.acked.clone();
    for group in &report.doubt {
        let present = group.iter().filter(|id| stored_set.contains(id)).count();
        assert!(
            present == 0 || present == group.len(),
            "{context}: an in-doubt append is partly visible: {group:?}\n{}",
            report.dump()
        );
        allowed.extend(group);
    }
    let unknown: Vec<&u128> = stored_set.difference(&allowed).collect();
    assert!(
        unknown.is_empty(),
        "{context}: events no caller appended are visible: {unknown:?}\n{}",
        report.dump()
    );
    let events = stored.len() as u64;
    // It takes writes again.
    store
        .append(
            CaseId::from_u128(9),
            ExpectedVersion::Any,
            &[opened(9, 5_000_000, 1)],
        )
        .unwrap_or_else(|e| panic!("{context}: the reopened store refuses an append: {e}"));
    drop(store);
    verify(dir, |_| {}).unwrap_or_else(|e| {
        panic!(
            "{context}: the store does not verify: {e}\n{}",
            report.dump()
        )
    });
    events
}
