//! The commands on a PostgreSQL store (`--store postgres://…`), through
//! caseledger-postgres: the same outputs as on a store directory, and the
//! same head for the same records.

use std::io::BufReader;
use std::path::Path;

use anyhow::{Context, Result, bail};
use caseledger::kpi::KpiAccumulator;
use caseledger::permission::{Finding, Permissions};
use caseledger::{CaseId, Event, EventLog, ExpectedVersion, RecordedEvent};
use caseledger_postgres::{Clock, PgLog, PgOptions};
use caseledger_store::Head;
use caseledger_synth::{Synth, SynthConfig};
use chrono::{DateTime, Utc};

use super::copy_io::{CopyRecord, CopySource, CopyTarget, SourceRecords, Written, check_commit};
use super::import::{Added, ImportSink, Summary, import, open_input, write_summary};
use super::open::check_head;
use super::output::{count, write_stdout};
use crate::args::{HeadArg, HistoryFormat, VerifyFormat};
use crate::exit::{Refused, UsageError};
use crate::location::PgUrl;

/// The error of a command that does not serve a PostgreSQL store: one
/// line naming the command, the database (redacted) and why.
pub fn not_served(command: &str, url: &PgUrl) -> anyhow::Error {
    let why = match command {
        "import --check" => {
            "it checks a file against a store directory's cases; run it without --store to \
             check the file alone, and a plain import into the database checks every line \
             again"
        }
        "import --reject" => {
            "it reads the file twice against a store directory; on a database, import the \
             file (all or nothing) after fixing the lines `import --check` lists"
        }
        "recover" => {
            "it cuts the torn tail a crash leaves in a store directory; a database has none \
             (a transaction commits whole or leaves nothing)"
        }
        "demo" => {
            "it builds and reuses a store directory of its own; on a database run `generate \
             --cases 3000`, then `report --group-by month`"
        }
        _ => "it works on a store directory only",
    };
    anyhow::Error::new(UsageError(format!(
        "{command} does not work on a PostgreSQL database (--store {url}): {why}"
    )))
}

/// Connects to the database for a command that writes (creating or
/// upgrading caseledger's schema in it), naming it, redacted, in errors.
pub fn open_writer(url: &PgUrl, clock: Clock) -> Result<PgLog> {
    PgLog::connect(url.secret(), PgOptions::default().clock(clock))
        .with_context(|| format!("cannot open store {url}"))
}

/// Connects to the database for a command that only reads: nothing is
/// created or upgraded in it (docs/postgres.md, "Schema"). A database
/// without a ledger is an error naming it (redacted) and what to do, as a
/// directory that is not a store is (exit status 1).
pub fn open_reader(url: &PgUrl) -> Result<PgLog> {
    open_existing(url, PgOptions::default())
}

/// Connects to the database for a command that appends to a ledger that
/// must be there already (`follow-ups plan --apply`: its calls are on
/// recorded cases, so a database without a ledger is a wrong `--store`, as
/// a missing store directory is): nothing is created or upgraded, and a
/// database without a ledger is [`open_reader`]'s error.
pub fn open_appender(url: &PgUrl, clock: Clock) -> Result<PgLog> {
    open_existing(url, PgOptions::default().clock(clock))
}

/// [`open_reader`] and [`open_appender`]: `options` with no schema created.
fn open_existing(url: &PgUrl, options: PgOptions) -> Result<PgLog> {
    PgLog::connect(url.secret(), options.create_schema(false)).map_err(|e| {
        let why = match e.kind() {
            caseledger_postgres::ErrorKind::NoLedger { .. } => {
                ": it is not a caseledger store; check the database name, or import, generate \
                 or copy into it first"
            }
            _ => "",
        };
        anyhow::Error::new(e).context(format!("cannot open store {url}{why}"))
    })
}

/// The file store's head type for a PostgreSQL head (the same pair).
fn head(h: caseledger_postgres::Head) -> Head {
    Head {
        position: h.position,
        hash: h.hash,
    }
}

