//! `report --format html`: one self-contained page for a service manager
//! and an auditor: the header that ties it to a verified ledger head,
//! headline tiles against their targets, trend charts per period, breakdown
//! tables, an agent scorecard and a legend.
//!
//! Every number on the page is a value of a JSON report (`report --format
//! json --group-by DIM` with the same flags) and says which: its element
//! carries `data-src="DIM#POINTER"`, the grouping and the JSON pointer of
//! the value in that report (`month#/groups/2/fcr_rate`); the targets too
//! (`month#/overall/targets/fcr_rate/target`), from the report's `targets`
//! (the default, or `--targets FILE`). The few others are constants named
//! by `data-const` (the small-sample bound, the version), ranks
//! (`data-rank`), and chart axis ticks. A test reads the page and checks
//! each against the JSON.
//!
//! The HTML is written through askama: its templates are compiled and type
//! checked with the program, and it escapes every value by default (agent
//! and team ids come from the ledger and may hold any character but white
//! space). The template is `templates/report.html`. The page loads nothing:
//! inline CSS, inline SVG, no script, no font, no image, so it opens the
//! same from a file or an e-mail attachment.

use anyhow::Result;
use askama::Template;
use caseledger::kpi::{GroupBy, Kpis, Report, UNASSIGNED_KEY};
use caseledger_store::Head;

use crate::chart::{self, LineChart, Point, TargetLine};
use crate::figures::{self, Figure, SMALL_SAMPLE, Unit, format_value};

/// The headline figures: the tiles and the trend charts, in this order.
const HEADLINE: [&Figure; 7] = [
    &figures::FCR,
    &figures::SATISFIED_SHARE,
    &figures::SLA_ATTAINMENT,
    &figures::DEADLINE_RATE,
    &figures::CONFIRMED_RATE,
    &figures::BACKLOG,
    &figures::FIRST_RESPONSE_MEAN,
];

/// The dimensions of the breakdown tables, in this order.
pub const BREAKDOWNS: [GroupBy; 6] = [
    GroupBy::Channel,
    GroupBy::Category,
    GroupBy::Topic,
    GroupBy::Priority,
    GroupBy::Tier,
    GroupBy::Team,
];

/// The columns of a breakdown table.
const BREAKDOWN_FIGURES: [&Figure; 8] = [
    &figures::CASES,
    &figures::BACKLOG,
    &figures::FCR,
    &figures::SATISFIED_SHARE,
    &figures::SLA_ATTAINMENT,
    &figures::DEADLINE_RATE,
    &figures::FIRST_RESPONSE_MEDIAN,
    &figures::RESOLUTION_MEDIAN,
];

/// The columns of the agent scorecard.
const SCORECARD_FIGURES: [&Figure; 10] = [
    &figures::CASES,
    &figures::FIRST_RESPONSE_MEDIAN,
    &figures::FIRST_RESPONSE_P90,
    &figures::RESOLUTION_MEDIAN,
    &figures::FCR,
    &figures::SATISFIED_SHARE,
    &figures::SURVEYS,
    &figures::SLA_ATTAINMENT,
    // The complaints an agent handled, against their regimes' deadlines:
    // the figure regulators ask about, per person as in the breakdowns.
    &figures::DEADLINE_RATE,
    &figures::REOPEN_RATE,
];

/// The figure agents are ranked by: the one with the bank's target.
const RANK_BY: &Figure = &figures::SATISFIED_SHARE;

/// Where the docs that define the figures are, relative to the page when
/// it is written in a checkout (as `caseledger demo` does); the legend also
/// names the file.
const KPI_DOCS: &str = "docs/kpis.md";

