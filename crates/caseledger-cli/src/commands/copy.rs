//! `copy`: a whole ledger from one store into another, record by record,
//! keeping every position, version, recorded time and batch, so that the
//! chain (which hashes each batch's commit record) and so the head come out
//! the same, whatever backend holds either side.
//!
//! The target takes whole batches, each atomically: an interrupted copy
//! leaves a target that is an exact prefix of the source, ending on one of
//! its commits. Run again, the copy checks that the target's head is the
//! source's chain hash at the same position and that the target verifies
//! up to it, and continues after it; any other non-empty target is
//! refused, a damaged one fails.

use anyhow::{Context, Result, bail};
use caseledger_store::{Clock, Head, LogReader, LogRecord, Store, Until};

use super::copy_io::{CopyRecord, CopySource, CopyTarget, SourceRecords, Written, check_commit};
use super::open::open_writer;
use super::output::{count, write_stdout};
use crate::exit::{Refused, UsageError};
use crate::location::StoreLocation;

/// Events a target writes between two looks at the progress (whole
/// batches: a chunk ends on a commit).
const CHUNK_EVENTS: u64 = 16 * 1024;

/// Runs `copy`.
pub fn run(source: &StoreLocation, target: &StoreLocation) -> Result<()> {
    if same_place(source, target) {
        return Err(UsageError(format!(
            "--source and --target are the same store ({source}): copy into another one"
        ))
        .into());
    }
    let src: Box<dyn CopySource> = match source {
        StoreLocation::Dir(s) => Box::new(FileSource::open(s)?),
        StoreLocation::Postgres(url) => Box::new(super::pg::PgSource::open(url)?),
    };
    if src.head().position == 0 {
        return write_stdout(&format!("nothing to copy: {source} holds no events\n"));
    }
    let mut dst: Box<dyn CopyTarget> = match target {
        StoreLocation::Dir(t) => Box::new(FileTarget(open_writer(t, Clock::System)?)),
        StoreLocation::Postgres(url) => Box::new(super::pg::PgTarget::open(url)?),
    };
    copy(&*src, &mut *dst, source, target)
}

/// Whether two locations name the same store: URLs of the same database
/// (by their parsed connection parameters), or directories that resolve to
/// the same one.
fn same_place(a: &StoreLocation, b: &StoreLocation) -> bool {
    match (a, b) {
        (StoreLocation::Dir(x), StoreLocation::Dir(y)) => {
            x == y
                || matches!(
                    (std::fs::canonicalize(x), std::fs::canonicalize(y)),
                    (Ok(cx), Ok(cy)) if cx == cy
                )
        }
        // Compared as strings, one database spelled two ways
        // (`postgresql://`, `?sslmode=`, no port) passed for two, and the
        // copy said the target already held the source. Host names are not
        // resolved (`localhost` is not `127.0.0.1` here). A URL that does
        // not parse is not compared: opening it refuses it, saying why.
        (StoreLocation::Postgres(x), StoreLocation::Postgres(y)) => {
            x == y || caseledger_postgres::same_database(x.secret(), y.secret()).unwrap_or(false)
        }
        _ => false,
    }
}

