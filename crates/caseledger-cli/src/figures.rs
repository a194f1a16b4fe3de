//! The figures people read, named once: each figure's JSON key, display
//! label, table abbreviation, one-sentence definition and unit. The terminal table and its legend, and the HTML page with its
//! tiles, charts, tables and legend, all take their names from here, so a
//! figure is called the same everywhere; docs/kpis.md ("Display labels")
//! lists the same labels, and a test keeps the two equal.
//!
//! Which figure has which target is here too ([`Figure::target`],
//! [`target`]): a figure's target and verdict are those of the report's
//! `targets` object (`caseledger::kpi::Targets`: the default, or
//! `report --targets FILE`), so the HTML page marks each figure against
//! the same target, with the same verdict, as the JSON report.

use caseledger::kpi::{Kpis, TargetFigure};

/// How a figure's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A whole number of cases or events.
    Count,
    /// A share from 0 to 1, shown as a percentage with one decimal.
    Rate,
    /// Seconds, shown like `2h 05m`.
    Duration,
    /// A survey score from 1 to 5, shown with two decimals.
    Score,
}

/// What a figure's sample is: how many of what it is computed over, for
/// the small-sample rule ([`SMALL_SAMPLE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// The cohort cases of the group.
    Cases,
    /// The survey answers of the group.
    Surveys,
}

/// Below this many cases (or survey answers, for survey figures) a group's
/// figure is marked "small sample" and not ranked: with fewer than 20, one
/// case moves a rate by five points or more, too much to compare people by.
pub const SMALL_SAMPLE: u64 = 20;

/// One figure of the report.
#[derive(Debug)]
pub struct Figure {
    /// Its JSON key inside a KPIS object, nested names joined by `.`
    /// (`csat.satisfied_share`), as docs/kpis.md names it.
    pub key: &'static str,
    /// Its display label (`Satisfied share`).
    pub label: &'static str,
    /// Its column heading in the terminal table (`satisfied`).
    pub abbrev: &'static str,
    /// One sentence that defines it, in words; the exact definition is the
    /// section [`Figure::doc_anchor`] of docs/kpis.md. Written without
    /// digits, so that every number on the HTML page is a figure of the
    /// report (a test checks that).
    pub definition: &'static str,
    /// The section of docs/kpis.md that defines it.
    pub doc_anchor: &'static str,
    /// How its value reads.
    pub unit: Unit,
    /// What it is computed over.
    pub sample: Sample,
    /// The report target it may have (docs/kpis.md, "Targets"): its key
    /// in the report's `targets` object.
    pub target: Option<TargetFigure>,
    /// Its value in a set of figures (`None`: undefined, such as a rate
    /// with nothing to count).
    value: fn(&Kpis) -> Option<f64>,
}

impl Figure {
    /// Its value in `kpis`.
    pub fn value(&self, kpis: &Kpis) -> Option<f64> {
        (self.value)(kpis)
    }

    /// Its value in `kpis` as people read it, next to its target when
    /// `kpis` has one for it: a rate reads on the side of its target that
    /// its verdict says ([`percent_against`]).
    pub fn format_in(&self, kpis: &Kpis) -> String {
        let value = self.value(kpis);
        match self.unit {
            Unit::Rate => percent_against(
                value,
                target(self, kpis).and_then(|t| Some((t.target, t.meets?))),
            ),
            unit => format_value(unit, value),
        }
    }

    /// The JSON pointer of this figure inside a KPIS object (`/csat/mean_score`).
    pub fn pointer(&self) -> String {
        format!("/{}", self.key.replace('.', "/"))
    }

    /// How many of its sample `kpis` holds.
    pub fn sample_size(&self, kpis: &Kpis) -> u64 {
        match self.sample {
            Sample::Cases => kpis.cases_opened,
            Sample::Surveys => kpis.csat.responses,
        }
    }
}

/// A duration in seconds for people: `45s`, `12m`, `2h 05m`, `3d 04h`.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "-".to_owned();
    };
    // Rounded to whole seconds; a u64 holds any real duration.
    let s = s.round() as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m:02}m"),
        (d, h, _) => format!("{d}d {h:02}h"),
    }
}

/// The most decimals a percentage (or a mean score) gets: beyond this a
/// rate differs from 0, 1 or its target, or a mean from 1 or 5, by less
/// than any count of cases can make it.
const MAX_PERCENT_DECIMALS: usize = 12;

