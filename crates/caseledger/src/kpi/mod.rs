//! KPI projections: fold events into the figures management and auditors
//! use. docs/kpis.md is the specification of every figure; this module
//! computes exactly that.
//!
//! Two stages, both monoids:
//! 1. [`KpiAccumulator`] folds events (live, one at a time, or a whole log)
//!    into compact per-case facts, ignoring events after the as-of time. Two
//!    accumulators over disjoint sets of cases merge into the accumulator of
//!    their union, which is what lets a replay run on several cores.
//! 2. [`KpiAccumulator::report`] turns the facts into a [`Report`] for a
//!    cohort, a grouping and a policy. Cross-case figures (repeats, follow-up
//!    cap) are computed here, over all cases, so they are exact however the
//!    log was partitioned.
//!
//! Where each part lives: `facts.rs` (what one case contributes),
//! `accumulator.rs` (observe, replay, merge, and the report's entry point),
//! `figures.rs` (the counters of a group and the per-group fold),
//! `cross_case.rs` (repeat problems and follow-up cap violations),
//! `parallel.rs` (the report's pieces on several threads), `sla.rs`
//! (the SLA policy and its verdicts), `targets.rs` (the figures' targets
//! and verdicts), `stats.rs` (durations and percentiles) and `report.rs`
//! (the report's types and their JSON).

mod accumulator;
mod cross_case;
mod dense;
pub(crate) mod facts;
mod figures;
mod parallel;
mod report;
mod responder;
mod sla;
mod stats;
mod targets;

pub use crate::ids::{TOTAL_ROW_KEY, UNASSIGNED_KEY};
pub use accumulator::{AsOfMismatch, KpiAccumulator, REPLAY_BATCH_EVENTS};
pub use cross_case::REPEAT_WINDOW_MS;
pub use facts::SATISFIED_SCORE;
pub use report::{ByPurpose, Findings, OutreachKpis, PurposeKpis, QualityKpis};
pub use report::{ByRegime, RegimeKpis};
pub use report::{
    ComplaintKpis, CsatKpis, DimensionKpis, FollowUpKpis, GroupBy, GroupKpis, Kpis, Report,
    ReportParams, SlaKpis,
};
pub use report::{Grouping, Groups, ResponderKpis};
pub use sla::{
    DEFAULT_WARN_AT, MAX_SLA_POLICY_JSON_BYTES, SlaCalendarSource, SlaCase, SlaClock, SlaDeadlines,
    SlaFieldError, SlaPart, SlaState, SlaVerdict,
};
pub use sla::{SlaError, SlaPolicy, SlaPolicyError, SlaTarget, SlaTargetError};
pub use stats::DurationStats;
pub use targets::{
    CSAT_TARGET, MAX_TARGETS_JSON_BYTES, TargetFigure, TargetVerdict, TargetVerdicts, Targets,
    TargetsError,
};

/// A day and an hour in milliseconds, the unit of the deadlines and windows.
const DAY_MS: i64 = 24 * HOUR_MS;
const HOUR_MS: i64 = 60 * 60 * 1000;
