//! `import --check`: every problem of a file, without writing anything.
//!
//! The file is read once, line by line, and each line is checked as
//! `import` checks it, but a bad line does not stop the check: it is
//! recorded and skipped, and the lines after it are checked against the
//! case as its valid lines leave it. Memory holds one state per case (and
//! the ids of the file's events, to find a repeated one), never the lines.
//! [`Validator`] is also the first pass of `import --reject`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use caseledger::{CaseId, CaseState, DraftEvent, Event, EventId, EventLog, fold};
use caseledger_store::Store;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::import::{
    BYTE_ORDER_MARK, blank, clash_with_stored, compressed, derived_id, json_lines_hint, read_line,
    too_long_message,
};
use super::open::open_read_only;
use super::output::{count, verdict_after, write_stdout};
use crate::args::ImportFormat;

/// How many problems `--check` lists; the rest are only counted.
pub const PROBLEM_LIST_LIMIT: usize = 1000;

/// A hasher for the maps of cases and ids.
type Fast = foldhash::fast::RandomState;

/// One non-blank line as read: its text, or why it cannot be text.
pub(super) enum Line<'a> {
    /// Valid UTF-8, without its line end (and without a leading byte-order
    /// mark on the first line).
    Text(&'a str),
    /// Not a line of text: too long, not UTF-8, or a byte-order mark where
    /// none may be.
    Bad {
        /// The short name of the problem.
        rule: &'static str,
        /// What is wrong, without the line number.
        message: String,
        /// The line (invalid UTF-8 replaced) without its line end; only
        /// its start for a line too long.
        text: String,
        /// `text` is the whole line (not only the start of one too long).
        whole: bool,
    },
}

/// Reads the input line by line, going on after a bad line.
pub(super) struct LineReader<R> {
    input: R,
    raw: Vec<u8>,
    line_no: u64,
    bytes_read: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader of `input`; refuses a compressed input at once (its lines
    /// would all be nonsense).
    pub(super) fn new(mut input: R) -> Result<LineReader<R>> {
        if let Some((format, tool)) = input.fill_buf().ok().and_then(compressed) {
            bail!(
                "the input is {format}-compressed; decompress it first, for example \
                 `{tool} FILE > FILE.jsonl`"
            );
        }
        Ok(LineReader {
            input,
            raw: Vec::new(),
            line_no: 0,
            bytes_read: 0,
        })
    }

    /// The last line read, invalid UTF-8 replaced, without its line end.
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.raw)
            .trim_end_matches(['\n', '\r'])
            .to_owned()
    }

    /// The bytes read so far (for a progress bar).
    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next non-blank line and its number, or None at the end. Errors
    /// only when the input cannot be read.
    pub(super) fn next_line(&mut self) -> Result<Option<(u64, Line<'_>)>> {
        loop {
            self.line_no += 1;
            self.raw.clear();
            let read = read_line(&mut self.input, &mut self.raw)?;
            if read.bytes == 0 {
                return Ok(None);
            }
            self.bytes_read += read.bytes as u64;
            let line_no = self.line_no;
            if read.too_long {
                // Skip the rest of the line, to go on with the next one
                // (none is left when its LF was read).
                if !read.ended {
                    let rest = self
                        .input
                        .skip_until(b'\n')
                        .context("cannot read the input")?;
                    self.bytes_read += rest as u64;
                }
                let message = too_long_message();
                return Ok(Some((
                    line_no,
                    Line::Bad {
                        rule: "line_too_long",
                        message,
                        // Its start, where its case id may be read.
                        text: self.shown(),
                        whole: false,
                    },
                )));
            }
            let mut start = 0;
            if self.raw.starts_with(BYTE_ORDER_MARK) {
                if line_no > 1 {
                    let message = "a byte-order mark (U+FEFF) starts this line; it may only \
                                   start the input (were files concatenated?)"
                        .to_owned();
                    return Ok(Some((
                        line_no,
                        Line::Bad {
                            rule: "byte_order_mark",
                            message,
                            text: self.shown(),
                            whole: true,
                        },
                    )));
                }
                start = BYTE_ORDER_MARK.len();
            }
            let mut end = self.raw.len();
            while end > start && matches!(self.raw[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let blank = match std::str::from_utf8(&self.raw[start..end]) {
                Err(e) => {
                    let message = format!("not valid UTF-8 (at byte {})", e.valid_up_to() + 1);
                    return Ok(Some((
                        line_no,
                        Line::Bad {
                            rule: "not_utf8",
                            message,
                            text: self.shown(),
                            whole: true,
                        },
                    )));
                }
                Ok(t) => match blank(t) {
                    Ok(blank) => blank,
                    Err(message) => {
                        return Ok(Some((
                            line_no,
                            Line::Bad {
                                rule: "invalid_json",
                                message,
                                text: self.shown(),
                                whole: true,
                            },
                        )));
                    }
                },
            };
            if blank {
                continue;
            }
            // Checked as UTF-8 just above (the same bytes); checked again
            // because a borrow returned from a loop cannot cross `continue`.
            let text = std::str::from_utf8(&self.raw[start..end]).unwrap_or_default();
            return Ok(Some((line_no, Line::Text(text))));
        }
    }
}

/// A problem of one line.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Problem {
    /// The line number, from 1.
    pub line: u64,
    /// The case the line belongs to, when it can be read.
    pub case: Option<CaseId>,
    /// The short name of the rule broken (a case rule's code, a parse
    /// error's code, or one of the import's own: `event_id_repeated`, ...).
    pub rule: &'static str,
    /// What is wrong, naming the case (without the line number).
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // One line, whatever the input put in the message.
        write!(
            f,
            "line {} [{}]: {}",
            self.line,
            self.rule,
            crate::render::printable(&self.message)
        )
    }
}