/// The reports the page is made of, all from one replay with the same
/// cohort and as-of time.
pub struct Inputs<'a> {
    /// Grouped by the period of the trend charts (its overall figures are
    /// the tiles').
    pub by_period: &'a Report,
    /// One per dimension of [`BREAKDOWNS`], in that order.
    pub breakdowns: &'a [Report],
    /// Grouped by agent.
    pub by_agent: &'a Report,
    /// The head the replay read up to.
    pub head: &'a Head,
    /// The report's time zone (`UTC`, `Asia/Shanghai`): the periods are
    /// local dates there; `time_zone` of the JSON report.
    pub time_zone: &'a str,
    /// Whether the replay checked the hash chain up to it.
    pub verified: bool,
}

/// A number on the page and where it comes from.
pub struct Value {
    /// As people read it.
    pub text: String,
    /// `DIM#POINTER`: the JSON report and the pointer of the value in it.
    pub src: String,
}

impl Value {
    fn new(report: &str, pointer: &str, unit: Unit, value: Option<f64>) -> Value {
        Value {
            text: format_value(unit, value),
            src: format!("{report}#{pointer}"),
        }
    }

    fn text(report: &str, pointer: &str, text: &str) -> Value {
        Value {
            text: text.to_owned(),
            src: format!("{report}#{pointer}"),
        }
    }
}

/// A table cell with a figure.
pub struct Cell {
    /// The value.
    pub value: Value,
    /// Under its target (and the sample large enough to say so).
    pub below: bool,
}

/// A headline tile.
pub struct Tile {
    /// The figure's label.
    pub label: &'static str,
    /// Its overall value.
    pub value: Value,
    /// Smaller figures under it (`of 2817 resolved cases`).
    pub details: Vec<Detail>,
    /// Its target, if any, from the report's `targets`.
    pub target: Option<Value>,
    /// The verdict in words: `meets target`, `below target`, `no target`,
    /// or `no data`.
    pub verdict: &'static str,
    /// The verdict as a CSS class (`meets`, `below`, `none`).
    pub verdict_class: &'static str,
}

/// A smaller figure of a tile, with words before and after it.
pub struct Detail {
    /// Words before the value (may be empty).
    pub before: &'static str,
    /// The value.
    pub value: Value,
    /// Words after the value (may be empty).
    pub after: &'static str,
}

fn detail(before: &'static str, value: Value, after: &'static str) -> Detail {
    Detail {
        before,
        value,
        after,
    }
}

/// A chart with its heading.
pub struct Chart {
    /// The figure's label.
    pub label: &'static str,
    /// The SVG (escaped by the chart module).
    pub svg: String,
}

/// A table of figures by group.
pub struct Table {
    /// The dimension (`channel`).
    pub dimension: &'static str,
    /// The column headings: the figures' labels.
    pub headings: Vec<&'static str>,
    /// One per group, then the row `all`.
    pub rows: Vec<Row>,
}

/// A row of a [`Table`] or of the scorecard.
pub struct Row {
    /// The group's key, with its source; `None` for the `all` row.
    pub key: Option<Value>,
    /// For the scorecard: the rank, or why the row has none.
    pub rank: Rank,
    /// Whether the row's sample is small (dimmed).
    pub small: bool,
    /// The figures.
    pub cells: Vec<Cell>,
}

impl Row {
    /// The rank, when the row is ranked.
    pub fn rank_number(&self) -> Option<usize> {
        match self.rank {
            Rank::Ranked(n) => Some(n),
            _ => None,
        }
    }

    /// Why the row has no rank, in words (empty when it has one or the
    /// table ranks nothing).
    pub fn rank_note(&self) -> &'static str {
        match self.rank {
            Rank::SmallSample => "small sample",
            Rank::NotAnAgent => "no agent",
            Rank::None | Rank::Ranked(_) => "",
        }
    }
}

/// An agent's place in the scorecard.
pub enum Rank {
    /// Not a ranked table.
    None,
    /// Ranked: 1 is the best.
    Ranked(usize),
    /// Fewer than [`SMALL_SAMPLE`] cases or survey answers.
    SmallSample,
    /// The cases with no assignee.
    NotAnAgent,
}

