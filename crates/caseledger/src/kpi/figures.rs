//! The figures of a group of cases: [`KpiAcc`] counts what each case
//! contributes and merges (a monoid), then turns the counts into [`Kpis`];
//! [`cohort`] folds a report's cases into the overall and per-group counts.

use std::collections::BTreeMap;

use super::cross_case::{CrossCase, cross_case};
use super::facts::{CaseFacts, FastMap, Names, SurveyDimension, Waits, ms};
use crate::ids::TeamId;
use crate::process::ProcessPolicy;
use crate::vocab::{FollowUpOutcome, FollowUpPurpose, Origin};

/// The instant of `t_ms` milliseconds since the epoch (a case's `opened`,
/// which came from a valid timestamp, so always in range; the epoch else).
fn utc_ms(t_ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(t_ms).unwrap_or_default()
}
use super::parallel::in_parallel;
use super::report::{
    ByPurpose, ComplaintKpis, CsatKpis, DimensionKpis, Findings, FollowUpKpis, GroupBy, GroupKpis,
    Kpis, OutreachKpis, PurposeKpis, QualityKpis, ReportParams, SlaKpis,
};
use super::report::{ByRegime, RegimeKpis};
use super::sla::{SlaCase, SlaClock, SlaPolicy, SlaState};
use super::stats::{Durations, rate};
use super::targets::{TargetFigure, TargetVerdicts, Targets};
use crate::complaint::{ComplaintPolicy, ComplaintState, DeadlineClock, Regime};
use crate::vocab::Category;

/// Counts and samples of one group; a monoid under [`KpiAcc::merge`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct KpiAcc {
    opened: u64,
    resolved: u64,
    first_response: Durations,
    resolution_time: Durations,
    fcr: u64,
    escalated: u64,
    reopened: u64,
    ever_resolved: u64,
    sla_met: u64,
    sla_breached: u64,
    sla_pending: u64,
    sla_at_risk: u64,
    complaints: u64,
    complaint_resolution: Durations,
    /// Per regime (index: the regime's code), each regime's counts; the
    /// complaints' totals are their sums.
    regimes: [RegimeAcc; Regime::ALL.len()],
    late_extensions: u64,
    survey_responses: u64,
    survey_score_sum: u64,
    survey_satisfied: u64,
    /// Per survey dimension ([`SurveyDimension::ALL`]): answers, score sum.
    survey_dimensions: [(u64, u64); SurveyDimension::ALL.len()],
    resolved_with_survey: u64,
    repeats: u64,
    follow_ups_scheduled: u64,
    follow_ups_completed: u64,
    follow_ups_on_time: u64,
    /// Follow-ups pending at T, due before it.
    follow_ups_overdue: u64,
    cap_violations: u64,
    follow_up_outcomes: [u64; FollowUpOutcome::ALL.len()],
    time_to_handler: Durations,
    qa_cases: u64,
    qa_reviews: u64,
    qa_score_sum: u64,
    outreach_cases: u64,
    outreach: [PurposeKpis; FollowUpPurpose::ALL.len()],
    findings: Findings,
}

/// What the process findings and `time_to_handler` need: the policy and
/// the names of the accumulator's team numbers.
#[derive(Clone, Copy)]
pub(super) struct Routing<'a> {
    pub(super) policy: &'a ProcessPolicy,
    pub(super) teams: &'a Names<TeamId>,
}

impl Routing<'_> {
    fn is_complaint_team(&self, team: u32) -> bool {
        self.teams
            .name(team)
            .is_some_and(|t| self.policy.is_complaint_team(t))
    }
}

/// One regime's complaint counts; a monoid under `+=`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct RegimeAcc {
    count: u64,
    within: u64,
    overdue: u64,
    pending: u64,
    extended: u64,
}

impl RegimeAcc {
    fn add(&mut self, o: &RegimeAcc) {
        self.count += o.count;
        self.within += o.within;
        self.overdue += o.overdue;
        self.pending += o.pending;
        self.extended += o.extended;
    }