/// `rate` as a percentage number with `decimals` decimals, and the number
/// that text reads.
fn percent_text(rate: f64, decimals: usize) -> (String, f64) {
    let text = format!("{:.decimals$}", rate * 100.0);
    // The text of a finite number always parses back.
    let read = text.parse().unwrap_or(rate * 100.0);
    (text, read)
}

/// A rate as a percentage with one decimal, `-` when undefined, and more
/// decimals where one would misread (docs/cli.md, "Figures as people read
/// them"): a rate above 0 never reads `0.0%`, one below 1 never `100.0%`
/// (1999 of 2000 reads `99.95%`).
pub fn percent(rate: Option<f64>) -> String {
    percent_against(rate, None)
}

/// [`percent`], judged against a target: `against` is the target and
/// whether the rate meets it (the report's verdict). A rate under its
/// target never reads at or above the target's text, and one that meets
/// it never reads below: more decimals until it does (`84.96%` under a
/// target of `85.0%`, not `85.0%`).
fn percent_against(rate: Option<f64>, against: Option<(f64, bool)>) -> String {
    let Some(r) = rate.filter(|r| r.is_finite()) else {
        return "-".to_owned();
    };
    let target = against.map(|(t, meets)| (target_text(t).1, meets));
    let mut text = String::new();
    for decimals in 1..=MAX_PERCENT_DECIMALS {
        let (t, read) = percent_text(r, decimals);
        text = t;
        let extremes = (r <= 0.0 || read != 0.0) && (r >= 1.0 || read != 100.0);
        let verdict = match target {
            None => true,
            Some((target, true)) => read >= target,
            Some((target, false)) => read < target,
        };
        if extremes && verdict {
            break;
        }
    }
    text.push('%');
    text
}

/// A target rate as a percentage: one decimal, or as many as it takes to
/// read back exactly the target the report holds (a target of 0.8525 reads
/// `85.25%`, not `85.3%`), and the number that text reads.
fn target_text(target: f64) -> (String, f64) {
    let mut out = percent_text(target, 1);
    for decimals in 1..=MAX_PERCENT_DECIMALS {
        out = percent_text(target, decimals);
        if out.1 / 100.0 == target {
            break;
        }
    }
    out
}

/// A target of a figure of `unit` as people read it: a rate as exactly as
/// the report holds it ([`target_text`]'s rule), the others as
/// [`format_value`].
pub fn format_target(unit: Unit, target: f64) -> String {
    match unit {
        Unit::Rate if target.is_finite() => format!("{}%", target_text(target).0),
        _ => format_value(unit, Some(target)),
    }
}

/// A value of `unit` as people read it (`-` when undefined).
pub fn format_value(unit: Unit, value: Option<f64>) -> String {
    match unit {
        Unit::Count => value.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}")),
        Unit::Rate => percent(value),
        Unit::Duration => duration(value),
        Unit::Score => score(value),
    }
}

/// A mean survey score with two decimals, `-` when undefined, and more
/// where two would misread (docs/cli.md, "Figures as people read them"):
/// a mean below the best score, 5, never reads `5.00`, and one above the
/// worst, 1, never `1.00` (199 fives and a four read `4.995`, not a
/// perfect `5.00`).
pub fn score(value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return "-".to_owned();
    };
    let mut text = String::new();
    for decimals in 2..=MAX_PERCENT_DECIMALS {
        text = format!("{v:.decimals$}");
        // The text of a finite number always parses back.
        let read: f64 = text.parse().unwrap_or(v);
        if (v >= 5.0 || read != 5.0) && (v <= 1.0 || read != 1.0) {
            break;
        }
    }
    text
}

/// A count as a figure's value: exact, since no count reaches 2^53.
fn count(n: u64) -> Option<f64> {
    Some(n as f64)
}

/// Cohort cases.
pub const CASES: Figure = Figure {
    key: "cases_opened",
    label: "Cases",
    abbrev: "cases",
    definition: "The cases opened in the report's period (the cohort).",
    doc_anchor: "figures",
    unit: Unit::Count,
    sample: Sample::Cases,
    target: None,
    value: |k| count(k.cases_opened),
};

/// Cohort cases resolved at T.
pub const RESOLVED: Figure = Figure {
    key: "cases_resolved",
    label: "Resolved",
    abbrev: "resolved",
    definition: "Cases of the cohort resolved or closed at the as-of time.",
    doc_anchor: "figures",
    unit: Unit::Count,
    sample: Sample::Cases,
    target: None,
    value: |k| count(k.cases_resolved),
};

