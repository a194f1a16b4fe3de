//! The report: what it covers ([`ReportParams`], [`GroupBy`]), its figures
//! ([`Kpis`] and their parts) and their JSON form (docs/kpis.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::sla::SlaPolicy;
use super::stats::DurationStats;
use super::targets::{TargetVerdicts, Targets};
use crate::calendar::Tz;
use crate::complaint::{ComplaintPolicy, Regime};
use crate::process::ProcessPolicy;
use crate::time::format_timestamp;
use crate::vocab::FollowUpPurpose;

vocabulary! {
    /// What a report can be grouped by.
    GroupBy, "group-by dimension" {
        /// Intake channel.
        Channel => "channel",
        /// Latest category (`unclassified` when none).
        Category => "category",
        /// Latest topic (`unclassified` when none).
        Topic => "topic",
        /// Latest priority (`unclassified` when none).
        Priority => "priority",
        /// Customer tier.
        Tier => "tier",
        /// Latest assigned agent (`unassigned` when none).
        Agent => "agent",
        /// Latest assignment's team (`unassigned` when none or team-less).
        Team => "team",
        /// Month opened, in the report's time zone (`2026-03`).
        Month => "month",
        /// Quarter opened, in the report's time zone (`2026-Q1`).
        Quarter => "quarter",
        /// The root cause of the latest resolution (`none` when none).
        RootCause => "root_cause",
    }
}

/// What a report covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportParams {
    /// Cohort start: cases opened at or after this (unbounded if `None`).
    pub from: Option<DateTime<Utc>>,
    /// Cohort end: cases opened before this (unbounded if `None`).
    pub to: Option<DateTime<Utc>>,
    /// Group rows by this dimension.
    pub group_by: Option<GroupBy>,
    /// SLA targets.
    pub sla: SlaPolicy,
    /// The time zone of `month` and `quarter` groups: the local date of
    /// `opened` there (UTC when `None`).
    pub time_zone: Option<Tz>,
    /// Which complaint regime applies to which complaint, and the calendar
    /// its deadlines are counted in.
    pub complaints: ComplaintPolicy,
    /// The process policy whose findings the report counts (the complaint
    /// teams: docs/kpis.md, "Findings").
    pub process: ProcessPolicy,
    /// The figures' targets (docs/kpis.md, "Targets"): the default has
    /// only `satisfied_share`'s.
    pub targets: Targets,
}

/// SLA attainment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SlaKpis {
    /// Cases that met both targets.
    pub met: u64,
    /// Cases that breached either target.
    pub breached: u64,
    /// Cases still within a target with no verdict yet.
    pub pending: u64,
    /// met / (met + breached).
    pub rate: Option<f64>,
    /// Pending cases whose elapsed business time on a pending target has
    /// reached the policy's `warn_at` share of it (part of `pending`).
    pub at_risk: u64,
}

/// Complaint handling against each complaint's regulatory deadline
/// (docs/kpis.md, "Complaint deadlines").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ComplaintKpis {
    /// Cases whose latest category is complaint.
    pub count: u64,
    /// count / cases_opened.
    pub rate: Option<f64>,
    /// Resolved (at T) strictly before their deadline.
    pub within_deadline: u64,
    /// Resolved at or after their deadline, or unresolved at T and T at or
    /// after it.
    pub overdue: u64,
    /// Unresolved at T, T before the deadline.
    pub pending: u64,
    /// Complaints with at least one `deadline_extended`.
    pub extended: u64,
    /// within / (within + overdue).
    pub deadline_rate: Option<f64>,
    /// Resolution times of the resolved complaints.
    pub resolution_time: DurationStats,
    /// `deadline_extended` events recorded at or after the deadline then in
    /// force (a process-policy finding; they do not move the deadline).
    pub late_extensions: u64,
    /// The same counts per regime.
    pub by_regime: ByRegime,
    /// From the first classification as a complaint to the first
    /// assignment to a complaint team (0 when it was with one already), for
    /// the complaints ever so assigned.
    pub time_to_handler: DurationStats,
}