    fn finish(&self) -> RegimeKpis {
        RegimeKpis {
            count: self.count,
            within_deadline: self.within,
            overdue: self.overdue,
            pending: self.pending,
            extended: self.extended,
            deadline_rate: rate(self.within, self.within + self.overdue),
        }
    }
}

impl KpiAcc {
    /// Adds one complaint: its regime by the policy, its deadline after its
    /// extensions, and the verdict at T (docs/kpis.md, "Complaint
    /// deadlines").
    fn add_complaint(
        &mut self,
        f: &CaseFacts,
        resolution_ms: Option<i64>,
        t_ms: i64,
        policy: &ComplaintPolicy,
    ) {
        let regime = policy.regime(f.classification.map(|c| c.topic));
        let extensions = f
            .trail
            .as_deref()
            .and_then(|t| t.rarer())
            .map_or(&[][..], |r| r.extensions.as_slice());
        let (clock, late) = DeadlineClock::replay(
            regime,
            &policy.calendar,
            utc_ms(f.opened_ms),
            extensions.iter().copied(),
        );
        // A deadline the calendar cannot place (no working day within 20
        // years) is never reached.
        let deadline_ms = clock.deadline().ok().map(ms);
        let r = &mut self.regimes[usize::from(regime.code())];
        r.count += 1;
        r.extended += u64::from(!extensions.is_empty());
        let resolved_ms = resolution_ms.map(|d| f.opened_ms + d);
        match ComplaintState::judge(deadline_ms, resolved_ms, t_ms) {
            ComplaintState::WithinDeadline => r.within += 1,
            ComplaintState::Overdue => r.overdue += 1,
            ComplaintState::Pending => r.pending += 1,
        }
        self.late_extensions += u64::from(late);
    }

    /// Adds what a case's routing says: `time_to_handler` (complaints)
    /// and the routing findings, by the process policy's rules.
    fn add_routing(&mut self, f: &CaseFacts, complaint: bool, routing: Routing<'_>) {
        let Some(trail) = f.trail.as_deref() else {
            return;
        };
        if complaint
            && let Some(since) = trail.complaint_since_ms.get()
            && let Some((_, at)) = f.teams().find(|(t, _)| routing.is_complaint_team(*t))
        {
            self.time_to_handler.0.push((at - since).max(0));
        }
        // The complaint findings are of complaints (the latest category,
        // as every complaint figure): a case reclassified since its
        // resolutions as a complaint is not one (docs/kpis.md, "Findings").
        if !complaint {
            return;
        }
        let category = Some(crate::vocab::Category::Complaint);
        let team_names = |n: u32| {
            f.teams()
                .take(n as usize)
                .filter_map(|(t, _)| routing.teams.name(t))
        };
        let unrouted = trail
            .complaint_resolutions
            .iter()
            .any(|(n, _)| !routing.policy.routed(category, team_names(*n)));
        let without_cause = trail
            .complaint_resolutions
            .iter()
            .any(|(_, cause)| !ProcessPolicy::root_cause_given(category, *cause));
        self.findings.complaints_resolved_unrouted += u64::from(unrouted);
        self.findings.complaints_without_root_cause += u64::from(without_cause);
    }