/// Cohort cases not resolved at T.
pub const BACKLOG: Figure = Figure {
    key: "backlog",
    label: "Backlog",
    abbrev: "backlog",
    definition: "Cases of the cohort not resolved at the as-of time: open work.",
    doc_anchor: "figures",
    unit: Unit::Count,
    sample: Sample::Cases,
    target: None,
    value: |k| count(k.backlog),
};

/// Resolved / opened.
pub const RESOLUTION_RATE: Figure = Figure {
    key: "resolution_rate",
    label: "Resolution rate",
    abbrev: "res%",
    definition: "The share of the cohort's cases resolved at the as-of time.",
    doc_anchor: "figures",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: None,
    value: |k| k.resolution_rate,
};

/// Median first response time.
pub const FIRST_RESPONSE_MEDIAN: Figure = Figure {
    key: "first_response.median_s",
    label: "First response, median",
    abbrev: "1st resp",
    definition: "Half of the first responses came within this time of the case opening.",
    doc_anchor: "figures",
    unit: Unit::Duration,
    sample: Sample::Cases,
    target: None,
    value: |k| k.first_response.median_s,
};

/// Mean first response time.
pub const FIRST_RESPONSE_MEAN: Figure = Figure {
    key: "first_response.mean_s",
    label: "Average first response",
    abbrev: "1st resp avg",
    definition: "The mean time from a case opening to its first response, over the cases \
                 that had one.",
    doc_anchor: "figures",
    unit: Unit::Duration,
    sample: Sample::Cases,
    target: None,
    value: |k| k.first_response.mean_s,
};

/// 90th percentile of first response time.
pub const FIRST_RESPONSE_P90: Figure = Figure {
    key: "first_response.p90_s",
    label: "First response, p90",
    abbrev: "1st resp p90",
    definition: "Nine in ten first responses came within this time of the case opening.",
    doc_anchor: "figures",
    unit: Unit::Duration,
    sample: Sample::Cases,
    target: None,
    value: |k| k.first_response.p90_s,
};

/// Median resolution time.
pub const RESOLUTION_MEDIAN: Figure = Figure {
    key: "resolution_time.median_s",
    label: "Resolution time, median",
    abbrev: "resolve",
    definition: "Half of the resolved cases were resolved (for the last time) within this \
                 time of opening.",
    doc_anchor: "figures",
    unit: Unit::Duration,
    sample: Sample::Cases,
    target: None,
    value: |k| k.resolution_time.median_s,
};

/// Mean resolution time.
pub const RESOLUTION_MEAN: Figure = Figure {
    key: "resolution_time.mean_s",
    label: "Average resolution time",
    abbrev: "resolve avg",
    definition: "The mean time from opening to the latest resolution, over the resolved cases.",
    doc_anchor: "figures",
    unit: Unit::Duration,
    sample: Sample::Cases,
    target: None,
    value: |k| k.resolution_time.mean_s,
};

/// 90th percentile of resolution time.
pub const RESOLUTION_P90: Figure = Figure {
    key: "resolution_time.p90_s",
    label: "Resolution time, p90",
    abbrev: "resolve p90",
    definition: "Nine in ten resolved cases were resolved within this time of opening.",
    doc_anchor: "figures",
    unit: Unit::Duration,
    sample: Sample::Cases,
    target: None,
    value: |k| k.resolution_time.p90_s,
};

/// First contact resolution.
pub const FCR: Figure = Figure {
    key: "fcr_rate",
    label: "First contact resolution",
    abbrev: "FCR",
    definition: "The share of resolved cases solved by one agent with at most one response, \
                 never escalated or reopened.",
    doc_anchor: "figures",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: Some(TargetFigure::FcrRate),
    value: |k| k.fcr_rate,
};

/// Escalation rate.
pub const ESCALATION_RATE: Figure = Figure {
    key: "escalation_rate",
    label: "Escalation rate",
    abbrev: "escalated",
    definition: "The share of the cohort's cases escalated at least once.",
    doc_anchor: "figures",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: None,
    value: |k| k.escalation_rate,
};

/// Reopen rate.
pub const REOPEN_RATE: Figure = Figure {
    key: "reopen_rate",
    label: "Reopen rate",
    abbrev: "reopened",
    definition: "The share of cases ever resolved that were reopened at least once.",
    doc_anchor: "figures",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: None,
    value: |k| k.reopen_rate,
};

