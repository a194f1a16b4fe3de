//! `import`: validate JSON Lines and append them as one atomic batch.
//!
//! The lines stream through: each is parsed, checked against the case
//! rules together with what the store and the earlier lines hold, and
//! written into an open batch. The batch becomes visible and durable only
//! when every line passed; the first bad line drops it (and a crash leaves
//! an uncommitted batch, which the next open cuts). Memory holds one state
//! per case and the ids of the lines found already stored (the batch
//! indexes the ids it appends), never the lines.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use caseledger::{
    AppendError, CaseId, CaseState, DraftEvent, Event, EventId, EventLog, ExpectedVersion,
    RecordedEvent, fold,
};
use caseledger_store::{Clock, Store};
use sha2::{Digest, Sha256};

use super::line::{AtLine, at_line};
use super::open::open_writer;
use super::output::{count, write_after_commit};

/// The longest line accepted, in bytes, not counting its line end (LF or
/// CRLF, so that the limit does not depend on it): far above any valid
/// event (texts are capped at 4 KiB), low enough that a file without
/// newlines cannot exhaust memory.
pub(super) const MAX_LINE_BYTES: usize = 64 * 1024;

/// Bytes per line assumed to size an import's batch from its file's size:
/// an exported event takes about 265 bytes, one without `position` and
/// `recorded_at` about 205. An estimate somewhat high costs only unused
/// room; one low, a last doubling of the batch's maps.
const BYTES_PER_EVENT_HINT: u64 = 200;

/// Opens the input of an import: `file`, or stdin for `-` or none; its
/// size if known, and its name for messages.
pub(super) fn open_input(
    file: Option<&Path>,
) -> Result<(Box<dyn Read + Send>, Option<u64>, String)> {
    let (input, total): (Box<dyn Read + Send>, Option<u64>) = match file {
        None => (Box::new(std::io::stdin()), None),
        Some(p) if p.as_os_str() == "-" => (Box::new(std::io::stdin()), None),
        Some(p) => {
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let len = f.metadata().ok().map(|m| m.len());
            (Box::new(f), len)
        }
    };
    let name = file.map_or("standard input".to_owned(), |p| p.display().to_string());
    Ok((input, total, name))
}

/// Runs `import` of `file` (stdin for `-` or none) into the store in `dir`.
pub fn run(dir: &Path, file: Option<&Path>) -> Result<()> {
    let (input, total, name) = open_input(file)?;
    let created = Created::before_open(dir);
    pause_for_a_test();
    let imported = open_writer(dir, Clock::System).and_then(|store| {
        let bar = crate::progress::bar(total, "importing");
        let imported = (|| {
            let mut sink = FileSink {
                batch: store.batch()?,
                store: &store,
            };
            if let Some(bytes) = total {
                sink.batch.reserve(bytes / BYTES_PER_EVENT_HINT);
            }
            import(&mut sink, BufReader::with_capacity(1 << 20, input), &|n| {
                bar.set_position(n)
            })
            .and_then(|summary| sink.commit().map(|head| Summary { head, ..summary }))
            .with_context(|| format!("nothing was imported from {name}"))
        })();
        if imported.is_err() {
            // While this writer holds the store's lock: see `Created`.
            created.remove(&store);
        }
        bar.finish_and_clear();
        imported
    });
    write_summary(&imported?)
}

