//! Line charts as inline SVG for the HTML report: one figure over the
//! periods, one point per period, its target as a dashed line.
//!
//! Why a small module of its own rather than a plotting crate (plotters'
//! SVG backend was the candidate): the page must tie every drawn value to
//! the report it came from and let a test count the points of each chart,
//! so each point is a `<g class="point">` carrying the JSON pointer of its
//! value (`data-src`) and a `<title>` with the value for people; plotters
//! draws bare shapes and text, with no way to group them or attach
//! attributes. What is needed (a linear scale, a polyline, markers, a
//! dashed line, tick labels) is a page of code, tested below.
//!
//! Printed in black and white the chart still reads: the value is a solid
//! line with filled round markers, a value under its target a hollow
//! square, the target a dashed line labelled with its value.

use std::fmt::Write as _;

use crate::figures::{Unit, format_value};

/// The drawing's size in SVG user units; the page scales it to its column.
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 200.0;
/// Margins around the plot: room for the y tick labels (`2d 04h`) on the
/// left and the period labels below.
const LEFT: f64 = 52.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 30.0;
/// At most this many period labels under a chart: more would overlap
/// (weeks over a year); between them, every k-th period is labelled.
const MAX_X_LABELS: usize = 8;
/// Horizontal grid lines (and y tick labels) above zero.
const Y_STEPS: usize = 4;

/// The colour of the value line and its markers: dark enough to print as
/// near-black.
const INK: &str = "#1f4e79";

/// One period's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The period (`2026-03`).
    pub label: String,
    /// Where the period's key comes from: a report name and JSON pointer,
    /// `month#/groups/2/key` (written as the label's `data-src`).
    pub label_src: String,
    /// The value, in the figure's unit (`None`: undefined that period).
    pub value: Option<f64>,
    /// The value as people read it (`figures::Figure::format_in`: a rate
    /// on the side of its target that its verdict says).
    pub text: String,
    /// Where the value comes from (`month#/groups/2/fcr_rate`).
    pub src: String,
    /// Whether the value is under its target (drawn as a hollow square).
    pub below_target: bool,
}

/// A target drawn across the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetLine {
    /// The target, in the figure's unit.
    pub value: f64,
    /// The target as people read it (`figures::format_target`).
    pub text: String,
    /// Where the target comes from, a report name and JSON pointer
    /// (`month#/overall/targets/fcr_rate/target`), written as the label's
    /// `data-src`.
    pub src: String,
}

/// A line chart of one figure over the periods.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// The figure's label (the chart's accessible name).
    pub title: String,
    /// The figure's unit: how values and ticks read.
    pub unit: Unit,
    /// One per period, in order.
    pub points: Vec<Point>,
    /// The figure's target, if it has one.
    pub target: Option<TargetLine>,
}

/// `s` escaped for SVG (and HTML) text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The top of the y axis and its step: the smallest "round" step (in the
/// unit's terms) whose [`Y_STEPS`] multiples reach `max`.
fn y_scale(unit: Unit, max: f64) -> (f64, f64) {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 3600.0;
    const DAY: f64 = 86_400.0;
    let steps = Y_STEPS as f64;
    match unit {
        // Shares: always the whole range, so that a trend is never
        // exaggerated by a cut axis.
        Unit::Rate => (1.0, 1.0 / steps),
        // Scores run from 1 to 5; 0 is the baseline.
        Unit::Score => (5.0, 5.0 / steps),
        Unit::Duration => {
            let nice = [
                MINUTE,
                5.0 * MINUTE,
                15.0 * MINUTE,
                30.0 * MINUTE,
                HOUR,
                2.0 * HOUR,
                6.0 * HOUR,
                12.0 * HOUR,
                DAY,
                2.0 * DAY,
                7.0 * DAY,
                14.0 * DAY,
                30.0 * DAY,
            ];
            let step = nice
                .iter()
                .copied()
                .find(|s| s * steps >= max)
                .unwrap_or_else(|| (max / steps / DAY).ceil() * DAY);
            (step * steps, step)
        }
        Unit::Count => {
            let mut magnitude = 1.0;
            loop {
                for m in [1.0, 2.0, 5.0] {
                    let step = m * magnitude;
                    if step * steps >= max {
                        return (step * steps, step);
                    }
                }
                magnitude *= 10.0;
            }
        }
    }
}

