//! The subcommands. Each opens the store the way it needs (read-only for
//! everything that only reads) and writes its output to stdout.

pub mod bench;
mod import;
mod report;

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use caseledger::synth::{Synth, SynthConfig};
use caseledger::{CaseId, CaseState, EventLog, ExpectedVersion, RecordedEvent};
use caseledger_store::{Clock, ErrorKind, Store, StoreOptions, Until, verify};
use chrono::{DateTime, Utc};

use crate::{Command, DEMO_STORE, HistoryFormat, UsageError, VerifyFormat};

pub use report::ReportArgs;

/// stdout was closed by the reader (`caseledger export | head`): not an
/// error worth a message.
#[derive(Debug)]
pub struct BrokenPipe;

impl std::fmt::Display for BrokenPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("broken pipe")
    }
}

impl std::error::Error for BrokenPipe {}

/// `n` and the noun, plural unless `n` is 1: "1 segment", "2 segments".
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Converts a write error on stdout.
pub fn out_err(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(BrokenPipe)
    } else {
        anyhow::Error::new(e).context("cannot write to standard output")
    }
}

/// Runs one subcommand.
pub fn run(store: Option<PathBuf>, command: Command) -> Result<()> {
    let need_store = || {
        store.clone().ok_or_else(|| {
            anyhow::Error::new(UsageError(
                "no store given: pass --store DIR or set CASELEDGER_STORE".to_owned(),
            ))
        })
    };
    match command {
        Command::Import { file } => import::run(&need_store()?, file.as_deref()),
        Command::Export { as_of } => export(&need_store()?, as_of),
        Command::Report(args) => report::run(&need_store()?, &args),
        Command::History {
            case_id,
            as_of,
            format,
        } => history(&need_store()?, case_id, as_of, format),
        Command::Verify { format } => verify_cmd(&need_store()?, format),
        Command::Recover => recover(&need_store()?),
        Command::Generate {
            cases,
            seed,
            start,
            span_days,
        } => {
            let config = SynthConfig {
                cases,
                seed,
                start,
                span_days,
            };
            config
                .check()
                .map_err(|e| UsageError(format!("generate: {e}")))?;
            generate(&need_store()?, config, true).map(|_| ())
        }
        Command::Demo => demo(store.as_deref()),
        Command::Bench(args) => bench::run(&args),
    }
}

/// Opens a store read-only, with a message that names the directory.
pub fn open_read_only(dir: &Path) -> Result<Store> {
    Store::open_read_only(dir).with_context(|| format!("cannot open store {}", dir.display()))
}

/// Opens a store for a whole-log read (no index), naming the directory in
/// errors.
pub fn open_reader(dir: &Path) -> Result<caseledger_store::LogReader> {
    caseledger_store::LogReader::open(dir)
        .with_context(|| format!("cannot open store {}", dir.display()))
}

/// Opens a store for writing; reports on stderr what recovery cut.
pub fn open_writer(dir: &Path, clock: Clock) -> Result<Store> {
    let options = StoreOptions {
        clock,
        ..StoreOptions::default()
    };
    let store = Store::open(dir, options)
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    if store.recovery().cut_anything() {
        eprintln!("{}", describe_recovery(&store));
    }
    Ok(store)
}

fn describe_recovery(store: &Store) -> String {
    let r = store.recovery();
    let mut s = format!(
        "recovered: cut a torn tail ({}; {})",
        r.reason,
        count(r.uncommitted_events, "uncommitted event")
    );
    for piece in &r.cut {
        s.push_str(&format!(
            "\n  {} from byte {}: {} bytes, kept in {}",
            piece.file.display(),
            piece.from_offset,
            piece.bytes,
            piece.saved_to.display()
        ));
    }
    s
}

