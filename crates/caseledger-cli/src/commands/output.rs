//! Writing to stdout: whole texts, counts of things, and what a write error
//! means (a reader that went away ends the command quietly).

use std::io::Write;

use anyhow::Result;

use crate::exit::BrokenPipe;

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

/// Writes all of `text` to stdout.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(out_err)?;
    out.flush().map_err(out_err)
}
