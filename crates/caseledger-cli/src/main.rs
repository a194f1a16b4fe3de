//! `caseledger`: audit replay of a case event store from the command line.
//!
//! A thin adapter: flags are parsed and checked by clap into a [`Command`],
//! whose subcommand calls the domain crate and the file store.
//! docs/cli.md specifies every subcommand and its output.
//!
//! Exit status: 0 success, 1 failed while doing it (bad data, the store),
//! 2 refused before doing anything (wrong usage or a refused precondition).

/// The accepted forms of a time flag, ending the help of every time flag
/// (a macro, so that `concat!` can join it to each flag's own text).
macro_rules! time_formats {
    () => {
        " T is a date (2026-03-31: the start of that day, UTC), a time with an offset \
         (2026-03-31T23:59:59Z, 2026-03-31T23:59:59+08:00), or `now`."
    };
}

mod chart;
mod commands;
mod figures;
mod html;
mod progress;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use caseledger::kpi::GroupBy;
use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::TypedValueParser as _;
use clap::{Parser, Subcommand, ValueEnum};

/// The store directory used by `demo` when none is given.
pub const DEMO_STORE: &str = "caseledger-demo-store";

/// What `--version` prints: the crate version, the store format version
/// this build reads and writes, and the git commit it was built from.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (store format {}, commit {})",
        env!("CARGO_PKG_VERSION"),
        caseledger_store::format::FORMAT_VERSION,
        env!("CASELEDGER_GIT_COMMIT")
    )
});

#[derive(Debug, Parser)]
#[command(
    name = "caseledger",
    version = VERSION.as_str(),
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
        #[arg(long, value_name = "T", value_parser = parse_time,
              help = concat!("Only events that happened at or before T.", time_formats!()))]
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
        #[arg(value_parser = parse_case_id)]
        case_id: caseledger::CaseId,
        #[arg(long, value_name = "T", value_parser = parse_time,
              help = concat!("Only events that happened at or before T.", time_formats!()))]
        as_of: Option<DateTime<Utc>>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
        format: HistoryFormat,
    },
    /// Check every checksum, the hash chain and the case rules; print the head.
    #[command(after_help = "Example:\n  caseledger --store events/ verify\n  \
                            caseledger --store events/ verify --format json")]
    Verify {
        /// Output format.
        #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
        format: VerifyFormat,
    },
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
        #[arg(long, value_name = "T", value_parser = parse_time, default_value = "2026-01-05T08:00:00Z",
              help = concat!("When the first case may open.", time_formats!()))]
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
    /// One self-contained page with charts, tables and an agent scorecard.
    Html,
}

/// The `verify` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// Lines for people.
    Text,
    /// One JSON object: the head and counts, or the problem (docs/cli.md).
    Json,
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

/// What a time flag accepts, for error messages.
const ACCEPTED_TIMES: &str = "use a date like 2026-03-31 (the start of that day, UTC), a time with \
                              an offset like 2026-03-31T23:59:59Z or 2026-03-31T23:59:59+08:00, \
                              or `now`";

/// Parses a time flag: `now` (the clock, read here: the library reads
/// none), a date `YYYY-MM-DD` for the start of that day in UTC, or RFC 3339
/// with an offset. Errors say which part is wrong and show accepted forms.
pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if s == "now" {
        return Ok(Utc::now());
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    check_date(s, date)?;
    // Both forms go through the domain's parser, so that its rules (such as
    // the range of years) hold for dates too.
    match time {
        None => caseledger::parse_timestamp(&format!("{date}T00:00:00Z"))
            .map_err(|e| format!("{e}; {ACCEPTED_TIMES}")),
        Some(time) => caseledger::parse_timestamp(s).map_err(|e| match check_time(s, time) {
            Err(specific) => specific,
            Ok(()) => format!("{e}; {ACCEPTED_TIMES}"),
        }),
    }
}

/// Two ASCII digits as a number.
fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(c - b'0')),
        _ => None,
    }
}