fn export(dir: &Path, as_of: Option<DateTime<Utc>>) -> Result<()> {
    let store = open_reader(dir)?;
    let head = store.head();
    let bar = crate::progress::bar(Some(head.position), "exporting");
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for event in store.read(1, Until::End) {
        let event = event?;
        bar.set_position(event.position);
        if as_of.is_some_and(|t| event.event.at > t) {
            continue;
        }
        serde_json::to_writer(&mut out, &event).map_err(|e| {
            // Writing through a full buffer reaches stdout: a write error
            // is stdout's (a closed pipe ends quietly), not the event's.
            if e.is_io() {
                out_err(e.into())
            } else {
                anyhow::Error::new(e).context("cannot encode an event")
            }
        })?;
        out.write_all(b"\n").map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    bar.finish_and_clear();
    Ok(())
}

fn history(
    dir: &Path,
    case_id: CaseId,
    as_of: Option<DateTime<Utc>>,
    format: HistoryFormat,
) -> Result<()> {
    let store = open_read_only(dir)?;
    let events = store.read_stream(case_id)?;
    if events.is_empty() {
        bail!("case {case_id} has no events in {}", dir.display());
    }
    let mut state = CaseState::initial();
    let mut steps = Vec::new();
    for e in events
        .into_iter()
        .filter(|e| as_of.is_none_or(|t| e.event.at <= t))
    {
        state = state.apply(&e.event).with_context(|| {
            format!(
                "the stored history breaks a rule at position {}",
                e.position
            )
        })?;
        steps.push((e, state.clone()));
    }
    let text = match format {
        HistoryFormat::Table => crate::render::history_table(case_id, &steps),
        HistoryFormat::Json => crate::render::history_json(case_id, as_of, &steps)?,
    };
    write_stdout(&text)
}

/// Writes all of `text` to stdout.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(out_err)?;
    out.flush().map_err(out_err)
}

/// Writes `text` to the file `path` whole or not at all: into a temporary
/// file beside it, synced, then renamed over it, so that a reader (or a
/// mail program attaching it) never sees half a report, and an error leaves
/// the old file as it was.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("--output {}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
    })
}

fn verify_cmd(dir: &Path, format: VerifyFormat) -> Result<()> {
    let bar = crate::progress::bar(None, "verifying");
    // The last event the walk checked: where the damage begins, the last
    // good position.
    let mut last_good = 0;
    // The store's walk (checksums, chain, decoding) runs on this thread and
    // hands events in chunks to a second one that folds every case through
    // the rules: the two halves of a verify on two cores.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<RecordedEvent>>(4);
    let (result, broken) = std::thread::scope(|s| {
        let rules = s.spawn(move || fold_rules(rx));
        let mut chunk = Vec::with_capacity(VERIFY_CHUNK_EVENTS);
        let mut rules_done = false;
        let result = verify(dir, |e| {
            if e.position % 4096 == 0 {
                bar.set_position(e.position);
            }
            last_good = e.position;
            chunk.push(e);
            if chunk.len() == VERIFY_CHUNK_EVENTS && !rules_done {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(VERIFY_CHUNK_EVENTS));
                // A send fails only when the rules thread stopped at a
                // broken rule; the walk goes on to check the bytes.
                rules_done = tx.send(full).is_err();
            }
            if rules_done {
                chunk.clear();
            }
        });
        let _ = tx.send(chunk);
        drop(tx);
        let broken = rules.join().unwrap_or_else(|_| {
            Some(RuleBreak {
                position: 0,
                message: "the rule check panicked".to_owned(),
            })
        });
        (result, broken)
    });
    bar.finish_and_clear();
    let outcome = match (result, broken) {
        (Err(e), _) => Err(VerifyProblem::of_store(&e, last_good)),
        (Ok(_), Some(b)) => Err(VerifyProblem::of_rule(b)),
        (Ok(report), None) => Ok(report),
    };
    if format == VerifyFormat::Json {
        write_stdout(&verify_json(&outcome)?)?;
    }
    let report = match outcome {
        Ok(report) => report,
        Err(p) => bail!(
            "verify failed: {}\n  {}\n  next: {}",
            p.message,
            p.what,
            p.next
        ),
    };
    if format == VerifyFormat::Json {
        return Ok(());
    }
    let mut text = format!(
        "ok: {} in {}, {}, {} bytes; checksums, hash chain and case rules hold\nhead: position \
         {} hash {}\n",
        count(report.events, "event"),
        count(report.streams, "case"),
        count(report.segments, "segment"),
        report.bytes,
        report.head.position,
        report.head.hash_hex()
    );
    if report.writer_active {
        text.push_str("note: a writer is running; checked up to its acknowledged end\n");
    }
    write_stdout(&text)
}

