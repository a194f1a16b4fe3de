//! SLA targets by priority, tier and category ([`SlaPolicy`], with its two JSON
//! forms), and the one SLA rule: the verdict on a case as of T
//! ([`SlaPolicy::verdict`]), met, breached, pending or at risk, on the
//! policy's business calendar with the resolution clock paused while the
//! bank waits on the customer (docs/kpis.md, "SLA").

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::calendar::{BusinessCalendar, CalendarTimeline};
use crate::vocab::{Category, Priority, Tier};

/// A response and a resolution target, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    /// The first response must come within this many seconds of opening.
    pub response_s: i64,
    /// The case must be resolved within this many seconds of opening.
    pub resolution_s: i64,
}

/// SLA targets by priority, with per-tier and per-category overrides
/// ([`SlaPolicy::target_for`] says which wins), counted on a
/// business calendar. An embedding program or the CLI's policy file may
/// replace the default; unclassified cases use `normal`. Its JSON forms are
/// read by [`SlaPolicy::from_json_value`] (also as serde's `Deserialize`).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Targets for `low`.
    pub low: SlaTarget,
    /// Targets for `normal` (and unclassified cases).
    pub normal: SlaTarget,
    /// Targets for `high`.
    pub high: SlaTarget,
    /// Targets for `urgent`.
    pub urgent: SlaTarget,
    /// Targets that win over the priority's for a category (the latest
    /// classification's), by priority; empty by default.
    pub categories: BTreeMap<Category, BTreeMap<Priority, SlaTarget>>,
    /// Targets that win over the priority's for a customer tier, by
    /// priority (a category's override wins over them); empty by default.
    pub tiers: BTreeMap<Tier, BTreeMap<Priority, SlaTarget>>,
    /// A pending case is at risk once the business time elapsed on one of
    /// its pending targets has reached this share of it (above 0, at most
    /// 1; [`DEFAULT_WARN_AT`] by default).
    pub warn_at: f64,
    /// The calendar whose business seconds the targets count (the default,
    /// every hour of every day in UTC, counts calendar hours).
    pub calendar: BusinessCalendar,
    /// Where the calendar comes from, as the policy file says.
    pub calendar_source: SlaCalendarSource,
}

/// The share of a target at which a pending case is at risk when the policy
/// names none: 80%, the warning level service desks commonly use.
pub const DEFAULT_WARN_AT: f64 = 0.8;