/// What the check of one line found.
pub(super) enum Outcome {
    /// A valid new event, already folded into its case's state; it goes
    /// after `version` events of its stream.
    New {
        /// The event.
        event: Event,
        /// Its stream's version before it.
        version: u64,
    },
    /// The same event of this case is stored already: nothing to do.
    Already(CaseId),
    /// The line breaks a rule.
    Refused(Problem),
    /// The line's case (this one) has a stored history that breaks a rule
    /// (reported on the first line of the case): the line cannot be checked.
    Unchecked(CaseId),
}

/// What the check knows of one case of the file.
pub(super) struct CaseCheck {
    /// The case as its stored history and its valid lines so far leave it.
    state: CaseState,
    /// The first problem of the case ("line N: ..."), if any.
    pub first_problem: Option<String>,
    /// Why the stored history breaks a rule, if it does: the case's lines
    /// cannot be checked then.
    stored_broken: Option<String>,
    /// The store held no event of the case.
    pub new: bool,
    /// Valid new events of the case.
    pub new_events: u64,
    /// Lines of the case (each line whose case can be read).
    pub lines: u64,
}

/// Checks lines as `import` does, without stopping at a bad one: the
/// state of each case met, and the ids met, to check the lines after.
pub(super) struct Validator<'s> {
    /// The store to check against, when it holds any event.
    store: Option<&'s Store>,
    /// Every case met, by id.
    pub cases: HashMap<CaseId, CaseCheck, Fast>,
    /// The line of each event id met in the file.
    ids: HashMap<EventId, u64, Fast>,
    /// How often each id-less line occurred (see [`derived_id`]).
    occurrences: HashMap<[u8; 32], u32, Fast>,
}

