//! `caseledger`: audit replay of a case event store from the command line.
//!
//! A thin adapter: flags are parsed (clap) into a validated [`Config`] of
//! the subcommand, which calls the domain crate and the file store.
//! docs/cli.md specifies every subcommand and its output.
//!
//! Exit status: 0 success, 1 failed while doing it (bad data, the store),
//! 2 refused before doing anything (wrong usage or a refused precondition).

mod commands;
mod progress;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use caseledger::kpi::GroupBy;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

/// The store directory used by `demo` when none is given.
pub const DEMO_STORE: &str = "caseledger-demo-store";

#[derive(Debug, Parser)]
#[command(
    name = "caseledger",
    version,
    about = "Audit replay of bank customer-service case events: import, export, verify, \
             KPI reports and case histories.",
    after_help = "Example:\n  caseledger demo\n  caseledger --store events/ report --group-by month"
)]
struct Cli {
    /// The store directory.
    #[arg(long, global = true, env = "CASELEDGER_STORE", value_name = "DIR")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate JSON Lines events and append them all, atomically, or none.
    #[command(
        after_help = "Example:\n  caseledger --store events/ import cases.jsonl\n  \
                            zcat cases.jsonl.gz | caseledger --store events/ import -"
    )]
    Import {
        /// The file to import; `-` or nothing reads standard input.
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
    },
    /// Write the whole log as JSON Lines to standard output.
    #[command(
        after_help = "Example:\n  caseledger --store events/ export > all.jsonl\n  \
                            caseledger --store events/ export --as-of 2026-03-31T23:59:59Z"
    )]
    Export {
        /// Only events that happened at or before T (RFC 3339, or YYYY-MM-DD for
        /// midnight UTC).
        #[arg(long, value_name = "T", value_parser = parse_time)]
        as_of: Option<DateTime<Utc>>,
    },
    /// The KPI report for a cohort of cases, as of a moment.
    #[command(
        after_help = "Example:\n  caseledger --store events/ report --from 2026-01-01 \
                            --to 2026-04-01 --as-of 2026-04-15 --group-by month --format table"
    )]
    Report(commands::ReportArgs),
    /// One case's events in order, with its state after each.
    #[command(after_help = "Example:\n  caseledger --store events/ history \
                            0192f5c4-7d1e-7c3a-9a61-3f0c2b1d4e5f --format json")]
    History {
        /// The case id (a UUID).
        case_id: caseledger::CaseId,
        /// Only events that happened at or before T.
        #[arg(long, value_name = "T", value_parser = parse_time)]
        as_of: Option<DateTime<Utc>>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
        format: HistoryFormat,
    },
    /// Check every checksum, the hash chain and the case rules; print the head.
    #[command(after_help = "Example:\n  caseledger --store events/ verify")]
    Verify,
    /// Open the store for writing, which cuts a torn tail; report what was cut.
    #[command(after_help = "Example:\n  caseledger --store events/ recover")]
    Recover,
    /// Append a realistic, deterministic synthetic history.
    #[command(
        after_help = "Example:\n  caseledger --store synthetic/ generate --cases 5000 --seed 7"
    )]
    Generate {
        /// How many cases.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        cases: u64,
        /// The seed: the same seed gives the same events.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// When the first case may open.
        #[arg(long, value_name = "T", value_parser = parse_time, default_value = "2026-01-05T08:00:00Z")]
        start: DateTime<Utc>,
        /// Over how many days cases open.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=3650))]
        span_days: u32,
    },
    /// First steps: build a demo store, print its monthly KPI report.
    #[command(after_help = "Example:\n  caseledger demo")]
    Demo,
    /// Measure replay, verify, open, import and durable append speeds
    /// (docs/performance.md). Takes minutes; builds its stores in --dir.
    #[command(
        after_help = "Example:\n  caseledger bench --dir /data/caseledger-bench --events 1000000"
    )]
    Bench(commands::bench::BenchArgs),
}

/// The `report` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// The JSON object of docs/cli.md.
    Json,
    /// One row per group, with a header.
    Csv,
}

/// The `history` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// Aligned columns for people.
    Table,
    /// A JSON object with every event and the state after it.
    Json,
}

/// When this environment variable is set, the program prints its peak
/// resident memory (`peak_rss_kib: N`, from /proc/self/status) on stderr as
/// it exits: how `bench` measures the memory of a cold `report`.
pub const PEAK_MEMORY_ENV: &str = "CASELEDGER_PRINT_PEAK_MEMORY";

fn report_peak_memory() {
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
fn exit_status(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<UsageError>().is_some() || e.downcast_ref::<Refused>().is_some() {
        2
    } else {
        1
    }
}

/// Parses a time flag: RFC 3339 with an offset, or a date for midnight UTC.
pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        // Midnight exists on every date in UTC.
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| format!("invalid date {s}"));
    }
    caseledger::parse_timestamp(s).map_err(|e| {
        format!("{e} (use RFC 3339 like 2026-03-31T23:59:59Z, or a date like 2026-03-31)")
    })
}

pub(crate) fn parse_group_by(s: &str) -> Result<GroupBy, String> {
    GroupBy::parse(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = commands::run(cli.store, cli.command);
    report_peak_memory();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<commands::BrokenPipe>().is_some() {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(exit_status(&e))
        }
    }
}