/// SLA attainment.
pub const SLA_ATTAINMENT: Figure = Figure {
    key: "sla.met_rate",
    label: "SLA attainment",
    abbrev: "SLA",
    definition: "Of the cases with a verdict, the share that met both the response and the \
                 resolution target of their priority.",
    doc_anchor: "sla",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: Some(TargetFigure::SlaMetRate),
    value: |k| k.sla.met_rate,
};

/// Complaints.
pub const COMPLAINTS: Figure = Figure {
    key: "complaints.count",
    label: "Complaints",
    abbrev: "complaints",
    definition: "Cases of the cohort whose latest category is complaint.",
    doc_anchor: "complaints",
    unit: Unit::Count,
    sample: Sample::Cases,
    target: None,
    value: |k| count(k.complaints.count),
};

/// Complaints past their deadline.
pub const COMPLAINTS_OVERDUE: Figure = Figure {
    key: "complaints.overdue",
    label: "Complaints past deadline",
    abbrev: "late cmpl",
    definition: "Complaints resolved at or after the deadline of their regulatory regime, \
                 or unresolved past it (complaints, not cases in general).",
    doc_anchor: "complaints",
    unit: Unit::Count,
    sample: Sample::Cases,
    target: None,
    value: |k| count(k.complaints.overdue),
};

/// Complaint deadline rate.
pub const DEADLINE_RATE: Figure = Figure {
    key: "complaints.deadline_rate",
    label: "Complaint deadline rate",
    abbrev: "deadline",
    definition: "Of the complaints with a verdict, the share resolved before the deadline of \
                 their regulatory regime.",
    doc_anchor: "complaints",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: Some(TargetFigure::DeadlineRate),
    value: |k| k.complaints.deadline_rate,
};

/// Survey answers.
pub const SURVEYS: Figure = Figure {
    key: "csat.responses",
    label: "Surveys",
    abbrev: "surveys",
    definition: "Survey answers given for the cohort's cases.",
    doc_anchor: "figures",
    unit: Unit::Count,
    sample: Sample::Surveys,
    target: None,
    value: |k| count(k.csat.responses),
};

/// Mean survey score.
pub const MEAN_SCORE: Figure = Figure {
    key: "csat.mean_score",
    label: "Mean survey score",
    abbrev: "score",
    definition: "The mean of the survey scores, from one (worst) to five (best).",
    doc_anchor: "figures",
    unit: Unit::Score,
    sample: Sample::Surveys,
    target: None,
    value: |k| k.csat.mean_score,
};

/// Satisfied share.
pub const SATISFIED_SHARE: Figure = Figure {
    key: "csat.satisfied_share",
    label: "Satisfied share",
    abbrev: "satisfied",
    definition: "The share of survey answers scoring four or five: the bank's measure of \
                 customer satisfaction.",
    doc_anchor: "figures",
    unit: Unit::Rate,
    sample: Sample::Surveys,
    target: Some(TargetFigure::SatisfiedShare),
    value: |k| k.csat.satisfied_share,
};

/// Survey response rate.
pub const SURVEY_RESPONSE_RATE: Figure = Figure {
    key: "survey_response_rate",
    label: "Survey response rate",
    abbrev: "surveyed",
    definition: "The share of resolved cases with at least one survey answer.",
    doc_anchor: "figures",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: None,
    value: |k| k.survey_response_rate,
};

/// Repeat rate.
pub const REPEAT_RATE: Figure = Figure {
    key: "repeat_rate",
    label: "Repeat rate",
    abbrev: "repeat",
    definition: "The share of cases whose customer had opened a case on the same topic in the \
                 thirty days before.",
    doc_anchor: "figures",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: None,
    value: |k| k.repeat_rate,
};

/// Follow-up confirmed rate.
pub const CONFIRMED_RATE: Figure = Figure {
    key: "follow_up.confirmed_rate",
    label: "Follow-up confirmed rate",
    abbrev: "confirmed",
    definition: "Of the follow-up calls completed, the share in which the customer confirmed \
                 that the problem is solved.",
    doc_anchor: "follow-up",
    unit: Unit::Rate,
    sample: Sample::Cases,
    target: Some(TargetFigure::ConfirmedRate),
    value: |k| k.follow_up.confirmed_rate,
};

