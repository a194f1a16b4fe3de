//! `cases`: the case board (issue 22): one row per case as of T, filtered
//! and sorted by the nearest open deadline, judged by the report's policy
//! flags. The store is replayed into a [`CaseBoard`] as `report` replays
//! it (the file store on several threads by case partition, PostgreSQL in
//! one walk), with the hash chain checked.

use std::io::{BufWriter, IsTerminal as _, Write};

use anyhow::Result;
use caseledger::board::{BoardPolicy, BoardQuery, BoardSelection, CaseBoard};
use caseledger::projection::Projection;
use caseledger::{AgentId, Category, CustomerId, Priority, Status, TeamId};
use caseledger_store::{Head, LogReader, Until};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::open::open_reader_at;
use super::output::{HeadJson, out_err};
use super::report::{Policies, PolicyArgs};
use crate::args::{
    CasesFormat, HeadArg, ReportTime, category_parser, parse_duration_ms, parse_head,
    parse_report_time, priority_parser, status_parser,
};
use crate::location::StoreLocation;
use crate::render::{DEFAULT_TABLE_COLUMNS, TableWidth};

/// The most replay threads used.
const MAX_THREADS: usize = 8;

/// The flags of `cases`.
#[derive(Debug, Clone, clap::Args)]
pub struct CasesArgs {
    /// Only cases with this status at T.
    #[arg(long, value_name = "STATUS", value_parser = status_parser())]
    pub status: Option<Status>,
    /// Only cases whose latest assignment is to this agent.
    #[arg(long, value_name = "ID", value_parser = |s: &str| AgentId::new(s).map_err(|e| e.to_string()))]
    pub agent: Option<AgentId>,
    /// Only cases whose latest assignment is to this team.
    #[arg(long, value_name = "ID", value_parser = |s: &str| TeamId::new(s).map_err(|e| e.to_string()))]
    pub team: Option<TeamId>,
    /// Only cases of this customer.
    #[arg(long, value_name = "ID", value_parser = |s: &str| CustomerId::new(s).map_err(|e| e.to_string()))]
    pub customer: Option<CustomerId>,
    /// Only cases whose latest classification has this category.
    #[arg(long, value_name = "CATEGORY", value_parser = category_parser())]
    pub category: Option<Category>,
    /// Only cases whose latest classification has this priority.
    #[arg(long, value_name = "PRIORITY", value_parser = priority_parser())]
    pub priority: Option<Priority>,
    /// Only overdue cases: not resolved, with an SLA target or the
    /// complaint deadline breached.
    #[arg(long)]
    pub overdue: bool,
    /// Only cases at risk: no target breached, a pending SLA target at the
    /// policy's warn_at share of it or beyond.
    #[arg(long)]
    pub at_risk: bool,
    /// Only cases with an open SLA or complaint deadline, or a pending
    /// follow-up, due within DURATION after T (90m, 8h, 3d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub due_within: Option<i64>,
    #[arg(long, value_name = "T", value_parser = parse_report_time,
          help = concat!("The board as of T: events after T do not count (default: the latest \
                          event).", report_time_formats!()))]
    pub as_of: Option<ReportTime>,
    /// The ledger as it stood when a report printed the head
    /// POSITION:HASH: read only the events up to POSITION, and check that
    /// the chain hash there is HASH, to reproduce that report exactly
    /// (docs/cli.md, "Reproducing a report").
    #[arg(long, value_name = "POSITION:HASH", value_parser = parse_head)]
    pub head: Option<HeadArg>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CasesFormat::Table)]
    pub format: CasesFormat,
    /// At most N rows (the first in the board's order).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// The table: every column, however wide (by default it fits 80
    /// columns, or the terminal's width).
    #[arg(long)]
    pub wide: bool,
}