/// The log's checked read of its events (`batches`: by batches, borrowed,
/// to `fold`; else one by one, to `visit`), of the whole log, or with
/// `at` (`--head`) of the log as it stood when its head was there, its
/// hash checked against the one given: first from the commit marker
/// there, before anything is read, then from the chain the read
/// recomputed. Returns the head read up to.
fn read_checked(log: &PgLog, url: &PgUrl, at: Option<&HeadArg>, read: Read<'_>) -> Result<Head> {
    let Some(arg) = at else {
        let report = match read {
            Read::Batches(fold) => log.read_verified_batches(fold)?,
            Read::Events(visit) => log.read_verified(visit)?,
        };
        return Ok(head(report.head));
    };
    let context = || {
        format!(
            "cannot read store {url} as it stood at --head {}",
            arg.position
        )
    };
    if let Some(found) = log.head_at(arg.position).with_context(context)? {
        check_head(arg, &head(found))?;
    }
    let report = match read {
        Read::Batches(fold) => log.read_verified_batches_up_to(arg.position, fold),
        Read::Events(visit) => log.read_verified_up_to(arg.position, visit),
    }
    .with_context(context)?;
    let found = head(report.head);
    check_head(arg, &found)?;
    Ok(found)
}

/// How [`read_checked`] hands the events over.
enum Read<'a> {
    /// By batches, borrowed.
    Batches(&'a mut dyn FnMut(&[RecordedEvent])),
    /// One by one.
    Events(&'a mut dyn FnMut(RecordedEvent)),
}

/// `export` from PostgreSQL: the events as the log's chain-checking walk
/// over the bodies hands them over ([`PgLog::read_verified`], on a thread
/// of their own, so that the walk and the writing overlap), which is also
/// its fastest whole-log read.
pub fn export(url: &PgUrl, as_of: Option<DateTime<Utc>>, at: Option<&HeadArg>) -> Result<()> {
    let log = open_reader(url)?;
    let total = at.map_or_else(|| log.head().map(|h| h.position), |a| Ok(a.position))?;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordedEvent>(8192);
        let walk = s.spawn(move || {
            // A send fails only once the writer stopped (a closed pipe):
            // the walk then runs out without sending.
            let mut send = |e| {
                let _ = tx.send(e);
            };
            read_checked(&log, url, at, Read::Events(&mut send))
        });
        let written = super::export::write_events(
            rx.into_iter().map(Ok::<_, std::convert::Infallible>),
            total,
            as_of,
        );
        let walked = walk
            .join()
            .map_err(|_| anyhow::anyhow!("the reading thread panicked"))?;
        written?;
        walked
            .map(|_| ())
            .with_context(|| format!("cannot read {url}"))
    })
}

/// `history` from PostgreSQL.
pub fn history(
    url: &PgUrl,
    case_id: CaseId,
    as_of: Option<DateTime<Utc>>,
    at: Option<&HeadArg>,
    format: HistoryFormat,
) -> Result<()> {
    let log = open_reader(url)?;
    // Every read checks what it prints: the case's events are taken from
    // the verified walk of the whole log (each body's link, gapless
    // positions, stream versions, batches, the head), as the store
    // directory's `history` opens its store, which checks every link. A
    // lookup of the case's rows alone would print a row changed, or a
    // last event deleted, behind the log's back.
    let mut events = Vec::new();
    let mut keep = |e: RecordedEvent| {
        if e.event.case_id == case_id {
            events.push(e);
        }
    };
    read_checked(&log, url, at, Read::Events(&mut keep))?;
    if events.is_empty() {
        bail!("case {case_id} has no events in {url}");
    }
    super::export::write_history(case_id, events, as_of, format)
}

