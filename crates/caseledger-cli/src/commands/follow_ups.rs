//! `follow-ups plan`: the day's follow-up calls (docs/follow-ups.md), read
//! from the log into the domain's `FollowUpFacts`, planned by
//! `follow_up_plan::plan`, and with `--apply` recorded through the
//! application service (`follow_up_plan::apply`). No rule of the plan is
//! here: this file reads, prints and maps outcomes to the exit status.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use caseledger::calendar::{BusinessCalendar, Tz};
use caseledger::follow_up_plan::{
    AppliedCall, CallResult, FollowUpFacts, Plan, PlanDay, PlannedCall, apply, plan,
};
use caseledger::permission::{PermissionAction, PermissionTable, RoleDirectory};
use caseledger::projection::Projection;
use caseledger::{Actor, AppendError, CaseService, EventLog, ServiceError, format_timestamp};
use caseledger_ids::UuidV7Ids;
use chrono::{Datelike, NaiveDate};

use super::open::{open_existing_writer, open_read_only};
use super::output::{count, write_after_commit, write_stdout};
use crate::args::parse_time_zone;
use crate::location::StoreLocation;

/// The most calls `--capacity` may ask for: far more than a desk makes in
/// a day, and a bound on the plan's output.
pub const MAX_CAPACITY: u32 = 1_000_000;

/// The `follow-ups plan` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Aligned columns for people, with what was left out and why.
    Table,
    /// One JSON object: the day, the due time, the calls and the dropped
    /// candidates (docs/cli.md).
    Json,
    /// One row per call, with a header.
    Csv,
}

/// The flags of `follow-ups plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// The day of the calls, a local date (2026-03-16): the plan is as of
    /// its start, local midnight in the time zone.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: NaiveDate,
    /// Keep the first N calls of the plan's order.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CAPACITY)))]
    pub capacity: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// Record the plan's follow_up_scheduled events (at the start of DATE,
    /// by --actor) through the application service, which checks every
    /// case rule and the cap again. A re-run records nothing twice.
    #[arg(long, requires = "actor")]
    pub apply: bool,
    /// Who records the calls with --apply (an agent id, or `system`).
    #[arg(long, value_name = "ID", requires = "apply", value_parser = parse_actor)]
    pub actor: Option<Actor>,
    /// A business calendar file (docs/kpis.md, "Business calendars"): the
    /// working hours the due time must fall in, and the time zone unless
    /// --time-zone is given. Default: every hour worked, in the plan's time
    /// zone.
    #[arg(long, value_name = "FILE")]
    pub calendar: Option<PathBuf>,
    /// The time zone DATE is local in, an IANA name (Asia/Shanghai).
    /// Default: the calendar's, else UTC.
    #[arg(long, value_name = "ZONE", value_parser = parse_time_zone)]
    pub time_zone: Option<Tz>,
    /// A role directory (docs/permissions.md): with --apply, each call is
    /// checked against it as the service checks any command, and a call
    /// --actor may not record is refused.
    #[arg(long, value_name = "FILE", requires = "apply")]
    pub roles: Option<PathBuf>,
}

/// Parses `--on`: a date alone, exactly `YYYY-MM-DD`, in the years a store
/// holds (0001 to 9999).
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| shaped)
        .ok_or_else(|| format!("`{s}` is not a date: use YYYY-MM-DD, like 2026-03-16"))?;
    if date.year() < 1 {
        return Err(format!("`{s}`: the year must be 0001 to 9999"));
    }
    Ok(date)
}

/// Parses `--actor`: an actor who may record the plan's calls. The roles
/// of the built-in actors `customer` and `system` are fixed, with or
/// without a role directory (docs/permissions.md), so one the default
/// permission table does not give `schedule_follow_up` (the customer) is
/// refused here, before anything is recorded in its name. An agent's roles
/// are the bank's directory's, which this command does not read.
fn parse_actor(s: &str) -> Result<Actor, String> {
    let actor = Actor::parse(s).map_err(|e| format!("`{s}` is not an actor: {e}"))?;
    let action = PermissionAction::ScheduleFollowUp;
    let table = PermissionTable::default();
    if actor.agent().is_none() && !table.allows(action, RoleDirectory::new().roles_of(&actor)) {
        return Err(format!(
            "`{actor}` may not record the plan's calls: the permission table gives `{action}` \
             to {} only (docs/permissions.md)",
            table.roles_for(action)
        ));
    }
    Ok(actor)
}

