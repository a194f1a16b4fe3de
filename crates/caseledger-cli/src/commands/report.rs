//! `report`: replay the store into the KPI accumulator, in parallel by case
//! partition, and compute and print the report, in parallel too.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use caseledger::calendar::{BusinessCalendar, MAX_CALENDAR_JSON_BYTES, Tz};
use caseledger::complaint::{ComplaintPolicy, MAX_COMPLAINT_POLICY_JSON_BYTES};
use caseledger::kpi::{
    GroupBy, KpiAccumulator, MAX_TARGETS_JSON_BYTES, Report, ReportParams, SlaCalendarSource,
    SlaPolicy, Targets,
};
use caseledger::permission::{Finding, PermissionAudit, Permissions};
use caseledger_store::{Head, LogReader, Until};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::open::{open_reader, open_reader_at};
use super::output::{HeadJson, write_file, write_stdout};
use crate::args::{
    Grouping, HeadArg, ReportFormat, ReportTime, parse_group_by, parse_head, parse_report_time,
    parse_time_zone, period_parser,
};
use crate::exit::UsageError;
use crate::location::StoreLocation;
use crate::render::{DEFAULT_TABLE_COLUMNS, TableWidth};

/// The most replay threads used by default.
const MAX_DEFAULT_THREADS: usize = 8;

/// The flags of `report`, checked by clap as they are parsed.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    #[arg(long, value_name = "T", value_parser = parse_report_time,
          help = concat!("Cohort: cases opened at or after T.", report_time_formats!()))]
    pub from: Option<ReportTime>,
    #[arg(long, value_name = "T", value_parser = parse_report_time,
          help = concat!("Cohort: cases opened before T.", report_time_formats!()))]
    pub to: Option<ReportTime>,
    #[arg(long, value_name = "T", value_parser = parse_report_time,
          help = concat!("Count only events at or before T (default: the latest event).",
                         report_time_formats!()))]
    pub as_of: Option<ReportTime>,
    /// The ledger as it stood when a report printed the head
    /// POSITION:HASH: read only the events up to POSITION, and check that
    /// the chain hash there is HASH, to reproduce that report exactly
    /// (docs/cli.md, "Reproducing a report").
    #[arg(long, value_name = "POSITION:HASH", value_parser = parse_head)]
    pub head: Option<HeadArg>,
    /// Group the figures by a dimension, or two separated by a comma
    /// (agent,month): channel, category, topic, priority, tier, agent,
    /// team, root_cause, week, month, quarter, half_year, year; or
    /// responder alone, per agent: contacts, reply rate, time to respond
    /// (docs/kpis.md).
    #[arg(long, value_name = "DIM[,DIM]", value_parser = parse_group_by)]
    pub group_by: Option<Grouping>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the report to FILE (replaced whole, or left as it was on an
    /// error) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The period of the HTML report's trend charts.
    #[arg(long, value_name = "PERIOD", value_parser = period_parser())]
    pub period: Option<GroupBy>,
    /// A JSON file of the figures' targets, like {"fcr_rate": 0.7,
    /// "sla_met_rate": 0.9} (docs/kpis.md, "Targets"); a figure left out
    /// keeps its default (only satisfied_share has one, 0.85).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Replay and report threads (default: the number of CPUs, at most 8).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: Option<u16>,
    /// The table: every figure, however wide (by default it fits 80
    /// columns, or the terminal's width, with the figures that matter most).
    #[arg(long)]
    pub wide: bool,
    /// Skip the hash chain check (faster): the head is then printed as
    /// UNVERIFIED, since a record altered with its checksum fixed would go
    /// unnoticed.
    #[arg(long)]
    pub no_verify: bool,
    /// A role directory (JSON, like {"agent-17": ["agent"], "sup-3":
    /// ["supervisor"]}): also list the events, at or before --as-of, whose
    /// actor lacked the permission (docs/permissions.md), in the table and
    /// json formats.
    #[arg(long, value_name = "FILE")]
    pub roles: Option<PathBuf>,
    /// With --roles: exit 1 when there is any permission finding.
    #[arg(long, requires = "roles")]
    pub strict: bool,
}

