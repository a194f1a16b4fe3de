//! KPI targets ([`Targets`]): which figure is checked against what share,
//! read from the targets policy's JSON, and the verdicts a report gives
//! ([`TargetVerdicts`], its `targets` object). docs/kpis.md, "Targets", is
//! the specification.

use serde::Serialize;
use serde::ser::SerializeMap;

vocabulary! {
    /// A figure that may have a target: the keys of the targets policy and
    /// of the report's `targets` object. [`TargetFigure::value`] is the one
    /// table of which report figure each one is.
    TargetFigure, "target figure" {
        /// The share of satisfied survey answers (`csat.satisfied_share`).
        SatisfiedShare => "satisfied_share",
        /// First contact resolution (`fcr_rate`).
        FcrRate => "fcr_rate",
        /// SLA attainment, met over met and breached (`sla.met_rate`).
        SlaMetRate => "sla_met_rate",
        /// Complaints resolved within their regulatory deadline, over those
        /// with a verdict (`complaints.deadline_rate`).
        DeadlineRate => "deadline_rate",
        /// Follow-ups that confirmed the problem solved, over those
        /// completed (`follow_up.confirmed_rate`).
        ConfirmedRate => "confirmed_rate",
    }
}

/// The number of [`TargetFigure`]s.
const FIGURES: usize = 5;

impl TargetFigure {
    fn index(self) -> usize {
        usize::from(self.code())
    }
}

/// The satisfied share a bank's service standard asks for (85%): the
/// target of `satisfied_share` in the default [`Targets`], and the one
/// place that number is written.
pub const CSAT_TARGET: f64 = 0.85;

/// The targets policy: for each [`TargetFigure`], its target share (from
/// 0 to 1) or none. A figure meets its target when its value is at or
/// above it. The default has one target, `satisfied_share` at
/// [`CSAT_TARGET`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    /// By [`TargetFigure::code`].
    values: [Option<f64>; FIGURES],
}

impl Default for Targets {
    fn default() -> Self {
        let mut values = [None; FIGURES];
        values[TargetFigure::SatisfiedShare.index()] = Some(CSAT_TARGET);
        Targets { values }
    }
}

/// Why a targets policy was refused: a kind to match, naming the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetsError {
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// A key is given twice (`{"fcr_rate": 0.7, "fcr_rate": 0.1}`): JSON
    /// leaves duplicates undefined, and keeping the last one silently would
    /// judge against a target the writer may not have seen.
    #[error("{}", crate::unique_json::twice(key))]
    DuplicateKey {
        /// The key's path.
        key: String,
    },
    /// The JSON is not an object.
    #[error("expected an object of targets like {{\"fcr_rate\": 0.7}}, found {found}")]
    NotAnObject {
        /// The JSON type found (`an array`).
        found: &'static str,
    },
    /// A key that is not a figure with a target.
    #[error("unknown target `{key}`; allowed: {}", allowed_names())]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A target that is not a number from 0 to 1 (or `null`, no target).
    #[error("target `{key}`: expected a share from 0 to 1 (like 0.85) or null, found {found}")]
    OutOfRange {
        /// The key.
        key: String,
        /// The value found, as JSON writes it (cut to 40 characters).
        found: String,
    },
    /// [`Targets::set`] with a share outside 0 to 1.
    #[error("target `{figure}`: {value} is not a share from 0 to 1")]
    NotAShare {
        /// The figure.
        figure: TargetFigure,
        /// The value given.
        value: f64,
    },
}