/// A legend entry.
pub struct LegendEntry {
    /// The label.
    pub label: &'static str,
    /// The JSON key.
    pub key: &'static str,
    /// One sentence.
    pub definition: &'static str,
    /// Link to its definition.
    pub href: String,
}

/// The page, as the template reads it.
#[derive(Template)]
#[template(path = "report.html")]
pub struct Page {
    /// The grouping of the period charts (`month`).
    pub period: &'static str,
    /// Cohort start (a value), or `None`: from the start of the log.
    pub from: Option<Value>,
    /// Cohort end (a value), or `None`: to the end of the log.
    pub to: Option<Value>,
    /// The as-of time.
    pub as_of: Value,
    /// The time zone of the periods.
    pub time_zone: Value,
    /// Events counted.
    pub events: Value,
    /// Events of cases never seen opened (in no figure), when there are any.
    pub orphan_events: Option<Value>,
    /// Head position.
    pub head_position: Value,
    /// Head hash.
    pub head_hash: Value,
    /// Whether the chain was checked up to the head.
    pub verified: bool,
    /// The headline tiles.
    pub tiles: Vec<Tile>,
    /// The trend charts.
    pub charts: Vec<Chart>,
    /// The breakdown tables.
    pub tables: Vec<Table>,
    /// The agent scorecard.
    pub scorecard: Table,
    /// The small-sample bound, as text.
    pub small_sample: String,
    /// The legend.
    pub legend: Vec<LegendEntry>,
    /// This program's version.
    pub version: &'static str,
}

/// The name of a report in `data-src`: its grouping.
fn name(report: &Report) -> &'static str {
    report.group_by.map_or("all", GroupBy::as_str)
}

fn figure_value(report: &str, pointer: &str, figure: &Figure, kpis: &Kpis) -> Value {
    Value {
        text: figure.format_in(kpis),
        src: format!("{report}#{pointer}{}", figure.pointer()),
    }
}

fn time(report: &Report, key: &str, t: Option<&chrono::DateTime<chrono::Utc>>) -> Option<Value> {
    t.map(|t| {
        Value::text(
            name(report),
            &format!("/{key}"),
            &caseledger::format_timestamp(t),
        )
    })
}

fn tile(report: &Report, figure: &'static Figure) -> Tile {
    let r = name(report);
    let o = &report.overall;
    let count = |pointer: &str, n: u64| Value::new(r, pointer, Unit::Count, Some(n as f64));
    let details = match figure.key {
        k if k == figures::FCR.key => vec![detail(
            "of",
            count("/overall/cases_resolved", o.cases_resolved),
            "resolved cases",
        )],
        k if k == figures::SATISFIED_SHARE.key => vec![
            detail(
                "",
                count("/overall/csat/responses", o.csat.responses),
                "survey answers",
            ),
            detail(
                "mean score",
                figure_value(r, "/overall", &figures::MEAN_SCORE, o),
                "",
            ),
        ],
        k if k == figures::SLA_ATTAINMENT.key => vec![
            detail("", count("/overall/sla/met", o.sla.met), "met"),
            detail(
                "",
                count("/overall/sla/breached", o.sla.breached),
                "breached",
            ),
            detail("", count("/overall/sla/pending", o.sla.pending), "pending"),
        ],
        k if k == figures::DEADLINE_RATE.key => vec![
            detail(
                "",
                count("/overall/complaints/count", o.complaints.count),
                "complaints",
            ),
            detail(
                "",
                count("/overall/complaints/overdue", o.complaints.overdue),
                "past deadline",
            ),
        ],
        k if k == figures::CONFIRMED_RATE.key => vec![
            detail(
                "of",
                count("/overall/follow_up/completed", o.follow_up.completed),
                "follow-up calls completed",
            ),
            detail(
                "",
                count("/overall/follow_up/not_resolved", o.follow_up.not_resolved),
                "not resolved",
            ),
        ],
        k if k == figures::BACKLOG.key => vec![detail(
            "of",
            count("/overall/cases_opened", o.cases_opened),
            "cases",
        )],
        k if k == figures::FIRST_RESPONSE_MEAN.key => vec![
            detail(
                "median",
                figure_value(r, "/overall", &figures::FIRST_RESPONSE_MEDIAN, o),
                "",
            ),
            detail(
                "p90",
                figure_value(r, "/overall", &figures::FIRST_RESPONSE_P90, o),
                "",
            ),
        ],
        _ => Vec::new(),
    };
    let check = figures::target(figure, o);
    let (verdict, verdict_class) = match check.as_ref().map(|c| c.meets) {
        None => ("no target", "none"),
        Some(None) => ("no data", "none"),
        Some(Some(true)) => ("meets target", "meets"),
        Some(Some(false)) => ("below target", "below"),
    };
    Tile {
        label: figure.label,
        value: figure_value(r, "/overall", figure, o),
        details,
        target: check.map(|c| Value {
            text: figures::format_target(figure.unit, c.target),
            src: format!("{r}#/overall{}", c.pointer),
        }),
        verdict,
        verdict_class,
    }
}