/// `verify` on PostgreSQL: the log's own walk (every row's chain link and
/// columns, gapless positions and versions, batches, the head row, and the
/// case rules); the head, or the first problem with its position.
/// With `roles`, also lists the permission findings (docs/permissions.md),
/// an error with `strict` when there is any.
pub fn verify(
    url: &PgUrl,
    format: VerifyFormat,
    roles: Option<&Permissions>,
    strict: bool,
) -> Result<()> {
    let log = match open_reader(url) {
        Ok(log) => log,
        // As a store directory's verify: the JSON says why nothing was
        // checked (a database without a ledger, a server not there).
        Err(e) if format == VerifyFormat::Json => {
            let problem = Problem {
                kind: "error",
                position: None,
                // The whole chain on one line, redacted as stderr is.
                detail: crate::location::redact(&crate::exit::error_lines(&e).join(": ")),
            };
            let text = pg_verify_json(Err(problem), None)?;
            return super::output::verdict_after(write_stdout(&text), Err(e));
        }
        Err(e) => return Err(e),
    };
    let bar = crate::progress::bar(None, "verifying");
    let mut audit = super::roles::audit(roles);
    let result = log.verify(|e| {
        if e.position % 4096 == 0 {
            bar.set_position(e.position);
        }
        if let Some(a) = &mut audit {
            a.observe(e.position, &e.event);
        }
    });
    bar.finish_and_clear();
    let findings = audit.map(|a| a.findings());
    let text = match (&result, format) {
        (Ok(r), VerifyFormat::Text) => {
            format!(
                "ok: {} in {}, {}; hash chain, columns and case rules hold\nhead: position {} \
                 hash {}\n",
                count(r.events, "event"),
                count(r.streams, "case"),
                count(r.commits, "batch").replace("batchs", "batches"),
                r.head.position,
                r.head.hash_hex()
            ) + &findings
                .as_deref()
                .map(super::roles::text)
                .unwrap_or_default()
        }
        (Ok(r), VerifyFormat::Json) => pg_verify_json(Ok(r), findings.as_deref())?,
        (Err(e), VerifyFormat::Json) => pg_verify_json(Err(Problem::of(e)), None)?,
        (Err(_), VerifyFormat::Text) => String::new(),
    };
    let verdict = match result {
        Ok(_) => super::roles::strict(findings.as_deref(), strict),
        Err(e) => Err(anyhow::Error::new(e).context(format!("verify failed on {url}"))),
    };
    super::output::verdict_after(write_stdout(&text), verdict)
}

/// Why `verify` on PostgreSQL failed, for its JSON.
struct Problem {
    /// `tampered`, `case_rule` or `error`.
    kind: &'static str,
    position: Option<u64>,
    detail: String,
}

impl Problem {
    /// The walk's error.
    fn of(e: &caseledger_postgres::Error) -> Problem {
        let (kind, position) = match e.kind() {
            caseledger_postgres::ErrorKind::Tampered { position, .. } => {
                ("tampered", Some(*position))
            }
            caseledger_postgres::ErrorKind::RuleBroken { position, .. } => {
                ("case_rule", Some(*position))
            }
            _ => ("error", None),
        };
        Problem {
            kind,
            position,
            detail: e.to_string(),
        }
    }
}

/// `verify --format json` on PostgreSQL: the keys in docs/cli.md's order,
/// every one present (null when a problem left it unknown), as the store
/// directory's form has them.
fn pg_verify_json(
    result: Result<&caseledger_postgres::VerifyReport, Problem>,
    findings: Option<&[caseledger::permission::Finding]>,
) -> Result<String> {
    use super::output::HeadJson;
    #[derive(serde::Serialize)]
    struct ProblemJson {
        kind: &'static str,
        position: Option<u64>,
        detail: String,
    }
    #[derive(serde::Serialize)]
    struct Out<'a> {
        ok: bool,
        events: Option<u64>,
        cases: Option<u64>,
        batches: Option<u64>,
        head: Option<HeadJson>,
        problem: Option<ProblemJson>,
        /// Only with `--roles`.
        #[serde(skip_serializing_if = "Option::is_none")]
        permission_findings: Option<&'a [caseledger::permission::Finding]>,
    }
    let out = match result {
        Ok(r) => Out {
            ok: true,
            events: Some(r.events),
            cases: Some(r.streams),
            batches: Some(r.commits),
            head: Some(HeadJson::new(r.head.position, r.head.hash_hex())),
            problem: None,
            permission_findings: findings,
        },
        Err(p) => Out {
            ok: false,
            events: None,
            cases: None,
            batches: None,
            head: None,
            problem: Some(ProblemJson {
                kind: p.kind,
                position: p.position,
                detail: p.detail,
            }),
            permission_findings: None,
        },
    };
    Ok(serde_json::to_string_pretty(&out)? + "\n")
}