/// One regime's complaint counts (see [`ComplaintKpis`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RegimeKpis {
    /// Complaints under the regime.
    pub count: u64,
    /// Resolved strictly before their deadline.
    pub within_deadline: u64,
    /// Resolved at or after it, or unresolved and past it.
    pub overdue: u64,
    /// Unresolved, deadline not reached.
    pub pending: u64,
    /// With at least one extension.
    pub extended: u64,
    /// within / (within + overdue).
    pub deadline_rate: Option<f64>,
}

/// Complaint counts per regime: a JSON object keyed by regime name, in the
/// order of [`Regime::ALL`], holding the regimes with at least one
/// complaint.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ByRegime(pub [RegimeKpis; Regime::ALL.len()]);

impl ByRegime {
    /// The counts of one regime.
    pub fn get(&self, regime: Regime) -> &RegimeKpis {
        &self.0[usize::from(regime.code())]
    }
}

impl Serialize for ByRegime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (regime, k) in Regime::ALL.iter().zip(&self.0) {
            if k.count > 0 {
                m.serialize_entry(regime.as_str(), k)?;
            }
        }
        m.end()
    }
}

/// Customer satisfaction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CsatKpis {
    /// Survey answers.
    pub responses: u64,
    /// Mean score.
    pub mean: Option<f64>,
    /// Share of scores of 4 or 5.
    pub satisfied_rate: Option<f64>,
    /// satisfied_rate ≥ the `satisfied_share` target (0.85 by default;
    /// `None` without data or without a target): the same verdict as
    /// `targets.satisfied_share.meets_target`.
    pub meets_target: Option<bool>,
    /// The surveys' `speed` scores.
    pub speed: DimensionKpis,
    /// The surveys' `problem_solving` scores.
    pub problem_solving: DimensionKpis,
    /// The surveys' `attitude` scores.
    pub attitude: DimensionKpis,
}

/// One survey dimension's scores (`csat.speed`, ...): surveys without it
/// count for nothing here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DimensionKpis {
    /// Mean of the scores given (1 to 5; `None` when none was given).
    pub mean: Option<f64>,
    /// Surveys that scored the dimension.
    pub count: u64,
}

/// Follow-up contacts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FollowUpKpis {
    /// `follow_up_scheduled` events.
    pub scheduled: u64,
    /// `follow_up_completed` events.
    pub completed: u64,
    /// Share of completions at or before their due time.
    pub on_time_rate: Option<f64>,
    /// Scheduled follow-ups too close to an earlier one of the same customer.
    pub cap_violations: u64,
    /// Completions with outcome `confirmed`.
    pub confirmed: u64,
    /// Completions with outcome `not_resolved`.
    pub not_resolved: u64,
    /// Completions with outcome `unreachable`.
    pub unreachable: u64,
    /// confirmed / completed.
    pub confirmed_rate: Option<f64>,
}

/// Quality reviews (`qa_reviewed`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualityKpis {
    /// Cases with at least one review.
    pub reviewed: u64,
    /// Reviews.
    pub reviews: u64,
    /// Mean score of the reviews (0 to 100).
    pub mean_score: Option<f64>,
}

/// The follow-ups of one purpose (see [`OutreachKpis`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PurposeKpis {
    /// Scheduled.
    pub scheduled: u64,
    /// Completed.
    pub completed: u64,
    /// Completed with outcome `confirmed`.
    pub confirmed: u64,
    /// Completed with outcome `unreachable`.
    pub unreachable: u64,
}

/// Follow-up counts per purpose: a JSON object keyed by purpose, in the
/// order of [`FollowUpPurpose::ALL`], holding the purposes with at least
/// one follow-up scheduled.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ByPurpose(pub [PurposeKpis; FollowUpPurpose::ALL.len()]);

impl ByPurpose {
    /// The counts of one purpose.
    pub fn get(&self, purpose: FollowUpPurpose) -> &PurposeKpis {
        &self.0[usize::from(purpose.code())]
    }
}

