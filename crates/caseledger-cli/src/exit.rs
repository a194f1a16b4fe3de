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
