//! `generate` and `demo`: synthetic histories, written only into an empty
//! store or one `generate` made (a marker file names the head it left).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use caseledger::{EventLog, ExpectedVersion};
use caseledger_store::{Clock, Store};
use caseledger_synth::{Synth, SynthConfig};
use chrono::Utc;

use super::open::{open_read_only, open_writer};
use super::output::{count, write_after_commit, write_stdout};
use super::report;
use crate::exit::Refused;

/// The store directory used by `demo` when none is given.
pub const DEMO_STORE: &str = "caseledger-demo-store";

/// The file in a store directory where `generate` records the head it left
/// (docs/store-format.md, "The directory"); the store ignores it.
pub const GENERATED_MARKER: &str = "generated-head";

/// Why `generate` or `demo` may not write into `store`, if it may not: the
/// store holds events and `generate` did not leave its head where it is,
/// nor are they exactly the events `config` generates (a `generate` with
/// these flags into a new store, stopped between its commit and its
/// marker). Synthetic events in a real ledger could never be removed.
fn generated_or_empty(store: &Store, config: &SynthConfig, command: &str) -> Result<()> {
    let head = store.head();
    if head.position == 0
        || read_marker(store.dir()) == Some(marker_text(&head))
        || holds_only(store, config)?
    {
        return Ok(());
    }
    Err(anyhow::Error::new(Refused(format!(
        "store {dir} holds {n} that `caseledger generate` did not record as its own (events \
         appended by other commands, or by a `generate` into a store it had generated into \
         before, stopped after storing its events and before recording its head in \
         {GENERATED_MARKER}), and {command} writes synthetic events, which an append-only, \
         hash-chained log can never remove. Use a new directory (`--store NEW_DIR`) for \
         synthetic data; load real data with `caseledger import`.",
        dir = store.dir().display(),
        n = count(head.position, "event"),
    ))))
}

/// Whether `store` holds exactly the events `config` generates and nothing
/// else: each of them stored, the same event, and the log no longer than
/// they are (event ids are unique in a log, so n distinct ids stored in a
/// log of n events are all of it). What a `generate` with these flags into
/// a new store leaves when it is stopped (killed, a crash) after its
/// commit and before its marker is written: that store is its own.
fn holds_only(store: &Store, config: &SynthConfig) -> Result<bool> {
    let head = store.head().position;
    let mut n = 0u64;
    for event in Synth::new(config.clone()) {
        n += 1;
        if n > head {
            return Ok(false);
        }
        match store.stored_event(&event.event_id)? {
            Some(stored) if stored.event == event => {}
            _ => return Ok(false),
        }
    }
    Ok(n == head)
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
fn check_may_generate(dir: &Path, config: &SynthConfig, command: &str) -> Result<()> {
    // Without a segment file nothing was ever acknowledged (a creation a
    // crash interrupted leaves a checkpoint alone): the store is empty, and
    // opening it for writing completes it, as `import` does.
    let has_segment = dir.join(caseledger_store::segment_name(1)).exists();
    if dir.join(caseledger_store::CHECKPOINT_FILE).exists() && has_segment {
        generated_or_empty(&open_read_only(dir)?, config, command)?;
    }
    Ok(())
}

/// Appends a synthetic history in one batch; returns how many events were
/// added. Only into an empty store or one `generate` made (see
/// [`generated_or_empty`]); records the head it leaves in the marker file.
pub fn generate(dir: &Path, config: SynthConfig, print: bool) -> Result<u64> {
    check_may_generate(dir, &config, "generate")?;
    let store = open_writer(dir, Clock::EventTime)?;
    // Again under the writer's lock: another writer may have appended.
    generated_or_empty(&store, &config, "generate")?;
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
        let done = match batch.append(
            event.case_id,
            ExpectedVersion::Exact(version),
            std::slice::from_ref(&event),
        ) {
            Ok(done) => done,
            // The same seed with other flags gives the same ids to other
            // events: say that, not only that an id was reused.
            Err(e @ caseledger::AppendError::IdempotencyKeyReused { .. }) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot append event {}: this store was generated with seed {} but other \
                     flags (--cases, --start, --span-days or --customers); generate again with \
                     the same flags (which adds nothing), or into a new store",
                    event.event_id, config.seed
                )));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot append event {}", event.event_id)));
            }
        };
        if !done.already_stored {
            added += 1;
        }
    }
    let head = batch.commit()?.unwrap_or_else(|| store.head());
    write_marker(dir, &head)?;
    bar.finish_and_clear();
    if print {
        let text = format!(
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
        );
        write_after_commit(&text, || {
            format!(
                "generated {} (recorded; head position {} hash {})",
                count(added, "event"),
                head.position,
                head.hash_hex()
            )
        })?;
    }
    Ok(added)
}

/// `text` as one word of a POSIX shell command line: as it is when it
/// holds only characters no shell treats specially, else in single
/// quotes (a quote in it written `'\''`), so that the commands `demo`
/// suggests work when pasted whatever the store's path.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c));
    match plain {
        true => text.to_owned(),
        false => format!("'{}'", text.replace('\'', r"'\''")),
    }
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

/// Runs `demo`: builds the demo store if it is new, prints its report,
/// writes it as a page beside the store, and says what to try next.
pub fn demo(store: Option<&Path>) -> Result<()> {
    let dir = store.map_or_else(|| PathBuf::from(DEMO_STORE), Path::to_path_buf);
    let config = SynthConfig {
        cases: 3_000,
        seed: 42,
        start: chrono::DateTime::parse_from_rfc3339("2026-01-05T08:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .context("demo start time")?,
        span_days: 120,
        customers: caseledger_synth::Customers::Uniform,
    };
    check_may_generate(&dir, &config, "demo")?;
    let fresh = !dir.join(caseledger_store::CHECKPOINT_FILE).exists()
        || open_read_only(&dir)?.head().position == 0;
    if fresh {
        eprintln!(
            "creating the demo store {} with 3,000 synthetic cases...",
            dir.display()
        );
        generate(&dir, config, false)?;
    } else {
        eprintln!("reusing the demo store {}", dir.display());
        // A demo stopped between its commit and its marker was let in as
        // holding exactly the demo's events: record its head now (appending
        // nothing), as `generate` does, so that the store is `generate`'s
        // again for every later command.
        let head = open_read_only(&dir)?.head();
        if read_marker(&dir) != Some(marker_text(&head)) {
            generate(&dir, config, false)?;
        }
    }
    let page = demo_page(&dir);
    report::demo(&dir, &page)?;
    let d = shell_word(&dir.display().to_string());
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
        page = shell_word(&page.display().to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_path_is_one_shell_word_when_pasted() {
        assert_eq!(shell_word("caseledger-demo-store"), "caseledger-demo-store");
        assert_eq!(shell_word("/data/a_b/c.d"), "/data/a_b/c.d");
        assert_eq!(shell_word("sp ace/d s"), "'sp ace/d s'");
        assert_eq!(shell_word("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(shell_word(""), "''");
    }
}
