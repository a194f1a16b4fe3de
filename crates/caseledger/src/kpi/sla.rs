//! SLA targets by priority ([`SlaPolicy`], with its JSON form) and the
//! verdict on one target: met, breached or still pending.

use serde::{Deserialize, Serialize};

use crate::vocab::Priority;

/// A response and a resolution target, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    /// The first response must come within this many seconds of opening.
    pub response_s: i64,
    /// The case must be resolved within this many seconds of opening.
    pub resolution_s: i64,
}

/// SLA targets by priority. An embedding program or the CLI's policy file
/// may replace the default; unclassified cases use `normal`. Its JSON form
/// is read by [`SlaPolicy::from_json_value`] (also as serde's `Deserialize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlaPolicy {
    /// Targets for `low`.
    pub low: SlaTarget,
    /// Targets for `normal` (and unclassified cases).
    pub normal: SlaTarget,
    /// Targets for `high`.
    pub high: SlaTarget,
    /// Targets for `urgent`.
    pub urgent: SlaTarget,
}

impl Default for SlaPolicy {
    /// urgent 1 h / 24 h, high 4 h / 72 h, normal 24 h / 168 h, low 72 h / 336 h.
    fn default() -> Self {
        let hours = |r: i64, s: i64| SlaTarget {
            response_s: r * 3600,
            resolution_s: s * 3600,
        };
        SlaPolicy {
            low: hours(72, 336),
            normal: hours(24, 168),
            high: hours(4, 72),
            urgent: hours(1, 24),
        }
    }
}

impl SlaPolicy {
    /// The target for a priority (`None`: unclassified, counted as normal).
    pub fn target(&self, priority: Option<Priority>) -> SlaTarget {
        match priority.unwrap_or(Priority::Normal) {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }

    /// One target's JSON form, as error messages show it.
    pub const TARGET_EXAMPLE: &'static str = r#"{"response_s": 14400, "resolution_s": 259200}"#;

    /// Reads a policy from JSON text: see [`SlaPolicy::from_json_value`].
    pub fn from_json(text: &str) -> Result<SlaPolicy, SlaPolicyError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(SlaPolicyError::NotJson)?;
        SlaPolicy::from_json_value(&v)
    }

    /// Reads a policy from its JSON form: an object with a target for every
    /// priority (`low`, `normal`, `high`, `urgent`), each target
    /// `{"response_s": 14400, "resolution_s": 259200}` in whole seconds above
    /// 0. An error names the priority and field and shows the expected shape.
    pub fn from_json_value(v: &serde_json::Value) -> Result<SlaPolicy, SlaPolicyError> {
        let Some(fields) = v.as_object() else {
            return Err(SlaPolicyError::NotAnObject { found: shown(v) });
        };
        if let Some(unknown) = fields.keys().find(|k| Priority::parse(k).is_err()) {
            return Err(SlaPolicyError::UnknownPriority {
                name: unknown.clone(),
            });
        }
        let mut policy = SlaPolicy::default();
        for &priority in Priority::ALL {
            let Some(target) = fields.get(priority.as_str()) else {
                return Err(SlaPolicyError::MissingPriority { priority });
            };
            let target = target_of(target)
                .map_err(|problem| SlaPolicyError::BadTarget { priority, problem })?;
            match priority {
                Priority::Low => policy.low = target,
                Priority::Normal => policy.normal = target,
                Priority::High => policy.high = target,
                Priority::Urgent => policy.urgent = target,
            }
        }
        Ok(policy)
    }

    /// Checks that every target is positive.
    pub fn validate(&self) -> Result<(), SlaError> {
        for priority in Priority::ALL.iter().copied() {
            let t = self.target(Some(priority));
            if t.response_s <= 0 || t.resolution_s <= 0 {
                return Err(SlaError::NotPositive { priority });
            }
        }
        Ok(())
    }
}

/// Why [`SlaPolicy::validate`] refused a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SlaError {
    /// A target of this priority is zero or negative.
    #[error("{}: targets must be positive numbers of seconds", priority.as_str())]
    NotPositive {
        /// The priority.
        priority: Priority,
    },
}

