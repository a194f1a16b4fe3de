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

/// What a `report` time flag accepts, for its help.
macro_rules! report_time_formats {
    () => {
        " T is a date (2026-03-31: the start of that day in the report's time zone), a time \
         with an offset (2026-03-31T23:59:59Z, 2026-03-31T23:59:59+08:00), or `now`."
    };
}

mod args;
mod chart;
mod commands;
mod exit;
mod figures;
mod html;
mod location;
mod progress;
mod render;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use caseledger_synth::SynthConfig;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::args::{
    CustomersArg, HeadArg, HistoryFormat, ImportFormat, VerifyFormat, parse_case_id, parse_head,
    parse_time,
};
use crate::commands::{
    bench, cases, copy, export, follow_ups, generate, import, import_check, import_reject, open,
    pg, report, roles, verify,
};
use crate::exit::{BrokenPipe, UsageError, exit_status, report_peak_memory};
use crate::location::{StoreLocation, redact};

/// What `--version` prints: the crate version, the store format version
/// this build reads and writes, and the git commit it was built from.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (store format {}, commit {})",
        env!("CARGO_PKG_VERSION"),
        caseledger_store::FORMAT_VERSION,
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
    /// The store: a directory (the file store), or a PostgreSQL database as
    /// a URL, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...].
    /// The password is never printed.
    // Parsed in `run`, not by clap, whose error would quote the value (and
    // so a password); the environment's value is hidden from --help for
    // the same reason.
    #[arg(
        long,
        global = true,
        env = "CASELEDGER_STORE",
        hide_env_values = true,
        value_name = "DIR|URL"
    )]
    store: Option<OsString>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate JSON Lines events and append them all, atomically, or none;
    /// or list every problem (--check).
    #[command(
        after_help = "Example:\n  caseledger --store events/ import cases.jsonl\n  \
                            zcat cases.jsonl.gz | caseledger --store events/ import -\n  \
                            caseledger import --check cases.jsonl"
    )]
    Import {
        /// The file to import; `-` or nothing reads standard input.
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
        /// Write nothing: list every problem of the file (the first 1,000,
        /// then a count) and a count per rule; exit 1 if there is any.
        /// Without --store, checks the file alone; with it, also against
        /// the stored cases.
        #[arg(long, conflicts_with = "reject")]
        check: bool,
        /// Import every case whose lines are all valid, in one atomic batch,
        /// and write every line of the other cases to FILE2 (JSON Lines, each
        /// with a `rejected` field: the case's first problem). FILE is read
        /// twice. Exit 0 when it imported, even with rejects.
        #[arg(long, value_name = "FILE2")]
        reject: Option<PathBuf>,
        /// Output format of --check and --reject.
        #[arg(long, value_enum, default_value_t = ImportFormat::Text)]
        format: ImportFormat,
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
        /// The ledger as it stood when a report printed the head
        /// POSITION:HASH: read only the events up to POSITION, and check
        /// that the chain hash there is HASH (docs/cli.md, "Reproducing a
        /// report").
        #[arg(long, value_name = "POSITION:HASH", value_parser = parse_head)]
        head: Option<HeadArg>,
    },
    /// The KPI report for a cohort of cases, as of a moment.
    #[command(
        after_help = "Example:\n  caseledger --store events/ report --from 2026-01-01 \
                            --to 2026-04-01 --as-of 2026-04-15 --group-by month --format table"
    )]
    Report(report::ReportArgs),
    /// The case board: one row per case as of T, sorted by the nearest
    /// open SLA or complaint deadline, filtered.
    #[command(
        after_help = "Example:\n  caseledger --store events/ cases --overdue --team cards\n  \
                            caseledger --store events/ cases --agent agent-17 --due-within 8h \
                            --as-of now"
    )]
    Cases(cases::CasesArgs),
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
        /// The ledger as it stood when a report printed the head
        /// POSITION:HASH: read only the events up to POSITION, and check
        /// that the chain hash there is HASH (docs/cli.md, "Reproducing a
        /// report").
        #[arg(long, value_name = "POSITION:HASH", value_parser = parse_head)]
        head: Option<HeadArg>,
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
        /// A role directory (JSON, like {"agent-17": ["agent"], "sup-3":
        /// ["supervisor"]}): also list the events whose actor lacked the
        /// permission (docs/permissions.md).
        #[arg(long, value_name = "FILE")]
        roles: Option<PathBuf>,
        /// With --roles: exit 1 when there is any permission finding.
        #[arg(long, requires = "roles")]
        strict: bool,
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
        /// How cases spread over customers: a few each (uniform), or a
        /// long tail where the busiest customer holds a quarter of them.
        #[arg(long, value_enum, default_value_t = CustomersArg::Uniform)]
        customers: CustomersArg,
    },
    /// First steps: build a demo store, print its monthly KPI report.
    #[command(after_help = "Example:\n  caseledger demo")]
    Demo,
    /// Copy a whole ledger into an empty store (a directory or a
    /// PostgreSQL database), keeping every position, recorded time and
    /// batch, so that `verify` prints the same head on both; run it again
    /// after an interruption to finish it.
    #[command(after_help = "Example:\n  caseledger copy --source events/ --target \
                            postgres://caseledger@db.bank/ledger\n  \
                            caseledger copy --source postgres://caseledger@db.bank/ledger \
                            --target restored/")]
    Copy {
        /// The ledger to copy: a store directory or a postgres:// URL.
        #[arg(long, value_name = "DIR|URL")]
        source: OsString,
        /// Where to copy it: an empty (or new) store directory or
        /// database, or one this command began filling from the same
        /// source.
        #[arg(long, value_name = "DIR|URL")]
        target: OsString,
    },
    /// Measure replay, verify, open, import and durable append speeds
    /// (docs/performance.md). Takes minutes; builds its stores in --dir.
    /// With --store postgres://URL: the PostgreSQL log's figures against
    /// their floors (docs/postgres.md), in databases it creates and drops.
    #[command(
        after_help = "Example:\n  caseledger bench --dir /data/caseledger-bench --events 1000000\n  \
                            caseledger --store postgres://postgres@127.0.0.1/postgres bench"
    )]
    Bench(bench::BenchArgs),
    /// Closed-loop follow-up calls (docs/follow-ups.md).
    #[command(
        subcommand,
        after_help = "Example:\n  caseledger --store events/ follow-ups plan --on 2026-03-16"
    )]
    FollowUps(FollowUpsCommand),
}