/// Runs `follow-ups plan`.
pub fn run(location: &StoreLocation, args: &PlanArgs) -> Result<()> {
    let calendar = match &args.calendar {
        Some(path) => Some(super::report::read_calendar(path)?),
        None => None,
    };
    // The report's one rule: --time-zone, else the calendar's zone, else UTC.
    let zone = args
        .time_zone
        .or(calendar.as_ref().map(BusinessCalendar::time_zone))
        .unwrap_or(Tz::UTC);
    // Without a calendar every hour of the plan's local day is worked: the
    // calendar is the plan's zone's (UTC's days would put 10:00 outside
    // the date east of UTC+10, and the calls at the next UTC midnight).
    let calendar = match calendar {
        Some(calendar) => calendar,
        None => super::report::every_hour_in(zone)?,
    };
    let day = PlanDay::new(args.on, zone);
    // T must be an instant a store holds: the calls are recorded at it.
    crate::args::storable_day_start("--on", args.on, zone, day.start())?;
    let capacity = args.capacity.map(|n| n as usize);
    // Read before the store is opened: a bad file records nothing.
    let permissions = args.roles.as_deref().map(super::roles::read).transpose()?;
    let apply = |actor| Apply {
        actor,
        permissions: permissions.clone(),
        format: args.format,
    };
    match (location, &args.actor) {
        (StoreLocation::Dir(dir), None) => {
            let log = open_read_only(dir)?;
            let facts = facts(&log, day)?;
            print_plan::<std::io::Error>(args.format, &plan(&facts, &calendar, capacity), None)
        }
        (StoreLocation::Dir(dir), Some(actor)) => {
            let log = open_existing_writer(dir, caseledger_store::Clock::System)?;
            let facts = facts(&log, day)?;
            apply_plan(log, &facts, &calendar, capacity, apply(actor))
        }
        (StoreLocation::Postgres(url), actor) => {
            // Only --apply writes, and only to a ledger that is there:
            // neither creates anything in the database.
            let log = match actor {
                None => super::pg::open_reader(url)?,
                Some(_) => super::pg::open_appender(url, caseledger_postgres::Clock::System)?,
            };
            let facts = pg_facts(&log, day)?;
            match actor {
                None => print_plan::<std::io::Error>(
                    args.format,
                    &plan(&facts, &calendar, capacity),
                    None,
                ),
                Some(actor) => apply_plan(log, &facts, &calendar, capacity, apply(actor)),
            }
        }
    }
}

/// The plan's facts: the whole log folded in position order. For a store
/// directory, opened (which checks every record's link and the head).
fn facts<L: EventLog>(log: &L, day: PlanDay) -> Result<FollowUpFacts> {
    let mut facts = FollowUpFacts::new(day);
    for e in log.read_all(1).context("cannot read the log")? {
        let e = e.context("cannot read the log")?;
        facts.observe(e.position, &e.event);
    }
    Ok(facts)
}

/// The plan's facts from PostgreSQL: the log's verified walk (every body's
/// link, gapless positions, stream versions, batches, the head), so that
/// no row changed behind the log's back is planned from or printed.
fn pg_facts(log: &caseledger_postgres::PgLog, day: PlanDay) -> Result<FollowUpFacts> {
    let mut facts = FollowUpFacts::new(day);
    log.read_verified(|e| facts.observe(e.position, &e.event))
        .context("cannot read the log")?;
    Ok(facts)
}

/// Who applies a plan, under which permissions, printed how.
struct Apply<'a> {
    actor: &'a Actor,
    permissions: Option<caseledger::permission::Permissions>,
    format: PlanFormat,
}