/// A test hook: with `CASELEDGER_TEST_IMPORT_PAUSE_MS=N`, the import prints
/// [`IMPORT_PAUSED`] to stderr once it has looked at the store directory
/// and sleeps N ms (at most a minute) before opening it, so that a test
/// can let another import create and fill the store in between. Without
/// the variable, nothing changes.
fn pause_for_a_test() {
    let Some(ms) = std::env::var("CASELEDGER_TEST_IMPORT_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    eprintln!("{IMPORT_PAUSED}");
    std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
}

/// What [`pause_for_a_test`] prints when it pauses.
const IMPORT_PAUSED: &str = "CASELEDGER_TEST_IMPORT_PAUSE: paused before opening the store";

/// Prints what an import did (the batch is committed: see
/// [`write_after_commit`]).
pub(super) fn write_summary(summary: &Summary) -> Result<()> {
    write_after_commit(&summary.describe(), || {
        format!(
            "imported {} events (recorded; {})",
            summary.added,
            describe_head(summary.head.as_ref())
        )
    })
}

/// A head for a message about recorded work.
pub(super) fn describe_head(head: Option<&caseledger_store::Head>) -> String {
    head.map_or_else(
        || "the head did not move".to_owned(),
        |h| format!("head position {} hash {}", h.position, h.hash_hex()),
    )
}

/// What opening a store for an import creates, to be removed if the import
/// fails: a failed import into a store that did not exist leaves nothing.
pub(super) enum Created {
    /// The store existed (or the directory held other files): keep all.
    Nothing,
    /// The directory did not exist: it and its missing ancestors up to
    /// the topmost (the second) are new.
    Dir(PathBuf, PathBuf),
    /// The directory existed and was empty: everything in it is new.
    FilesIn(PathBuf),
}

impl Created {
    pub(super) fn before_open(dir: &Path) -> Created {
        if dir.exists() {
            let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
            return match empty {
                true => Created::FilesIn(dir.to_path_buf()),
                false => Created::Nothing,
            };
        }
        let mut top = dir;
        while let Some(parent) = top
            .parent()
            .filter(|p| !p.as_os_str().is_empty() && !p.exists())
        {
            top = parent;
        }
        Created::Dir(dir.to_path_buf(), top.to_path_buf())
    }

    /// Removes what was created, through `store`, the writer this import
    /// opened, and only while it holds no event. What `before_open` saw
    /// may be stale by now: another import may have created the directory
    /// first (this one then waited for its lock, or failed to get it) and
    /// committed events to it. Only a writer holds the store's lock, so
    /// under it an empty store stays empty until it is removed, and a store
    /// holding events is never removed (a failed open removes nothing: the
    /// store was never this process's). A failure leaves an empty store,
    /// which harms nothing: it is reported and otherwise ignored.
    pub(super) fn remove(self, store: &caseledger_store::Store) {
        if store.head().position != 0 {
            return;
        }
        let removed = match &self {
            Created::Nothing => Ok(()),
            Created::Dir(d, top) => remove_store_files(d).map(|()| {
                // The directory and its new ancestors only while empty: `d`
                // may name, through `..`, a directory that existed (the
                // path did not exist as written), and an ancestor may hold
                // a file written since, such as `import --reject`'s FILE2,
                // which the user is told to read.
                let mut next = Some(d.as_path());
                while let Some(dir) = next
                    && std::fs::remove_dir(dir).is_ok()
                {
                    next = (dir != top.as_path()).then(|| dir.parent()).flatten();
                }
            }),
            Created::FilesIn(d) => remove_store_files(d),
        };
        if let (Err(e), Created::Dir(d, _) | Created::FilesIn(d)) = (removed, &self) {
            eprintln!(
                "note: could not remove the new, empty store in {}: {e}",
                d.display()
            );
        }
    }
}

/// Removes the files a new store holds from `dir` (its checkpoint and
/// segments), never anything else: whatever `Created` concluded about the
/// path, no file of the user's is removed.
fn remove_store_files(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let ours = name.to_str().is_some_and(|n| {
            n == caseledger_store::CHECKPOINT_FILE
                || caseledger_store::parse_segment_name(n).is_some()
        });
        if ours && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// What an import did.
#[derive(Debug, Default)]
pub(super) struct Summary {
    lines: u64,
    added: u64,
    already: u64,
    cases: u64,
    new_cases: u64,
    pub(super) head: Option<caseledger_store::Head>,
}

/// What appending one event to an import's open batch did.
pub(super) enum Added {
    /// Appended.
    New,
    /// Its id repeats the event appended at this position by an earlier
    /// line (the same event or not).
    Repeats(u64),
}

/// Where an import writes: a store's open batch, visible only at its
/// commit. The import checks every line against the case rules; the sink
/// answers what is stored and takes the events.
pub(super) trait ImportSink {
    /// The position the first appended event gets (1: an empty store).
    fn first_position(&self) -> u64;
    /// The stored event with `event`'s id (from before the import), if any.
    fn stored_event(&mut self, event: &Event) -> Result<Option<RecordedEvent>>;
    /// A case's stored events (from before the import).
    fn read_stream(&mut self, case_id: CaseId) -> Result<Vec<RecordedEvent>>;
    /// Appends `event`, read on line `line_no`, to its case, whose version
    /// must be `expected`.
    fn append(
        &mut self,
        expected: ExpectedVersion,
        event: &Event,
        line_no: u64,
    ) -> Result<Added, Box<dyn std::error::Error + Send + Sync>>;
    /// The position of the event this import appended with `event`'s id,
    /// if it appended one (`event` itself is not appended). Asked only for
    /// an event the import refuses, not stored before the import.
    fn appended_at(&mut self, event: &Event) -> Option<u64>;
}

/// The file store's batch as an import's sink.
struct FileSink<'s> {
    store: &'s Store,
    batch: caseledger_store::Batch<'s>,
}

impl FileSink<'_> {
    fn commit(self) -> Result<Option<caseledger_store::Head>> {
        Ok(self.batch.commit()?)
    }
}

