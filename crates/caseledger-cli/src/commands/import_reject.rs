//! `import --reject FILE2`: import the cases whose lines are all valid, set
//! the others aside.
//!
//! Two passes over FILE (a file, so it can be read again). The first checks
//! every line as `import --check` does and keeps, per case, its first
//! problem: a bad case's early lines may come long before its first bad
//! one, and memory holds states per case, not lines. The second reads the
//! file again, checks each line again the same way, appends the lines of
//! the good cases to one store batch and writes every line of a bad case
//! (and every line whose case cannot be read) to a temporary file beside
//! FILE2. The batch is committed first; only then is the temporary file
//! renamed to FILE2, so FILE2 never holds lines of an import that did not
//! happen, and the summary reports only what was committed.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use caseledger::{CaseId, ExpectedVersion};
use caseledger_store::{Clock, Head, Store};
use serde::Serialize;

use super::import::Created;
use super::import_check::{Line, LineReader, Outcome, Validator};
use super::open::open_writer;
use super::output::{
    check_output_path, count, create_temporary, remove_stale_temporaries, remove_temporary,
    temporary_beside, verdict_after, write_after_commit,
};
use crate::args::ImportFormat;
use crate::exit::UsageError;

/// What `import --reject` did.
#[derive(Debug, Default, Serialize)]
struct RejectSummary {
    /// Events appended.
    imported_events: u64,
    /// Cases they belong to.
    imported_cases: u64,
    /// Of them, cases the store did not hold.
    new_cases: u64,
    /// Events of good cases that were stored already (skipped).
    already_stored: u64,
    /// Cases refused (every line of each went to the reject file).
    rejected_cases: u64,
    /// Lines of refused cases.
    rejected_lines: u64,
    /// Bad lines whose case cannot be read (also in the reject file).
    lines_without_case: u64,
    /// The reject file.
    reject_file: String,
    /// The head after the commit, if the batch held events.
    #[serde(serialize_with = "serialize_head")]
    head: Option<Head>,
}

fn serialize_head<S: serde::Serializer>(head: &Option<Head>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct H {
        position: u64,
        hash: String,
    }
    head.map(|h| H {
        position: h.position,
        hash: h.hash_hex(),
    })
    .serialize(s)
}

impl RejectSummary {
    /// Whether every case was rejected: something was, and nothing was
    /// imported or found stored already.
    fn rejected_all(&self) -> bool {
        self.rejected_any() && self.imported_events == 0 && self.already_stored == 0
    }

    fn rejected_any(&self) -> bool {
        self.rejected_lines + self.lines_without_case > 0
    }