/// `--apply`: plans from `facts` (read from `log`), records through the
/// service, prints; an error (exit status 1) when any call was refused.
fn apply_plan<L: EventLog>(
    log: L,
    facts: &FollowUpFacts,
    calendar: &BusinessCalendar,
    capacity: Option<usize>,
    how: Apply<'_>,
) -> Result<()> {
    let Apply {
        actor,
        permissions,
        format,
    } = how;
    let planned = plan(facts, calendar, capacity);
    let service = CaseService::new(log, UuidV7Ids::new());
    let service = match permissions {
        Some(permissions) => service.with_permissions(permissions),
        None => service,
    };
    let applied = apply(&service, facts, &planned, actor);
    // A reader that went away ends the table quietly, but refused or
    // failed calls keep their status 1 (`verdict_after`).
    let printed = print_plan(format, &planned, Some((actor, &applied)));
    super::output::verdict_after(printed, verdict(&applied))
}

/// The status of an applied plan: an error naming how many calls were
/// refused or failed, if any.
fn verdict<E: std::error::Error + 'static>(applied: &[AppliedCall<E>]) -> Result<()> {
    let failed = applied
        .iter()
        .filter(|a| matches!(a.result, CallResult::Failed(_)))
        .count();
    let refused = applied.iter().filter(|a| !a.result.is_recorded()).count() - failed;
    if refused + failed > 0 {
        let others = match applied.len() - refused - failed {
            0 => String::new(),
            _ => " (the others are recorded)".to_owned(),
        };
        let what = match (refused, failed) {
            (r, 0) => format!(
                "{r} of {} refused",
                count(applied.len() as u64, "follow-up call")
            ),
            (r, f) => failed_summary(r, f, failed_in_doubt(applied), applied.len()),
        };
        return Err(anyhow!("{what}{others}"));
    }
    Ok(())
}

/// What `--apply` did with each call, for printing.
type Applied<'a, E> = Option<(&'a Actor, &'a [AppliedCall<E>])>;

fn print_plan<E: std::error::Error + 'static>(
    format: PlanFormat,
    plan: &Plan,
    applied: Applied<'_, E>,
) -> Result<()> {
    let text = match format {
        PlanFormat::Table => table(plan, applied),
        PlanFormat::Json => {
            let mut s = serde_json::to_string_pretty(&to_json(plan, applied))?;
            s.push('\n');
            s
        }
        PlanFormat::Csv => {
            if plan.due.is_none() {
                eprintln!("{}", no_working_hours(plan));
            }
            csv(plan, applied)
        }
    };
    match applied {
        // The calls are recorded: a summary that cannot be written says so.
        Some((_, calls)) => write_after_commit(&text, || {
            let recorded = calls.iter().filter(|a| a.result.is_recorded()).count();
            format!(
                "{recorded} of {} calls are recorded (the plan's follow-ups are in the log)",
                calls.len()
            )
        }),
        None => write_stdout(&text),
    }
}

fn no_working_hours(plan: &Plan) -> String {
    format!(
        "{} has no working hours in the calendar from its start ({}) on: no follow-up calls are \
         proposed",
        plan.day.date(),
        caseledger::format_timestamp(&plan.as_of)
    )
}

/// Whether a log failure is known to have stored nothing: the store
/// directory's append undone ([`caseledger_store::ErrorKind::Undone`]),
/// PostgreSQL's failed statement or stopped writer (its transaction rolled
/// back whole, or never begun). Any other failure, PostgreSQL's
/// `OutcomeUnknown` first, may have stored the call.
fn known_unstored<E: std::error::Error + 'static>(e: &ServiceError<E>) -> bool {
    let (ServiceError::Log(log) | ServiceError::Append(AppendError::Log(log))) = e else {
        return false;
    };
    let log: &(dyn std::error::Error + 'static) = log;
    if let Some(store) = log.downcast_ref::<caseledger_store::Error>() {
        return matches!(store.kind(), caseledger_store::ErrorKind::Undone { .. });
    }
    log.downcast_ref::<caseledger_postgres::Error>()
        .is_some_and(|pg| {
            matches!(
                pg.kind(),
                caseledger_postgres::ErrorKind::Database { .. }
                    | caseledger_postgres::ErrorKind::WriterStopped
            )
        })
}