/// The policy flags of `report`, shared with `cases` (the same deadlines
/// and states): SLA targets, complaint regimes, calendar and time zone.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// A JSON file with SLA targets per priority (docs/kpis.md).
    #[arg(long, value_name = "FILE")]
    pub sla_policy: Option<PathBuf>,
    /// A JSON file saying which complaint regime applies to which topic,
    /// like {"default": "cn-2020", "topics": {"card": "eu-psd2"}}
    /// (docs/kpis.md, "Complaint deadlines").
    #[arg(long, value_name = "FILE")]
    pub complaint_policy: Option<PathBuf>,
    /// A business calendar file (docs/kpis.md, "Business calendars"): the
    /// SLA policy's calendar when the policy names none, the calendar
    /// complaint deadlines are counted in, and the report's time zone
    /// unless --time-zone is given.
    #[arg(long, value_name = "FILE")]
    pub calendar: Option<PathBuf>,
    /// The report's time zone, an IANA name (Asia/Shanghai): months,
    /// quarters and date-only times are local there. Default: the
    /// calendar's, else UTC.
    #[arg(long, value_name = "ZONE", value_parser = parse_time_zone)]
    pub time_zone: Option<Tz>,
}

/// The policies the flags of [`PolicyArgs`] name, read and checked.
pub struct Policies {
    /// The report's time zone (`None`: UTC): the one rule of docs/cli.md,
    /// "Local time" (--time-zone, else the calendar's zone, else UTC).
    pub zone: Option<Tz>,
    /// The SLA targets and their calendar.
    pub sla: SlaPolicy,
    /// The complaint regimes, counting in the calendar.
    pub complaints: ComplaintPolicy,
}

impl PolicyArgs {
    /// Reads the calendar and the policy files the flags name.
    pub fn load(&self) -> Result<Policies> {
        let calendar = self.calendar.as_deref().map(read_calendar).transpose()?;
        let zone = self
            .time_zone
            .or(calendar.as_ref().map(BusinessCalendar::time_zone))
            .filter(|z| *z != Tz::UTC);
        let sla = match &self.sla_policy {
            None => SlaPolicy::default(),
            Some(p) => read_policy(p, calendar.as_ref())?,
        };
        let complaints = read_complaint_policy(self, calendar.as_ref(), zone)?;
        Ok(Policies {
            zone,
            sla,
            complaints,
        })
    }
}