/// The chart as one `<svg>` element.
pub fn svg(chart: &LineChart) -> String {
    let n = chart.points.len();
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = chart
        .points
        .iter()
        .filter_map(|p| p.value)
        .chain(chart.target.as_ref().map(|t| t.value))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let (top, step) = y_scale(chart.unit, max);
    let x = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / n.max(1) as f64;
    let y = |v: f64| TOP + plot_h * (1.0 - (v / top).clamp(0.0, 1.0));

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"><title>{}</title>"#,
        escape(&chart.title)
    );
    // The axis: grid lines and tick labels (scale, not figures).
    s.push_str(r##"<g class="axis" font-size="10" fill="#333">"##);
    for i in 0..=Y_STEPS {
        let v = step * i as f64;
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ccc" stroke-width="0.6"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 4.0,
            yy + 3.5,
            escape(&format_value(chart.unit, Some(v)).replace(".0%", "%"))
        );
    }
    s.push_str("</g>");
    // Period labels, thinned so that they never overlap.
    let every = n.div_ceil(MAX_X_LABELS).max(1);
    s.push_str(r##"<g class="periods" font-size="10" fill="#333" text-anchor="middle">"##);
    for (i, p) in chart.points.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" data-src="{}">{}</text>"#,
                x(i),
                HEIGHT - BOTTOM + 14.0,
                escape(&p.label_src),
                escape(&p.label)
            );
        }
    }
    s.push_str("</g>");
    // The target: dashed, labelled with its value.
    if let Some(t) = &chart.target {
        let yy = y(t.value);
        let _ = write!(
            s,
            r##"<g class="target"><line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#000" stroke-width="1.2" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">target <tspan data-src="{}">{}</tspan></text></g>"##,
            WIDTH - RIGHT,
            WIDTH - RIGHT,
            yy - 4.0,
            escape(&t.src),
            escape(&t.text)
        );
    }
    // The value line, broken where a period has no value.
    let mut run: Vec<String> = Vec::new();
    let mut lines = String::new();
    let mut flush = |run: &mut Vec<String>| {
        if run.len() > 1 {
            let _ = write!(
                lines,
                r#"<polyline fill="none" stroke="{INK}" stroke-width="2" points="{}"/>"#,
                run.join(" ")
            );
        }
        run.clear();
    };
    for (i, p) in chart.points.iter().enumerate() {
        match p.value.filter(|v| v.is_finite()) {
            Some(v) => run.push(format!("{:.1},{:.1}", x(i), y(v))),
            None => flush(&mut run),
        }
    }
    flush(&mut run);
    s.push_str(&lines);
    // One point per period: a marker with its value as a tooltip, or a
    // dash on the baseline where the period has no value.
    for (i, p) in chart.points.iter().enumerate() {
        let src = escape(&p.src);
        let text = escape(&p.text);
        match p.value.filter(|v| v.is_finite()) {
            Some(v) if p.below_target => {
                let _ = write!(
                    s,
                    r##"<g class="point below" data-src="{src}"><rect x="{:.1}" y="{:.1}" width="8" height="8" fill="#fff" stroke="{INK}" stroke-width="2"/><title>{text}</title></g>"##,
                    x(i) - 4.0,
                    y(v) - 4.0
                );
            }
            Some(v) => {
                let _ = write!(
                    s,
                    r#"<g class="point" data-src="{src}"><circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{INK}"/><title>{text}</title></g>"#,
                    x(i),
                    y(v)
                );
            }
            None => {
                let _ = write!(
                    s,
                    r##"<g class="point missing" data-src="{src}"><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#333">{text}</text></g>"##,
                    x(i),
                    TOP + plot_h - 3.0
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: &[Option<f64>], unit: Unit, target: Option<f64>) -> LineChart {
        LineChart {
            title: "First contact <resolution>".to_owned(),
            unit,
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| Point {
                    label: format!("2026-{:02}", i + 1),
                    label_src: format!("month#/groups/{i}/key"),
                    value: *v,
                    text: format_value(unit, *v),
                    src: format!("month#/groups/{i}/fcr_rate"),
                    below_target: target.zip(*v).is_some_and(|(t, v)| v < t),
                })
                .collect(),
            target: target.map(|value| TargetLine {
                value,
                text: format_value(unit, Some(value)),
                src: "month#/overall/targets/fcr_rate/target".to_owned(),
            }),
        }
    }

    /// The numbers of an attribute, in order of appearance.
    fn attribute_values(svg: &str, name: &str) -> Vec<f64> {
        svg.split(&format!(" {name}=\""))
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse().ok())
            .collect()
    }

    #[test]
    fn one_point_per_period_even_without_a_value() {
        let svg = svg(&chart(
            &[Some(0.5), None, Some(0.7), Some(0.9)],
            Unit::Rate,
            None,
        ));
        assert_eq!(svg.matches(r#"<g class="point"#).count(), 4);
        assert_eq!(svg.matches(r#"<g class="point missing""#).count(), 1);
        assert_eq!(svg.matches("<circle").count(), 3);
        // The line is broken at the missing period: one segment of two
        // points; a lone point has no line.
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains(r#"data-src="month#/groups/1/fcr_rate""#));
    }

    #[test]
    fn the_target_is_dashed_and_values_under_it_are_hollow_squares() {
        let svg = svg(&chart(&[Some(0.9), Some(0.8)], Unit::Rate, Some(0.85)));
        assert!(svg.contains(r#"stroke-dasharray="6 4""#), "{svg}");
        assert!(
            svg.contains(
                r#"<tspan data-src="month#/overall/targets/fcr_rate/target">85.0%</tspan>"#
            )
        );
        assert_eq!(svg.matches(r#"<g class="point below""#).count(), 1);
        assert_eq!(svg.matches("<rect").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        // Without a target, no dashed line.
        let plain = super::svg(&chart(&[Some(0.9)], Unit::Rate, None));
        assert!(!plain.contains("stroke-dasharray"));
    }

    #[test]
    fn every_coordinate_is_inside_the_drawing() {
        for (unit, values) in [
            (Unit::Rate, vec![Some(0.0), Some(1.0), Some(0.3)]),
            (
                Unit::Duration,
                vec![Some(59.0), Some(200_000.0), Some(3.0e7)],
            ),
            (Unit::Count, vec![Some(0.0), Some(47.0), Some(1234.0)]),
            (Unit::Score, vec![Some(1.0), Some(5.0)]),
            (Unit::Count, vec![None, None]),
        ] {
            let svg = svg(&chart(&values, unit, None));
            for name in ["x", "cx", "x1", "x2"] {
                for v in attribute_values(&svg, name) {
                    assert!((0.0..=WIDTH).contains(&v), "{unit:?} {name}={v}");
                }
            }
            for name in ["y", "cy", "y1", "y2"] {
                for v in attribute_values(&svg, name) {
                    assert!((0.0..=HEIGHT).contains(&v), "{unit:?} {name}={v}");
                }
            }
        }
    }

    #[test]
    fn the_scale_reaches_the_largest_value_in_round_steps() {
        assert_eq!(y_scale(Unit::Rate, 0.3), (1.0, 0.25));
        assert_eq!(y_scale(Unit::Count, 47.0), (80.0, 20.0));
        assert_eq!(y_scale(Unit::Count, 0.0), (4.0, 1.0));
        assert_eq!(y_scale(Unit::Duration, 3500.0), (3600.0, 900.0));
        assert_eq!(
            y_scale(Unit::Duration, 4.5 * 86_400.0),
            (8.0 * 86_400.0, 2.0 * 86_400.0)
        );
        assert_eq!(
            y_scale(Unit::Duration, 4.0 * 86_400.0),
            (4.0 * 86_400.0, 86_400.0)
        );
        let (top, _) = y_scale(Unit::Duration, 1.0e9);
        assert!(top >= 1.0e9);
    }

    #[test]
    fn text_is_escaped() {
        let svg = svg(&chart(&[Some(0.5)], Unit::Rate, None));
        assert!(svg.contains("First contact &lt;resolution&gt;"));
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn many_periods_get_thinned_labels_but_every_point() {
        let values: Vec<Option<f64>> = (0..52).map(|i| Some(f64::from(i) / 52.0)).collect();
        let svg = svg(&chart(&values, Unit::Rate, None));
        assert_eq!(svg.matches(r#"<g class="point"#).count(), 52);
        let labels = svg.matches(r#"/key""#).count();
        assert!(labels <= MAX_X_LABELS, "{labels}");
    }
}