/// Where an [`SlaPolicy`]'s calendar comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlaCalendarSource {
    /// Calendar hours: the default policy and the first JSON form (a target
    /// per priority); the default calendar, whatever the report's.
    CalendarHours,
    /// The second JSON form without a `calendar`: the report's calendar
    /// (the command line's `--calendar`), else the default one.
    Report,
    /// The second JSON form's `calendar`, a file name the reader resolves
    /// (the command line: relative to the policy file's folder).
    File(String),
    /// The second JSON form's `calendar`, given inline as an object.
    Inline,
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
            categories: BTreeMap::new(),
            tiers: BTreeMap::new(),
            warn_at: DEFAULT_WARN_AT,
            calendar: BusinessCalendar::default(),
            calendar_source: SlaCalendarSource::CalendarHours,
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

    /// The target of a case of a customer of `tier`, classified as
    /// `category` and `priority` (`None`: unclassified, counted as
    /// normal): the one precedence rule, most specific first: the
    /// category's override for that priority, else the tier's override for
    /// it, else the priority's target.
    pub fn target_for(
        &self,
        category: Option<Category>,
        tier: Tier,
        priority: Option<Priority>,
    ) -> SlaTarget {
        let priority = priority.unwrap_or(Priority::Normal);
        let category_override = category
            .and_then(|c| self.categories.get(&c))
            .and_then(|by_priority| by_priority.get(&priority));
        let tier_override = || {
            self.tiers
                .get(&tier)
                .and_then(|by_priority| by_priority.get(&priority))
        };
        category_override
            .or_else(tier_override)
            .copied()
            .unwrap_or_else(|| self.target(Some(priority)))
    }

    /// One target's JSON form, as error messages show it.
    pub const TARGET_EXAMPLE: &'static str = r#"{"response_s": 14400, "resolution_s": 259200}"#;

    /// Reads a policy from JSON text: see [`SlaPolicy::from_json_value`].
    pub fn from_json(text: &str) -> Result<SlaPolicy, SlaPolicyError> {
        if text.len() > MAX_SLA_POLICY_JSON_BYTES {
            return Err(SlaPolicyError::TooLarge { bytes: text.len() });
        }
        let v = crate::unique_json::parse(text).map_err(|e| match e {
            crate::unique_json::JsonError::Syntax(e) => SlaPolicyError::NotJson(e),
            crate::unique_json::JsonError::DuplicateKey(key) => {
                SlaPolicyError::DuplicateKey { key }
            }
        })?;
        SlaPolicy::from_json_value(&v)
    }

    /// Reads a policy from one of its two JSON forms (docs/kpis.md, "SLA").
    ///
    /// The first: an object with a target for every priority (`low`,
    /// `normal`, `high`, `urgent`), each target
    /// `{"response_s": 14400, "resolution_s": 259200}` in whole seconds above
    /// 0, counted in calendar hours, and optional `tiers` as in the second
    /// form. An error names the priority and field and shows the expected
    /// shape.
    ///
    /// The second, told by its `priorities` field: `priorities` (targets by
    /// priority; `normal` required, a priority left out takes `normal`'s),
    /// optional `categories` (by category, targets by priority that win
    /// over the priority's and the tier's), optional `tiers` (by customer
    /// tier, targets by priority that win over the priority's), optional
    /// `warn_at` (above 0, at most 1, kept to
    /// a millionth; [`DEFAULT_WARN_AT`] when absent) and optional `calendar` (a file name
    /// or a calendar object), in business seconds of that calendar. An error
    /// names the field by its path, such as `priorities.urgent`.
    pub fn from_json_value(v: &serde_json::Value) -> Result<SlaPolicy, SlaPolicyError> {
        let Some(fields) = v.as_object() else {
            return Err(SlaPolicyError::NotAnObject { found: shown(v) });
        };
        if fields.contains_key("priorities") {
            return second_form(fields);
        }
        if let Some(unknown) = fields
            .keys()
            .find(|k| *k != "tiers" && Priority::parse(k).is_err())
        {
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
        if let Some(tiers) = fields.get("tiers") {
            policy.tiers = tiers_of(tiers)?;
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
        for by_priority in self.categories.values().chain(self.tiers.values()) {
            for (&priority, t) in by_priority {
                if t.response_s <= 0 || t.resolution_s <= 0 {
                    return Err(SlaError::NotPositive { priority });
                }
            }
        }
        if !(self.warn_at > 0.0 && self.warn_at <= 1.0) {
            return Err(SlaError::WarnAt {
                warn_at: self.warn_at,
            });
        }
        Ok(())
    }
}

/// Why [`SlaPolicy::validate`] refused a policy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SlaError {
    /// A target of this priority is zero or negative.
    #[error("{}: targets must be positive numbers of seconds", priority.as_str())]
    NotPositive {
        /// The priority.
        priority: Priority,
    },
    /// `warn_at` is not above 0 and at most 1.
    #[error("warn_at must be above 0 and at most 1, not {warn_at}")]
    WarnAt {
        /// The share given.
        warn_at: f64,
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

/// The largest SLA policy text [`SlaPolicy::from_json`] reads: room for an
/// inline calendar at its own limit
/// ([`MAX_CALENDAR_JSON_BYTES`](crate::calendar::MAX_CALENDAR_JSON_BYTES))
/// and 64 KiB of targets. Anything larger is the wrong file.
pub const MAX_SLA_POLICY_JSON_BYTES: usize = crate::calendar::MAX_CALENDAR_JSON_BYTES + 64 * 1024;

/// Why [`SlaPolicy::from_json`] or [`SlaPolicy::from_json_value`] refused a
/// policy: a kind to match; the JSON parser's error, or the target's
/// problem, is its [`source()`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlaPolicyError {
    /// The text is longer than [`MAX_SLA_POLICY_JSON_BYTES`].
    #[error("the SLA policy is {bytes} bytes; at most {MAX_SLA_POLICY_JSON_BYTES}")]
    TooLarge {
        /// The text's length in bytes.
        bytes: usize,
    },
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// A key is given twice in one object (at any depth): JSON leaves
    /// duplicates undefined, and keeping the last one silently would judge
    /// against a target the writer may not have seen.
    #[error("{}", crate::unique_json::twice(key))]
    DuplicateKey {
        /// The key's path, such as `priorities.normal.response_s`.
        key: String,
    },
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
    /// A field of the second form (with `priorities`) is wrong.
    #[error("field `{field}`: {problem}")]
    BadField {
        /// The field's path, such as `priorities.urgent` or `warn_at`.
        field: String,
        /// What is wrong with it.
        #[source]
        problem: SlaFieldError,
    },
}

/// What is wrong with a field of the second policy form: the problem of
/// [`SlaPolicyError::BadField`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlaFieldError {
    /// A key the form does not have there.
    #[error("unknown field; allowed: {allowed}")]
    Unknown {
        /// The keys allowed there.
        allowed: String,
    },
    /// A required field is absent.
    #[error("missing; {why}")]
    Missing {
        /// Why it is required.
        why: &'static str,
    },
    /// Not an object where one is required.
    #[error("expected an object, found {found}")]
    NotAnObject {
        /// The value found, as shown.
        found: String,
    },
    /// `warn_at` is not a number above 0 and at most 1.
    #[error("expected a number above 0 and at most 1, found {found}")]
    WarnAt {
        /// The value found, as shown.
        found: String,
    },
    /// `calendar` is neither a file name nor an object.
    #[error("expected a calendar file name or a calendar object, found {found}")]
    CalendarType {
        /// The value found, as shown.
        found: String,
    },
    /// The inline calendar is refused.
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
    /// A target is malformed.
    #[error("{0}; expected a target like {ex} (whole seconds above 0)", ex = SlaPolicy::TARGET_EXAMPLE)]
    Target(#[from] SlaTargetError),
}

/// The fields of the second policy form.
const SECOND_FORM_FIELDS: [&str; 5] = ["calendar", "warn_at", "priorities", "categories", "tiers"];

/// Reads `tiers`: by tier, targets by priority that win over the
/// priority's (and lose to a category's).
fn tiers_of(
    v: &serde_json::Value,
) -> Result<BTreeMap<Tier, BTreeMap<Priority, SlaTarget>>, SlaPolicyError> {
    let Some(by_tier) = v.as_object() else {
        return Err(bad("tiers", SlaFieldError::NotAnObject { found: shown(v) }));
    };
    let mut out = BTreeMap::new();
    for (key, targets) in by_tier {
        let path = format!("tiers.{key}");
        let Ok(tier) = Tier::parse(key) else {
            let allowed = Tier::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>();
            return Err(bad(
                path,
                SlaFieldError::Unknown {
                    allowed: allowed.join(", "),
                },
            ));
        };
        out.insert(tier, targets_by_priority(&path, targets)?);
    }
    Ok(out)
}

fn bad(field: impl Into<String>, problem: SlaFieldError) -> SlaPolicyError {
    SlaPolicyError::BadField {
        field: field.into(),
        problem,
    }
}

/// Reads targets by priority (the object at `path`), each priority at most
/// once (a JSON object's keys are unique).
fn targets_by_priority(
    path: &str,
    v: &serde_json::Value,
) -> Result<BTreeMap<Priority, SlaTarget>, SlaPolicyError> {
    let Some(fields) = v.as_object() else {
        return Err(bad(path, SlaFieldError::NotAnObject { found: shown(v) }));
    };
    let mut out = BTreeMap::new();
    for (key, target) in fields {
        let field = format!("{path}.{key}");
        let Ok(priority) = Priority::parse(key) else {
            return Err(bad(
                field,
                SlaFieldError::Unknown {
                    allowed: priority_names(),
                },
            ));
        };
        let target = target_of(target).map_err(|e| bad(field, e.into()))?;
        out.insert(priority, target);
    }
    Ok(out)
}

/// Reads the second form (see [`SlaPolicy::from_json_value`]).
fn second_form(
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<SlaPolicy, SlaPolicyError> {
    if let Some(unknown) = fields
        .keys()
        .find(|k| !SECOND_FORM_FIELDS.contains(&k.as_str()))
    {
        return Err(bad(
            unknown.clone(),
            SlaFieldError::Unknown {
                allowed: SECOND_FORM_FIELDS.join(", "),
            },
        ));
    }
    let mut policy = SlaPolicy::default();
    let priorities = targets_by_priority("priorities", &fields["priorities"])?;
    let Some(&normal) = priorities.get(&Priority::Normal) else {
        return Err(bad(
            "priorities.normal",
            SlaFieldError::Missing {
                why: "unclassified cases and the priorities left out use its target",
            },
        ));
    };
    let of = |p: Priority| priorities.get(&p).copied().unwrap_or(normal);
    (policy.low, policy.normal, policy.high, policy.urgent) = (
        of(Priority::Low),
        normal,
        of(Priority::High),
        of(Priority::Urgent),
    );
    if let Some(categories) = fields.get("categories") {
        let Some(by_category) = categories.as_object() else {
            return Err(bad(
                "categories",
                SlaFieldError::NotAnObject {
                    found: shown(categories),
                },
            ));
        };
        for (key, targets) in by_category {
            let path = format!("categories.{key}");
            let Ok(category) = Category::parse(key) else {
                let allowed = Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>();
                return Err(bad(
                    path,
                    SlaFieldError::Unknown {
                        allowed: allowed.join(", "),
                    },
                ));
            };
            policy
                .categories
                .insert(category, targets_by_priority(&path, targets)?);
        }
    }
    if let Some(tiers) = fields.get("tiers") {
        policy.tiers = tiers_of(tiers)?;
    }
    if let Some(warn_at) = fields.get("warn_at") {
        match warn_at.as_f64() {
            // Kept to a millionth, so that the policy's own JSON reads back
            // to the same number whatever the float parser's last bit.
            Some(w) if w > 0.0 && w <= 1.0 => {
                policy.warn_at = ((w * 1e6).round() / 1e6).max(1e-6);
            }
            _ => {
                return Err(bad(
                    "warn_at",
                    SlaFieldError::WarnAt {
                        found: shown(warn_at),
                    },
                ));
            }
        }
    }
    policy.calendar_source = match fields.get("calendar") {
        None => SlaCalendarSource::Report,
        Some(serde_json::Value::String(name)) => SlaCalendarSource::File(name.clone()),
        Some(inline @ serde_json::Value::Object(_)) => {
            policy.calendar =
                BusinessCalendar::from_json_value(inline).map_err(|e| bad("calendar", e.into()))?;
            SlaCalendarSource::Inline
        }
        Some(other) => {
            return Err(bad(
                "calendar",
                SlaFieldError::CalendarType {
                    found: shown(other),
                },
            ));
        }
    };
    Ok(policy)
}

/// The first JSON form (targets by priority) when the policy counts calendar
/// hours with nothing of the second form; else the second form (`calendar`
/// written as its file name or inline, absent when it is the report's).
impl Serialize for SlaPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let by_priority = |p: &SlaPolicy| {
            Priority::ALL
                .iter()
                .map(|&k| (k.as_str(), p.target(Some(k))))
                .collect::<Vec<_>>()
        };
        let first_form = self.calendar_source == SlaCalendarSource::CalendarHours
            && self.categories.is_empty()
            && self.warn_at == DEFAULT_WARN_AT;
        let tiers: BTreeMap<&str, BTreeMap<&str, SlaTarget>> = self
            .tiers
            .iter()
            .map(|(t, by)| {
                (
                    t.as_str(),
                    by.iter().map(|(p, t)| (p.as_str(), *t)).collect(),
                )
            })
            .collect();
        let mut m = s.serialize_map(None)?;
        if first_form {
            for (name, target) in by_priority(self) {
                m.serialize_entry(name, &target)?;
            }
            if !tiers.is_empty() {
                m.serialize_entry("tiers", &tiers)?;
            }
            return m.end();
        }
        match &self.calendar_source {
            SlaCalendarSource::File(name) => m.serialize_entry("calendar", name)?,
            SlaCalendarSource::Inline | SlaCalendarSource::CalendarHours => {
                m.serialize_entry("calendar", &self.calendar)?;
            }
            SlaCalendarSource::Report => {}
        }
        m.serialize_entry("warn_at", &self.warn_at)?;
        let priorities: BTreeMap<&str, SlaTarget> = by_priority(self).into_iter().collect();
        m.serialize_entry("priorities", &priorities)?;
        let categories: BTreeMap<&str, BTreeMap<&str, SlaTarget>> = self
            .categories
            .iter()
            .map(|(c, by)| {
                (
                    c.as_str(),
                    by.iter().map(|(p, t)| (p.as_str(), *t)).collect(),
                )
            })
            .collect();
        m.serialize_entry("categories", &categories)?;
        if !tiers.is_empty() {
            m.serialize_entry("tiers", &tiers)?;
        }
        m.end()
    }
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
        let v = crate::unique_json::deserialize(d)?;
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

/// The verdict on one SLA target, or on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// Done within the target.
    Met,
    /// Done late, or not done and already past the target.
    Breached,
    /// Not done, still within the target.
    Pending,
}