/// The subcommands of `follow-ups`.
#[derive(Debug, Subcommand)]
enum FollowUpsCommand {
    /// Propose the day's follow-up calls (3 to 7 days after resolution, at
    /// most one per customer in any 30 days), as of the start of DATE;
    /// with --apply, record them.
    #[command(
        after_help = "Example:\n  caseledger --store events/ follow-ups plan --on 2026-03-16 \
                            --capacity 40\n  caseledger --store events/ follow-ups plan --on \
                            2026-03-16 --apply --actor planner-1"
    )]
    Plan(follow_ups::PlanArgs),
}

/// Runs one subcommand.
fn run(store: Option<OsString>, command: Command) -> Result<()> {
    let location = location::parse_optional(store.as_ref(), "--store")?;
    let need_location = || {
        location.clone().ok_or_else(|| {
            anyhow::Error::new(UsageError(
                "no store given: pass --store DIR or set CASELEDGER_STORE (a directory, or a \
                 postgres:// URL)"
                    .to_owned(),
            ))
        })
    };
    // The commands the file store alone serves take its directory; on a
    // database they are refused, naming the command and why.
    let need_store = |command: &str| match need_location()? {
        StoreLocation::Dir(dir) => Ok(dir),
        StoreLocation::Postgres(url) => Err(pg::not_served(command, &url)),
    };
    match command {
        Command::Import {
            file,
            check: true,
            format,
            ..
        } => {
            let dir = match &location {
                None => None,
                Some(_) => Some(need_store("import --check")?),
            };
            import_check::run(dir.as_deref(), file.as_deref(), format)
        }
        Command::Import {
            file,
            reject: Some(reject),
            format,
            ..
        } => import_reject::run(
            &need_store("import --reject")?,
            file.as_deref(),
            &reject,
            format,
        ),
        Command::Import { format, .. } if format != ImportFormat::Text => Err(UsageError(
            "--format json is for --check and --reject; an import prints its summary as text"
                .to_owned(),
        )
        .into()),
        Command::Import { file, .. } => match need_location()? {
            StoreLocation::Dir(dir) => import::run(&dir, file.as_deref()),
            StoreLocation::Postgres(url) => pg::import_file(&url, file.as_deref()),
        },
        Command::Export { as_of, head } => match need_location()? {
            StoreLocation::Dir(dir) => export::export(&dir, as_of, head.as_ref()),
            StoreLocation::Postgres(url) => pg::export(&url, as_of, head.as_ref()),
        },
        Command::Report(args) => report::run(&need_location()?, &args),
        Command::Cases(args) => cases::run(&need_location()?, &args),
        Command::History {
            case_id,
            as_of,
            head,
            format,
        } => match need_location()? {
            StoreLocation::Dir(dir) => export::history(&dir, case_id, as_of, head.as_ref(), format),
            StoreLocation::Postgres(url) => {
                pg::history(&url, case_id, as_of, head.as_ref(), format)
            }
        },
        Command::Verify {
            format,
            roles,
            strict,
        } => {
            let location = need_location()?;
            let roles = roles.as_deref().map(roles::read).transpose()?;
            match location {
                StoreLocation::Dir(dir) => verify::run(&dir, format, roles.as_ref(), strict),
                StoreLocation::Postgres(url) => pg::verify(&url, format, roles.as_ref(), strict),
            }
        }
        Command::Recover => open::recover(&need_store("recover")?),
        Command::Generate {
            cases,
            seed,
            start,
            span_days,
            customers,
        } => {
            let config = SynthConfig {
                cases,
                seed,
                start,
                span_days,
                customers: customers.into(),
            };
            config
                .check()
                .map_err(|e| UsageError(format!("generate: {e}")))?;
            match need_location()? {
                StoreLocation::Dir(dir) => generate::generate(&dir, config, true).map(|_| ()),
                StoreLocation::Postgres(url) => pg::generate(&url, config),
            }
        }
        Command::Demo => match &location {
            None => generate::demo(None),
            Some(_) => generate::demo(Some(&need_store("demo")?)),
        },
        Command::Copy { source, target } => {
            let source = StoreLocation::parse(&source, "--source")?;
            let target = StoreLocation::parse(&target, "--target")?;
            copy::run(&source, &target)
        }
        Command::FollowUps(FollowUpsCommand::Plan(args)) => {
            follow_ups::run(&need_location()?, &args)
        }
        Command::Bench(args) => match &location {
            Some(StoreLocation::Postgres(url)) => bench::pg::run(url, &args),
            Some(StoreLocation::Dir(dir)) => bench::run(Some(dir), &args),
            None => bench::run(None, &args),
        },
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli.store, cli.command);
    report_peak_memory();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<BrokenPipe>().is_some() {
                return ExitCode::SUCCESS;
            }
            // Every line through the one redaction: no password is printed.
            let mut lines = exit::error_lines(&e).into_iter().map(|l| redact(&l));
            if let Some(first) = lines.next() {
                eprintln!("error: {first}");
            }
            for cause in lines {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(exit_status(&e))
        }
    }
}