impl<'s> Validator<'s> {
    /// A validator of lines against `store` (or the file alone).
    pub(super) fn new(store: Option<&'s Store>) -> Validator<'s> {
        Validator {
            // A store without events has no ids and no histories.
            store: store.filter(|s| s.head().position > 0),
            cases: HashMap::default(),
            ids: HashMap::default(),
            occurrences: HashMap::default(),
        }
    }

    /// Checks one line; a problem is recorded as its case's first if it is.
    /// Errors only when the store cannot be read.
    pub(super) fn line(&mut self, line_no: u64, line: Line<'_>) -> Result<Outcome> {
        let text = match line {
            Line::Bad {
                rule,
                message,
                text,
                ..
            } => return self.unreadable(line_no, rule, message, &text),
            Line::Text(text) => text,
        };
        let draft = match DraftEvent::from_json(text) {
            Ok(d) => d,
            Err(e) => {
                let message = format!("{e}{}", json_lines_hint(text));
                return self.unreadable(line_no, e.code(), message, text);
            }
        };
        let event = match Event::try_from(draft) {
            Ok(event) => event,
            Err(draft) => {
                let digest: [u8; 32] = Sha256::digest(text.trim().as_bytes()).into();
                draft.into_event(|| derived_id(digest, &mut self.occurrences))
            }
        };
        self.event(line_no, event)
    }

    /// Refuses a line that is not an event (`rule`, `message`), `text` as
    /// far as it reads. Its case, when its `case_id` can be read all the
    /// same, is refused with it: the case imported without the line would
    /// lack an event for good (one before a later event of the case could
    /// never be added after it). A line that names `case_id` more than once
    /// has no case: it is refused alone, and so is every case it names.
    fn unreadable(
        &mut self,
        line_no: u64,
        rule: &'static str,
        message: String,
        text: &str,
    ) -> Result<Outcome> {
        let problem = |case, message| Problem {
            line: line_no,
            case,
            rule,
            message,
        };
        match case_of(text) {
            CaseOf::None => Ok(self.refuse(problem(None, message))),
            CaseOf::One(c) => {
                self.case(c)?.lines += 1;
                Ok(self.refuse(problem(Some(c), format!("case {c}: {message}"))))
            }
            CaseOf::Several { times, ids } => {
                let named = match ids.as_slice() {
                    [] => String::new(),
                    ids => {
                        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                        format!(" ({})", ids.join(", "))
                    }
                };
                let message = format!(
                    "{message}; `case_id` appears {times} times{named}, so the line belongs to \
                     no one case: it is refused, and with it each case it names"
                );
                let first = format!("line {line_no}: {message}");
                for c in ids {
                    let case = self.case(c)?;
                    if case.first_problem.is_none() {
                        case.first_problem = Some(first.clone());
                    }
                }
                Ok(self.refuse(problem(None, message)))
            }
        }
    }

    /// Checks one parsed event.
    fn event(&mut self, line_no: u64, event: Event) -> Result<Outcome> {
        let case_id = event.case_id;
        let problem = |rule, message| Problem {
            line: line_no,
            case: Some(case_id),
            rule,
            message,
        };
        self.case(case_id)?.lines += 1;
        // Before the store is asked: a repeat is the input's own fault,
        // whatever the store holds (`import` says the same).
        if let Some(earlier) = self.ids.insert(event.event_id, line_no) {
            // Keep the first line as the one repeated.
            self.ids.insert(event.event_id, earlier);
            let message = format!(
                "case {case_id}: event id {} repeats the one on line {earlier}",
                event.event_id
            );
            return Ok(self.refuse(problem("event_id_repeated", message)));
        }
        let stored = match self.store {
            None => None,
            Some(store) => store
                .stored_event(&event.event_id)
                .with_context(|| format!("line {line_no}"))?,
        };
        if let Some(stored) = stored {
            return Ok(match clash_with_stored(&event, &stored) {
                Some((rule, message)) => self.refuse(problem(rule, message)),
                None => Outcome::Already(case_id),
            });
        }
        let case = self.case(case_id)?;
        if let Some(broken) = &case.stored_broken {
            // Reported once, on the case's first line that reaches here.
            if case.first_problem.is_some() {
                return Ok(Outcome::Unchecked(case_id));
            }
            let message = format!("case {case_id}: the stored history breaks a rule: {broken}");
            return Ok(self.refuse(problem("stored_history", message)));
        }
        if let Err(e) = caseledger::check(&case.state, &event) {
            let rule = e.violation.code();
            return Ok(self.refuse(problem(rule, e.to_string())));
        }
        let version = case.state.version();
        case.state = caseledger::evolve(std::mem::take(&mut case.state), &event);
        case.new_events += 1;
        Ok(Outcome::New { event, version })
    }

    /// The case `case_id`, loaded from the store when first met. A stored
    /// history that breaks a rule marks the case (and is its problem).
    fn case(&mut self, case_id: CaseId) -> Result<&mut CaseCheck> {
        use std::collections::hash_map::Entry;
        let vacant = match self.cases.entry(case_id) {
            Entry::Occupied(o) => return Ok(o.into_mut()),
            Entry::Vacant(v) => v,
        };
        let (state, broken) = match self.store {
            None => (CaseState::default(), None),
            Some(store) => {
                let history = store
                    .read_stream(case_id)
                    .with_context(|| format!("cannot read case {case_id} from the store"))?;
                match fold(history.iter().map(|r| &r.event)) {
                    Ok(state) => (state, None),
                    Err(e) => (CaseState::default(), Some(e)),
                }
            }
        };
        Ok(vacant.insert(CaseCheck {
            new: state.version() == 0 && broken.is_none(),
            state,
            first_problem: None,
            stored_broken: broken.map(|e| e.to_string()),
            new_events: 0,
            lines: 0,
        }))
    }

    /// Records `problem` as its case's first, if it is; returns it.
    fn refuse(&mut self, problem: Problem) -> Outcome {
        if let Some(case) = problem.case.and_then(|c| self.cases.get_mut(&c))
            && case.first_problem.is_none()
        {
            case.first_problem = Some(format!("line {}: {}", problem.line, problem.message));
        }
        Outcome::Refused(problem)
    }
}

/// The case a line that is not a valid event names, read leniently.
#[derive(Debug, PartialEq)]
pub(super) enum CaseOf {
    /// No readable `case_id`.
    None,
    /// One `case_id`, readable.
    One(CaseId),
    /// `case_id` given `times` times (maybe with the same id): the ids
    /// of them that can be read, each once.
    Several { times: usize, ids: Vec<CaseId> },
}

/// The `case_id` of a line that is not a valid event: the string value of
/// each `case_id` key of a top-level JSON object on the line. Read without
/// a JSON parser, so that a line that is not JSON still gives its case:
/// one cut short, one with a byte-order mark or other bytes before the
/// object, one not UTF-8 (read with U+FFFD for the bad bytes), one too long
/// (its start). Strings are skipped whole (a `"case_id"` inside a text is
/// not a key) and nested objects are not looked into, as a parser would.
pub(super) fn case_of(text: &str) -> CaseOf {
    // The containers open at the current byte: `{` or `[`.
    let mut open: Vec<u8> = Vec::new();
    let mut want_key = false;
    let mut values: Vec<Option<CaseId>> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let Some(end) = string_end(text, i) else {
                    break;
                };
                if open == [b'{'] && want_key {
                    want_key = false;
                    let is_case_id = decoded(&text[i..end]).as_deref() == Some("case_id");
                    if let (true, Some(value)) =
                        (is_case_id, text[end..].trim_start().strip_prefix(':'))
                    {
                        let value = value.trim_start();
                        let id = string_end(value, 0)
                            .and_then(|e| decoded(&value[..e]))
                            .and_then(|s| s.parse().ok());
                        values.push(id);
                    }
                }
                i = end;
                continue;
            }
            b'{' => {
                open.push(b'{');
                want_key = true;
            }
            b'[' => open.push(b'['),
            b'}' | b']' => {
                open.pop();
            }
            b',' => want_key = open.last() == Some(&b'{'),
            _ => {}
        }
        i += 1;
    }
    match values.as_slice() {
        [] | [None] => CaseOf::None,
        [Some(id)] => CaseOf::One(*id),
        all => {
            let mut ids: Vec<CaseId> = Vec::new();
            for id in all.iter().flatten() {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
            CaseOf::Several {
                times: all.len(),
                ids,
            }
        }
    }
}