/// Runs `report`.
pub fn run(location: &StoreLocation, args: &ReportArgs) -> Result<()> {
    check_flags(args)?;
    // The one rule (docs/cli.md, "Local time"): --time-zone, else the
    // calendar's zone, else UTC (kept as `None`, the fast path).
    let Policies {
        zone,
        sla,
        complaints,
    } = args.policy.load()?;
    let (from, to, as_of) = (
        args.from.map(|t| t.instant(zone, "--from")).transpose()?,
        args.to.map(|t| t.instant(zone, "--to")).transpose()?,
        args.as_of.map(|t| t.instant(zone, "--as-of")).transpose()?,
    );
    // An empty cohort by mistake would look like a quiet period.
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(anyhow::Error::new(UsageError(format!(
            "--from {} is later than --to {}: the cohort is the cases opened from --from up to \
             (not including) --to",
            caseledger::format_timestamp(&from),
            caseledger::format_timestamp(&to)
        ))));
    }
    let targets = match &args.targets {
        None => Targets::default(),
        Some(path) => {
            let text = super::input::read_small(path, MAX_TARGETS_JSON_BYTES, "targets")?;
            Targets::from_json(&text).map_err(|e| {
                let words = format!("invalid targets {}: {e}", path.display());
                anyhow::Error::new(e).context(words)
            })?
        }
    };
    let roles = args.roles.as_deref().map(super::roles::read).transpose()?;
    let threads = args.threads.map_or_else(default_threads, usize::from);
    let params = ReportParams {
        from,
        to,
        group_by: args.group_by.map(|g| g.first),
        then_by: args.group_by.and_then(|g| g.then),
        sla,
        time_zone: zone,
        complaints,
        process: caseledger::process::ProcessPolicy::default(),
        targets,
    };
    // Only the report by responder reads the records of who was assigned
    // and who responded; every other report, the HTML page's included,
    // replays without them (a third less memory beyond the cases' facts).
    let responders = params.group_by == Some(GroupBy::Responder);
    let (acc, head, verified, findings) = match location {
        StoreLocation::Dir(dir) => {
            let verified = !args.no_verify;
            let reader = open_reader_at(dir, args.head.as_ref())?;
            let (acc, head, findings) = replay_audited(
                &reader,
                as_of,
                threads,
                verified,
                roles.as_ref(),
                responders,
            )?;
            (acc, head, verified, findings)
        }
        // PostgreSQL's replay always verifies the chain.
        StoreLocation::Postgres(url) => {
            let acc = accumulator(as_of, responders);
            let (acc, head, findings) =
                super::pg::replay(url, acc, as_of, roles.as_ref(), args.head.as_ref())?;
            (acc, head, true, findings)
        }
    };
    // Every format carries the count (JSON, table, page); the CSV has no
    // place for it, and a script may read only the output: say it here too.
    if acc.orphan_events() > 0 {
        eprintln!("{}", crate::render::orphan_events_note(acc.orphan_events()));
    }
    let text = match args.format {
        ReportFormat::Html => {
            let period = args.period.unwrap_or(GroupBy::Month);
            let page = html(&acc, &params, period, &head, verified, threads)?;
            // The process ends after printing: freeing a map of every case
            // would only add to its run time.
            std::mem::forget(acc);
            page
        }
        format => {
            // One report from this replay: the case index is freed before
            // the report stage allocates (peak memory).
            let report = acc.into_report_on_threads(&params, threads);
            match format {
                ReportFormat::Json => json(
                    &report,
                    params.time_zone,
                    &head,
                    verified,
                    findings.as_deref(),
                )?,
                ReportFormat::Csv => {
                    // The CSV has no place for the head; say it beside the data.
                    if !verified {
                        eprintln!("{}", crate::render::UNVERIFIED_HEAD);
                    }
                    crate::render::report_csv(&report)?
                }
                ReportFormat::Table | ReportFormat::Html => {
                    let mut table = crate::render::report_table(
                        &report,
                        &head,
                        verified,
                        table_width(args.wide, args.output.is_some()),
                    );
                    if let Some(f) = &findings {
                        table.push_str(&super::roles::text(f));
                    }
                    table
                }
            }
        }
    };
    let store = match location {
        StoreLocation::Dir(dir) => Some(dir.as_path()),
        StoreLocation::Postgres(_) => None,
    };
    let written = match &args.output {
        Some(path) => write_file(path, &text, store),
        None => write_stdout(&text),
    };
    super::output::verdict_after(
        written,
        super::roles::strict(findings.as_deref(), args.strict),
    )
}

/// `demo`'s report, from one replay of the store in `dir`: the table by
/// month on stdout (fit to the terminal) and the HTML page, by month,
/// written to `page`.
pub fn demo(dir: &Path, page: &Path) -> Result<()> {
    let store = open_reader(dir)?;
    let threads = default_threads();
    let (acc, head) = replay(&store, None, threads, true)?;
    let params = ReportParams::default();
    let html = html(&acc, &params, GroupBy::Month, &head, true, threads)?;
    write_file(page, &html, Some(dir))?;
    let report = acc.report_on_threads(
        &ReportParams {
            group_by: Some(GroupBy::Month),
            ..params
        },
        threads,
    );
    std::mem::forget(acc);
    write_stdout(&crate::render::report_table(
        &report,
        &head,
        true,
        table_width(false, false),
    ))
}

/// Flags that only some formats read, given with another: wrong usage,
/// since they would be silently ignored.
fn check_flags(args: &ReportArgs) -> Result<()> {
    let refuse = |why: String| Err(anyhow::Error::new(UsageError(why)));
    if args.period.is_some() && args.format != ReportFormat::Html {
        return refuse(
            "--period sets the trend charts of --format html; for the other formats group by a \
             period with --group-by week, month, quarter, half_year or year"
                .to_owned(),
        );
    }
    if let (Some(g), ReportFormat::Html) = (args.group_by, args.format) {
        let g = g.first;
        return refuse(format!(
            "--group-by {g} with --format html: the page shows every grouping at once (its \
             trend charts by --period, breakdowns, the agent scorecard); leave --group-by out"
        ));
    }
    if args.wide && args.format != ReportFormat::Table {
        return refuse("--wide widens the table; the other formats have every figure".to_owned());
    }
    if args.roles.is_some() && matches!(args.format, ReportFormat::Csv | ReportFormat::Html) {
        return refuse(format!(
            "--roles lists the permission findings in the table and json formats, not in \
             --format {}; run verify --roles for them alone",
            if args.format == ReportFormat::Csv {
                "csv"
            } else {
                "html"
            }
        ));
    }
    Ok(())
}