/// Replays the log into the KPI accumulator through the log's
/// chain-checking walk over the bodies ([`PgLog::read_verified_batches`]: every
/// link, position, version, batch and the head; the copied columns are
/// `verify`'s), so the head is always verified: with `--no-verify` too, as
/// the walk is also the fastest whole-log read the log offers.
///
/// Folds into `acc` (made as of `as_of`, with or without the responder
/// records); with `roles`, also audits every event at or before `as_of`
/// for the permission findings.
pub fn replay(
    url: &PgUrl,
    mut acc: KpiAccumulator,
    as_of: Option<DateTime<Utc>>,
    roles: Option<&Permissions>,
    at: Option<&HeadArg>,
) -> Result<(KpiAccumulator, Head, Option<Vec<Finding>>)> {
    let log = open_reader(url)?;
    let mut audit = super::roles::audit(roles);
    let bar = crate::progress::bar(None, "replaying");
    // By batches, borrowed, as from a store directory: the accumulator
    // looks a batch's cases up together, and the strings are reused.
    let mut fold = |batch: &[RecordedEvent]| {
        for e in batch {
            if e.position % 8192 == 0 {
                bar.set_position(e.position);
            }
            if let Some(a) = &mut audit
                && as_of.is_none_or(|t| e.event.at <= t)
            {
                a.observe(e.position, &e.event);
            }
        }
        acc.replay(batch.iter().map(|e| (e.position, &e.event)));
    };
    let read = read_checked(&log, url, at, Read::Batches(&mut fold))?;
    bar.finish_and_clear();
    Ok((acc, read, audit.map(|a| a.findings())))
}

/// `cases` on PostgreSQL: the case board folded from every event in one
/// walk, the hash chain checked to the head as `report` checks it
/// ([`PgLog::read_verified_batches`]: the events borrowed, their strings
/// reused).
pub fn board(
    url: &PgUrl,
    as_of: Option<DateTime<Utc>>,
    at: Option<&HeadArg>,
) -> Result<(caseledger::board::CaseBoard, Head)> {
    use caseledger::projection::Projection as _;
    let log = open_reader(url)?;
    let mut board = caseledger::board::CaseBoard::new(as_of);
    let mut fold = |batch: &[RecordedEvent]| {
        for e in batch {
            board.observe(e.position, &e.event);
        }
    };
    let read = read_checked(&log, url, at, Read::Batches(&mut fold))?;
    Ok((board, read))
}

/// `generate` into PostgreSQL: only into an empty database (synthetic
/// events could never be removed from a ledger). One batch, each event
/// recorded at its own time (as on a store directory), loaded through
/// `COPY`: the same head as `generate` with the same flags gives there.
pub fn generate(url: &PgUrl, config: SynthConfig) -> Result<()> {
    let log = open_writer(url, Clock::EventTime)?;
    let start = log.head()?;
    if start.position > 0 {
        return Err(Refused(format!(
            "{url} holds {} and generate writes synthetic events, which an append-only, \
             hash-chained log can never remove: use a new, empty database",
            count(start.position, "event")
        ))
        .into());
    }
    let cases = config.cases;
    let seed = config.seed;
    let mut versions: std::collections::HashMap<CaseId, u64> = Default::default();
    let mut last: Option<DateTime<Utc>> = None;
    let mut position = 0u64;
    let events = Synth::new(config).map(|event| {
        position += 1;
        let version = versions.entry(event.case_id).or_default();
        *version += 1;
        // As the file store's EventTime clock: never before the last.
        let recorded_at = last.map_or(event.at, |t| t.max(event.at));
        last = Some(recorded_at);
        Ok::<_, std::convert::Infallible>(caseledger_postgres::LogRecord::Event(RecordedEvent {
            position,
            version: *version,
            recorded_at,
            event,
        }))
    });
    let total = std::cell::Cell::new(0u64);
    let records = events
        .inspect(|_| total.set(total.get() + 1))
        .chain(std::iter::once_with(|| Ok(commit_marker(1, total.get()))));
    let h = log.import(caseledger_postgres::Head::EMPTY, records)?;
    write_stdout(&format!(
        "generated {} in {} (seed {seed})\nhead: position {} hash {}\n",
        count(h.position, "event"),
        count(cases, "case"),
        h.position,
        h.hash_hex()
    ))
}

fn commit_marker(first_position: u64, last_position: u64) -> caseledger_postgres::LogRecord {
    caseledger_postgres::LogRecord::Commit {
        first_position,
        last_position,
    }
}