/// Runs `cases`.
pub fn run(location: &StoreLocation, args: &CasesArgs) -> Result<()> {
    if args.wide && args.format != CasesFormat::Table {
        return Err(anyhow::Error::new(crate::exit::UsageError(
            "--wide widens the table; the other formats have every column".to_owned(),
        )));
    }
    let Policies {
        zone,
        sla,
        complaints,
    } = args.policy.load()?;
    let as_of = args.as_of.map(|t| t.instant(zone, "--as-of")).transpose()?;
    let (board, head) = match location {
        StoreLocation::Dir(dir) => replay(&open_reader_at(dir, args.head.as_ref())?, as_of)?,
        StoreLocation::Postgres(url) => super::pg::board(url, as_of, args.head.as_ref())?,
    };
    if board.orphan_events() > 0 {
        eprintln!(
            "{}",
            crate::render::orphan_events_note(board.orphan_events())
        );
    }
    let mut query = BoardQuery::default();
    query.status = args.status;
    query.agent = args.agent.clone();
    query.team = args.team.clone();
    query.customer = args.customer.clone();
    query.category = args.category;
    query.priority = args.priority;
    query.overdue = args.overdue;
    query.at_risk = args.at_risk;
    query.due_within_ms = args.due_within;
    query.limit = args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let policy = BoardPolicy::new(sla, complaints);
    let rows = board.select(&query, &policy);
    let out = Board {
        as_of: board.as_of(),
        events: board.events(),
        cases: board.len(),
        orphan_events: board.orphan_events(),
        head: &head,
        rows: &rows,
    };
    // Each row is built, printed and dropped in turn: the output of a
    // large board (a kilobyte of JSON a case) is never held whole.
    let mut stdout = BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, std::io::stdout().lock());
    let written = match args.format {
        CasesFormat::Json => json(&out, &mut stdout),
        CasesFormat::Csv => crate::render::board_csv(rows.iter(), &mut stdout),
        CasesFormat::Table => {
            crate::render::board_table(&out.view(), table_width(args.wide), &mut stdout)
        }
    };
    let written = written.and_then(|()| stdout.flush());
    drop(stdout);
    drop(rows);
    // The process ends after printing (or after a reader went away):
    // freeing a map of every case would only add to its run time.
    std::mem::forget(board);
    written.map_err(out_err)
}

/// The output buffer of `cases`: rows reach stdout in writes of this size.
const OUTPUT_BUFFER_BYTES: usize = 64 << 10;

/// What the command answers, for each format.
struct Board<'a> {
    as_of: Option<DateTime<Utc>>,
    events: u64,
    cases: usize,
    orphan_events: u64,
    head: &'a Head,
    rows: &'a BoardSelection<'a>,
}

impl Board<'_> {
    fn view(&self) -> crate::render::BoardView<'_> {
        crate::render::BoardView {
            as_of: self.as_of,
            events: self.events,
            cases: self.cases,
            orphan_events: self.orphan_events,
            head: self.head,
            rows: self.rows,
        }
    }
}

/// The version of the `cases` JSON form, raised when a field changes
/// meaning or goes away (not when one is added).
pub const CASES_SCHEMA_VERSION: u32 = 1;

/// The rows of the `json` format, serialized as they are built.
struct RowsJson<'a>(&'a BoardSelection<'a>);

impl Serialize for RowsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

/// The `json` format, written to `w`: T, the counts, the head and the rows.
fn json(b: &Board<'_>, w: &mut impl Write) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Out<'a> {
        schema_version: u32,
        as_of: Option<String>,
        events: u64,
        orphan_events: u64,
        cases: usize,
        matched: usize,
        head: HeadJson,
        head_verified: bool,
        rows: RowsJson<'a>,
    }
    let out = Out {
        schema_version: CASES_SCHEMA_VERSION,
        as_of: b.as_of.as_ref().map(caseledger::format_timestamp),
        events: b.events,
        orphan_events: b.orphan_events,
        cases: b.cases,
        matched: b.rows.matched(),
        head: HeadJson::new(b.head.position, b.head.hash_hex()),
        head_verified: true,
        rows: RowsJson(b.rows),
    };
    // An error of `w` comes back as itself (serde_json's `From`), so a
    // closed pipe is still seen as one. serde_json's other errors (a map
    // with keys that are not strings, a float that is not finite) cannot
    // come from these types, which hold neither; one would be reported as
    // a write error.
    serde_json::to_writer_pretty(&mut *w, &out)?;
    w.write_all(b"\n")
}

/// The table's width: every column with `--wide`; else the terminal's
/// width when stdout is one, or [`DEFAULT_TABLE_COLUMNS`].
fn table_width(wide: bool) -> TableWidth {
    if wide {
        return TableWidth::Wide;
    }
    let terminal = std::io::stdout()
        .is_terminal()
        .then(terminal_size::terminal_size)
        .flatten()
        .map(|(w, _)| usize::from(w.0));
    TableWidth::Fit(terminal.unwrap_or(DEFAULT_TABLE_COLUMNS))
}

/// Folds the store's events, checked to the head (checksums and the hash
/// chain), into one board per case partition on up to [`MAX_THREADS`]
/// threads, and merges them.
pub fn replay(store: &LogReader, as_of: Option<DateTime<Utc>>) -> Result<(CaseBoard, Head)> {
    let head = store.head();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS));
    let folded = store
        .read(1, Until::Position(head.position))
        .fold_partitions(
            threads,
            |_| CaseBoard::new(as_of),
            |board, e| board.observe(e.position, &e.event),
        )?;
    let mut parts = folded.into_iter();
    let mut board = parts.next().unwrap_or_else(|| CaseBoard::new(as_of));
    for part in parts {
        // Every board was made with the same as-of time.
        board.merge(part)?;
    }
    Ok((board, head))
}