impl ImportSink for FileSink<'_> {
    fn first_position(&self) -> u64 {
        self.store.head().position + 1
    }

    fn stored_event(&mut self, event: &Event) -> Result<Option<RecordedEvent>> {
        Ok(self.store.stored_event(&event.event_id)?)
    }

    fn read_stream(&mut self, case_id: CaseId) -> Result<Vec<RecordedEvent>> {
        Ok(self.store.read_stream(case_id)?)
    }

    fn append(
        &mut self,
        expected: ExpectedVersion,
        event: &Event,
        _line_no: u64,
    ) -> Result<Added, Box<dyn std::error::Error + Send + Sync>> {
        let done = self
            .batch
            .append(event.case_id, expected, std::slice::from_ref(event));
        // An id not in the store (the import checked) but found by the
        // batch repeats an earlier line of the input, same event or not.
        match done {
            Ok(d) if d.already_stored => Ok(Added::Repeats(
                d.positions.first().copied().unwrap_or_default(),
            )),
            Err(AppendError::IdempotencyKeyReused { recorded, .. }) => {
                Ok(Added::Repeats(recorded.position))
            }
            Ok(_) => Ok(Added::New),
            Err(e) => Err(Box::new(e)),
        }
    }

    fn appended_at(&mut self, event: &Event) -> Option<u64> {
        // The batch finds its own ids only by an append. One at a version
        // no stream reaches writes nothing: the append contract looks the
        // id up before it checks the version. The event is not stored
        // (the import checked), so an id found is the batch's.
        let never = ExpectedVersion::Exact(u64::MAX);
        match self
            .batch
            .append(event.case_id, never, std::slice::from_ref(event))
        {
            Ok(d) if d.already_stored => d.positions.first().copied(),
            Err(AppendError::IdempotencyKeyReused { recorded, .. }) => Some(recorded.position),
            // Not found (the version refused), or refused before the
            // lookup: the line's own problem is the one to report.
            _ => None,
        }
    }
}

impl Summary {
    fn describe(&self) -> String {
        if self.lines == 0 {
            return "nothing imported: the input holds no events\n".to_owned();
        }
        let mut s = if self.added == 0 {
            format!(
                "nothing imported: all {} events are already stored\n",
                self.already
            )
        } else {
            format!(
                "imported {} in {} ({})",
                count(self.added, "event"),
                count(self.cases, "case"),
                count(self.new_cases, "new case")
            ) + &if self.already > 0 {
                let were = if self.already == 1 { "was" } else { "were" };
                format!("; {} {were} already stored\n", count(self.already, "event"))
            } else {
                "\n".to_owned()
            }
        };
        if let Some(h) = self.head {
            s.push_str(&format!(
                "head: position {} hash {}\n",
                h.position,
                h.hash_hex()
            ));
        }
        s
    }
}

/// The UTF-8 byte-order mark some editors put at the start of a file.
pub(super) const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Lines parsed together and handed from the parsing thread to the
/// validating one: large enough to amortise the hand-over, small enough
/// that the queue (of [`QUEUED_CHUNKS`]) holds little memory.
const CHUNK_LINES: usize = 2048;
/// Chunks parsed ahead of validation, at most.
const QUEUED_CHUNKS: usize = 4;