/// Checks the date part `YYYY-MM-DD` of the time flag `s`.
fn check_date(s: &str, date: &str) -> Result<(), String> {
    if date.contains(['/', '.']) {
        return Err(format!(
            "`{s}`: write the date as year-month-day with hyphens (YYYY-MM-DD, like 2026-03-31): \
             a form like 01/02/2026 can mean 1 February or 2 January; {ACCEPTED_TIMES}"
        ));
    }
    let b = date.as_bytes();
    let shaped =
        b.len() == 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    let (Some(month), Some(day), true) = (
        two_digits(b.get(5..7).unwrap_or_default()),
        two_digits(b.get(8..10).unwrap_or_default()),
        shaped,
    ) else {
        return Err(format!(
            "`{s}` is not a time in a form this command reads: {ACCEPTED_TIMES}"
        ));
    };
    if !(1..=12).contains(&month) {
        return Err(format!(
            "`{s}`: month {month} does not exist (01 to 12); {ACCEPTED_TIMES}"
        ));
    }
    // Four ASCII digits: always a valid year number.
    let year: i32 = date[..4].parse().unwrap_or_default();
    let last_day = (28..=31)
        .rev()
        .find(|d| NaiveDate::from_ymd_opt(year, month, *d).is_some())
        .unwrap_or(28);
    if !(1..=last_day).contains(&day) {
        return Err(format!(
            "`{s}`: day {day} does not exist in {year:04}-{month:02} (01 to {last_day}); \
             {ACCEPTED_TIMES}"
        ));
    }
    Ok(())
}

/// Looks for what is wrong in the time part `hh:mm:ss[.fraction]offset` of
/// the time flag `s`; Ok when nothing specific is found.
fn check_time(s: &str, time: &str) -> Result<(), String> {
    let b = time.as_bytes();
    let field = |i: usize| two_digits(b.get(i..i + 2).unwrap_or_default());
    let (Some(hour), Some(minute), Some(second)) = (field(0), field(3), field(6)) else {
        return Err(format!(
            "`{s}`: the time of day must be hh:mm:ss, like 23:59:59; {ACCEPTED_TIMES}"
        ));
    };
    for (what, value, max) in [
        ("hour", hour, 23),
        ("minute", minute, 59),
        ("second", second, 60),
    ] {
        if value > max {
            return Err(format!(
                "`{s}`: {what} {value} does not exist (00 to {max}); {ACCEPTED_TIMES}"
            ));
        }
    }
    let mut rest = &time[8.min(time.len())..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset_ok = rest.eq_ignore_ascii_case("z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && two_digits(&rest.as_bytes()[1..3]).is_some()
            && rest.as_bytes()[3] == b':'
            && two_digits(&rest.as_bytes()[4..6]).is_some());
    match (rest.is_empty(), offset_ok) {
        (true, _) => Err(format!(
            "`{s}` has no offset: add Z for UTC or the offset from UTC, like \
             2026-03-31T23:59:59Z or 2026-03-31T23:59:59+08:00"
        )),
        (false, false) => Err(format!(
            "`{s}`: the offset `{rest}` is not Z or +hh:mm / -hh:mm, like \
             2026-03-31T23:59:59+08:00"
        )),
        (false, true) => Ok(()),
    }
}

/// Parses a case id, explaining what one looks like.
pub(crate) fn parse_case_id(s: &str) -> Result<caseledger::CaseId, String> {
    s.parse().map_err(|e| {
        format!(
            "`{s}` is not a case id: a case id is a UUID, 32 hexadecimal digits in groups of \
             8-4-4-4-12, like 0192f5c4-7d1e-7c3a-9a61-3f0c2b1d4e5f ({e})"
        )
    })
}

/// The `--group-by` values, from the domain's list, so that `--help` and
/// the error for a wrong value list them.
pub(crate) fn group_by_parser() -> impl clap::builder::TypedValueParser<Value = GroupBy> {
    clap::builder::PossibleValuesParser::new(GroupBy::ALL.iter().map(|g| g.as_str()))
        .try_map(|s: String| GroupBy::parse(&s))
}

/// Whether a grouping is a period of time: what `--period` accepts. An
/// exhaustive match, so that a grouping added to the library (the measures
/// issue adds week, half_year and year) must be sorted here, and a new
/// period then appears in `--period` and its `--help` by itself.
pub(crate) fn is_period(g: GroupBy) -> bool {
    match g {
        GroupBy::Month | GroupBy::Quarter => true,
        GroupBy::Channel
        | GroupBy::Category
        | GroupBy::Topic
        | GroupBy::Priority
        | GroupBy::Tier
        | GroupBy::Agent
        | GroupBy::Team => false,
    }
}

/// The `--period` values: the groupings that are periods of time.
pub(crate) fn period_parser() -> impl clap::builder::TypedValueParser<Value = GroupBy> {
    clap::builder::PossibleValuesParser::new(
        GroupBy::ALL
            .iter()
            .filter(|g| is_period(**g))
            .map(|g| g.as_str()),
    )
    .try_map(|s: String| GroupBy::parse(&s))
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