/// `import` into PostgreSQL: every line checked as for a store directory
/// (the same line-numbered errors), then loaded in one transaction through
/// `COPY`: all lines or none.
pub fn import_file(url: &PgUrl, file: Option<&Path>) -> Result<()> {
    let (input, total, name) = open_input(file)?;
    let log = open_writer(url, Clock::System)?;
    let start = log.head()?;
    // The last recorded time: new events are recorded no earlier.
    let last_recorded = match start.position {
        0 => None,
        p => log.read_all(p)?.next().transpose()?.map(|e| e.recorded_at),
    };
    let bar = crate::progress::bar(total, "importing");
    let summary = std::thread::scope(|s| -> Result<Summary> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<caseledger_postgres::LogRecord>(8192);
        let log = &log;
        let loader = s.spawn(move || {
            log.import(start, rx.into_iter().map(Ok::<_, std::convert::Infallible>))
        });
        let mut sink = PgSink {
            log,
            tx: Some(tx),
            next_position: start.position + 1,
            first_sent: start.position + 1,
            last_recorded,
            appended: Default::default(),
            lines: Vec::new(),
            histories: Default::default(),
        };
        let checked = import(&mut sink, BufReader::with_capacity(1 << 20, input), &|n| {
            bar.set_position(n)
        });
        let first = start.position + 1;
        let last = sink.next_position - 1;
        let tx = sink.tx.take();
        let summary = match checked {
            // Without the commit marker the load is refused: nothing is written.
            Err(e) => {
                drop(tx);
                // The load's own error first when it stopped the import (the
                // check then failed only because the load had stopped).
                return match loader.join() {
                    Ok(Err(load))
                        if matches!(
                            load.kind(),
                            caseledger_postgres::ErrorKind::EventIdTaken { .. }
                        ) || format!("{e:#}").contains(LOAD_STOPPED) =>
                    {
                        Err(line_of_taken_id(load, &sink))
                    }
                    _ => Err(e),
                };
            }
            Ok(summary) => summary,
        };
        if last >= first
            && let Some(tx) = &tx
        {
            // The loader stops only on an error, which join reports.
            let _ = tx.send(commit_marker(first, last));
        }
        drop(tx);
        let loaded = loader
            .join()
            .map_err(|_| anyhow::anyhow!("the loading thread panicked"))?
            .map_err(|e| line_of_taken_id(e, &sink))?;
        let mut summary = summary;
        summary.head = (last >= first).then(|| head(loaded));
        Ok(summary)
    })
    .map_err(|e| {
        // The load holds the head from its start to its commit; an append
        // of another process between this import's reading of the head and
        // the load's lock moves it, and the load refuses.
        let refused = has_pg_kind(&e, |k| {
            matches!(k, caseledger_postgres::ErrorKind::ImportRefused { .. })
        });
        match log.head() {
            Ok(now) if refused && now != start => e.context(format!(
                "another process appended to the log while this import began (its head went \
                 from position {} to {}); run the import again",
                start.position, now.position
            )),
            _ => e,
        }
    })
    .map_err(|e| {
        // Only where the server's answer to the commit was lost is the
        // outcome unknown; every other failure rolled the load back.
        let unknown = has_pg_kind(&e, |k| {
            matches!(k, caseledger_postgres::ErrorKind::OutcomeUnknown { .. })
        });
        if unknown {
            e.context(format!(
                "the import of {name} may or may not be stored: `caseledger verify` and the \
                 log's head tell; importing it again is refused, naming an event id, if it was"
            ))
        } else {
            e.context(format!("nothing was imported from {name}"))
        }
    })?;
    bar.finish_and_clear();
    write_summary(&summary)
}

/// Whether a PostgreSQL error of a kind `wanted` accepts is in `e`'s chain.
fn has_pg_kind(
    e: &anyhow::Error,
    wanted: impl Fn(&caseledger_postgres::ErrorKind) -> bool,
) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<caseledger_postgres::Error>()
            .is_some_and(|pe| wanted(pe.kind()))
    })
}

/// What the sink answers once the load has stopped (the load's own error
/// is then the one reported).
const LOAD_STOPPED: &str = "the loading transaction stopped";

