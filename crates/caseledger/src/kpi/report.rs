//! The report: what it covers ([`ReportParams`], [`GroupBy`]), its figures
//! ([`Kpis`] and their parts) and their JSON form (docs/kpis.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::sla::SlaPolicy;
use super::stats::{DurationStats, Durations};
use super::targets::{TargetFigure, TargetVerdicts, Targets};
use crate::calendar::Tz;
use crate::complaint::{ComplaintPolicy, Regime};
use crate::process::ProcessPolicy;
use crate::time::format_timestamp;
use crate::vocab::FollowUpPurpose;

vocabulary! {
    /// What a report can be grouped by. Non-exhaustive: new groupings are
    /// added in minor releases (the measures issue added week, half year
    /// and year); match with a wildcard arm, or ask
    /// [`GroupBy::is_period`].
    #[non_exhaustive]
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
        /// The agent who handled the case (docs/kpis.md, "Who handled a
        /// case"): assigned at its last resolution, else its latest
        /// assignee (`unassigned` when none).
        Agent => "agent",
        /// Latest assignment's team (`unassigned` when none or team-less).
        Team => "team",
        /// Month opened, in the report's time zone (`2026-03`).
        Month => "month",
        /// Quarter opened, in the report's time zone (`2026-Q1`).
        Quarter => "quarter",
        /// The root cause of the latest resolution (`none` when none).
        RootCause => "root_cause",
        /// ISO 8601 week opened, in the report's time zone (`2026-W09`).
        Week => "week",
        /// Half year opened, in the report's time zone (`2026-H1`).
        HalfYear => "half_year",
        /// Year opened, in the report's time zone (`2026`).
        Year => "year",
        /// Not a grouping of cases: per agent, their contacts and replies
        /// ([`ResponderKpis`], in [`Report::responders`]).
        Responder => "responder",
    }
}

impl GroupBy {
    /// Whether this grouping is a period of time (week to year, by the
    /// local date a case was opened): the groupings a report can chart
    /// over time (the command line's `--period`). An exhaustive match, so
    /// that a grouping added here must be sorted into one or the other.
    pub const fn is_period(self) -> bool {
        match self {
            Self::Week | Self::Month | Self::Quarter | Self::HalfYear | Self::Year => true,
            Self::Channel
            | Self::Category
            | Self::Topic
            | Self::Priority
            | Self::Tier
            | Self::Agent
            | Self::Team
            | Self::RootCause
            | Self::Responder => false,
        }
    }
}

/// What a report covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportParams {
    /// Cohort start: cases opened at or after this (unbounded if `None`).
    pub from: Option<DateTime<Utc>>,
    /// Cohort end: cases opened before this (unbounded if `None`).
    pub to: Option<DateTime<Utc>>,
    /// Group rows by this dimension. [`GroupBy::Responder`] gives the
    /// per-agent rows of [`Report::responders`] instead of groups of cases.
    pub group_by: Option<GroupBy>,
    /// A second dimension: each group of `group_by` split by this one
    /// (docs/kpis.md, "Two dimensions"). Ignored without `group_by`, and
    /// when either is [`GroupBy::Responder`].
    pub then_by: Option<GroupBy>,
    /// SLA targets.
    pub sla: SlaPolicy,
    /// The time zone of the period groups (`week` to `year`): the local
    /// date of `opened` there (UTC when `None`).
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
    /// SLA attainment: met / (met + breached).
    pub met_rate: Option<f64>,
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
    /// Mean score (1 to 5).
    pub mean_score: Option<f64>,
    /// Share of scores of 4 or 5.
    pub satisfied_share: Option<f64>,
    /// satisfied_share ≥ the `satisfied_share` target (0.85 by default;
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
    pub mean_score: Option<f64>,
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
    /// Follow-ups scheduled and not completed at T whose due time is
    /// before T: late, done or not.
    pub overdue: u64,
    /// Completions at or before their due time / (completed + overdue).
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
#[derive(Debug, Clone, PartialEq)]
pub struct GroupKpis {
    /// The group's key, such as `phone` or `2026-Q1` (with two dimensions,
    /// its key under the first).
    pub key: String,
    /// With two dimensions ([`ReportParams::then_by`]), its key under the
    /// second.
    pub then_key: Option<String>,
    /// Its figures.
    pub kpis: Kpis,
}

/// One agent's contacts and replies (docs/kpis.md, "Responders"): a row of
/// the report grouped by [`GroupBy::Responder`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResponderKpis {
    /// The agent.
    pub key: String,
    /// Their `responded` events on cohort cases.
    pub contacts: u64,
    /// Cohort cases ever assigned to them.
    pub cases_assigned: u64,
    /// Of those, the cases they responded to while assigned to them.
    pub cases_replied: u64,
    /// cases_replied / cases_assigned.
    pub reply_rate: Option<f64>,
    /// From each of their assignments to their first response while it
    /// lasted, for the assignments answered.
    pub time_to_respond: DurationStats,
}

impl ResponderKpis {
    /// The row of agent `key` before anything is counted: no contact, no
    /// assignment, every rate and statistic undefined. Every row starts
    /// so; a view that needs a row's fields without a row (the CSV's
    /// columns of a report without responders) asks it too.
    pub fn empty(key: String) -> ResponderKpis {
        ResponderKpis {
            key,
            contacts: 0,
            cases_assigned: 0,
            cases_replied: 0,
            reply_rate: None,
            time_to_respond: Durations::default().stats(),
        }
    }
}