/// Of `results`, the failed calls whose outcome is not known (see
/// [`known_unstored`]).
fn failed_in_doubt<E: std::error::Error + 'static>(results: &[AppliedCall<E>]) -> usize {
    results
        .iter()
        .filter(|a| matches!(&a.result, CallResult::Failed(e) if !known_unstored(e)))
        .count()
}

/// The error of an apply with `failed` failed calls (`in_doubt` of them
/// with an unknown outcome) and `refused` refused ones, of `total`.
fn failed_summary(refused: usize, failed: usize, in_doubt: usize, total: usize) -> String {
    let next = match (in_doubt, failed) {
        (0, 1) => "apply the plan again to record it",
        (0, _) => "apply the plan again to record them",
        (_, 1) => "apply the plan again to learn whether it is",
        _ => "apply the plan again to learn which",
    };
    let calls = count(total as u64, "follow-up call");
    let why = format!("({}: {next})", failed_words(failed, in_doubt));
    match refused {
        0 => format!("{failed} of {calls} failed {why}"),
        r => format!("{r} of {calls} refused and {failed} failed {why}"),
    }
}

/// How the failed calls are described after their count: "(not
/// recorded)", "(may or may not be recorded)", or "(N may or may not be
/// recorded)" when only some are in doubt.
fn failed_words(failed: usize, in_doubt: usize) -> String {
    match in_doubt {
        0 => "not recorded".to_owned(),
        n if n == failed => "may or may not be recorded".to_owned(),
        n => format!("{n} may or may not be recorded"),
    }
}

/// A result's wire name, its position and its reason.
fn result_cells<E: std::error::Error + 'static>(
    r: &CallResult<E>,
) -> (&'static str, Option<u64>, String) {
    match r {
        CallResult::Recorded { position } => ("recorded", Some(*position), String::new()),
        CallResult::AlreadyRecorded { position } => {
            ("already_recorded", Some(*position), String::new())
        }
        CallResult::Refused(why) => ("refused", None, why.to_string()),
        CallResult::Failed(e) if known_unstored(e) => (
            "failed",
            None,
            format!("{e}; the call is not recorded: apply the plan again to record it"),
        ),
        CallResult::Failed(e) => (
            "failed",
            None,
            format!(
                "{e}; the call may or may not be recorded: apply the plan again to learn which \
                 (a recorded call then reads already_recorded)"
            ),
        ),
        // `CallResult` may grow: a result this build does not know is
        // reported as not recorded, never as done.
        #[allow(unreachable_patterns)]
        _ => ("unknown", None, String::new()),
    }
}

/// A call of the JSON plan, in docs/cli.md's order; `result`, `position`
/// and `reason` only when applied.
#[derive(serde::Serialize)]
struct CallJson<'a> {
    case_id: String,
    customer_id: &'a str,
    due: String,
    purpose: &'static str,
    tier: &'static str,
    category: Option<&'static str>,
    priority: Option<&'static str>,
    resolved_at: String,
    survey_score: Option<u8>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    applied: Option<CallResultJson>,
}

/// What `--apply` did with a call.
#[derive(serde::Serialize)]
struct CallResultJson {
    result: &'static str,
    position: Option<u64>,
    reason: Option<String>,
}

/// A candidate left out, in docs/cli.md's order.
#[derive(serde::Serialize)]
struct DroppedJson<'a> {
    case_id: String,
    customer_id: &'a str,
    reason: &'static str,
    detail: String,
}

/// The counts of `--apply`.
#[derive(serde::Serialize)]
struct AppliedJson {
    actor: String,
    recorded: usize,
    already_recorded: usize,
    refused: usize,
    /// Calls whose append failed in the log: may or may not be recorded.
    failed: usize,
}