/// The load's error, with the input's line when it is an event id the log
/// holds already (in another case: the table's unique key found it) or
/// twice: "line N: …", as a store directory's import says it.
fn line_of_taken_id(e: caseledger_postgres::Error, sink: &PgSink<'_>) -> anyhow::Error {
    let caseledger_postgres::ErrorKind::EventIdTaken { event_id } = e.kind() else {
        return e.into();
    };
    let line = sink
        .appended
        .get(event_id)
        .and_then(|p| p.checked_sub(sink.first_sent))
        .and_then(|i| sink.lines.get(usize::try_from(i).ok()?));
    match line {
        Some(line) => anyhow::anyhow!(
            "line {line}: event id {event_id} is already stored in another case of the log (an \
             event id is never reused)"
        ),
        None => e.into(),
    }
}

/// PostgreSQL as an import's sink: the checked events are streamed to the
/// loading transaction (`COPY`), which commits only once the import sends
/// the batch's commit marker.
struct PgSink<'a> {
    log: &'a PgLog,
    tx: Option<std::sync::mpsc::SyncSender<caseledger_postgres::LogRecord>>,
    next_position: u64,
    /// The position of the first event sent.
    first_sent: u64,
    last_recorded: Option<DateTime<Utc>>,
    /// The position of each event id this import appended.
    appended: std::collections::HashMap<caseledger::EventId, u64, foldhash::fast::RandomState>,
    /// The line of each event sent, by position - first: to name the line
    /// of an event id the load finds stored already.
    lines: Vec<u64>,
    /// The stored histories of the cases looked at (the ids of a case's
    /// own events are found there; an id stored in another case is
    /// refused by the table's unique key, all or nothing, and named with
    /// its line by [`line_of_taken_id`]).
    histories: std::collections::HashMap<CaseId, Vec<RecordedEvent>, foldhash::fast::RandomState>,
}

impl PgSink<'_> {
    fn history(&mut self, case_id: CaseId) -> Result<&Vec<RecordedEvent>> {
        if !self.histories.contains_key(&case_id) {
            let events = self.log.read_stream(case_id)?;
            self.histories.insert(case_id, events);
        }
        Ok(self.histories.entry(case_id).or_default())
    }
}

impl ImportSink for PgSink<'_> {
    fn first_position(&self) -> u64 {
        self.next_position
    }

    fn stored_event(&mut self, event: &Event) -> Result<Option<RecordedEvent>> {
        let id = event.event_id;
        Ok(self
            .history(event.case_id)?
            .iter()
            .find(|e| e.event.event_id == id)
            .cloned())
    }

    fn read_stream(&mut self, case_id: CaseId) -> Result<Vec<RecordedEvent>> {
        Ok(self.history(case_id)?.clone())
    }

    fn append(
        &mut self,
        expected: ExpectedVersion,
        event: &Event,
        line_no: u64,
    ) -> Result<Added, Box<dyn std::error::Error + Send + Sync>> {
        if let Some(&position) = self.appended.get(&event.event_id) {
            return Ok(Added::Repeats(position));
        }
        let ExpectedVersion::Exact(version) = expected else {
            return Err("an import appends at an exact version".into());
        };
        let now = Utc::now();
        let recorded_at = self.last_recorded.map_or(now, |t| t.max(now));
        self.last_recorded = Some(recorded_at);
        let position = self.next_position;
        let record = RecordedEvent {
            position,
            version: version + 1,
            recorded_at,
            event: event.clone(),
        };
        let sent = self.tx.as_ref().is_some_and(|tx| {
            tx.send(caseledger_postgres::LogRecord::Event(record))
                .is_ok()
        });
        if !sent {
            return Err(LOAD_STOPPED.into());
        }
        self.appended.insert(event.event_id, position);
        self.lines.push(line_no);
        self.next_position += 1;
        Ok(Added::New)
    }

    fn appended_at(&mut self, event: &Event) -> Option<u64> {
        self.appended.get(&event.event_id).copied()
    }
}

/// PostgreSQL as a copy's source.
pub struct PgSource {
    log: PgLog,
    head: Head,
}

impl PgSource {
    /// Opens the source (creating nothing in it) and takes its head: the
    /// copy reads up to it.
    pub fn open(url: &PgUrl) -> Result<PgSource> {
        let log = open_reader(url)?;
        let head = head(log.head()?);
        Ok(PgSource { log, head })
    }
}

impl CopySource for PgSource {
    fn head(&self) -> Head {
        self.head
    }