/// A case the import has met: its state, and whether the import adds to it.
struct Touched {
    state: CaseState,
    added: bool,
}

/// One non-blank line, parsed.
struct Parsed {
    line_no: u64,
    event: Identified,
}

/// A parsed event with its own id, or one without, whose id the import
/// derives in order of the lines (see [`derived_id`]).
enum Identified {
    /// The line gave an `event_id`.
    Own(Event),
    /// The line gave none: the draft and the SHA-256 of the line.
    Derived(DraftEvent, [u8; 32]),
}

/// A run of lines from the parsing thread: parsed lines, then the error
/// that ended the input, if any, and the bytes read so far.
struct Chunk {
    parsed: Vec<Parsed>,
    error: Option<anyhow::Error>,
    bytes_read: u64,
}

/// The parsing thread: reads lines, checks UTF-8 and parses JSON, while the
/// main thread validates and appends what it parsed before: the two halves
/// of an import run on two cores. Stops at the first bad line, or when the
/// receiver is gone.
fn parse_lines(mut input: impl BufRead, tx: std::sync::mpsc::SyncSender<Chunk>) {
    if let Some((format, tool)) = input.fill_buf().ok().and_then(compressed) {
        // The receiver may be gone; nothing is left to do then.
        let _ = tx.send(Chunk {
            parsed: Vec::new(),
            error: Some(anyhow!(
                "line 1: the input is {format}-compressed; decompress it first, for example \
                 `{tool} FILE | caseledger import -`"
            )),
            bytes_read: 0,
        });
        return;
    }
    let mut raw = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let mut bytes_read = 0u64;
    let mut line_no = 0u64;
    let error = loop {
        line_no += 1;
        raw.clear();
        let n = match read_line(&mut input, &mut raw) {
            Ok(LineRead { bytes: 0, .. }) => break None,
            Ok(LineRead { too_long: true, .. }) => {
                break Some(anyhow!(too_long_message()).context(format!("line {line_no}")));
            }
            Ok(read) => read.bytes,
            Err(e) => break Some(e.context(format!("line {line_no}"))),
        };
        bytes_read += n as u64;
        let mut bytes = raw.as_slice();
        if let Some(rest) = bytes.strip_prefix(BYTE_ORDER_MARK) {
            if line_no > 1 {
                break Some(anyhow!(
                    "line {line_no}: a byte-order mark (U+FEFF) starts this line; it may only \
                     start the input (were files concatenated?)"
                ));
            }
            bytes = rest;
        }
        while let Some(rest) = bytes
            .strip_suffix(b"\n")
            .or_else(|| bytes.strip_suffix(b"\r"))
        {
            bytes = rest;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                break Some(anyhow!(
                    "line {line_no}: not valid UTF-8 (at byte {})",
                    e.valid_up_to() + 1
                ));
            }
        };
        match blank(text) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(message) => break Some(anyhow!("line {line_no}: {message}")),
        }
        let draft = match DraftEvent::from_json(text) {
            Ok(d) => d,
            Err(e) => {
                let hint = json_lines_hint(text);
                break Some(
                    AtLine {
                        line: line_no,
                        error: Box::new(e),
                        hint,
                    }
                    .into(),
                );
            }
        };
        let event = match Event::try_from(draft) {
            Ok(event) => Identified::Own(event),
            Err(draft) => Identified::Derived(draft, Sha256::digest(text.trim().as_bytes()).into()),
        };
        chunk.push(Parsed { line_no, event });
        if chunk.len() == CHUNK_LINES {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_LINES));
            let sent = tx.send(Chunk {
                parsed: full,
                error: None,
                bytes_read,
            });
            if sent.is_err() {
                return;
            }
        }
    };
    // The receiver may be gone (it failed first); nothing is left to do then.
    let _ = tx.send(Chunk {
        parsed: chunk,
        error,
        bytes_read,
    });
}