/// The verdict on one target of a case as of T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPart {
    /// Met, breached or pending.
    pub state: SlaState,
    /// The business time counted against the target, in milliseconds: up to
    /// the event that met it, or up to T while pending (net of waits for the
    /// resolution target).
    pub elapsed_ms: i64,
    /// The target, in milliseconds of business time.
    pub target_ms: i64,
    /// Pending, and `elapsed_ms` has reached the policy's `warn_at` share of
    /// the target.
    pub at_risk: bool,
}

/// The verdict on a case's two targets as of T ([`SlaPolicy::verdict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaVerdict {
    /// From `opened` to the first response (never paused).
    pub response: SlaPart,
    /// From `opened` to the latest resolution, net of waits on the customer.
    pub resolution: SlaPart,
}

impl SlaVerdict {
    /// The case's verdict: breached if either target is, met if both are,
    /// else pending.
    pub fn state(&self) -> SlaState {
        match (self.response.state, self.resolution.state) {
            (SlaState::Breached, _) | (_, SlaState::Breached) => SlaState::Breached,
            (SlaState::Met, SlaState::Met) => SlaState::Met,
            _ => SlaState::Pending,
        }
    }

    /// Pending, with a pending target at risk.
    pub fn at_risk(&self) -> bool {
        self.state() == SlaState::Pending && (self.response.at_risk || self.resolution.at_risk)
    }
}