/// Every figure, in the order the legends list them.
pub const ALL: &[&Figure] = &[
    &CASES,
    &RESOLVED,
    &BACKLOG,
    &RESOLUTION_RATE,
    &FIRST_RESPONSE_MEAN,
    &FIRST_RESPONSE_MEDIAN,
    &FIRST_RESPONSE_P90,
    &RESOLUTION_MEAN,
    &RESOLUTION_MEDIAN,
    &RESOLUTION_P90,
    &FCR,
    &ESCALATION_RATE,
    &REOPEN_RATE,
    &SLA_ATTAINMENT,
    &COMPLAINTS,
    &COMPLAINTS_OVERDUE,
    &DEADLINE_RATE,
    &SURVEYS,
    &MEAN_SCORE,
    &SATISFIED_SHARE,
    &SURVEY_RESPONSE_RATE,
    &REPEAT_RATE,
    &CONFIRMED_RATE,
];

/// A figure's target and its verdict in one set of figures.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheck {
    /// The target value, in the figure's unit.
    pub target: f64,
    /// Whether the figure meets it (`None`: the figure is undefined).
    pub meets: Option<bool>,
    /// The JSON pointer of the target inside a KPIS object
    /// (`/targets/fcr_rate/target`): where the page's number comes from.
    pub pointer: String,
}

/// The target of `figure` in `kpis`, if it has one: the report's verdict
/// (`targets.KEY` of the KPIS object), so that every view marks a figure
/// against the same target as the JSON. A figure has one when it is a
/// [`TargetFigure`] and the report's targets set one for it.
pub fn target(figure: &Figure, kpis: &Kpis) -> Option<TargetCheck> {
    let key = figure.target?;
    let verdict = kpis.targets.get(key)?;
    Some(TargetCheck {
        target: verdict.target,
        meets: verdict.meets_target,
        pointer: format!("/targets/{}/target", key.as_str()),
    })
}