/// Copies `source` into `target` (the locations name them in messages):
/// checks the target is empty or an interrupted copy of this source,
/// writes the rest batch by batch, and prints what it did and the head.
pub fn copy(
    source: &dyn CopySource,
    target: &mut dyn CopyTarget,
    source_name: &StoreLocation,
    target_name: &StoreLocation,
) -> Result<()> {
    let want = source.head();
    let start = target.head()?;
    let resumed = start.position > 0;
    if resumed {
        check_resumable(source, start, source_name, target_name)?;
        // Only the head was compared with the source's chain: the rows
        // before it (a superuser can change one) must hold too, or the copy
        // would be called the same ledger as the source while `verify` of
        // the target fails.
        target.check_up_to(start).with_context(|| {
            format!(
                "{target_name} holds {}, its head matching the source's chain at position {}, but \
                 they do not verify: nothing was copied; run `caseledger verify --store \
                 {target_name}`, and copy into a new, empty store",
                count(start.position, "event"),
                start.position
            )
        })?;
        if start == want {
            return write_stdout(&format!(
                "nothing to copy: {target_name} already holds all of {source_name} ({})\nhead: \
                 position {} hash {}\n",
                count(want.position, "event"),
                want.position,
                want.hash_hex()
            ));
        }
    }
    // Set when the source hands over an error (a damaged record): the
    // target's own failures say nothing of what it holds.
    let source_failed = std::cell::Cell::new(false);
    let records = source
        .records(start.position + 1)?
        .inspect(|r| source_failed.set(source_failed.get() || r.is_err()));
    let mut records: SourceRecords<'_> = match StopHook::from_env()? {
        Some(hook) => Box::new(hook.wrap(Box::new(records))),
        None => Box::new(records),
    };
    let bar = crate::progress::bar(Some(want.position - start.position), "copying");
    let (mut events, mut batches) = (0u64, 0u64);
    let mut head = start;
    loop {
        let written = match target.write_batches(&mut records, CHUNK_EVENTS) {
            Ok(Some(written)) => written,
            Ok(None) => break,
            Err(e) if source_failed.get() => {
                bar.finish_and_clear();
                return Err(stopped_by_source(e, target, source_name, target_name));
            }
            Err(e) => return Err(e),
        };
        events += written.events;
        batches += written.batches;
        head = written.head;
        bar.set_position(events);
    }
    bar.finish_and_clear();
    if head.position >= want.position && head != want {
        // Not an interrupted copy: running it again would be refused.
        bail!(
            "the copy ended at position {} hash {}, but the source's head is position {} hash \
             {}: the copy is not the same ledger as the source; run `caseledger verify` on \
             both",
            head.position,
            head.hash_hex(),
            want.position,
            want.hash_hex()
        );
    }
    if head != want {
        bail!(
            "the copy ended at position {} hash {}, not at the source's head (position {} hash \
             {}); run `caseledger copy` again",
            head.position,
            head.hash_hex(),
            want.position,
            want.hash_hex()
        );
    }
    let mut text = String::new();
    if resumed {
        text.push_str(&format!(
            "resumed: {target_name} held positions 1 to {} of the source (its head matched)\n",
            start.position
        ));
    }
    text.push_str(&format!(
        "copied {} in {batches} batch{} from {source_name} to {target_name}\nhead: position {} \
         hash {} (the same on both)\n",
        count(events, "event"),
        if batches == 1 { "" } else { "es" },
        head.position,
        head.hash_hex()
    ));
    write_stdout(&text)
}

/// The error of a copy that stopped at a source record it could not read
/// (damaged, or changed behind the log's back), saying what the target
/// holds: the batches written before it, each checked as it was written,
/// which the same copy resumes after once the source reads again. Without
/// that, the error read as if the target were left in an unknown state.
fn stopped_by_source(
    e: anyhow::Error,
    target: &dyn CopyTarget,
    source_name: &StoreLocation,
    target_name: &StoreLocation,
) -> anyhow::Error {
    let held = match target.head() {
        Ok(h) => h,
        Err(t) => {
            return e.context(format!(
                "the copy stopped at a record of {source_name} it could not read (below), and \
                 reading {target_name}'s head then failed too ({t:#}): run `caseledger verify` on \
                 it"
            ));
        }
    };
    if held.position == 0 {
        return e.context(format!(
            "the copy stopped at a record of {source_name} it could not read (below), before \
             writing any event: {target_name} is still empty"
        ));
    }
    e.context(format!(
        "the copy stopped at a record of {source_name} it could not read (below): {target_name} \
         now holds a verified, resumable prefix of it, positions 1 to {} ({}, head hash {}); \
         once `caseledger verify` passes on the source, the same `caseledger copy` resumes after \
         them",
        held.position,
        count(held.position, "event"),
        held.hash_hex()
    ))
}