/// The priorities' names, as an error lists them: "low, normal, high, urgent".
fn priority_names() -> String {
    Priority::ALL
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why [`SlaPolicy::from_json`] or [`SlaPolicy::from_json_value`] refused a
/// policy: a kind to match; the JSON parser's error, or the target's
/// problem, is its [`source()`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlaPolicyError {
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is not an object.
    #[error(
        "expected an object with a target for each priority ({}), like {{\"high\": {}}}, found {found}",
        priority_names(),
        SlaPolicy::TARGET_EXAMPLE
    )]
    NotAnObject {
        /// The value found, as shown (cut to 40 characters).
        found: String,
    },
    /// A key that is not a priority.
    #[error("unknown priority `{name}`: the priorities are {}", priority_names())]
    UnknownPriority {
        /// The key.
        name: String,
    },
    /// A priority without a target.
    #[error(
        "priority `{}` is missing: every priority needs a target, like \"{}\": {}",
        priority.as_str(),
        priority.as_str(),
        SlaPolicy::TARGET_EXAMPLE
    )]
    MissingPriority {
        /// The priority.
        priority: Priority,
    },
    /// A priority's target is malformed.
    #[error(
        "priority `{}`: {problem}; expected a target like {} (whole seconds above 0)",
        priority.as_str(),
        SlaPolicy::TARGET_EXAMPLE
    )]
    BadTarget {
        /// The priority.
        priority: Priority,
        /// What is wrong with its target.
        #[source]
        problem: SlaTargetError,
    },
}

/// What is wrong with one SLA target: the problem of
/// [`SlaPolicyError::BadTarget`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SlaTargetError {
    /// The target is not an object.
    #[error("found {found}")]
    NotAnObject {
        /// The value found, as shown.
        found: String,
    },
    /// A field other than `response_s` and `resolution_s`.
    #[error("unknown field `{name}`")]
    UnknownField {
        /// The field.
        name: String,
    },
    /// `response_s` or `resolution_s` is absent.
    #[error("`{field}` is missing")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// `response_s` or `resolution_s` is not a whole number above 0.
    #[error("`{field}` must be a whole number of seconds above 0, found {found}")]
    NotPositiveSeconds {
        /// The field.
        field: &'static str,
        /// The value found, as shown.
        found: String,
    },
}

impl<'de> Deserialize<'de> for SlaPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        SlaPolicy::from_json_value(&v).map_err(serde::de::Error::custom)
    }
}

/// Longest JSON value quoted in an error, in characters: enough to
/// recognise it, short enough for one line.
const MAX_SHOWN_CHARS: usize = 40;

/// A JSON value as an error shows it, cut to [`MAX_SHOWN_CHARS`].
fn shown(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("`{}...`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

/// Reads one SLA target: exactly `response_s` and `resolution_s`, whole
/// seconds above 0.
fn target_of(v: &serde_json::Value) -> Result<SlaTarget, SlaTargetError> {
    let Some(fields) = v.as_object() else {
        return Err(SlaTargetError::NotAnObject { found: shown(v) });
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "response_s" | "resolution_s"))
    {
        return Err(SlaTargetError::UnknownField {
            name: unknown.clone(),
        });
    }
    let seconds = |field: &'static str| match fields.get(field) {
        None => Err(SlaTargetError::Missing { field }),
        Some(n) => match n.as_i64() {
            Some(s) if s > 0 => Ok(s),
            _ => Err(SlaTargetError::NotPositiveSeconds {
                field,
                found: shown(n),
            }),
        },
    };
    Ok(SlaTarget {
        response_s: seconds("response_s")?,
        resolution_s: seconds("resolution_s")?,
    })
}

/// The outcome of one SLA part.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Sla {
    Met,
    Breached,
    Pending,
}

pub(super) fn sla_part(elapsed_ms: Option<i64>, target_s: i64, age_ms: i64) -> Sla {
    let target_ms = target_s.saturating_mul(1000);
    match elapsed_ms {
        Some(e) if e <= target_ms => Sla::Met,
        Some(_) => Sla::Breached,
        None if age_ms > target_ms => Sla::Breached,
        None => Sla::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_priority_whose_target_is_not_positive() {
        assert_eq!(SlaPolicy::default().validate(), Ok(()));
        let mut policy = SlaPolicy::default();
        policy.high.resolution_s = 0;
        let err = policy.validate().unwrap_err();
        assert_eq!(
            err,
            SlaError::NotPositive {
                priority: Priority::High
            }
        );
        assert_eq!(
            err.to_string(),
            "high: targets must be positive numbers of seconds"
        );
    }
}