    fn describe(&self) -> String {
        let mut s = match self.imported_events {
            0 => "nothing imported".to_owned(),
            n => format!(
                "imported {} in {} ({})",
                count(n, "event"),
                count(self.imported_cases, "case"),
                count(self.new_cases, "new case")
            ),
        };
        if self.already_stored > 0 {
            let were = if self.already_stored == 1 {
                "was"
            } else {
                "were"
            };
            s.push_str(&format!(
                "; {} {were} already stored",
                count(self.already_stored, "event")
            ));
        }
        s.push('\n');
        if self.rejected_any() {
            let mut what = Vec::new();
            if self.rejected_cases > 0 {
                what.push(format!(
                    "{} ({})",
                    count(self.rejected_cases, "case"),
                    count(self.rejected_lines, "line")
                ));
            }
            if self.lines_without_case > 0 {
                what.push(format!(
                    "{} whose case cannot be read",
                    count(self.lines_without_case, "line")
                ));
            }
            s.push_str(&format!(
                "rejected {}: written to {}\n",
                what.join(" and "),
                self.reject_file
            ));
        } else {
            s.push_str(&format!(
                "rejected nothing: {} is empty\n",
                self.reject_file
            ));
        }
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

/// Runs `import --reject` of `file` into the store in `dir`.
pub fn run(dir: &Path, file: Option<&Path>, reject: &Path, format: ImportFormat) -> Result<()> {
    let Some(file) = file.filter(|p| p.as_os_str() != "-") else {
        bail!(UsageError(
            "--reject reads the input twice: give a file, not standard input".to_owned()
        ));
    };
    // Read twice, so it must read the same twice: a pipe or FIFO given by
    // its path (`/dev/stdin`, `<(…)`) is empty the second time.
    match std::fs::metadata(file) {
        Ok(m) if m.is_file() => {}
        Ok(_) => bail!(UsageError(format!(
            "--reject reads the input twice: {} is not a regular file (a pipe or device reads \
             differently the second time); give a file",
            file.display()
        ))),
        Err(e) => return Err(anyhow!(e).context(format!("cannot open {}", file.display()))),
    }
    check_output_path(reject, "--reject", Some(dir))?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(file, reject) {
        bail!(UsageError(format!(
            "--reject {}: the reject file must not be the input",
            reject.display()
        )));
    }
    let tmp = temporary_beside(reject, "--reject")?;
    remove_stale_temporaries(reject);
    let created = Created::before_open(dir);
    let result = open_writer(dir, Clock::System)
        .and_then(|store| {
            let imported = import(&store, file, reject, &tmp);
            // A failed import, or one that rejected everything, leaves
            // nothing behind: a store it created holds no event
            // (docs/cli.md, "import"). Removed while this writer holds the
            // store's lock: see `Created::remove`.
            if imported.is_err() {
                // First, so that a new directory it sits in can go too.
                remove_temporary(&tmp);
            }
            if imported.as_ref().map_or(true, |(s, _)| s.rejected_all()) {
                created.remove(&store);
            }
            imported
        })
        .with_context(|| format!("nothing was imported from {}", file.display()));
    // The temporary file stays open, and so locked, until it is renamed:
    // see `remove_stale_temporaries`.
    let (summary, _locked) = match result {
        Ok(done) => done,
        Err(e) => {
            remove_temporary(&tmp);
            return Err(e);
        }
    };
    // The batch is committed: the reject file may appear now.
    std::fs::rename(&tmp, reject).map_err(|e| {
        anyhow!(
            "imported {} (recorded) but could not rename {} to {}: {e}; the rejected lines are \
             in {}",
            count(summary.imported_events, "event"),
            tmp.display(),
            reject.display(),
            tmp.display()
        )
    })?;
    let text = match format {
        ImportFormat::Text => summary.describe(),
        // A struct of plain fields: serializing cannot fail.
        ImportFormat::Json => serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n",
    };
    let written = write_after_commit(&text, || {
        format!(
            "imported {} (recorded; {}), the rejected lines in {}",
            count(summary.imported_events, "event"),
            super::import::describe_head(summary.head.as_ref()),
            reject.display()
        )
    });
    let verdict = match summary.rejected_all() {
        true => Err(anyhow!(
            "every case of {} was rejected; see {}",
            file.display(),
            reject.display()
        )),
        false => Ok(()),
    };
    // A reader that went away ends the summary quietly, but an import that
    // rejected every case keeps its status 1.
    verdict_after(written, verdict)
}

/// Opens `file` for one pass.
fn open_input(file: &Path) -> Result<LineReader<BufReader<std::fs::File>>> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    LineReader::new(BufReader::with_capacity(1 << 20, f))
}

/// The two passes and the commit; the rejected lines are in `tmp`, whose
/// file is returned open (locked) with the summary.
fn import(
    store: &Store,
    file: &Path,
    reject: &Path,
    tmp: &Path,
) -> Result<(RejectSummary, std::fs::File)> {
    let total = std::fs::metadata(file).ok().map(|m| m.len());
    // Pass 1: the first problem of each bad case.
    let bar = crate::progress::bar(total, "checking");
    let mut reader = open_input(file)?;
    let mut validator = Validator::new(Some(store));
    while let Some((line_no, line)) = reader.next_line()? {
        validator.line(line_no, line)?;
        bar.set_position(reader.bytes_read());
    }
    bar.finish_and_clear();
    let bad: HashMap<CaseId, String, foldhash::fast::RandomState> = validator
        .cases
        .drain()
        .filter_map(|(id, case)| Some((id, case.first_problem?)))
        .collect();
    drop(validator);

    // Pass 2: append the good cases, set the bad ones aside.
    let bar = crate::progress::bar(total, "importing");
    let out = create_temporary(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut out = BufWriter::new(out);
    let mut summary = RejectSummary {
        reject_file: reject.display().to_string(),
        ..RejectSummary::default()
    };
    let mut reader = open_input(file)?;
    let mut validator = Validator::new(Some(store));
    let mut batch = store.batch()?;
    let changed = |line_no: u64| {
        anyhow!(
            "line {line_no}: the file changed between the two passes over it (checked, then \
             imported); import it again"
        )
    };
    while let Some((line_no, line)) = reader.next_line()? {
        let (text, shown) = match &line {
            Line::Text(t) => (Some(t.to_string()), None),
            Line::Bad { text, whole, .. } => (None, whole.then(|| text.clone())),
        };
        // Checked exactly as in pass 1, so the outcome is the same.
        let outcome = validator.line(line_no, line)?;
        let case = match &outcome {
            Outcome::New { event, .. } => Some(event.case_id),
            Outcome::Refused(p) => p.case,
            Outcome::Already(c) | Outcome::Unchecked(c) => Some(*c),
        };
        let reason = match (&outcome, case) {
            (_, Some(c)) => bad.get(&c).cloned(),
            (Outcome::Refused(p), None) => Some(format!("line {}: {}", p.line, p.message)),
            (_, None) => None,
        };
        bar.set_position(reader.bytes_read());
        if let Some(reason) = reason {
            match case {
                Some(_) => summary.rejected_lines += 1,
                None => summary.lines_without_case += 1,
            }
            let rejected = rejected_line(text.as_deref(), shown.as_deref(), &reason);
            writeln!(out, "{rejected}")
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            continue;
        }
        match outcome {
            Outcome::New { event, version } => {
                batch
                    .append(
                        event.case_id,
                        ExpectedVersion::Exact(version),
                        std::slice::from_ref(&event),
                    )
                    .map_err(|e| super::line::at_line(line_no, e))?;
                summary.imported_events += 1;
            }
            Outcome::Already(_) => summary.already_stored += 1,
            // A refused line of a case without a problem in pass 1.
            Outcome::Refused(_) | Outcome::Unchecked(_) => return Err(changed(line_no)),
        }
    }
    bar.finish_and_clear();
    for (id, case) in &validator.cases {
        if bad.contains_key(id) {
            summary.rejected_cases += 1;
        } else if case.new_events > 0 {
            summary.imported_cases += 1;
            summary.new_cases += u64::from(case.new);
        }
    }
    if summary.rejected_cases != bad.len() as u64 {
        bail!("the file changed between the two passes over it; import it again");
    }
    let out = out
        .into_inner()
        .map_err(|e| anyhow!("cannot write {}: {}", tmp.display(), e.error()))?;
    out.sync_all()
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    summary.head = batch.commit()?;
    Ok((summary, out))
}

/// A line of the reject file: the original JSON object with a `rejected`
/// field added at its end (its other bytes unchanged), or, for a line that
/// is not a JSON object, `{"rejected": ..., "text": the line}` (`shown`: a
/// line that is not text, as far as it can be shown).
fn rejected_line(text: Option<&str>, shown: Option<&str>, reason: &str) -> String {
    let Some(text) = text else {
        // Not UTF-8 or too long: the text as far as it can be shown.
        return match shown {
            Some(shown) => serde_json::json!({ "rejected": reason, "text": shown }),
            None => serde_json::json!({ "rejected": reason }),
        }
        .to_string();
    };
    let trimmed = text.trim_end();
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(trimmed) else {
        return serde_json::json!({ "rejected": reason, "text": text }).to_string();
    };
    // A line rejected before: replace its reason (keys reordered).
    if object.contains_key("rejected") {
        object.insert("rejected".to_owned(), reason.into());
        return serde_json::Value::Object(object).to_string();
    }
    let body = trimmed.strip_suffix('}').unwrap_or(trimmed);
    let separator = if object.is_empty() { "" } else { "," };
    let reason_json = serde_json::Value::from(reason);
    format!("{body}{separator}\"rejected\":{reason_json}}}")
}