/// For a target that holds events: checks that they end on one of the
/// source's commits with the same chain hash (the target's head is the
/// source's at that position); refuses otherwise. The rows before the
/// head are [`CopyTarget::check_up_to`]'s to check.
fn check_resumable(
    source: &dyn CopySource,
    start: Head,
    source_name: &StoreLocation,
    target_name: &StoreLocation,
) -> Result<()> {
    let refuse = |why: String| {
        anyhow::Error::new(Refused(format!(
            "{target_name} is not empty ({}, head hash {}) and {why}: copy into an empty store, \
             or a new directory or database",
            count(start.position, "event"),
            start.hash_hex()
        )))
    };
    let want = source.head();
    if start.position > want.position {
        return Err(refuse(format!(
            "holds more than {source_name} ({})",
            count(want.position, "event")
        )));
    }
    if source.head_at(start.position)? != Some(start) {
        return Err(refuse(format!(
            "is not an interrupted copy of {source_name}: the source's chain at position {} is \
             not the target's head",
            start.position
        )));
    }
    Ok(())
}

/// The file store as a copy's source: a read of the whole log up to the
/// checkpoint found at open, checking every record and the chain.
struct FileSource {
    reader: LogReader,
    dir: std::path::PathBuf,
}

impl FileSource {
    fn open(dir: &std::path::Path) -> Result<FileSource> {
        Ok(FileSource {
            reader: super::open::open_reader(dir)?,
            dir: dir.to_path_buf(),
        })
    }
}

impl CopySource for FileSource {
    fn head(&self) -> Head {
        self.reader.head()
    }

    fn head_at(&self, position: u64) -> Result<Option<Head>> {
        if position == 0 || position > self.reader.head().position {
            return Ok(None);
        }
        // The event at `position`, then the commit after it, if it ends a
        // batch.
        let mut records = self.records(position)?;
        let _event = records.next().transpose()?;
        Ok(match records.next().transpose()? {
            Some(CopyRecord::Commit {
                last_position,
                hash: Some(hash),
                ..
            }) if last_position == position => Some(Head { position, hash }),
            _ => None,
        })
    }

    fn records(&self, from: u64) -> Result<SourceRecords<'_>> {
        let dir = &self.dir;
        let until = Until::Position(self.reader.head().position);
        Ok(Box::new(self.reader.read(from, until).with_commits().map(
            move |r| {
                let r = r.with_context(|| format!("cannot read {}", dir.display()))?;
                Ok(match r {
                    LogRecord::Event(e) => CopyRecord::Event(e),
                    LogRecord::Commit {
                        first_position,
                        last_position,
                        hash,
                    } => CopyRecord::Commit {
                        first_position,
                        last_position,
                        hash: Some(hash),
                    },
                    other => anyhow::bail!(
                        "{} holds a record this build cannot copy: {other:?}",
                        dir.display()
                    ),
                })
            },
        )))
    }
}

/// The file store as a copy's target: each source batch is one batch of
/// the store, so its commit record, and the chain, are the source's.
struct FileTarget(Store);

impl CopyTarget for FileTarget {
    fn head(&self) -> Result<Head> {
        Ok(self.0.head())
    }

    fn check_up_to(&self, _head: Head) -> Result<()> {
        // Opening the store for writing checked every record up to its
        // checkpoint, the chain included, and refused a damaged one.
        Ok(())
    }