/// What the SLA rule needs to know of one case as of T. Instants are
/// milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaCase<'a> {
    /// The latest classification's category (`None`: unclassified).
    pub category: Option<Category>,
    /// The latest classification's priority (`None`: counted as normal).
    pub priority: Option<Priority>,
    /// The customer's tier (from `opened`).
    pub tier: Tier,
    /// When it was opened.
    pub opened_ms: i64,
    /// Its first `responded`, if any.
    pub first_response_ms: Option<i64>,
    /// Its latest `resolved`, when it is resolved (or closed) at T.
    pub resolved_ms: Option<i64>,
    /// Its waits on the customer that ended, `[start, end)`, in order.
    pub waits_ms: &'a [(i64, i64)],
    /// The start of the wait still running at T, if any.
    pub waiting_since_ms: Option<i64>,
}

/// Business time on a policy's calendar, compiled once for many cases
/// ([`SlaPolicy::clock`]); give each thread its own clone.
#[derive(Debug, Clone)]
pub struct SlaClock {
    /// `None`: the default calendar, where business time is elapsed time.
    timeline: Option<CalendarTimeline>,
}

impl SlaClock {
    /// Business time from `start_ms` to `end_ms` (0 when `end_ms` is not
    /// after `start_ms`), O(log n) in the calendar's intervals.
    pub fn business_ms(&mut self, start_ms: i64, end_ms: i64) -> i64 {
        match &mut self.timeline {
            None => end_ms.saturating_sub(start_ms).max(0),
            Some(t) => t.business_ms(start_ms, end_ms),
        }
    }

