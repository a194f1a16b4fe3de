//! The error of one input line: "line N: {error}", keeping the error itself
//! as its source (not only its words), so that the whole chain, down to an
//! operating system's error, stays reachable.

use std::error::Error;
use std::fmt;

/// An error at one line of the input.
#[derive(Debug)]
pub struct AtLine {
    /// The line number (from 1).
    pub line: u64,
    /// What went wrong on it.
    pub error: Box<dyn Error + Send + Sync>,
    /// Words appended after the error's (a hint), or "".
    pub hint: &'static str,
}

impl fmt::Display for AtLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the input put in the error's words.
        let error = self.error.to_string();
        write!(
            f,
            "line {}: {}{}",
            self.line,
            crate::render::printable(&error),
            self.hint
        )
    }
}

impl Error for AtLine {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.error)
    }
}

/// `error` at line `line`, as an [`anyhow::Error`] whose chain keeps it.
pub fn at_line(line: u64, error: impl Error + Send + Sync + 'static) -> anyhow::Error {
    AtLine {
        line,
        error: Box::new(error),
        hint: "",
    }
    .into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use caseledger::{CaseError, ParseError, Violation};

    fn line(id: u32, kind: &str, data: &str) -> String {
        format!(
            r#"{{"case_id":"00000000-0000-0000-0000-000000000001","type":"{kind}","at":"2026-03-02T09:15:00Z","actor":"agent-17","event_id":"00000000-0000-0000-0001-{id:012}","data":{data}}}"#
        )
    }

    /// Imports `lines` into a new store; the error.
    fn import_err(lines: &[String]) -> anyhow::Error {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.jsonl");
        std::fs::write(&file, lines.join("\n")).unwrap();
        super::super::import::run(&dir.path().join("store"), Some(&file)).unwrap_err()
    }

    const OPENED: &str = r#"{"customer_id":"C-1","channel":"phone","tier":"vip"}"#;

    #[test]
    fn import_keeps_the_typed_error_of_a_line_in_the_chain() {
        // A broken rule: the CaseError itself, not only its words.
        let e = import_err(&[line(1, "opened", OPENED), line(2, "opened", OPENED)]);
        let case = e.chain().find_map(|c| c.downcast_ref::<CaseError>());
        assert_eq!(
            case.map(|c| &c.violation),
            Some(&Violation::AlreadyOpened),
            "{e:#}"
        );
        // A bad line: the ParseError.
        let e = import_err(&[line(1, "teleported", OPENED)]);
        assert!(
            e.chain().any(|c| c.downcast_ref::<ParseError>().is_some()),
            "{e:#}"
        );
    }
}