    fn write_batches(
        &mut self,
        records: &mut SourceRecords<'_>,
        chunk_events: u64,
    ) -> Result<Option<Written>> {
        let mut written = Written {
            events: 0,
            batches: 0,
            head: self.0.head(),
        };
        let mut batch = None;
        for record in records.by_ref() {
            match record? {
                CopyRecord::Event(e) => {
                    let b = match &mut batch {
                        Some(b) => b,
                        None => batch.insert(self.0.batch()?),
                    };
                    b.append_recorded(&e).with_context(|| {
                        format!("cannot copy the event at position {}", e.position)
                    })?;
                    written.events += 1;
                }
                CopyRecord::Commit {
                    first_position,
                    last_position,
                    hash,
                } => {
                    let Some(b) = batch.take() else {
                        bail!(
                            "the source's commit of positions {first_position} to \
                             {last_position} closes no event read"
                        );
                    };
                    let head = b.commit()?.unwrap_or(written.head);
                    match hash {
                        Some(hash) => check_commit(head, last_position, hash)?,
                        None if head.position != last_position => bail!(
                            "the copied batch ends at position {}, the source's at \
                             {last_position}",
                            head.position
                        ),
                        None => {}
                    }
                    written.head = head;
                    written.batches += 1;
                    if written.events >= chunk_events {
                        return Ok(Some(written));
                    }
                }
            }
        }
        if batch.is_some() {
            bail!("the source ended inside a batch (events without their commit record)");
        }
        Ok((written.batches > 0).then_some(written))
    }
}

/// A test hook: with `CASELEDGER_TEST_COPY_STOP=B` (or `B:E`), the process
/// exits with status [`StopHook::EXIT_STATUS`] once B batches are written
/// (and E events of the next one handed to the target), as an interrupted
/// copy would: how the tests interrupt a copy at a chosen point. With
/// `B:E:hold` it prints [`StopHook::HOLDING`] to stderr there and waits to
/// be killed instead, so that a test's SIGKILL lands at that very point.
/// Without the variable, nothing changes.
#[derive(Debug, Clone, Copy)]
struct StopHook {
    batches: u64,
    events: u64,
    hold: bool,
}

impl StopHook {
    const ENV: &str = "CASELEDGER_TEST_COPY_STOP";
    const EXIT_STATUS: i32 = 75;
    /// The line a holding copy prints (to stderr) when it reaches its point.
    const HOLDING: &str = "CASELEDGER_TEST_COPY_STOP: holding here until killed";

    fn from_env() -> Result<Option<StopHook>> {
        let Some(v) = std::env::var_os(Self::ENV) else {
            return Ok(None);
        };
        let v = v.to_string_lossy();
        let mut parts = v.split(':');
        let (b, e, how) = (parts.next(), parts.next(), parts.next());
        match (
            b.map(str::parse),
            e.unwrap_or("0").parse(),
            how,
            parts.next(),
        ) {
            (Some(Ok(batches)), Ok(events), None | Some("hold"), None) => Ok(Some(StopHook {
                batches,
                events,
                hold: how.is_some(),
            })),
            _ => bail!(
                "{}: expected BATCHES, BATCHES:EVENTS or BATCHES:EVENTS:hold, found {v}",
                Self::ENV
            ),
        }
    }

    /// `records`, ending the process when the stop point is reached: at
    /// the request for the record after the point, so that the batches
    /// before it were written (their commits handed over and committed).
    fn wrap<'a>(
        self,
        mut records: SourceRecords<'a>,
    ) -> impl Iterator<Item = Result<CopyRecord>> + 'a {
        let (mut batches, mut events) = (0u64, 0u64);
        std::iter::from_fn(move || {
            if batches == self.batches && events == self.events {
                if self.hold {
                    eprintln!("{}", Self::HOLDING);
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(3600));
                    }
                }
                eprintln!("{}: stopping the copy here", Self::ENV);
                std::process::exit(Self::EXIT_STATUS);
            }
            let next = records.next();
            match &next {
                Some(Ok(CopyRecord::Commit { .. })) => {
                    batches += 1;
                    events = 0;
                }
                Some(Ok(CopyRecord::Event(_))) if batches == self.batches => events += 1,
                _ => {}
            }
            next
        })
    }
}