fn allowed_names() -> String {
    TargetFigure::ALL
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The largest targets policy [`Targets::from_json`] reads, in bytes: five
/// keys and their numbers take a few hundred.
pub const MAX_TARGETS_JSON_BYTES: usize = 64 * 1024;

/// Longest JSON value quoted in an error, in characters.
const MAX_SHOWN_CHARS: usize = 40;

/// `value` as a target if it is a share from 0 to 1 (NaN is not), the one
/// rule of [`Targets::set`] and [`Targets::from_json_value`]; `-0` is 0,
/// else the JSON, table and page would show `-0.0` (`-0.0%`) for it.
fn share(value: f64) -> Option<f64> {
    match (0.0..=1.0).contains(&value) {
        true if value == 0.0 => Some(0.0),
        true => Some(value),
        false => None,
    }
}

impl Targets {
    /// No figure has a target.
    pub fn none() -> Targets {
        Targets {
            values: [None; FIGURES],
        }
    }

    /// The target of `figure`, if it has one.
    pub fn get(&self, figure: TargetFigure) -> Option<f64> {
        self.values[figure.index()]
    }

    /// Sets (or, with `None`, removes) the target of `figure`; a target is
    /// a share from 0 to 1.
    pub fn set(&mut self, figure: TargetFigure, target: Option<f64>) -> Result<(), TargetsError> {
        let target = match target {
            None => None,
            Some(value) => match share(value) {
                Some(t) => Some(t),
                None => return Err(TargetsError::NotAShare { figure, value }),
            },
        };
        self.values[figure.index()] = target;
        Ok(())
    }

    /// Reads a targets policy from JSON text: see
    /// [`Targets::from_json_value`]. Texts longer than
    /// [`MAX_TARGETS_JSON_BYTES`] are the caller's to refuse.
    pub fn from_json(text: &str) -> Result<Targets, TargetsError> {
        let v = crate::unique_json::parse(text).map_err(|e| match e {
            crate::unique_json::JsonError::Syntax(e) => TargetsError::NotJson(e),
            crate::unique_json::JsonError::DuplicateKey(key) => TargetsError::DuplicateKey { key },
        })?;
        Targets::from_json_value(&v)
    }

    /// Reads a targets policy: an object whose keys are
    /// [`TargetFigure`] names, each a number from 0 to 1 (the target) or
    /// `null` (no target). A key left out keeps its default: only
    /// `satisfied_share` has one ([`CSAT_TARGET`]). An unknown key, or a
    /// value that is not a share, is refused with the key named.
    pub fn from_json_value(v: &serde_json::Value) -> Result<Targets, TargetsError> {
        let Some(fields) = v.as_object() else {
            return Err(TargetsError::NotAnObject {
                found: crate::event::kind_of(v),
            });
        };
        let mut targets = Targets::default();
        for (key, value) in fields {
            let Ok(figure) = TargetFigure::parse(key) else {
                return Err(TargetsError::UnknownKey { key: key.clone() });
            };
            let target = match value {
                serde_json::Value::Null => None,
                v => match v.as_f64().and_then(share) {
                    Some(t) => Some(t),
                    None => {
                        return Err(TargetsError::OutOfRange {
                            key: key.clone(),
                            found: shown(v),
                        });
                    }
                },
            };
            targets.values[figure.index()] = target;
        }
        Ok(targets)
    }

    /// The verdict of each figure with a target, given each figure's
    /// value ([`Targets::verdicts`] asks a report's figures: in
    /// `report.rs`, beside them, so that this module needs no report).
    pub(super) fn verdicts_by(
        &self,
        value: impl Fn(TargetFigure) -> Option<f64>,
    ) -> TargetVerdicts {
        TargetVerdicts(std::array::from_fn(|i| {
            let figure = TargetFigure::ALL[i];
            self.values[i].map(|target| {
                let value = value(figure);
                TargetVerdict {
                    target,
                    value,
                    meets_target: value.map(|v| v >= target),
                }
            })
        }))
    }
}

/// A JSON value as an error shows it, cut to [`MAX_SHOWN_CHARS`].
fn shown(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// One figure against its target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetVerdict {
    /// The target share.
    pub target: f64,
    /// The figure's value (`None`: undefined).
    pub value: Option<f64>,
    /// `value` ≥ `target` (`None` when the value is undefined).
    pub meets_target: Option<bool>,
}

/// The report's `targets` object: a JSON object keyed by figure name, in
/// the order of [`TargetFigure::ALL`], holding the figures that have a
/// target (the same keys in every group).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TargetVerdicts([Option<TargetVerdict>; FIGURES]);

impl TargetVerdicts {
    /// The verdict of `figure`, if it has a target.
    pub fn get(&self, figure: TargetFigure) -> Option<&TargetVerdict> {
        self.0[figure.index()].as_ref()
    }
}

impl Serialize for TargetVerdicts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (figure, v) in TargetFigure::ALL.iter().zip(&self.0) {
            if let Some(v) = v {
                m.serialize_entry(figure.as_str(), v)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figure_table_is_complete() {
        assert_eq!(TargetFigure::ALL.len(), FIGURES);
    }

    #[test]
    fn the_default_has_only_the_satisfied_share() {
        let t = Targets::default();
        for &f in TargetFigure::ALL {
            let expected = (f == TargetFigure::SatisfiedShare).then_some(CSAT_TARGET);
            assert_eq!(t.get(f), expected, "{f}");
        }
    }

    #[test]
    fn a_policy_sets_removes_and_keeps_targets() {
        let t = Targets::from_json(r#"{"fcr_rate": 0.7, "deadline_rate": 1}"#).unwrap();
        assert_eq!(t.get(TargetFigure::FcrRate), Some(0.7));
        assert_eq!(t.get(TargetFigure::DeadlineRate), Some(1.0));
        assert_eq!(t.get(TargetFigure::SatisfiedShare), Some(CSAT_TARGET));
        assert_eq!(t.get(TargetFigure::SlaMetRate), None);
        let t = Targets::from_json(r#"{"satisfied_share": null, "sla_met_rate": 0}"#).unwrap();
        assert_eq!(t.get(TargetFigure::SatisfiedShare), None);
        assert_eq!(t.get(TargetFigure::SlaMetRate), Some(0.0));
    }

    #[test]
    fn bad_policies_name_the_key() {
        let err = Targets::from_json(r#"{"fcr": 0.7}"#).unwrap_err();
        assert!(matches!(&err, TargetsError::UnknownKey { key } if key == "fcr"));
        assert_eq!(
            err.to_string(),
            "unknown target `fcr`; allowed: satisfied_share, fcr_rate, sla_met_rate, \
             deadline_rate, confirmed_rate"
        );
        for bad in ["1.5", "-0.1", "\"0.8\"", "true", "[0.8]"] {
            let err = Targets::from_json(&format!(r#"{{"confirmed_rate": {bad}}}"#)).unwrap_err();
            assert!(
                matches!(&err, TargetsError::OutOfRange { key, .. } if key == "confirmed_rate"),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(bad), "{err}");
        }
        assert!(matches!(
            Targets::from_json("[]").unwrap_err(),
            TargetsError::NotAnObject { found: "an array" }
        ));
        assert!(matches!(
            Targets::from_json("{").unwrap_err(),
            TargetsError::NotJson(_)
        ));
        // A key given twice is refused, not judged against the last value.
        let err = Targets::from_json(r#"{"fcr_rate": 0.7, "fcr_rate": 0.1}"#).unwrap_err();
        assert!(
            matches!(&err, TargetsError::DuplicateKey { key } if key == "fcr_rate"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "`fcr_rate` is given twice; each key may appear once"
        );
        let mut t = Targets::none();
        assert!(matches!(
            t.set(TargetFigure::FcrRate, Some(f64::NAN)),
            Err(TargetsError::NotAShare { .. })
        ));
        assert_eq!(t, Targets::none());
    }

    /// `-0` is the target 0 however it is given: set by a program as from
    /// a file (`set` kept `-0.0`, which a report shows as `-0.0%`).
    #[test]
    fn minus_zero_is_the_target_zero_from_set_and_from_json() {
        let mut t = Targets::none();
        t.set(TargetFigure::FcrRate, Some(-0.0)).unwrap();
        let set = t.get(TargetFigure::FcrRate).unwrap();
        let json = Targets::from_json(r#"{"fcr_rate": -0.0}"#).unwrap();
        let read = json.get(TargetFigure::FcrRate).unwrap();
        for value in [set, read] {
            assert_eq!(value, 0.0);
            assert!(value.is_sign_positive(), "{value}");
        }
    }
}