    fn head_at(&self, position: u64) -> Result<Option<Head>> {
        Ok(self.log.head_at(position)?.map(head))
    }

    fn records(&self, from: u64) -> Result<SourceRecords<'_>> {
        let end = self.head.position;
        let mut records = self.log.read_records(from)?;
        // Up to the head taken at open: the commit that reaches it ends the
        // read (appends made since are not copied).
        let mut past = end == 0;
        Ok(Box::new(std::iter::from_fn(move || {
            if past {
                return None;
            }
            let r = records.next()?;
            Some(match r {
                Ok(caseledger_postgres::LogRecord::Event(e)) => Ok(CopyRecord::Event(e)),
                Ok(caseledger_postgres::LogRecord::Commit {
                    first_position,
                    last_position,
                }) => {
                    past = last_position >= end;
                    Ok(CopyRecord::Commit {
                        first_position,
                        last_position,
                        hash: None,
                    })
                }
                Ok(_) => Err(anyhow::anyhow!(
                    "the source holds a record this build does not know"
                )),
                Err(e) => Err(anyhow::Error::new(e).context("cannot read the source")),
            })
        })))
    }
}

/// PostgreSQL as a copy's target: whole batches loaded through `COPY`, a
/// transaction per chunk of batches.
pub struct PgTarget {
    log: PgLog,
}

impl PgTarget {
    /// Opens the target (creating or upgrading the schema).
    pub fn open(url: &PgUrl) -> Result<PgTarget> {
        Ok(PgTarget {
            log: open_writer(url, Clock::System)?,
        })
    }
}

/// The error that ended a copy's source while loading: the loader is told
/// only that it stopped; the copy returns the source's own error.
#[derive(Debug)]
struct SourceStopped;

impl std::fmt::Display for SourceStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reading the source failed")
    }
}

impl std::error::Error for SourceStopped {}

impl CopyTarget for PgTarget {
    fn head(&self) -> Result<Head> {
        Ok(head(self.log.head()?))
    }

    /// `verify`'s walk without the case rules: every body's link, every
    /// column against its body, positions, versions, batches and the head
    /// row. The rules need no second look: the chain ending on the source's
    /// hash makes the events the source's, which hold them or not alike.
    fn check_up_to(&self, upto: Head) -> Result<()> {
        let walked = head(self.log.verify_chain(|_| {})?.head);
        if walked != upto {
            bail!(
                "its head moved from position {} to position {} while the copy checked it: \
                 another process writes to it, and a copy's target must have no other writer",
                upto.position,
                walked.position
            );
        }
        Ok(())
    }

    fn write_batches(
        &mut self,
        records: &mut SourceRecords<'_>,
        chunk_events: u64,
    ) -> Result<Option<Written>> {
        let start = self.log.head()?;
        let mut written = Written {
            events: 0,
            batches: 0,
            head: head(start),
        };
        let mut failure: Option<anyhow::Error> = None;
        let mut last_commit: Option<(u64, Option<[u8; 32]>)> = None;
        let mut done = false;
        let chunk = std::iter::from_fn(|| {
            if done || failure.is_some() {
                return None;
            }
            match records.next()? {
                Ok(CopyRecord::Event(e)) => {
                    written.events += 1;
                    Some(Ok(caseledger_postgres::LogRecord::Event(e)))
                }
                Ok(CopyRecord::Commit {
                    first_position,
                    last_position,
                    hash,
                }) => {
                    written.batches += 1;
                    last_commit = Some((last_position, hash));
                    done = written.events >= chunk_events;
                    Some(Ok(commit_marker(first_position, last_position)))
                }
                Err(e) => {
                    failure = Some(e);
                    Some(Err(SourceStopped))
                }
            }
        });
        let loaded = self.log.import(start, chunk);
        if let Some(e) = failure {
            return Err(e);
        }
        let loaded = head(loaded?);
        let Some((last_position, hash)) = last_commit else {
            return Ok(None);
        };
        match hash {
            Some(hash) => check_commit(loaded, last_position, hash)?,
            None if loaded.position != last_position => bail!(
                "the copied batches end at position {}, the source's at {last_position}",
                loaded.position
            ),
            None => {}
        }
        written.head = loaded;
        Ok(Some(written))
    }
}