fn trend(report: &Report, figure: &'static Figure) -> Chart {
    let r = name(report);
    let chart = LineChart {
        title: figure.label.to_owned(),
        unit: figure.unit,
        points: report
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| Point {
                label: g.key.clone(),
                label_src: format!("{r}#/groups/{i}/key"),
                value: figure.value(&g.kpis),
                text: figure.format_in(&g.kpis),
                src: format!("{r}#/groups/{i}{}", figure.pointer()),
                below_target: figures::under_target(figure, &g.kpis),
            })
            .collect(),
        target: figures::target(figure, &report.overall).map(|t| TargetLine {
            value: t.target,
            text: figures::format_target(figure.unit, t.target),
            src: format!("{r}#/overall{}", t.pointer),
        }),
    };
    Chart {
        label: figure.label,
        svg: chart::svg(&chart),
    }
}

fn cells(report: &str, pointer: &str, columns: &[&Figure], kpis: &Kpis) -> Vec<Cell> {
    columns
        .iter()
        .map(|f| Cell {
            value: figure_value(report, pointer, f, kpis),
            below: figures::under_target(f, kpis),
        })
        .collect()
}

fn breakdown(report: &Report) -> Table {
    let r = name(report);
    let mut rows: Vec<Row> = report
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| Row {
            key: Some(Value::text(
                r,
                &format!("/groups/{i}/key"),
                &crate::render::shown_id(&g.key),
            )),
            rank: Rank::None,
            small: g.kpis.cases_opened < SMALL_SAMPLE,
            cells: cells(r, &format!("/groups/{i}"), &BREAKDOWN_FIGURES, &g.kpis),
        })
        .collect();
    rows.push(Row {
        key: None,
        rank: Rank::None,
        small: false,
        cells: cells(r, "/overall", &BREAKDOWN_FIGURES, &report.overall),
    });
    Table {
        dimension: r,
        headings: BREAKDOWN_FIGURES.iter().map(|f| f.label).collect(),
        rows,
    }
}

/// Whether an agent's figures are too few to rank: fewer than
/// [`SMALL_SAMPLE`] cases or survey answers.
fn small_sample(kpis: &Kpis) -> bool {
    kpis.cases_opened < SMALL_SAMPLE || kpis.csat.responses < SMALL_SAMPLE
}