/// A KPI report. Its JSON form is docs/kpis.md's "JSON shape".
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// T: the as-of time (null for an empty log).
    pub as_of: Option<DateTime<Utc>>,
    /// Cohort start.
    pub from: Option<DateTime<Utc>>,
    /// Cohort end (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// The grouping.
    pub group_by: Option<GroupBy>,
    /// The second dimension of the grouping, if it has two.
    pub then_by: Option<GroupBy>,
    /// How many events were considered (those at or before T).
    pub events: u64,
    /// How many of those belong to a case never seen opened, and so are in
    /// no figure (docs/kpis.md): zero for a whole valid log.
    pub orphan_events: u64,
    /// The figures over the whole cohort.
    pub overall: Kpis,
    /// The figures per group, sorted by key, then by the second key
    /// (empty without a grouping, or grouped by responder).
    pub groups: Vec<GroupKpis>,
    /// Grouped by [`GroupBy::Responder`]: one row per agent, sorted by
    /// agent (empty otherwise). The JSON form has them as its `groups`.
    pub responders: Vec<ResponderKpis>,
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("as_of", &self.as_of.as_ref().map(format_timestamp))?;
        m.serialize_entry("from", &self.from.as_ref().map(format_timestamp))?;
        m.serialize_entry("to", &self.to.as_ref().map(format_timestamp))?;
        m.serialize_entry("group_by", &Grouping(self))?;
        m.serialize_entry("events", &self.events)?;
        m.serialize_entry("orphan_events", &self.orphan_events)?;
        m.serialize_entry("overall", &self.overall)?;
        m.serialize_entry("groups", &Groups(self))?;
        m.end()
    }
}

/// A report's `group_by` in JSON: null, the dimension, or with two the
/// array of both.
pub struct Grouping<'a>(pub &'a Report);

impl Serialize for Grouping<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.0.group_by, self.two_dimensions()) {
            (Some(first), Some(second)) => [first, second].serialize(s),
            (first, _) => first.serialize(s),
        }
    }
}

impl Grouping<'_> {
    /// The second dimension, when the report's rows have two.
    fn two_dimensions(&self) -> Option<GroupBy> {
        self.0
            .then_by
            .filter(|_| self.0.group_by.is_some_and(|g| g != GroupBy::Responder))
    }
}

/// A report's `groups` in JSON: its groups, each key an object of both
/// dimensions' keys when it has two, or its responder rows.
pub struct Groups<'a>(pub &'a Report);

impl Serialize for Groups<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let report = self.0;
        if report.group_by == Some(GroupBy::Responder) {
            return report.responders.serialize(s);
        }
        let dims = (report.group_by, Grouping(report).two_dimensions());
        let mut seq = s.serialize_seq(Some(report.groups.len()))?;
        for g in &report.groups {
            seq.serialize_element(&GroupJson { dims, group: g })?;
        }
        seq.end()
    }
}

struct GroupJson<'a> {
    dims: (Option<GroupBy>, Option<GroupBy>),
    group: &'a GroupKpis,
}

impl Serialize for GroupJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a, K: Serialize> {
            key: K,
            #[serde(flatten)]
            kpis: &'a Kpis,
        }
        struct Pair<'a>([(GroupBy, &'a str); 2]);
        impl Serialize for Pair<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(2))?;
                for (dim, key) in self.0 {
                    m.serialize_entry(dim.as_str(), key)?;
                }
                m.end()
            }
        }
        let g = self.group;
        match (self.dims, &g.then_key) {
            ((Some(first), Some(second)), Some(then_key)) => Flat {
                key: Pair([(first, &g.key), (second, then_key)]),
                kpis: &g.kpis,
            }
            .serialize(s),
            _ => Flat {
                key: &g.key,
                kpis: &g.kpis,
            }
            .serialize(s),
        }
    }
}

impl TargetFigure {
    /// This figure's value in a set of figures (`None`: undefined, nothing
    /// to count): the one mapping from target names to report figures.
    pub fn value(self, kpis: &Kpis) -> Option<f64> {
        match self {
            TargetFigure::SatisfiedShare => kpis.csat.satisfied_share,
            TargetFigure::FcrRate => kpis.fcr_rate,
            TargetFigure::SlaMetRate => kpis.sla.met_rate,
            TargetFigure::DeadlineRate => kpis.complaints.deadline_rate,
            TargetFigure::ConfirmedRate => kpis.follow_up.confirmed_rate,
        }
    }
}

impl Targets {
    /// The verdict of each figure with a target in `kpis`.
    pub fn verdicts(&self, kpis: &Kpis) -> TargetVerdicts {
        self.verdicts_by(|figure| figure.value(kpis))
    }
}

#[cfg(test)]
mod tests {
    use super::GroupBy;
    use chrono::NaiveDate;

    /// `is_period` and the bucketing of dates into periods agree on which
    /// groupings are periods: a grouping is a period exactly when it
    /// numbers dates.
    #[test]
    fn the_periods_are_the_groupings_that_number_dates() {
        // A valid calendar date, so `from_ymd_opt` gives `Some`.
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let periods: Vec<&str> = GroupBy::ALL
            .iter()
            .filter(|g| g.is_period())
            .map(|g| g.as_str())
            .collect();
        assert_eq!(periods, ["month", "quarter", "week", "half_year", "year"]);
        for g in GroupBy::ALL {
            assert_eq!(
                g.is_period(),
                super::super::facts::period_number(*g, date).is_some(),
                "{g:?}"
            );
        }
    }
}