/// The end (after the closing quote) of the JSON string that starts at
/// byte `start` of `text` (a `"`), or None if `text` ends inside it.
fn string_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            // The escaped byte is skipped; neither `"` nor `\` is ever a
            // part of a longer UTF-8 character.
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The JSON string `quoted` (with its quotes) decoded, escapes resolved.
fn decoded(quoted: &str) -> Option<String> {
    serde_json::from_str(quoted).ok()
}

/// What `--check` found.
#[derive(Debug, Default, Serialize)]
struct CheckSummary {
    /// The file checked.
    file: String,
    /// The store checked against, if any.
    store: Option<String>,
    /// No problem found.
    clean: bool,
    /// Non-blank lines read.
    lines: u64,
    /// Cases named by the lines.
    cases: u64,
    /// Of them, cases the store does not hold (all, without a store).
    new_cases: u64,
    /// Cases with at least one problem.
    cases_with_problems: u64,
    /// Bad lines whose case cannot be read.
    lines_without_case: u64,
    /// Valid events not stored yet.
    new_events: u64,
    /// Events already stored (skipped by an import).
    already_stored: u64,
    /// What `import --reject` would import: new events of cases without
    /// problems, and those cases.
    importable_events: u64,
    importable_cases: u64,
    /// Problems found, in all.
    problems: u64,
    /// The most listed.
    limit: usize,
    /// Problems by rule.
    by_rule: BTreeMap<&'static str, u64>,
    /// The first [`PROBLEM_LIST_LIMIT`] problems, in line order.
    problem_list: Vec<Problem>,
}

