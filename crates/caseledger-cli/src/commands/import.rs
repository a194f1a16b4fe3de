//! `import`: validate JSON Lines and append them as one atomic batch.
//!
//! The lines stream through: each is parsed, checked against the case
//! rules together with what the store and the earlier lines hold, and
//! written into an open batch. The batch becomes visible and durable only
//! when every line passed; the first bad line drops it (and a crash leaves
//! an uncommitted batch, which the next open cuts). Memory holds one state
//! per case, never the whole file.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use caseledger::{CaseId, CaseState, DraftEvent, EventId, EventLog, ExpectedVersion, fold};
use caseledger_store::{Clock, Store};
use sha2::{Digest, Sha256};

use super::{open_writer, write_stdout};

/// The longest line accepted, in bytes: far above any valid event (texts are
/// capped at 4 KiB), low enough that a file without newlines cannot exhaust
/// memory.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Runs `import` of `file` (stdin for `-` or none) into the store in `dir`.
pub fn run(dir: &Path, file: Option<&Path>) -> Result<()> {
    let (input, total): (Box<dyn Read>, Option<u64>) = match file {
        None => (Box::new(std::io::stdin().lock()), None),
        Some(p) if p.as_os_str() == "-" => (Box::new(std::io::stdin().lock()), None),
        Some(p) => {
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let len = f.metadata().ok().map(|m| m.len());
            (Box::new(f), len)
        }
    };
    let name = file.map_or("standard input".to_owned(), |p| p.display().to_string());
    let store = open_writer(dir, Clock::System)?;
    let bar = crate::progress::bar(total, "importing");
    let summary = import(&store, BufReader::with_capacity(1 << 20, input), &|n| {
        bar.set_position(n)
    })
    .with_context(|| format!("nothing was imported from {name}"))?;
    bar.finish_and_clear();
    write_stdout(&summary.describe())
}

/// What an import did.
#[derive(Debug, Default)]
struct Summary {
    lines: u64,
    added: u64,
    already: u64,
    cases: u64,
    new_cases: u64,
    head: Option<caseledger_store::Head>,
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
                "imported {} events in {} cases ({} new cases)",
                self.added, self.cases, self.new_cases
            ) + &if self.already > 0 {
                format!("; {} events were already stored\n", self.already)
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

fn import(store: &Store, mut input: impl BufRead, progress: &dyn Fn(u64)) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut batch = store.batch()?;
    let mut states: HashMap<CaseId, CaseState> = HashMap::new();
    let mut touched: HashSet<CaseId> = HashSet::new();
    let mut new_cases: HashSet<CaseId> = HashSet::new();
    // Event ids met in this input, with their line, to name a repeat.
    let mut seen: HashMap<EventId, u64> = HashMap::new();
    // How often each id-less line occurred, to derive distinct ids.
    let mut occurrences: HashMap<[u8; 32], u32> = HashMap::new();
    let mut raw = Vec::new();
    let mut bytes_read = 0u64;
    for line_no in 1u64.. {
        raw.clear();
        let n = read_line(&mut input, &mut raw).with_context(|| format!("line {line_no}"))?;
        if n == 0 {
            break;
        }
        bytes_read += n as u64;
        if line_no % 1024 == 0 {
            progress(bytes_read);
        }
        let at = |e: anyhow::Error| e.context(format!("line {line_no}"));
        let mut bytes = raw.as_slice();
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        while let Some(rest) = bytes
            .strip_suffix(b"\n")
            .or_else(|| bytes.strip_suffix(b"\r"))
        {
            bytes = rest;
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            anyhow!(
                "line {line_no}: not valid UTF-8 (at byte {})",
                e.valid_up_to() + 1
            )
        })?;
        if text.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        let draft = DraftEvent::from_json(text).map_err(|e| anyhow!("line {line_no}: {e}"))?;
        let event = draft.with_id(derived_id(text, &mut occurrences));
        let case_id = event.case_id;
        if let Some(first) = seen.insert(event.event_id, line_no) {
            bail!(
                "line {line_no}: case {case_id}: event id {} repeats the one on line {first}",
                event.event_id
            );
        }
        if let Some(stored) = store.stored_at(&event.event_id) {
            if stored.case_id != case_id {
                bail!(
                    "line {line_no}: case {case_id}: event id {} is already used by case {} at \
                     position {}",
                    event.event_id,
                    stored.case_id,
                    stored.position
                );
            }
            summary.already += 1;
            continue;
        }
        let state = match states.entry(case_id) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let history = store.read_stream(case_id).map_err(|e| at(e.into()))?;
                let state = fold(history.iter().map(|r| &r.event)).with_context(|| {
                    format!("line {line_no}: the stored history of case {case_id} breaks a rule")
                })?;
                if state.version() == 0 {
                    new_cases.insert(case_id);
                }
                v.insert(state)
            }
        };
        let next = state
            .apply(&event)
            .map_err(|e| anyhow!("line {line_no}: {e}"))?;
        let expected = ExpectedVersion::Exact(batch.stream_version(case_id));
        batch
            .append(case_id, expected, std::slice::from_ref(&event))
            .map_err(|e| anyhow!("line {line_no}: {e}"))?;
        *state = next;
        touched.insert(case_id);
        summary.added += 1;
    }
    progress(bytes_read);
    summary.cases = touched.len() as u64;
    summary.new_cases = new_cases.len() as u64;
    summary.head = batch.commit()?;
    Ok(summary)
}

/// Reads one line (with its newline) into `buf`, refusing lines longer than
/// [`MAX_LINE_BYTES`]. Returns the bytes read (0 at the end).
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<usize> {
    let mut limited = input.take(MAX_LINE_BYTES as u64 + 1);
    let n = limited
        .read_until(b'\n', buf)
        .context("cannot read the input")?;
    if n > MAX_LINE_BYTES {
        bail!("longer than {MAX_LINE_BYTES} bytes");
    }
    Ok(n)
}

/// The id of an event given without one: derived from the line's bytes and
/// how often the same line came before, so that importing the same file
/// again finds the same ids and appends nothing.
fn derived_id(line: &str, occurrences: &mut HashMap<[u8; 32], u32>) -> EventId {
    let digest: [u8; 32] = Sha256::digest(line.trim().as_bytes()).into();
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