impl Serialize for ByPurpose {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (purpose, k) in FollowUpPurpose::ALL.iter().zip(&self.0) {
            if k.scheduled > 0 {
                m.serialize_entry(purpose.as_str(), k)?;
            }
        }
        m.end()
    }
}

/// Proactive contacts: the bank-originated cases and their follow-ups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OutreachKpis {
    /// Bank-originated cases (`origin` `bank`).
    pub cases: u64,
    /// Their follow-ups, per purpose.
    pub by_purpose: ByPurpose,
}

/// Process-policy findings in the recorded history (docs/kpis.md,
/// "Findings"; docs/events.md, "Process policy"): each a count, 0 when
/// none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Findings {
    /// `not_resolved` follow-up outcomes on a resolved case not followed
    /// by a reopen.
    pub not_resolved_without_reopen: u64,
    /// Cases closed while a follow-up was pending.
    pub closed_with_follow_up_pending: u64,
    /// Complaints resolved before they were assigned to a complaint team.
    pub complaints_resolved_unrouted: u64,
    /// Complaints resolved without a root cause.
    pub complaints_without_root_cause: u64,
    /// Follow-ups too close to an earlier one of the same customer (the
    /// same count as `follow_up.cap_violations`).
    pub cap_violations: u64,
}

/// The KPI figures of a set of cases (docs/kpis.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Kpis {
    /// Cohort cases.
    pub cases_opened: u64,
    /// Cohort cases resolved (or closed) at T.
    pub cases_resolved: u64,
    /// Cohort cases not resolved at T.
    pub backlog: u64,
    /// cases_resolved / cases_opened.
    pub resolution_rate: Option<f64>,
    /// First response − opened.
    pub first_response: DurationStats,
    /// Latest resolved − opened, for cases resolved at T.
    pub resolution_time: DurationStats,
    /// First contact resolution rate.
    pub fcr_rate: Option<f64>,
    /// Share of cases escalated at least once.
    pub escalation_rate: Option<f64>,
    /// Share of ever-resolved cases reopened at least once.
    pub reopen_rate: Option<f64>,
    /// SLA attainment.
    pub sla: SlaKpis,
    /// Complaints.
    pub complaints: ComplaintKpis,
    /// Satisfaction.
    pub csat: CsatKpis,
    /// Share of resolved cases with a survey answer.
    pub survey_response_rate: Option<f64>,
    /// Problem repeat rate.
    pub repeat_rate: Option<f64>,
    /// Follow-ups.
    pub follow_up: FollowUpKpis,
    /// Quality reviews.
    pub quality: QualityKpis,
    /// Proactive contacts.
    pub outreach: OutreachKpis,
    /// Process-policy findings.
    pub findings: Findings,
    /// The figures that have a target, each against it (docs/kpis.md,
    /// "Targets").
    pub targets: TargetVerdicts,
}

/// The figures of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupKpis {
    /// The group's key, such as `phone` or `2026-Q1`.
    pub key: String,
    /// Its figures.
    #[serde(flatten)]
    pub kpis: Kpis,
}

/// A KPI report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// T: the as-of time (null for an empty log).
    #[serde(serialize_with = "ser_opt_ts")]
    pub as_of: Option<DateTime<Utc>>,
    /// Cohort start.
    #[serde(serialize_with = "ser_opt_ts")]
    pub from: Option<DateTime<Utc>>,
    /// Cohort end (exclusive).
    #[serde(serialize_with = "ser_opt_ts")]
    pub to: Option<DateTime<Utc>>,
    /// The grouping.
    pub group_by: Option<GroupBy>,
    /// How many events were considered (those at or before T).
    pub events: u64,
    /// How many of those belong to a case never seen opened, and so are in
    /// no figure (docs/kpis.md): zero for a whole valid log.
    pub orphan_events: u64,
    /// The figures over the whole cohort.
    pub overall: Kpis,
    /// The figures per group, sorted by key (empty without a grouping).
    pub groups: Vec<GroupKpis>,
}

fn ser_opt_ts<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_timestamp(t)),
        None => s.serialize_none(),
    }
}