/// The HTML page: from the one replay, the report by `period` (the trend
/// charts and the tiles), by each breakdown dimension and by agent, each on
/// `threads` threads.
fn html(
    acc: &KpiAccumulator,
    params: &ReportParams,
    period: GroupBy,
    head: &Head,
    verified: bool,
    threads: usize,
) -> Result<String> {
    let by = |g: GroupBy| {
        acc.report_on_threads(
            &ReportParams {
                group_by: Some(g),
                ..params.clone()
            },
            threads,
        )
    };
    let by_period = by(period);
    let breakdowns: Vec<Report> = crate::html::BREAKDOWNS.iter().map(|g| by(*g)).collect();
    let by_agent = by(GroupBy::Agent);
    crate::html::page(&crate::html::Inputs {
        by_period: &by_period,
        breakdowns: &breakdowns,
        by_agent: &by_agent,
        head,
        verified,
        time_zone: params.time_zone.unwrap_or(Tz::UTC).name(),
    })
}

/// The table's width: every column with `--wide`; else the terminal's
/// width when the table goes to stdout and stdout is one, or
/// [`DEFAULT_TABLE_COLUMNS`].
fn table_width(wide: bool, to_file: bool) -> TableWidth {
    if wide {
        return TableWidth::Wide;
    }
    let terminal = (!to_file && std::io::stdout().is_terminal())
        .then(terminal_size::terminal_size)
        .flatten()
        .map(|(w, _)| usize::from(w.0));
    TableWidth::Fit(terminal.unwrap_or(DEFAULT_TABLE_COLUMNS))
}

/// The threads a replay uses unless told: the cores, at most
/// `MAX_DEFAULT_THREADS` (`report` and `verify`).
pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_DEFAULT_THREADS))
}

/// Reads the policy file, and the calendar its targets count on: the file
/// it names (relative to the policy's folder), else `--calendar`'s for the
/// second form; calendar hours for the first.
fn read_policy(path: &Path, report_calendar: Option<&BusinessCalendar>) -> Result<SlaPolicy> {
    let text = super::input::read_small(
        path,
        caseledger::kpi::MAX_SLA_POLICY_JSON_BYTES,
        "SLA policy",
    )?;
    // The typed error stays in the chain; the context's words carry its
    // message, so the CLI prints one line as before.
    let mut policy = SlaPolicy::from_json(&text).map_err(|e| {
        let words = format!("invalid SLA policy {}: {e}", path.display());
        anyhow::Error::new(e).context(words)
    })?;
    match &policy.calendar_source {
        SlaCalendarSource::File(name) => {
            let file = path.parent().unwrap_or(Path::new(".")).join(name);
            policy.calendar = read_calendar(&file)
                .with_context(|| format!("the calendar of SLA policy {}", path.display()))?;
        }
        SlaCalendarSource::Report => {
            if let Some(calendar) = report_calendar {
                policy.calendar = calendar.clone();
            }
        }
        SlaCalendarSource::CalendarHours | SlaCalendarSource::Inline => {}
    }
    Ok(policy)
}

/// Reads a business calendar file.
pub(crate) fn read_calendar(path: &Path) -> Result<BusinessCalendar> {
    let text = super::input::read_small(path, MAX_CALENDAR_JSON_BYTES, "calendar")?;
    BusinessCalendar::from_json(&text).map_err(|e| {
        let words = format!("invalid calendar {}: {e}", path.display());
        anyhow::Error::new(e).context(words)
    })
}