/// Why `verify` failed: what, where, and what to do next.
#[derive(Debug)]
struct VerifyProblem {
    /// `corruption`, `torn_tail`, `case_rule` or `error`.
    kind: &'static str,
    /// The message, with file, offset and position.
    message: String,
    /// What kind of problem it is, for people.
    what: &'static str,
    /// What to do next.
    next: String,
    file: Option<PathBuf>,
    offset: Option<u64>,
    position: Option<u64>,
    detail: String,
    /// The last position checked good before the problem.
    last_good: u64,
}

impl VerifyProblem {
    fn of_store(e: &caseledger_store::Error, last_good: u64) -> VerifyProblem {
        let (kind, what, damage) = match e.kind() {
            ErrorKind::TornTail(d) => (
                "torn_tail",
                "this is a torn tail: an incomplete write at the very end, as a crash leaves",
                Some(d),
            ),
            ErrorKind::Corrupt(d) => (
                "corruption",
                "this is corruption: acknowledged data is damaged; nothing was changed",
                Some(d),
            ),
            _ => ("error", "the store could not be checked", None),
        };
        let next = match kind {
            "torn_tail" => "`caseledger recover` cuts it and keeps the bytes under cut/".to_owned(),
            "corruption" => format!(
                "the records of positions 1 to {last_good} check good (the last good position is \
                 {last_good}). Restore the store directory from a backup copy, check the copy \
                 with `caseledger verify` and compare its head with one you recorded; see \
                 \"Backup and restore\" in docs/store-format.md"
            ),
            _ => "check the path and the permissions, then run verify again".to_owned(),
        };
        VerifyProblem {
            kind,
            message: e.to_string(),
            what,
            next,
            file: damage.map(|d| d.file.clone()),
            offset: damage.map(|d| d.offset),
            position: damage.and_then(|d| d.position),
            detail: damage.map_or_else(|| e.to_string(), |d| d.detail.clone()),
            last_good,
        }
    }

    fn of_rule(b: RuleBreak) -> VerifyProblem {
        VerifyProblem {
            kind: "case_rule",
            message: b.message.clone(),
            what: "the bytes and the chain are sound, but a case's recorded history breaks a \
                   case rule",
            next: "the history was recorded by a program that did not check the rules; \
                   `caseledger history CASE_ID` shows the case"
                .to_owned(),
            file: None,
            offset: None,
            position: Some(b.position),
            detail: b.message,
            last_good: b.position.saturating_sub(1),
        }
    }
}

/// The `--format json` output of verify (docs/cli.md), keys in the
/// documented order.
fn verify_json(outcome: &Result<caseledger_store::VerifyReport, VerifyProblem>) -> Result<String> {
    #[derive(serde::Serialize)]
    struct HeadJson {
        position: u64,
        hash: String,
    }
    #[derive(serde::Serialize)]
    struct ProblemJson<'a> {
        kind: &'a str,
        file: Option<String>,
        offset: Option<u64>,
        position: Option<u64>,
        last_good_position: u64,
        detail: &'a str,
        next: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Out<'a> {
        ok: bool,
        events: Option<u64>,
        cases: Option<u64>,
        segments: Option<u32>,
        bytes: Option<u64>,
        head: Option<HeadJson>,
        writer_active: Option<bool>,
        problem: Option<ProblemJson<'a>>,
    }
    let out = match outcome {
        Ok(r) => Out {
            ok: true,
            events: Some(r.events),
            cases: Some(r.streams),
            segments: Some(r.segments),
            bytes: Some(r.bytes),
            head: Some(HeadJson {
                position: r.head.position,
                hash: r.head.hash_hex(),
            }),
            writer_active: Some(r.writer_active),
            problem: None,
        },
        Err(p) => Out {
            ok: false,
            events: None,
            cases: None,
            segments: None,
            bytes: None,
            head: None,
            writer_active: None,
            problem: Some(ProblemJson {
                kind: p.kind,
                file: p.file.as_ref().map(|f| f.display().to_string()),
                offset: p.offset,
                position: p.position,
                last_good_position: p.last_good,
                detail: &p.detail,
                next: &p.next,
            }),
        },
    };
    Ok(serde_json::to_string_pretty(&out)? + "\n")
}