    /// Adds one cohort case, with what the cross-case figures say about it.
    #[expect(
        clippy::too_many_arguments,
        reason = "one case and each of the report's settings it is counted under"
    )]
    fn add_case(
        &mut self,
        f: &CaseFacts,
        waits: Option<&Waits>,
        cross: CrossCase,
        t_ms: i64,
        (sla, clock): (&SlaPolicy, &mut SlaClock),
        complaints: &ComplaintPolicy,
        routing: Routing<'_>,
    ) {
        let resolved = f.resolved();
        let resolution_ms = f
            .latest_resolved_ms
            .get()
            .filter(|_| resolved)
            .map(|r| r - f.opened_ms);
        let first_response_ms = f.first_response_ms.get().map(|r| r - f.opened_ms);

        self.opened += 1;
        if resolved {
            self.resolved += 1;
        }
        self.first_response.0.extend(first_response_ms);
        self.resolution_time.0.extend(resolution_ms);
        if resolved
            && !f.escalated
            && !f.reopened
            && !f.transferred
            && f.responses_before_first_resolution <= 1
            && !f.follow_up.as_deref().is_some_and(|l| l.not_resolved_seen)
        {
            self.fcr += 1;
        }
        self.escalated += u64::from(f.escalated);
        self.reopened += u64::from(f.reopened);
        self.ever_resolved += u64::from(f.ever_resolved());

        let case = SlaCase {
            category: f.classification.map(|c| c.category),
            priority: f.classification.map(|c| c.priority),
            tier: f.tier,
            opened_ms: f.opened_ms,
            first_response_ms: f.first_response_ms.get(),
            resolved_ms: f.latest_resolved_ms.get().filter(|_| resolved),
            waits_ms: waits.map_or(&[], |w| &w.ended_ms),
            waiting_since_ms: waits.and_then(|w| w.since_ms.get()),
        };
        let verdict = sla.verdict(clock, &case, t_ms);
        match verdict.state() {
            SlaState::Breached => self.sla_breached += 1,
            SlaState::Met => self.sla_met += 1,
            SlaState::Pending => self.sla_pending += 1,
        }
        self.sla_at_risk += u64::from(verdict.at_risk());

        let complaint = f
            .classification
            .is_some_and(|c| c.category == Category::Complaint);
        if complaint {
            self.complaints += 1;
            self.complaint_resolution.0.extend(resolution_ms);
            self.add_complaint(f, resolution_ms, t_ms, complaints);
        }
        self.add_routing(f, complaint, routing);

        self.survey_responses += u64::from(f.surveys);
        self.survey_score_sum += u64::from(f.survey_score_sum);
        self.survey_satisfied += u64::from(f.surveys_satisfied);
        if resolved && f.surveys > 0 {
            self.resolved_with_survey += 1;
        }

        self.repeats += u64::from(cross.repeat);

        let follow_up = f.follow_up.as_deref();
        self.follow_ups_scheduled += f.follow_ups().len() as u64;
        self.follow_ups_completed += u64::from(follow_up.map_or(0, |l| l.completed));
        self.follow_ups_on_time += u64::from(follow_up.map_or(0, |l| l.completed_on_time));
        self.cap_violations += u64::from(cross.cap_violations);
        let bank = f.origin == Origin::Bank;
        self.outreach_cases += u64::from(bank);
        for fu in f.follow_ups() {
            if let Some(outcome) = fu.outcome {
                self.follow_up_outcomes[usize::from(outcome.code())] += 1;
            }
            // Never done and already past due: late whatever happens
            // next, so the on-time rate counts it now, or a follow-up
            // never done would leave the rate untouched. One due at T may
            // still be done on time (a completion at its due time is).
            self.follow_ups_overdue += u64::from(fu.outcome.is_none() && ms(fu.due) < t_ms);
            if bank {
                let p = &mut self.outreach[usize::from(fu.purpose.code())];
                p.scheduled += 1;
                p.completed += u64::from(fu.outcome.is_some());
                p.confirmed += u64::from(fu.outcome == Some(FollowUpOutcome::Confirmed));
                p.unreachable += u64::from(fu.outcome == Some(FollowUpOutcome::Unreachable));
            }
        }
        let rarer = f.trail.as_deref().and_then(|t| t.rarer());
        let (reviews, score_sum, unreopened) =
            rarer.map_or((0, 0, 0), |r| (r.qa_reviews, r.qa_score_sum, r.unreopened));
        if let Some(r) = rarer {
            for (mine, (count, sum)) in self.survey_dimensions.iter_mut().zip(r.survey_dimensions) {
                mine.0 += u64::from(count);
                mine.1 += u64::from(sum);
            }
        }
        self.qa_cases += u64::from(reviews > 0);
        self.qa_reviews += u64::from(reviews);
        self.qa_score_sum += u64::from(score_sum);
        self.findings.not_resolved_without_reopen +=
            u64::from(unreopened) + u64::from(follow_up.is_some_and(|l| l.awaiting_reopen));
        self.findings.closed_with_follow_up_pending +=
            u64::from(follow_up.is_some_and(|l| l.closed_with_pending));
    }

    /// Merges `o` in, taking its samples rather than copying them when
    /// this one is still empty.
    fn merge(&mut self, o: KpiAcc) {
        // Only `add_case` adds to an accumulator, and it counts the case:
        // none opened means nothing added yet.
        if self.opened == 0 {
            *self = o;
        } else {
            self.merge_ref(&o);
        }
    }

    fn merge_ref(&mut self, o: &KpiAcc) {
        self.opened += o.opened;
        self.resolved += o.resolved;
        self.first_response.0.extend_from_slice(&o.first_response.0);
        self.resolution_time
            .0
            .extend_from_slice(&o.resolution_time.0);
        self.fcr += o.fcr;
        self.escalated += o.escalated;
        self.reopened += o.reopened;
        self.ever_resolved += o.ever_resolved;
        self.sla_met += o.sla_met;
        self.sla_breached += o.sla_breached;
        self.sla_pending += o.sla_pending;
        self.sla_at_risk += o.sla_at_risk;
        self.complaints += o.complaints;
        self.complaint_resolution
            .0
            .extend_from_slice(&o.complaint_resolution.0);
        for (mine, theirs) in self.regimes.iter_mut().zip(&o.regimes) {
            mine.add(theirs);
        }
        self.late_extensions += o.late_extensions;
        self.survey_responses += o.survey_responses;
        self.survey_score_sum += o.survey_score_sum;
        self.survey_satisfied += o.survey_satisfied;
        for (mine, theirs) in self.survey_dimensions.iter_mut().zip(&o.survey_dimensions) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        self.resolved_with_survey += o.resolved_with_survey;
        self.repeats += o.repeats;
        self.follow_ups_scheduled += o.follow_ups_scheduled;
        self.follow_ups_completed += o.follow_ups_completed;
        self.follow_ups_on_time += o.follow_ups_on_time;
        self.follow_ups_overdue += o.follow_ups_overdue;
        self.cap_violations += o.cap_violations;
        for (mine, theirs) in self
            .follow_up_outcomes
            .iter_mut()
            .zip(&o.follow_up_outcomes)
        {
            *mine += theirs;
        }
        self.time_to_handler
            .0
            .extend_from_slice(&o.time_to_handler.0);
        self.qa_cases += o.qa_cases;
        self.qa_reviews += o.qa_reviews;
        self.qa_score_sum += o.qa_score_sum;
        self.outreach_cases += o.outreach_cases;
        for (mine, theirs) in self.outreach.iter_mut().zip(&o.outreach) {
            mine.scheduled += theirs.scheduled;
            mine.completed += theirs.completed;
            mine.confirmed += theirs.confirmed;
            mine.unreachable += theirs.unreachable;
        }
        let (f, of) = (&mut self.findings, &o.findings);
        f.not_resolved_without_reopen += of.not_resolved_without_reopen;
        f.closed_with_follow_up_pending += of.closed_with_follow_up_pending;
        f.complaints_resolved_unrouted += of.complaints_resolved_unrouted;
        f.complaints_without_root_cause += of.complaints_without_root_cause;
    }

    /// The mean score of one survey dimension and its answers.
    fn dimension(&self, d: SurveyDimension) -> DimensionKpis {
        let (count, sum) = self.survey_dimensions[d as usize];
        DimensionKpis {
            mean_score: rate(sum, count),
            count,
        }
    }

    /// The figures (sorting the samples in place), with their verdicts
    /// against `targets`.
    fn finish(&mut self, targets: &Targets) -> Kpis {
        let satisfied_share = rate(self.survey_satisfied, self.survey_responses);
        let mut kpis = Kpis {
            cases_opened: self.opened,
            cases_resolved: self.resolved,
            backlog: self.opened - self.resolved,
            resolution_rate: rate(self.resolved, self.opened),
            first_response: self.first_response.stats(),
            resolution_time: self.resolution_time.stats(),
            fcr_rate: rate(self.fcr, self.resolved),
            escalation_rate: rate(self.escalated, self.opened),
            reopen_rate: rate(self.reopened, self.ever_resolved),
            sla: SlaKpis {
                met: self.sla_met,
                breached: self.sla_breached,
                pending: self.sla_pending,
                met_rate: rate(self.sla_met, self.sla_met + self.sla_breached),
                at_risk: self.sla_at_risk,
            },
            complaints: {
                let mut all = RegimeAcc::default();
                for r in &self.regimes {
                    all.add(r);
                }
                let all = all.finish();
                ComplaintKpis {
                    count: self.complaints,
                    rate: rate(self.complaints, self.opened),
                    within_deadline: all.within_deadline,
                    overdue: all.overdue,
                    pending: all.pending,
                    extended: all.extended,
                    deadline_rate: all.deadline_rate,
                    resolution_time: self.complaint_resolution.stats(),
                    late_extensions: self.late_extensions,
                    by_regime: ByRegime(std::array::from_fn(|i| self.regimes[i].finish())),
                    time_to_handler: self.time_to_handler.stats(),
                }
            },
            csat: CsatKpis {
                responses: self.survey_responses,
                mean_score: rate(self.survey_score_sum, self.survey_responses),
                satisfied_share,
                // Set from the targets' verdict below (one rule).
                meets_target: None,
                speed: self.dimension(SurveyDimension::Speed),
                problem_solving: self.dimension(SurveyDimension::ProblemSolving),
                attitude: self.dimension(SurveyDimension::Attitude),
            },
            survey_response_rate: rate(self.resolved_with_survey, self.resolved),
            repeat_rate: rate(self.repeats, self.opened),
            follow_up: FollowUpKpis {
                scheduled: self.follow_ups_scheduled,
                completed: self.follow_ups_completed,
                overdue: self.follow_ups_overdue,
                on_time_rate: rate(
                    self.follow_ups_on_time,
                    self.follow_ups_completed + self.follow_ups_overdue,
                ),
                cap_violations: self.cap_violations,
                confirmed: self.follow_up_outcomes[usize::from(FollowUpOutcome::Confirmed.code())],
                not_resolved: self.follow_up_outcomes
                    [usize::from(FollowUpOutcome::NotResolved.code())],
                unreachable: self.follow_up_outcomes
                    [usize::from(FollowUpOutcome::Unreachable.code())],
                confirmed_rate: rate(
                    self.follow_up_outcomes[usize::from(FollowUpOutcome::Confirmed.code())],
                    self.follow_ups_completed,
                ),
            },
            quality: QualityKpis {
                reviewed: self.qa_cases,
                reviews: self.qa_reviews,
                mean_score: rate(self.qa_score_sum, self.qa_reviews),
            },
            outreach: OutreachKpis {
                cases: self.outreach_cases,
                by_purpose: ByPurpose(self.outreach),
            },
            findings: Findings {
                cap_violations: self.cap_violations,
                ..self.findings
            },
            targets: TargetVerdicts::default(),
        };
        kpis.targets = targets.verdicts(&kpis);
        kpis.csat.meets_target = kpis
            .targets
            .get(TargetFigure::SatisfiedShare)
            .and_then(|v| v.meets_target);
        kpis
    }
}

