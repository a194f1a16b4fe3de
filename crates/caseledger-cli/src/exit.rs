//! How the program ends: the errors that mean "refused" (exit status 2)
//! rather than "failed" (1), a closed stdout (a quiet success), and the
//! peak memory `bench` asks for.

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

/// Wrong usage that clap cannot see (exit status 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A precondition the command checks before it does anything, refused
/// (exit status 2): the command changed nothing.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// The exit status of a failed command (docs/cli.md, "Exit status"): 2 when
/// it was refused before doing anything (wrong usage or a refused
/// precondition), 1 when it failed while doing it.
pub fn exit_status(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<UsageError>().is_some() || e.downcast_ref::<Refused>().is_some() {
        2
    } else {
        1
    }
}

/// The lines that print a failed command's error: the error, then every
/// cause down its `source()` chain, except a cause whose words the line
/// before already carries (the store's "cannot write F: No space left on
/// device" above the `io::Error` itself), so nothing is said twice.
///
/// Each is made printable (`render::printable`): an error's words may
/// carry what an input held (a value a line got wrong), which must not
/// move the terminal's cursor or forge a line; a [`Lines`] error keeps its
/// line feeds.
pub fn error_lines(e: &anyhow::Error) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let text = match cause.downcast_ref::<Lines>() {
            Some(_) => crate::render::printable_lines(&text).into_owned(),
            None => crate::render::printable(&text).into_owned(),
        };
        if lines.last().is_some_and(|above| above.contains(&text)) {
            continue;
        }
        lines.push(text);
    }
    lines
}

/// When this environment variable is set, the program prints its peak
/// resident memory (`peak_rss_kib: N`, from /proc/self/status) on stderr as
/// it exits: how `bench` measures the memory of a cold `report`.
pub const PEAK_MEMORY_ENV: &str = "CASELEDGER_PRINT_PEAK_MEMORY";

pub fn report_peak_memory() {
    if std::env::var_os(PEAK_MEMORY_ENV).is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        eprintln!("peak_rss_kib: {kib}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::line::at_line;

    /// The store's error for a full disk, as the store makes it: its words
    /// carry the OS error's, which is also its source.
    fn full_disk() -> std::io::Error {
        std::io::Error::from_raw_os_error(28)
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot write seg-1: {}", self.0)
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_whole_chain_is_printed_once() {
        let e = at_line(7, Outer(full_disk())).context("nothing was imported from in.jsonl");
        // The io::Error is reachable through the chain, not only as words.
        assert!(e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
        }));
        assert_eq!(
            error_lines(&e),
            [
                "nothing was imported from in.jsonl",
                "line 7: cannot write seg-1: No space left on device (os error 28)",
            ]
        );
        // A cause that adds words is printed.
        let e = anyhow::Error::new(full_disk()).context("cannot open in.jsonl");
        assert_eq!(
            error_lines(&e),
            [
                "cannot open in.jsonl",
                "No space left on device (os error 28)"
            ]
        );
    }
}

/// An error whose words are meant to go on several lines (what failed,
/// then what it means and what to do next, each on a line of its own).
#[derive(Debug)]
pub struct Lines(pub String);

impl std::fmt::Display for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Lines {}