/// The complaint policy of `--complaint-policy` (default: `cn-2020` for
/// every topic) counting in the calendar of `--calendar`; without one,
/// every day worked, in the report's zone `zone` (`--time-zone`, else
/// UTC): a complaint's date of receipt is a local date, and the report's
/// zone is the only word on where the desk is.
fn read_complaint_policy(
    args: &PolicyArgs,
    calendar: Option<&BusinessCalendar>,
    zone: Option<Tz>,
) -> Result<ComplaintPolicy> {
    let policy = match &args.complaint_policy {
        None => ComplaintPolicy::default(),
        Some(path) => {
            let text = super::input::read_small(
                path,
                MAX_COMPLAINT_POLICY_JSON_BYTES,
                "complaint policy",
            )?;
            ComplaintPolicy::from_json(&text).map_err(|e| {
                let words = format!("invalid complaint policy {}: {e}", path.display());
                anyhow::Error::new(e).context(words)
            })?
        }
    };
    let calendar = match (calendar, zone) {
        (Some(calendar), _) => calendar.clone(),
        (None, None) => BusinessCalendar::default(),
        (None, Some(zone)) => every_hour_in(zone)?,
    };
    Ok(policy.with_calendar(calendar))
}

/// The calendar that works every hour of every day, local in `zone`: the
/// default when no `--calendar` is given but the zone is known, so that
/// every hour of a local day in `zone` is a working hour (the default
/// calendar, [`BusinessCalendar::default`], is UTC's: its days are not the
/// zone's).
pub(crate) fn every_hour_in(zone: Tz) -> Result<BusinessCalendar> {
    BusinessCalendar::builder(zone.name())
        .every_day(&["00:00-24:00"])
        .build()
        .with_context(|| format!("the every-day calendar in {}", zone.name()))
}

/// Folds the store's events into one accumulator per partition of cases, on
/// `threads` threads, and merges them: the facts of every case as of T, from
/// which [`KpiAccumulator::report`] computes any number of groupings without
/// reading the store again, except by responder
/// ([`KpiAccumulator::without_responders`]). Also returns the head the
/// replay read up to: verified (the chain checked to it) when `verified`,
/// else only checksums and positions were checked.
pub fn replay(
    store: &LogReader,
    as_of: Option<DateTime<Utc>>,
    threads: usize,
    verified: bool,
) -> Result<(KpiAccumulator, Head)> {
    let (acc, head, _) = replay_audited(store, as_of, threads, verified, None, false)?;
    Ok((acc, head))
}

/// The accumulator a replay folds into: without the responder records
/// unless `responders` (the report by responder is the only one that reads
/// them).
pub fn accumulator(as_of: Option<DateTime<Utc>>, responders: bool) -> KpiAccumulator {
    let acc = KpiAccumulator::new(as_of);
    if responders {
        acc
    } else {
        acc.without_responders()
    }
}

/// [`replay`], and with `roles` the permission findings of the events at
/// or before `as_of`, audited on the same threads (each partition holds
/// whole cases, so the audits merge); with `responders`, the accumulator
/// keeps the records of the report by responder.
pub fn replay_audited(
    store: &LogReader,
    as_of: Option<DateTime<Utc>>,
    threads: usize,
    verified: bool,
    roles: Option<&Permissions>,
    responders: bool,
) -> Result<(KpiAccumulator, Head, Option<Vec<Finding>>)> {
    let head = store.head();
    let bar = crate::progress::bar(Some(head.position), "replaying");
    let mut events = store.read(1, Until::Position(head.position));
    if !verified {
        events = events.unverified();
    }
    // The threads share the reading and checking of the log by blocks, and
    // each folds (and with `roles` audits) the cases of its partition
    // (LogIter::fold_partitions); each partition holds whole cases, so the
    // accumulators and the audits merge. Each partition gets its events by
    // batches (KpiAccumulator::replay looks up a batch's cases together:
    // fewer cache misses waited for one by one), borrowed, so that their
    // strings are reused for the next events rather than allocated.
    let folded = events.fold_partition_batches(
        threads.max(1),
        |part| Partition {
            part,
            acc: accumulator(as_of, responders),
            audit: super::roles::audit(roles),
        },
        |p, batch| {
            for e in batch {
                if p.part == 0 && e.position % 8192 == 0 {
                    bar.set_position(e.position);
                }
                if let Some(a) = &mut p.audit
                    && as_of.is_none_or(|t| e.event.at <= t)
                {
                    a.observe(e.position, &e.event);
                }
            }
            p.acc.replay(batch.iter().map(|e| (e.position, &e.event)));
        },
    );
    bar.finish_and_clear();
    // Merge into the first partition's accumulator rather than an empty
    // one, so that the largest map is never copied (peak memory).
    let mut results = folded?.into_iter().map(|p| (p.acc, p.audit));
    let (mut total, mut audit) = results
        .next()
        .unwrap_or_else(|| (accumulator(as_of, responders), super::roles::audit(roles)));
    for (acc, part_audit) in results {
        // Every accumulator was made with the same as-of time.
        total.merge(acc)?;
        if let (Some(a), Some(p)) = (&mut audit, part_audit) {
            a.merge(p);
        }
    }
    Ok((total, head, audit.map(|a| a.findings())))
}