/// The figures of a report's cohort, overall and per group (named by
/// `group_name`), computed on up to `threads` threads; the same whatever
/// their number. The cross-case figures compare each cohort case with every
/// case of its customer, in the cohort or not.
/// The cohort rule (docs/kpis.md, "Cohort"): cases opened in `[from, to)`.
pub(super) fn in_cohort(params: &ReportParams) -> impl Fn(&CaseFacts) -> bool + Copy {
    let from_ms = params.from.map(ms);
    let to_ms = params.to.map(ms);
    move |f: &CaseFacts| {
        from_ms.is_none_or(|from| f.opened_ms >= from) && to_ms.is_none_or(|to| f.opened_ms < to)
    }
}

pub(super) fn cohort(
    facts: &[CaseFacts],
    waits: &FastMap<u32, Waits>,
    teams: &Names<TeamId>,
    params: &ReportParams,
    t_ms: i64,
    threads: usize,
    group_name: impl Fn(GroupBy, i64) -> String,
) -> (Kpis, Vec<GroupKpis>) {
    let in_cohort = in_cohort(params);
    // The case groupings: responder rows are no grouping of cases.
    let first = params.group_by.filter(|g| *g != GroupBy::Responder);
    let second = first.and(params.then_by.filter(|g| *g != GroupBy::Responder));
    let threads = threads.max(1);
    let cross = cross_case(facts, threads);

    // Each cohort case is in exactly one group (group 0 without a
    // grouping), so the overall figures are the merge of the groups'. The
    // cases are cut into one run per thread; merging their groups gives
    // the same counts and the same samples (in another order, which no
    // statistic depends on: they are sorted first). Groups are keyed by
    // number (a code, a month, an interned name's number): few keys, in a
    // B-tree so that every merge runs in the same order.
    let chunk = facts.len().div_ceil(threads).max(1);
    // Each thread compiles the SLA calendar on its own (a timeline answers
    // from `&mut self`); the default calendar compiles to nothing.
    let jobs: Vec<_> = facts
        .chunks(chunk)
        .zip(cross.chunks(chunk))
        .enumerate()
        .map(|(k, (facts, cross))| {
            move || {
                let mut clock = params.sla.clock();
                let mut numbered: BTreeMap<(i64, i64), KpiAcc> = BTreeMap::new();
                for (i, (f, c)) in facts.iter().zip(cross).enumerate() {
                    if !in_cohort(f) {
                        continue;
                    }
                    // Fewer than 2^32 cases (the accumulator numbers them in u32).
                    let number = u32::try_from(k * chunk + i).unwrap_or(u32::MAX);
                    let w = if waits.is_empty() {
                        None
                    } else {
                        waits.get(&number)
                    };
                    let number_under = |by: Option<GroupBy>| {
                        by.map_or(0, |by| f.group_number(by, params.time_zone))
                    };
                    let n = (number_under(first), number_under(second));
                    numbered.entry(n).or_default().add_case(
                        f,
                        w,
                        *c,
                        t_ms,
                        (&params.sla, &mut clock),
                        &params.complaints,
                        Routing {
                            policy: &params.process,
                            teams,
                        },
                    );
                }
                numbered
            }
        })
        .collect();
    let mut numbered: BTreeMap<(i64, i64), KpiAcc> = BTreeMap::new();
    for part in in_parallel(jobs) {
        for (n, acc) in part {
            numbered.entry(n).or_default().merge(acc);
        }
    }
    // Sorted by the first key, then by the second.
    let mut groups: BTreeMap<(String, Option<String>), KpiAcc> = BTreeMap::new();
    if let Some(by) = first {
        for ((n, m), acc) in std::mem::take(&mut numbered) {
            let key = (group_name(by, n), second.map(|then| group_name(then, m)));
            groups.entry(key).or_default().merge(acc);
        }
    }
    // Each group's figures first, then the overall ones from the groups'
    // samples, moved rather than copied (peak memory).
    let group_kpis = groups
        .iter_mut()
        .map(|((key, then_key), acc)| GroupKpis {
            key: key.clone(),
            then_key: then_key.clone(),
            kpis: acc.finish(&params.targets),
        })
        .collect();
    let mut overall = KpiAcc::default();
    for acc in numbered.into_values().chain(groups.into_values()) {
        overall.merge(acc);
    }
    (overall.finish(&params.targets), group_kpis)
}