impl CheckSummary {
    fn add(&mut self, problem: Problem) {
        self.problems += 1;
        *self.by_rule.entry(problem.rule).or_default() += 1;
        if problem.case.is_none() {
            self.lines_without_case += 1;
        }
        if self.problem_list.len() < PROBLEM_LIST_LIMIT {
            self.problem_list.push(problem);
        }
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        for p in &self.problem_list {
            s.push_str(&format!("{p}\n"));
        }
        let unlisted = self.problems - self.problem_list.len() as u64;
        if unlisted > 0 {
            let problems = if unlisted == 1 { "problem" } else { "problems" };
            s.push_str(&format!(
                "... and {unlisted} more {problems} (only the first {} are listed)\n",
                self.limit
            ));
        }
        let already = match self.already_stored {
            0 => String::new(),
            n => format!("; {} already stored", count(n, "event")),
        };
        if self.clean {
            s.push_str(&format!(
                "no problems in {}: {} to import in {} ({}){already}\n",
                count(self.lines, "line"),
                count(self.new_events, "event"),
                count(self.cases, "case"),
                count(self.new_cases, "new case"),
            ));
            return s;
        }
        // What has problems: cases, and lines whose case cannot be read
        // (not JSON, no case id); "0 of 0 cases" says nothing.
        let mut what = Vec::new();
        if self.cases > 0 {
            what.push(format!(
                "{} of {} with problems",
                self.cases_with_problems,
                count(self.cases, "case")
            ));
        }
        if self.lines_without_case > 0 {
            what.push(format!(
                "{} whose case cannot be read",
                count(self.lines_without_case, "line")
            ));
        }
        s.push_str(&format!(
            "{} in {}: {}\n",
            count(self.problems, "problem"),
            count(self.lines, "line"),
            what.join(" and "),
        ));
        s.push_str(&format!(
            "import --reject would import {} in {}{already}\n",
            count(self.importable_events, "event"),
            count(self.importable_cases, "case"),
        ));
        s.push_str("problems by rule:\n");
        let width = self.by_rule.keys().map(|k| k.len()).max().unwrap_or(0);
        for (rule, n) in &self.by_rule {
            s.push_str(&format!("  {rule:<width$}  {n}\n"));
        }
        s
    }
}

/// Runs `import --check` of `file` (stdin for `-` or none), against the
/// store in `dir` when one is given.
pub fn run(dir: Option<&Path>, file: Option<&Path>, format: ImportFormat) -> Result<()> {
    let (input, total): (Box<dyn Read>, Option<u64>) = match file {
        None => (Box::new(std::io::stdin()), None),
        Some(p) if p.as_os_str() == "-" => (Box::new(std::io::stdin()), None),
        Some(p) => {
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let len = f.metadata().ok().map(|m| m.len());
            (Box::new(f), len)
        }
    };
    let name = file
        .filter(|p| p.as_os_str() != "-")
        .map_or("standard input".to_owned(), |p| p.display().to_string());
    let store = dir.map(open_read_only).transpose()?;
    let bar = crate::progress::bar(total, "checking");
    let mut summary = check(
        store.as_ref(),
        BufReader::with_capacity(1 << 20, input),
        &|n| bar.set_position(n),
    )
    .with_context(|| format!("cannot check {name}"))?;
    bar.finish_and_clear();
    summary.file = name.clone();
    summary.store = dir.map(|d| d.display().to_string());
    let text = match format {
        ImportFormat::Text => summary.describe(),
        // A struct of plain fields: serializing cannot fail.
        ImportFormat::Json => serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n",
    };
    let verdict = match summary.clean {
        true => Ok(()),
        false => Err(anyhow!(
            "{name} has {}; nothing was written (--check only reads)",
            count(summary.problems, "problem")
        )),
    };
    // A reader that closed stdout early never makes a file with problems
    // pass the check.
    verdict_after(write_stdout(&text), verdict)
}