    /// The earliest instant at which `b_ms` of business time have passed
    /// since `start_ms`; `None` when the calendar cannot place it (too few
    /// working hours before the year 9999).
    pub fn add_business_ms(&mut self, start_ms: i64, b_ms: i64) -> Option<i64> {
        match &mut self.timeline {
            None => start_ms.checked_add(b_ms.max(0)),
            Some(t) => t.add_business_ms(start_ms, b_ms.max(0)).ok(),
        }
    }
}

/// When a case's two targets fall due, as of T ([`SlaPolicy::deadlines`]):
/// instants in milliseconds since the Unix epoch, `None` when the calendar
/// cannot place one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlaDeadlines {
    /// The instant the business time from `opened` reaches the response
    /// target.
    pub response_ms: Option<i64>,
    /// The instant the business time from `opened`, net of the waits on the
    /// customer, reaches the resolution target (a wait still running at T
    /// counted as if it ended at T).
    pub resolution_ms: Option<i64>,
}

impl SlaPolicy {
    /// The clock of this policy's calendar, for [`verdict`](Self::verdict).
    pub fn clock(&self) -> SlaClock {
        let flat = self.calendar == BusinessCalendar::default();
        SlaClock {
            timeline: (!flat).then(|| CalendarTimeline::new(self.calendar.clone())),
        }
    }