/// Reads, checks and appends every line of `input` into `sink`; the
/// caller commits the sink (the summary's head is then set) or drops it.
///
/// Into a store that held no event, the case rules run on a thread of
/// their own between the parser and the appends (see [`check_lines`]):
/// three stages that the two cores share. Otherwise the rules need the
/// store's history of each case, read through `sink`, and run beside the
/// appends.
pub(super) fn import(
    sink: &mut dyn ImportSink,
    input: impl BufRead + Send,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary> {
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED_CHUNKS);
    // A store that held no event when the batch began (the batch holds the
    // writer, so none can arrive) has none of the input's ids and no
    // case's history: the lookups could only find nothing. The batch
    // still finds an id repeated within the input.
    let store_was_empty = sink.first_position() == 1;
    std::thread::scope(|s| {
        s.spawn(move || parse_lines(input, tx));
        // On an error a receiver is dropped on return, which stops the
        // stage before it.
        if !store_was_empty {
            return validate_and_append(sink, rx, progress);
        }
        let (checked_tx, checked_rx) = std::sync::mpsc::sync_channel(QUEUED_CHUNKS);
        let rules = s.spawn(move || check_lines(rx, checked_tx));
        let appended = append_checked(sink, checked_rx, progress);
        // The rules stage ends once its receiver is gone or its input ends.
        let summary = rules
            .join()
            .map_err(|_| anyhow!("the import's rule checks panicked"))?;
        appended.map(|()| summary)
    })
}

/// The case rules of an import, line by line, and what it counted.
#[derive(Default)]
struct Checker {
    summary: Summary,
    states: HashMap<CaseId, Touched, foldhash::fast::RandomState>,
    /// How often each id-less line occurred, to derive distinct ids.
    occurrences: HashMap<[u8; 32], u32, foldhash::fast::RandomState>,
    /// The line of each event found stored already, by id: a later line
    /// with the same id repeats it, and is refused as it is into a store
    /// that did not hold it (where the batch finds the repeat), not
    /// skipped a second time. Holds only ids of stored events; the batch
    /// finds the ids it appended itself.
    stored_lines: HashMap<EventId, u64, foldhash::fast::RandomState>,
}

/// What the rules say of one line's event.
enum Checked {
    /// Valid: append it, its case at this version.
    Append(Event, ExpectedVersion),
    /// Stored already: skipped.
    Stored,
    /// It breaks a case rule, or its case's stored history does: the
    /// import fails with the error, unless the event's id repeats an
    /// earlier line's, which is said instead (see [`Appended::refused`]).
    Refused(Event, anyhow::Error),
}

impl Checker {
    /// Checks the event of one line against the rules, its case's state
    /// and, when `stored` is given (a store that held events), the store's
    /// events. A valid event is taken into its case's state and counted at
    /// once: the caller appends it or fails the import, which then drops
    /// the states. Errors when the store cannot be read, or holds the id
    /// for another event.
    fn check(
        &mut self,
        stored: Option<&mut dyn ImportSink>,
        line_no: u64,
        event: Identified,
    ) -> Result<Checked> {
        let at = |e: anyhow::Error| e.context(format!("line {line_no}"));
        self.summary.lines += 1;
        let event = match event {
            Identified::Own(event) => event,
            Identified::Derived(draft, digest) => {
                draft.into_event(|| derived_id(digest, &mut self.occurrences))
            }
        };
        let case_id = event.case_id;
        // Before the store is asked: a repeat is the input's own fault,
        // whatever the store holds (the same event or another one).
        if !self.stored_lines.is_empty()
            && let Some(earlier) = self.stored_lines.get(&event.event_id)
        {
            bail!(repeats_message(line_no, &event, &format!("line {earlier}")));
        }
        let mut sink = stored;
        if let Some(sink) = sink.as_deref_mut()
            && let Some(stored) = sink.stored_event(&event).map_err(at)?
        {
            if let Some((_, clash)) = clash_with_stored(&event, &stored) {
                bail!("line {line_no}: {clash}");
            }
            self.stored_lines.insert(event.event_id, line_no);
            self.summary.already += 1;
            return Ok(Checked::Stored);
        }
        let case = match self.states.entry(case_id) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let state = match sink {
                    None => CaseState::default(),
                    Some(sink) => {
                        let history = sink.read_stream(case_id).map_err(at)?;
                        match fold(history.iter().map(|r| &r.event)) {
                            Ok(state) => state,
                            Err(e) => {
                                let e = anyhow::Error::new(e).context(format!(
                                    "line {line_no}: the stored history of case {case_id} breaks \
                                     a rule"
                                ));
                                return Ok(Checked::Refused(event, e));
                            }
                        }
                    }
                };
                if state.version() == 0 {
                    self.summary.new_cases += 1;
                }
                v.insert(Touched {
                    state,
                    added: false,
                })
            }
        };
        // The state has folded the stored history and this batch's
        // events of the case: its version is the stream's.
        let expected = ExpectedVersion::Exact(case.state.version());
        // Checked and folded in place (no copy of the state).
        if let Err(e) = case.state.apply_in_place(&event) {
            return Ok(Checked::Refused(event, at_line(line_no, e)));
        }
        if !case.added {
            case.added = true;
            self.summary.cases += 1;
        }
        self.summary.added += 1;
        Ok(Checked::Append(event, expected))
    }
}