/// The agent scorecard: agents with enough cases and survey answers ranked
/// by [`RANK_BY`] (best first; ties by more survey answers, then by key),
/// then the small samples and the unassigned cases, unranked, by key.
fn scorecard(report: &Report) -> Table {
    let r = name(report);
    let mut order: Vec<usize> = (0..report.groups.len()).collect();
    let class = |i: usize| {
        let g = &report.groups[i];
        if g.key == UNASSIGNED_KEY {
            2
        } else if small_sample(&g.kpis) {
            1
        } else {
            0
        }
    };
    // Every ranked group has survey answers, so its satisfied share is
    // defined; `total_cmp` orders the rest the same on every run anyway.
    let rank_value = |i: usize| {
        RANK_BY
            .value(&report.groups[i].kpis)
            .unwrap_or(f64::NEG_INFINITY)
    };
    order.sort_by(|&a, &b| {
        class(a).cmp(&class(b)).then_with(|| {
            if class(a) == 0 {
                rank_value(b)
                    .total_cmp(&rank_value(a))
                    .then(
                        report.groups[b]
                            .kpis
                            .csat
                            .responses
                            .cmp(&report.groups[a].kpis.csat.responses),
                    )
                    .then(a.cmp(&b))
            } else {
                a.cmp(&b)
            }
        })
    });
    let mut rows: Vec<Row> = order
        .iter()
        .enumerate()
        .map(|(place, &i)| {
            let g = &report.groups[i];
            Row {
                key: Some(Value::text(
                    r,
                    &format!("/groups/{i}/key"),
                    &crate::render::shown_id(&g.key),
                )),
                rank: match class(i) {
                    0 => Rank::Ranked(place + 1),
                    1 => Rank::SmallSample,
                    _ => Rank::NotAnAgent,
                },
                small: class(i) == 1,
                cells: cells(r, &format!("/groups/{i}"), &SCORECARD_FIGURES, &g.kpis),
            }
        })
        .collect();
    rows.push(Row {
        key: None,
        rank: Rank::None,
        small: false,
        cells: cells(r, "/overall", &SCORECARD_FIGURES, &report.overall),
    });
    Table {
        dimension: r,
        headings: SCORECARD_FIGURES.iter().map(|f| f.label).collect(),
        rows,
    }
}

/// The legend: every figure the page shows, in the registry's order.
fn legend() -> Vec<LegendEntry> {
    let shown = |f: &Figure| {
        HEADLINE
            .iter()
            .chain(&BREAKDOWN_FIGURES)
            .chain(&SCORECARD_FIGURES)
            .chain([&&figures::MEAN_SCORE, &&figures::FIRST_RESPONSE_MEDIAN])
            .any(|s| s.key == f.key)
    };
    figures::ALL
        .iter()
        .filter(|f| shown(f))
        .map(|f| LegendEntry {
            label: f.label,
            key: f.key,
            definition: f.definition,
            href: format!("{KPI_DOCS}#{}", f.doc_anchor),
        })
        .collect()
}

/// The page for `inputs`.
pub fn page(inputs: &Inputs<'_>) -> Result<String> {
    let p = inputs.by_period;
    let r = name(p);
    let page = Page {
        period: r,
        from: time(p, "from", p.from.as_ref()),
        to: time(p, "to", p.to.as_ref()),
        as_of: time(p, "as_of", p.as_of.as_ref()).unwrap_or_else(|| Value::text(r, "/as_of", "-")),
        time_zone: Value::text(r, "/time_zone", inputs.time_zone),
        events: Value::new(r, "/events", Unit::Count, Some(p.events as f64)),
        orphan_events: (p.orphan_events > 0).then(|| {
            Value::new(
                r,
                "/orphan_events",
                Unit::Count,
                Some(p.orphan_events as f64),
            )
        }),
        head_position: Value::new(
            r,
            "/head/position",
            Unit::Count,
            Some(inputs.head.position as f64),
        ),
        head_hash: Value::text(r, "/head/hash", &inputs.head.hash_hex()),
        verified: inputs.verified,
        tiles: HEADLINE.iter().map(|f| tile(p, f)).collect(),
        charts: HEADLINE.iter().map(|f| trend(p, f)).collect(),
        tables: inputs.breakdowns.iter().map(breakdown).collect(),
        scorecard: scorecard(inputs.by_agent),
        small_sample: SMALL_SAMPLE.to_string(),
        legend: legend(),
        version: env!("CARGO_PKG_VERSION"),
    };
    Ok(page.render()?)
}