/// The JSON plan, in docs/cli.md's order (a struct: a map would print its
/// keys sorted).
#[derive(serde::Serialize)]
struct PlanJson<'a> {
    date: String,
    time_zone: &'static str,
    as_of: String,
    due: Option<String>,
    no_working_hours: bool,
    candidates: usize,
    calls: Vec<CallJson<'a>>,
    dropped: Vec<DroppedJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<AppliedJson>,
}

fn to_json<'a, E: std::error::Error + 'static>(
    plan: &'a Plan,
    applied: Applied<'_, E>,
) -> PlanJson<'a> {
    let calls = plan
        .calls
        .iter()
        .enumerate()
        .map(|(i, call)| CallJson {
            case_id: call.case_id.to_string(),
            customer_id: call.customer_id.as_str(),
            due: format_timestamp(&call.due),
            purpose: call.purpose.as_str(),
            tier: call.tier.as_str(),
            category: call.category.map(|c| c.as_str()),
            priority: call.priority.map(|p| p.as_str()),
            resolved_at: format_timestamp(&call.resolved_at),
            survey_score: call.survey_score.map(|s| s.get()),
            applied: applied.and_then(|(_, results)| results.get(i)).map(|a| {
                let (result, position, reason) = result_cells(&a.result);
                CallResultJson {
                    result,
                    position,
                    reason: Some(reason).filter(|r| !r.is_empty()),
                }
            }),
        })
        .collect();
    let dropped = plan
        .dropped
        .iter()
        .map(|d| DroppedJson {
            case_id: d.call.case_id.to_string(),
            customer_id: d.call.customer_id.as_str(),
            reason: d.reason.kind(),
            detail: d.reason.to_string(),
        })
        .collect();
    PlanJson {
        date: plan.day.date().to_string(),
        time_zone: plan.day.zone().name(),
        as_of: format_timestamp(&plan.as_of),
        due: plan.due.map(|d| format_timestamp(&d)),
        no_working_hours: plan.due.is_none(),
        candidates: plan.candidates,
        calls,
        dropped,
        applied: applied.map(|(actor, results)| {
            let n = |name: &str| {
                results
                    .iter()
                    .filter(|a| result_cells(&a.result).0 == name)
                    .count()
            };
            AppliedJson {
                actor: actor.to_string(),
                recorded: n("recorded"),
                already_recorded: n("already_recorded"),
                refused: n("refused"),
                failed: n("failed"),
            }
        }),
    }
}