/// Whether `figure` is under its target in `kpis` and its sample is large
/// enough to say so ([`SMALL_SAMPLE`]): what the page highlights.
pub fn under_target(figure: &Figure, kpis: &Kpis) -> bool {
    figure.sample_size(kpis) >= SMALL_SAMPLE
        && target(figure, kpis).is_some_and(|t| t.meets == Some(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/kpis.md's "Display labels" table has a row for every figure,
    /// with the same key, label and abbreviation as the code.
    #[test]
    fn docs_list_every_label() {
        let docs = include_str!("../../../docs/kpis.md");
        for f in ALL {
            let row = format!("| `{}` | {} | `{}` |", f.key, f.label, f.abbrev);
            assert!(docs.contains(&row), "docs/kpis.md lacks the row {row}");
        }
    }

    #[test]
    fn names_are_unique_and_definitions_have_no_digits() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.key, b.key);
                assert_ne!(a.label, b.label);
                assert_ne!(a.abbrev, b.abbrev);
            }
            assert!(
                !a.definition.contains(|c: char| c.is_ascii_digit()),
                "{}",
                a.key
            );
            assert!(a.definition.ends_with('.'), "{}: one sentence", a.key);
        }
    }

    fn kpis_with(targets: caseledger::kpi::Targets) -> Kpis {
        caseledger::kpi::KpiAccumulator::new(None)
            .report(&caseledger::kpi::ReportParams {
                targets,
                ..Default::default()
            })
            .overall
    }

    #[test]
    fn targets_are_the_reports() {
        // By default only the satisfied share has one.
        let kpis = kpis_with(caseledger::kpi::Targets::default());
        for f in ALL {
            assert_eq!(target(f, &kpis).is_some(), f.key == SATISFIED_SHARE.key);
        }
        let t = target(&SATISFIED_SHARE, &kpis).unwrap_or_else(|| unreachable!());
        assert_eq!(t.target, caseledger::kpi::CSAT_TARGET);
        assert_eq!(t.pointer, "/targets/satisfied_share/target");
        // A targets file gives the others theirs; each figure with a
        // target is the figure its target key names (the library's
        // `TargetFigure::value`).
        let file = r#"{"fcr_rate": 0.7, "sla_met_rate": 0.9, "deadline_rate": 0.95, "confirmed_rate": 0.8}"#;
        let targets = caseledger::kpi::Targets::from_json(file).unwrap_or_default();
        let mut kpis = kpis_with(targets);
        let with: Vec<&str> = ALL
            .iter()
            .filter(|f| target(f, &kpis).is_some())
            .map(|f| f.key)
            .collect();
        assert_eq!(
            with,
            [
                "fcr_rate",
                "sla.met_rate",
                "complaints.deadline_rate",
                "csat.satisfied_share",
                "follow_up.confirmed_rate"
            ]
        );
        for f in ALL {
            if let Some(tf) = f.target {
                kpis.fcr_rate = Some(0.25);
                kpis.sla.met_rate = Some(0.5);
                kpis.complaints.deadline_rate = Some(0.75);
                kpis.csat.satisfied_share = Some(0.125);
                kpis.follow_up.confirmed_rate = Some(0.375);
                assert_eq!(f.value(&kpis), tf.value(&kpis), "{}", f.key);
            }
        }
    }

    #[test]
    fn under_target_needs_a_large_enough_sample() {
        let mut kpis = kpis_with(caseledger::kpi::Targets::default());
        kpis.csat.responses = SMALL_SAMPLE;
        kpis.csat.satisfied_share = Some(0.5);
        kpis.targets = caseledger::kpi::Targets::default().verdicts(&kpis);
        assert!(under_target(&SATISFIED_SHARE, &kpis));
        kpis.csat.responses = SMALL_SAMPLE - 1;
        assert!(!under_target(&SATISFIED_SHARE, &kpis), "small sample");
    }

    /// docs/cli.md, "Figures as people read them": one decimal, and more
    /// where one would misread: against 0 and 1, and against a target.
    #[test]
    fn percentages_never_misread() {
        assert_eq!(percent(Some(0.484)), "48.4%");
        assert_eq!(percent(Some(1.0)), "100.0%");
        assert_eq!(percent(Some(0.0)), "0.0%");
        assert_eq!(percent(None), "-");
        assert_eq!(percent(Some(f64::NAN)), "-");
        // 1999 of 2000, 1 of 2001, 1 of a million.
        assert_eq!(percent(Some(1999.0 / 2000.0)), "99.95%");
        assert_eq!(percent(Some(1.0 / 2001.0)), "0.05%");
        assert_eq!(percent(Some(1e-6)), "0.0001%");
        assert_eq!(percent(Some(1.0 - 1e-6)), "99.9999%");
        // Mean scores: two decimals, never a perfect or a worst score
        // that is not.
        assert_eq!(score(Some(4.27)), "4.27");
        assert_eq!(score(Some(5.0)), "5.00");
        assert_eq!(score(Some(1.0)), "1.00");
        assert_eq!(score(Some(999.0 / 200.0)), "4.995");
        assert_eq!(score(Some(201.0 / 200.0)), "1.005");
        assert_eq!(score(None), "-");
        // Against a target: under it reads under, meeting it reads at
        // least as much, and the target reads as given.
        assert_eq!(percent_against(Some(0.8496), Some((0.85, false))), "84.96%");
        assert_eq!(percent_against(Some(0.8496), None), "85.0%");
        assert_eq!(percent_against(Some(0.85), Some((0.85, true))), "85.0%");
        assert_eq!(
            percent_against(Some(0.8525), Some((0.8525, true))),
            "85.25%"
        );
        assert_eq!(format_target(Unit::Rate, 0.85), "85.0%");
        assert_eq!(format_target(Unit::Rate, 0.8525), "85.25%");
        assert_eq!(format_target(Unit::Rate, 0.07), "7.0%");
        assert_eq!(format_target(Unit::Rate, 1.0), "100.0%");
        // The figure's own verdict decides (`Figure::format_in`).
        let file = r#"{"fcr_rate": 0.7}"#;
        let targets = caseledger::kpi::Targets::from_json(file).unwrap_or_default();
        let mut kpis = kpis_with(targets);
        kpis.fcr_rate = Some(0.69999);
        kpis.targets = caseledger::kpi::Targets::from_json(file)
            .unwrap_or_default()
            .verdicts(&kpis);
        assert_eq!(FCR.format_in(&kpis), "69.999%");
    }

    #[test]
    fn pointers_follow_the_json_keys() {
        assert_eq!(SATISFIED_SHARE.pointer(), "/csat/satisfied_share");
        let kpis = caseledger::kpi::KpiAccumulator::new(None)
            .report(&caseledger::kpi::ReportParams::default())
            .overall;
        let json = serde_json::to_value(kpis).unwrap_or_default();
        for f in ALL {
            assert!(json.pointer(&f.pointer()).is_some(), "{}", f.key);
        }
    }
}