/// Events that passed the rules, handed from the rules stage to the
/// appending one: the events, then the line the rules refused or else the
/// error that ended the input, if any, and the bytes read so far.
struct CheckedChunk {
    checked: Vec<(u64, Event, ExpectedVersion)>,
    refused: Option<(u64, Event, anyhow::Error)>,
    error: Option<anyhow::Error>,
    bytes_read: u64,
}

/// The rules stage of an import into a store that held no event: checks
/// each parsed line against the case rules and the earlier lines, and
/// passes it on to be appended. The appending stage appends every line it
/// gets, in order, or fails the import at the first that fails, before it
/// reads any error sent after it: the error shown is the first by line, as
/// when one thread checks and appends each line in turn. Stops at the first
/// bad line, or when the receiver is gone; returns what it counted.
fn check_lines(
    rx: std::sync::mpsc::Receiver<Chunk>,
    tx: std::sync::mpsc::SyncSender<CheckedChunk>,
) -> Summary {
    let mut checker = Checker::default();
    for chunk in rx {
        let mut checked = Vec::with_capacity(chunk.parsed.len());
        let mut refused = None;
        let mut error = None;
        for Parsed { line_no, event } in chunk.parsed {
            match checker.check(None, line_no, event) {
                Ok(Checked::Append(event, expected)) => checked.push((line_no, event, expected)),
                // Only a store that held events has events already stored.
                Ok(Checked::Stored) => {}
                Ok(Checked::Refused(event, e)) => {
                    refused = Some((line_no, event, e));
                    break;
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        // The input's error comes after the lines parsed before it.
        if refused.is_none() && error.is_none() {
            error = chunk.error;
        }
        let stop = refused.is_some() || error.is_some();
        let sent = tx.send(CheckedChunk {
            checked,
            refused,
            error,
            bytes_read: chunk.bytes_read,
        });
        if stop || sent.is_err() {
            break;
        }
    }
    checker.summary
}

/// The appending stage after [`check_lines`]: appends each checked event
/// to `sink`, in order; stops at the first failure, or at the error that
/// ended the checked lines.
fn append_checked(
    sink: &mut dyn ImportSink,
    rx: std::sync::mpsc::Receiver<CheckedChunk>,
    progress: &dyn Fn(u64),
) -> Result<()> {
    let mut appended = Appended::new(sink.first_position());
    for chunk in rx {
        progress(chunk.bytes_read);
        for (line_no, event, expected) in &chunk.checked {
            appended.append(sink, *expected, event, *line_no)?;
        }
        if let Some((line_no, event, e)) = chunk.refused {
            return Err(appended.refused(sink, &event, line_no, e));
        }
        if let Some(e) = chunk.error {
            return Err(e);
        }
    }
    Ok(())
}

/// The lines appended so far, by position: to name the line an event id
/// repeats (the batch finds the repeat).
struct Appended {
    first_position: u64,
    lines: Vec<u64>,
}

impl Appended {
    fn new(first_position: u64) -> Appended {
        Appended {
            first_position,
            lines: Vec::new(),
        }
    }

    /// Appends `event` of line `line_no` at `expected`; an id that repeats
    /// an earlier line's fails with both lines named.
    fn append(
        &mut self,
        sink: &mut dyn ImportSink,
        expected: ExpectedVersion,
        event: &Event,
        line_no: u64,
    ) -> Result<()> {
        let done = sink
            .append(expected, event, line_no)
            .map_err(|error| AtLine {
                line: line_no,
                error,
                hint: "",
            })?;
        if let Added::Repeats(position) = done {
            return Err(self.repeats(line_no, event, position));
        }
        self.lines.push(line_no);
        Ok(())
    }

    /// The error for `event` of line `line_no`, refused by the rules with
    /// `error`: that its id repeats an earlier line's, if it does. Said
    /// first, as by `import --check`, which checks the id before the case
    /// rules: a line given twice is a repeat (the second copy also breaks
    /// a rule, `opened` twice or time running backwards, only because of
    /// the first).
    fn refused(
        &self,
        sink: &mut dyn ImportSink,
        event: &Event,
        line_no: u64,
        error: anyhow::Error,
    ) -> anyhow::Error {
        match sink.appended_at(event) {
            Some(position) => self.repeats(line_no, event, position),
            None => error,
        }
    }

    /// The error for `event` of line `line_no`, whose id is the one of the
    /// event appended at `position`.
    fn repeats(&self, line_no: u64, event: &Event, position: u64) -> anyhow::Error {
        let earlier = position
            .checked_sub(self.first_position)
            .and_then(|i| self.lines.get(usize::try_from(i).ok()?))
            .map_or_else(|| "an earlier line".to_owned(), |l| format!("line {l}"));
        anyhow!(repeats_message(line_no, event, &earlier))
    }
}

/// The error of line `line_no`, whose event's id is the one of the event
/// on `earlier` ("line N"): one message for every way a repeat is found.
fn repeats_message(line_no: u64, event: &Event, earlier: &str) -> String {
    format!(
        "line {line_no}: case {}: event id {} repeats the one on {earlier}",
        event.case_id, event.event_id
    )
}

/// An import into a store that held events: the rules read each case's
/// stored history and each id's stored event through `sink`, so they run
/// on this thread, before each append.
fn validate_and_append(
    sink: &mut dyn ImportSink,
    rx: std::sync::mpsc::Receiver<Chunk>,
    progress: &dyn Fn(u64),
) -> Result<Summary> {
    let mut checker = Checker::default();
    let mut appended = Appended::new(sink.first_position());
    for chunk in rx {
        progress(chunk.bytes_read);
        for Parsed { line_no, event } in chunk.parsed {
            match checker.check(Some(&mut *sink), line_no, event)? {
                Checked::Append(event, expected) => {
                    appended.append(sink, expected, &event, line_no)?;
                }
                Checked::Stored => {}
                Checked::Refused(event, e) => {
                    return Err(appended.refused(sink, &event, line_no, e));
                }
            }
        }
        if let Some(e) = chunk.error {
            return Err(e);
        }
    }
    Ok(checker.summary)
}

/// Why `event` cannot be imported when its id is already stored as
/// `stored`: the rule's short name and the message (without the line), or
/// None when `stored` is this very event (already imported: skipped).
pub(super) fn clash_with_stored(
    event: &Event,
    stored: &caseledger::RecordedEvent,
) -> Option<(&'static str, String)> {
    let case_id = event.case_id;
    if stored.event.case_id != case_id {
        return Some((
            "event_id_of_another_case",
            format!(
                "case {case_id}: event id {} is already used by case {} at position {}",
                event.event_id, stored.event.case_id, stored.position
            ),
        ));
    }
    // An id names one event: the same id with other content is not this
    // line stored already.
    if stored.event != *event {
        return Some((
            "event_id_of_another_event",
            format!(
                "case {case_id}: event id {} is already stored at position {} for another event \
                 (`{}` at {}); each event needs its own id",
                event.event_id,
                stored.position,
                stored.event.data.event_type(),
                caseledger::format_timestamp(&stored.event.at)
            ),
        ));
    }
    None
}

/// The compression format whose magic number `head` starts with, and the
/// tool that decompresses it to stdout.
pub(super) fn compressed(head: &[u8]) -> Option<(&'static str, &'static str)> {
    const MAGIC: [(&[u8], &str, &str); 4] = [
        (&[0x1f, 0x8b], "gzip", "zcat"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd", "zstdcat"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz", "xzcat"),
        (b"BZh", "bzip2", "bzcat"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _, _)| head.starts_with(magic))
        .map(|&(_, format, tool)| (format, tool))
}

/// What to add to the error of a line that is not one JSON event when it
/// looks like the start of a JSON document in another shape.
pub(super) fn json_lines_hint(text: &str) -> &'static str {
    match text.trim() {
        "{" => {
            "; the input must be JSON Lines, one event per line, and this looks like \
             pretty-printed JSON (an event over several lines): write each event on one line"
        }
        t if t.starts_with('[') => {
            "; the input must be JSON Lines, one event per line, not a JSON array: write each \
             event of the array on its own line"
        }
        _ => "",
    }
}

/// Whether `line` (without its line end) is blank: empty, or only the
/// whitespace JSON allows between values (space, tab, CR; LF ends the
/// line). A line of other whitespace (a no-break space, U+3000, a form
/// feed, ...) is no blank line to skip: it may be a line whose content
/// was lost, and JSON would not read it; the error says which character.
pub(super) fn blank(line: &str) -> Result<bool, String> {
    let json_space = |c: char| matches!(c, ' ' | '\t' | '\r');
    let Some((at, other)) = line.char_indices().find(|&(_, c)| !json_space(c)) else {
        return Ok(true);
    };
    if !line.chars().all(char::is_whitespace) {
        return Ok(false);
    }
    Err(format!(
        "invalid JSON: the line holds only whitespace, and U+{:04X} (at byte {}) is not \
         whitespace in JSON; a blank line may hold only spaces, tabs and CRs",
        u32::from(other),
        at + 1
    ))
}

/// One line read by [`read_line`].
pub(super) struct LineRead {
    /// The bytes read (0 at the end of the input).
    pub(super) bytes: usize,
    /// The line without its line end is longer than [`MAX_LINE_BYTES`]:
    /// the buffer holds its start only, and the input is still inside it
    /// unless [`LineRead::ended`].
    pub(super) too_long: bool,
    /// The buffer ends with the line's LF.
    pub(super) ended: bool,
}

/// The message for a line longer than [`MAX_LINE_BYTES`].
pub(super) fn too_long_message() -> String {
    format!("longer than {MAX_LINE_BYTES} bytes (not counting its line end)")
}

/// Reads one line (with its line end) into `buf`, at most
/// [`MAX_LINE_BYTES`] bytes and a CRLF: the one reader of both `import`
/// and `import --check`, so that they take and refuse the same lines. The
/// limit is on the line without its LF or CRLF (a last line has none), so
/// a line that fits fits with any line end.
pub(super) fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<LineRead> {
    let mut limited = input.take(MAX_LINE_BYTES as u64 + 2);
    let bytes = limited
        .read_until(b'\n', buf)
        .context("cannot read the input")?;
    let ended = buf.ends_with(b"\n");
    let mut content = buf.strip_suffix(b"\n").unwrap_or(buf);
    content = content.strip_suffix(b"\r").unwrap_or(content);
    Ok(LineRead {
        bytes,
        too_long: content.len() > MAX_LINE_BYTES,
        ended,
    })
}

/// The id of an event given without one: derived from the SHA-256 of its
/// line (`digest`) and how often the same line came before, so that
/// importing the same file again finds the same ids and appends nothing.
pub(super) fn derived_id(
    digest: [u8; 32],
    occurrences: &mut HashMap<[u8; 32], u32, foldhash::fast::RandomState>,
) -> EventId {
    let n = occurrences.entry(digest).or_default();
    *n += 1;
    let mut h = Sha256::new();
    h.update(b"caseledger import id v1\0");
    h.update(digest);
    h.update(n.to_le_bytes());
    let bytes: [u8; 32] = h.finalize().into();
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes[..16]);
    // A version-8 (custom) UUID, RFC 9562.
    EventId::from_uuid(uuid::Builder::from_custom_bytes(id).into_uuid())
}