/// A case whose recorded history breaks a rule.
#[derive(Debug)]
struct RuleBreak {
    position: u64,
    message: String,
}

/// Events handed from the verify walk to the rule fold at a time.
const VERIFY_CHUNK_EVENTS: usize = 4096;

/// Folds every case through the rules; the first broken rule, if any.
fn fold_rules(rx: std::sync::mpsc::Receiver<Vec<RecordedEvent>>) -> Option<RuleBreak> {
    let mut states: HashMap<CaseId, CaseState, caseledger::IdBuildHasher> = HashMap::default();
    for chunk in rx {
        for e in chunk {
            let state = states.entry(e.event.case_id).or_default();
            if let Err(err) = state.apply_in_place(&e.event) {
                return Some(RuleBreak {
                    position: e.position,
                    message: format!(
                        "case {} at position {} breaks a case rule: {err}",
                        e.event.case_id, e.position
                    ),
                });
            }
        }
    }
    // The process ends soon: freeing every case's state would only add time.
    std::mem::forget(states);
    None
}

fn recover(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("cannot open store {}: no such directory", dir.display());
    }
    let store = Store::open(dir, StoreOptions::default())
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    let head = store.head();
    let mut text = if store.recovery().cut_anything() {
        describe_recovery(&store)
    } else {
        "nothing to recover: the log ends with a complete commit".to_owned()
    };
    text.push_str(&format!(
        "\nhead: position {} hash {}\n",
        head.position,
        head.hash_hex()
    ));
    write_stdout(&text)
}

/// The file in a store directory where `generate` records the head it left
/// (docs/store-format.md, "The directory"); the store ignores it.
pub const GENERATED_MARKER: &str = "generated-head";

/// Why `generate` or `demo` may not write into `store`, if it may not: the
/// store holds events and `generate` did not leave its head where it is.
/// Synthetic events in a real ledger could never be removed.
fn generated_or_empty(store: &Store, command: &str) -> Result<()> {
    let head = store.head();
    if head.position == 0 || read_marker(store.dir()) == Some(marker_text(&head)) {
        return Ok(());
    }
    Err(anyhow::Error::new(crate::Refused(format!(
        "store {dir} holds {n} that `caseledger generate` did not make (or that were \
         appended after it), and {command} writes synthetic events, which an append-only, \
         hash-chained log can never remove. Use a new directory (`--store NEW_DIR`) for \
         synthetic data; load real data with `caseledger import`.",
        dir = store.dir().display(),
        n = count(head.position, "event"),
    ))))
}

/// The marker's content for a head.
fn marker_text(head: &caseledger_store::Head) -> String {
    format!("position {} hash {}\n", head.position, head.hash_hex())
}

/// The marker's content, if the file exists and reads.
fn read_marker(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(GENERATED_MARKER)).ok()
}

/// Records `head` as the one `generate` left: written to a temporary file,
/// synced, renamed over the marker, and the directory synced, so that the
/// marker is always whole (a crash leaves the old one, which then names an
/// older head, and the next `generate` refuses: the safe side).
fn write_marker(dir: &Path, head: &caseledger_store::Head) -> Result<()> {
    let path = dir.join(GENERATED_MARKER);
    let tmp = dir.join(format!("{GENERATED_MARKER}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(marker_text(head).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().with_context(|| {
        format!(
            "the events are stored, but {} could not be written, so the next `generate` \
             will refuse this store",
            path.display()
        )
    })
}