/// One partition's state in [`replay_audited`]: its accumulator and its
/// audit.
struct Partition {
    part: usize,
    acc: KpiAccumulator,
    audit: Option<PermissionAudit>,
}

/// The version of the report's JSON form: raised when an existing field
/// changes meaning or goes away, not when one is added (docs/kpis.md), so
/// that a program reading reports can tell which fields it may rely on.
/// 2 since issue 18: `complaints.within_deadline`, `overdue` and
/// `deadline_rate` count each complaint against its regime's deadline, no
/// longer a flat 15 days. 3 since issue 23: one name per figure, so
/// `csat.mean` is `csat.mean_score`, `csat.satisfied_rate`
/// `csat.satisfied_share`, each survey dimension's `mean` its
/// `mean_score`, and `sla.rate` `sla.met_rate` (docs/kpis.md, "Display
/// labels").
pub const REPORT_SCHEMA_VERSION: u32 = 4;

/// The `json` format: the report with the head, keys in the documented order.
fn json(
    report: &Report,
    zone: Option<Tz>,
    head: &Head,
    head_verified: bool,
    findings: Option<&[Finding]>,
) -> Result<String> {
    #[derive(Serialize)]
    struct Out<'a> {
        schema_version: u32,
        as_of: serde_json::Value,
        from: serde_json::Value,
        to: serde_json::Value,
        group_by: caseledger::kpi::Grouping<'a>,
        time_zone: &'static str,
        events: u64,
        orphan_events: u64,
        head: HeadJson,
        head_verified: bool,
        overall: &'a caseledger::kpi::Kpis,
        groups: caseledger::kpi::Groups<'a>,
        /// Only with `--roles`.
        #[serde(skip_serializing_if = "Option::is_none")]
        permission_findings: Option<&'a [Finding]>,
    }
    // The report serialises its times in RFC 3339 UTC; reuse that.
    let v = serde_json::to_value(report)?;
    let out = Out {
        schema_version: REPORT_SCHEMA_VERSION,
        as_of: v["as_of"].clone(),
        from: v["from"].clone(),
        to: v["to"].clone(),
        group_by: caseledger::kpi::Grouping(report),
        time_zone: zone.unwrap_or(Tz::UTC).name(),
        events: report.events,
        orphan_events: report.orphan_events,
        head: HeadJson::new(head.position, head.hash_hex()),
        head_verified,
        overall: &report.overall,
        groups: caseledger::kpi::Groups(report),
        permission_findings: findings,
    };
    let mut s = serde_json::to_string_pretty(&out)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use caseledger::kpi::SlaPolicyError;

    use super::*;
    use crate::exit::error_lines;

    #[test]
    fn an_invalid_policy_keeps_its_typed_error_in_the_chain_and_prints_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, "{\"low\": 1}").unwrap();
        let err = read_policy(&path, None).unwrap_err();
        let typed = err.chain().find_map(|c| c.downcast_ref::<SlaPolicyError>());
        assert!(
            matches!(typed, Some(SlaPolicyError::BadTarget { .. })),
            "{err:#}"
        );
        let lines = error_lines(&err);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(&format!(
                "invalid SLA policy {}: priority `low`: found `1`",
                path.display()
            )),
            "{lines:?}"
        );
    }
}