fn csv<E: std::error::Error + 'static>(plan: &Plan, applied: Applied<'_, E>) -> String {
    let mut header = vec![
        "case_id",
        "customer_id",
        "due",
        "purpose",
        "tier",
        "category",
        "priority",
        "resolved_at",
        "survey_score",
    ];
    if applied.is_some() {
        header.extend(["result", "position", "reason"]);
    }
    let mut out = header.join(",");
    out.push('\n');
    for (i, call) in plan.calls.iter().enumerate() {
        let mut cells = vec![
            call.case_id.to_string(),
            crate::render::csv_text(call.customer_id.as_str()),
            format_timestamp(&call.due),
            call.purpose.as_str().to_owned(),
            call.tier.as_str().to_owned(),
            call.category.map_or("", |c| c.as_str()).to_owned(),
            call.priority.map_or("", |p| p.as_str()).to_owned(),
            format_timestamp(&call.resolved_at),
            call.survey_score
                .map_or(String::new(), |s| s.get().to_string()),
        ];
        if let Some((_, results)) = applied
            && let Some(a) = results.get(i)
        {
            let (result, position, reason) = result_cells(&a.result);
            cells.push(result.to_owned());
            cells.push(position.map_or(String::new(), |p| p.to_string()));
            cells.push(crate::render::csv_text(&reason));
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn table<E: std::error::Error + 'static>(plan: &Plan, applied: Applied<'_, E>) -> String {
    let mut out = format!(
        "follow-up plan for {} ({}), as of {}\n",
        plan.day.date(),
        plan.day.zone().name(),
        format_timestamp(&plan.as_of)
    );
    let Some(due) = plan.due else {
        out.push_str(&no_working_hours(plan));
        out.push('\n');
        return out;
    };
    out.push_str(&format!(
        "calls due {}; {}, {} proposed\n",
        format_timestamp(&due),
        count(plan.candidates as u64, "candidate"),
        plan.calls.len()
    ));
    let mut rows: Vec<Vec<String>> = vec![
        [
            "case_id",
            "customer",
            "purpose",
            "tier",
            "category",
            "priority",
            "resolved_at",
            "score",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    ];
    if applied.is_some() {
        rows[0].push("result".to_owned());
    }
    for (i, call) in plan.calls.iter().enumerate() {
        let mut row = vec![
            call.case_id.to_string(),
            crate::render::shown_id(call.customer_id.as_str()).into_owned(),
            call.purpose.to_string(),
            call.tier.to_string(),
            call.category.map_or("-", |c| c.as_str()).to_owned(),
            call.priority.map_or("-", |p| p.as_str()).to_owned(),
            format_timestamp(&call.resolved_at),
            call.survey_score
                .map_or("-".to_owned(), |s| s.get().to_string()),
        ];
        if let Some((_, results)) = applied
            && let Some(a) = results.get(i)
        {
            row.push(result_cells(&a.result).0.to_owned());
        }
        rows.push(row);
    }
    if plan.calls.is_empty() {
        out.push_str("no follow-up calls\n");
    } else {
        out.push_str(&crate::render::columns(&rows));
    }
    if !plan.dropped.is_empty() {
        out.push_str(&format!(
            "left out ({}):\n",
            count(plan.dropped.len() as u64, "candidate")
        ));
        for d in &plan.dropped {
            out.push_str(&format!("  {}: {}\n", d.call.case_id, d.reason));
        }
    }
    if let Some((actor, results)) = applied {
        // Refused and failed calls, each with its word and reason.
        let not_known: Vec<(&PlannedCall, &str, String)> = results
            .iter()
            .filter_map(|a| match result_cells(&a.result) {
                (word @ ("refused" | "failed"), _, why) => Some((&a.call, word, why)),
                _ => None,
            })
            .collect();
        let n = |wanted: &str| not_known.iter().filter(|(_, w, _)| *w == wanted).count();
        let (refused, failed) = (n("refused"), n("failed"));
        let recorded = results
            .iter()
            .filter(|a| matches!(a.result, CallResult::Recorded { .. }))
            .count();
        let already = results
            .iter()
            .filter(|a| matches!(a.result, CallResult::AlreadyRecorded { .. }))
            .count();
        out.push_str(&format!(
            "applied by {actor}: {recorded} recorded, {already} already recorded, {refused} refused{}\n",
            if failed > 0 {
                format!(
                    ", {failed} failed ({})",
                    failed_words(failed, failed_in_doubt(results))
                )
            } else {
                String::new()
            }
        ));
        for (call, word, why) in not_known {
            out.push_str(&format!("  {word} {}: {why}\n", call.case_id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::failed_summary;

    #[test]
    fn the_failed_calls_are_counted_in_words_that_fit_their_number() {
        assert_eq!(
            failed_summary(0, 1, 0, 4),
            "1 of 4 follow-up calls failed (not recorded: apply the plan again to record it)"
        );
        assert_eq!(
            failed_summary(0, 3, 0, 3),
            "3 of 3 follow-up calls failed (not recorded: apply the plan again to record them)"
        );
        assert_eq!(
            failed_summary(1, 1, 1, 2),
            "1 of 2 follow-up calls refused and 1 failed (may or may not be recorded: apply the \
             plan again to learn whether it is)"
        );
        assert_eq!(
            failed_summary(2, 3, 1, 9),
            "2 of 9 follow-up calls refused and 3 failed (1 may or may not be recorded: apply the \
             plan again to learn which)"
        );
    }
}