/// Checks before opening for writing that `generate`/`demo` may write into
/// the store in `dir` (when it is one), so that a refusal changes nothing.
fn check_may_generate(dir: &Path, command: &str) -> Result<()> {
    if dir.join(caseledger_store::CHECKPOINT_FILE).exists() {
        generated_or_empty(&open_read_only(dir)?, command)?;
    }
    Ok(())
}

/// Appends a synthetic history in one batch; returns how many events were
/// added. Only into an empty store or one `generate` made (see
/// [`generated_or_empty`]); records the head it leaves in the marker file.
fn generate(dir: &Path, config: SynthConfig, print: bool) -> Result<u64> {
    check_may_generate(dir, "generate")?;
    let store = open_writer(dir, Clock::EventTime)?;
    // Again under the writer's lock: another writer may have appended.
    generated_or_empty(&store, "generate")?;
    let cases = config.cases;
    let bar = crate::progress::bar(Some(cases), "generating");
    let mut batch = store.batch()?;
    let mut added = 0;
    let mut opened = 0;
    for event in Synth::new(config.clone()) {
        if matches!(event.data, caseledger::EventData::Opened(_)) {
            opened += 1;
            if opened % 1024 == 0 {
                bar.set_position(opened);
            }
        }
        let version = batch.stream_version(event.case_id);
        let done = batch
            .append(
                event.case_id,
                ExpectedVersion::Exact(version),
                std::slice::from_ref(&event),
            )
            .with_context(|| format!("cannot append event {}", event.event_id))?;
        if !done.already_stored {
            added += 1;
        }
    }
    let head = batch.commit()?.unwrap_or_else(|| store.head());
    write_marker(dir, &head)?;
    bar.finish_and_clear();
    if print {
        write_stdout(&format!(
            "generated {} in {} (seed {}){}\nhead: position {} hash {}\n",
            count(added, "event"),
            count(cases, "case"),
            config.seed,
            if added == 0 {
                "; all were stored already"
            } else {
                ""
            },
            head.position,
            head.hash_hex()
        ))?;
    }
    Ok(added)
}

/// The file name of the page `demo` writes.
pub const DEMO_PAGE: &str = "caseledger-demo-report.html";

/// Where `demo` writes its page: next to the store directory (not in it:
/// the store's directory holds the store's files only).
fn demo_page(store: &Path) -> PathBuf {
    match store.file_name() {
        Some(_) => store.with_file_name(DEMO_PAGE),
        // `.` or `..`: beside it is inside its parent.
        None => store.join("..").join(DEMO_PAGE),
    }
}

fn demo(store: Option<&Path>) -> Result<()> {
    let dir = store.map_or_else(|| PathBuf::from(DEMO_STORE), Path::to_path_buf);
    check_may_generate(&dir, "demo")?;
    let fresh = !dir.join(caseledger_store::CHECKPOINT_FILE).exists()
        || open_read_only(&dir)?.head().position == 0;
    if fresh {
        eprintln!(
            "creating the demo store {} with 3,000 synthetic cases...",
            dir.display()
        );
        let config = SynthConfig {
            cases: 3_000,
            seed: 42,
            start: chrono::DateTime::parse_from_rfc3339("2026-01-05T08:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .context("demo start time")?,
            span_days: 120,
        };
        generate(&dir, config, false)?;
    } else {
        eprintln!("reusing the demo store {}", dir.display());
    }
    let page = demo_page(&dir);
    report::demo(&dir, &page)?;
    let d = dir.display();
    let some_case = open_read_only(&dir)?
        .read_all(1)?
        .next()
        .transpose()?
        .map_or_else(|| "CASE_ID".to_owned(), |e| e.event.case_id.to_string());
    write_stdout(&format!(
        "\nWrote the same report as a page with charts and an agent scorecard; open it in a \
         browser:\n  {page}\n\nNext, try:\n  caseledger --store {d} verify\n  caseledger --store {d} \
         history {some_case}\n  caseledger --store {d} report --group-by category --format \
         json\n  caseledger --store {d} report --format html --period quarter --output \
         report.html\n(through cargo: cargo run --release -p caseledger-cli -- --store {d} \
         verify)\n",
        page = page.display()
    ))
}