    /// The one SLA rule (docs/kpis.md, "SLA"): the verdict on `case` as of
    /// `t_ms`, counted in business time of the policy's calendar by `clock`
    /// (made by [`clock`](Self::clock) of this policy). The response target
    /// runs from `opened` to the first response; the resolution target from
    /// `opened` to the latest resolution, minus the business time of the
    /// waits on the customer. A target not yet met is breached once the
    /// business time elapsed at T is above it, and at risk once it has
    /// reached `warn_at` of it.
    pub fn verdict(&self, clock: &mut SlaClock, case: &SlaCase<'_>, t_ms: i64) -> SlaVerdict {
        let target = self.target_for(case.category, case.tier, case.priority);
        let opened = case.opened_ms;
        let response = match case.first_response_ms {
            Some(r) => self.part(Some(clock.business_ms(opened, r)), 0, target.response_s),
            None => self.part(None, clock.business_ms(opened, t_ms), target.response_s),
        };
        // Waits lie between `opened` and the latest resolution (a wait
        // starts only while open and resolving ends it), so the resolution's
        // business time is the span's minus theirs.
        let end_ms = case.resolved_ms.unwrap_or(t_ms);
        let mut waited_ms: i64 = case
            .waits_ms
            .iter()
            .map(|&(a, b)| clock.business_ms(a, b.min(end_ms)))
            .sum();
        if case.resolved_ms.is_none()
            && let Some(since) = case.waiting_since_ms
        {
            waited_ms += clock.business_ms(since, t_ms);
        }
        let net_ms = (clock.business_ms(opened, end_ms) - waited_ms).max(0);
        let resolution = match case.resolved_ms {
            Some(_) => self.part(Some(net_ms), 0, target.resolution_s),
            None => self.part(None, net_ms, target.resolution_s),
        };
        SlaVerdict {
            response,
            resolution,
        }
    }

    /// The deadlines of `case`'s two targets as of `t_ms`, on the same
    /// clock and by the same counting as [`verdict`](Self::verdict): the
    /// instant at which the business time counted against a target reaches
    /// it. A target done at or before its deadline is met; one not done is
    /// breached once the business time passes beyond it. The resolution
    /// deadline moves later by each wait on the customer (the business time
    /// it takes), and a wait running at T counts up to T.
    pub fn deadlines(&self, clock: &mut SlaClock, case: &SlaCase<'_>, t_ms: i64) -> SlaDeadlines {
        let target = self.target_for(case.category, case.tier, case.priority);
        let opened = case.opened_ms;
        let response_ms = clock.add_business_ms(opened, target.response_s.saturating_mul(1000));
        // As in `verdict`: the waits end by the resolution (or T), and a
        // running wait counts only while the case is unresolved.
        let end_ms = case.resolved_ms.unwrap_or(t_ms);
        let running = case
            .waiting_since_ms
            .filter(|_| case.resolved_ms.is_none())
            .map(|since| (since, t_ms));
        let mut remaining_ms = target.resolution_s.saturating_mul(1000);
        let mut from_ms = opened;
        for (start, end) in case
            .waits_ms
            .iter()
            .map(|&(a, b)| (a, b.min(end_ms)))
            .chain(running)
        {
            let before_ms = clock.business_ms(from_ms, start);
            if before_ms >= remaining_ms {
                break;
            }
            remaining_ms -= before_ms;
            from_ms = from_ms.max(end);
        }
        SlaDeadlines {
            response_ms,
            resolution_ms: clock.add_business_ms(from_ms, remaining_ms),
        }
    }

    /// One target's verdict: `done_ms` is the business time up to the event
    /// that ends it, if it happened; `age_ms` the business time elapsed at T
    /// otherwise.
    fn part(&self, done_ms: Option<i64>, age_ms: i64, target_s: i64) -> SlaPart {
        let target_ms = target_s.saturating_mul(1000);
        let (state, elapsed_ms) = match done_ms {
            Some(e) if e <= target_ms => (SlaState::Met, e),
            Some(e) => (SlaState::Breached, e),
            None if age_ms > target_ms => (SlaState::Breached, age_ms),
            None => (SlaState::Pending, age_ms),
        };
        // warn_at × target, rounded up: at risk once that much has elapsed.
        let warn_ms = (self.warn_at * target_ms as f64).ceil() as i64;
        SlaPart {
            state,
            elapsed_ms,
            target_ms,
            at_risk: state == SlaState::Pending && elapsed_ms >= warn_ms,
        }
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