/// Checks every line of `input`; `progress` gets the bytes read.
fn check(
    store: Option<&Store>,
    input: impl BufRead,
    progress: &dyn Fn(u64),
) -> Result<CheckSummary> {
    let mut summary = CheckSummary {
        limit: PROBLEM_LIST_LIMIT,
        ..CheckSummary::default()
    };
    let mut reader = LineReader::new(input)?;
    let mut validator = Validator::new(store);
    while let Some((line_no, line)) = reader.next_line()? {
        summary.lines += 1;
        match validator.line(line_no, line)? {
            Outcome::New { .. } => summary.new_events += 1,
            Outcome::Already(_) => summary.already_stored += 1,
            Outcome::Refused(problem) => summary.add(problem),
            Outcome::Unchecked(_) => {}
        }
        if summary.lines.is_multiple_of(4096) {
            progress(reader.bytes_read());
        }
    }
    for case in validator.cases.values() {
        summary.cases += 1;
        summary.new_cases += u64::from(case.new);
        match case.first_problem {
            Some(_) => summary.cases_with_problems += 1,
            None => {
                summary.importable_events += case.new_events;
                summary.importable_cases += u64::from(case.new_events > 0);
            }
        }
    }
    summary.clean = summary.problems == 0;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const A: &str = "00000000-0000-0000-0000-00000000000a";
    const B: &str = "00000000-0000-0000-0000-00000000000b";

    fn id(s: &str) -> CaseId {
        s.parse().unwrap()
    }

    /// The `case_id` read where a parser would read it, and where one gives
    /// up (cut short, bytes before the object), but not inside a string or
    /// a nested object.
    #[test]
    fn case_of_reads_the_top_level_case_id_of_a_broken_line() {
        let one = [
            format!(r#"{{"data":{{"case_id":"{B}"}},"case_id":"{A}"}}"#),
            format!(r#"{{"note":"\"case_id\":\"{B}\"","case_id":"{A}"}}"#),
            format!(r#"{{"case\u005fid":"{A}"}}"#),
            format!(r#"{{"case_id":"{A}","type":"resp"#),
            format!("\u{feff}{{\"case_id\" : \"{A}\"}}"),
            format!(r#"{{"a":["x",{{"case_id":"{B}"}}],"case_id":"{A}"}}"#),
            format!(r#"{{"case_id":"{A}","x":[{{"case_id":"{B}"}}]}}"#),
        ];
        for text in &one {
            assert_eq!(case_of(text), CaseOf::One(id(A)), "{text}");
        }
        let none = [
            r#"{"case_id":5}"#.to_owned(),
            format!(r#"[{{"case_id":"{A}"}}]"#),
            format!(r#"{{"case_id":"{}"#, &A[..10]),
            format!(r#"{{"x":"case_id","y":"{A}"}}"#),
            "not json".to_owned(),
        ];
        for text in &none {
            assert_eq!(case_of(text), CaseOf::None, "{text}");
        }
    }

    /// `case_id` given twice, with two ids or one, or two objects on one
    /// line: no one case, every id named.
    #[test]
    fn case_of_names_every_id_of_a_line_with_several() {
        for (text, times, ids) in [
            (
                format!(r#"{{"case_id":"{A}","case_id":"{B}"}}"#),
                2,
                vec![id(A), id(B)],
            ),
            (
                format!(r#"{{"case_id":"{A}","case_id":"{A}"}}"#),
                2,
                vec![id(A)],
            ),
            (
                format!(r#"{{"case_id":"{A}"}}{{"case_id":"{B}"}}"#),
                2,
                vec![id(A), id(B)],
            ),
            (
                format!(r#"{{"case_id":1,"case_id":"{B}"}}"#),
                2,
                vec![id(B)],
            ),
        ] {
            assert_eq!(case_of(&text), CaseOf::Several { times, ids }, "{text}");
        }
    }
}
