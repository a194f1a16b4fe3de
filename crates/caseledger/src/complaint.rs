//! Regulatory complaint deadlines: the regimes ([`Regime`]), the one rule
//! that computes a complaint's deadline ([`deadline`]), extensions
//! ([`DeadlineClock`]), and which regime applies to which complaint
//! ([`ComplaintPolicy`], with its JSON form).
//!
//! docs/kpis.md ("Complaint deadlines") is the specification; in short:
//! a deadline is counted in a [`BusinessCalendar`]'s time zone from the
//! local date of receipt (the case's `opened`); the day of receipt is not
//! counted; the deadline is the local midnight that ends the last counted
//! day.
//!
//! | regime | unit | base | extensions | last day not a working day |
//! |---|---|---|---|---|
//! | `cn-2020` | calendar days | 15 | 30, then 60 | moves to the next working day |
//! | `uk-fca-disp` | calendar days | 56 (8 weeks) | none | stays |
//! | `uk-fca-psd`, `eu-psd2` | working days | 15 | 35 | n/a |
//! | `us-cfpb` | calendar days | 15 | 60 | stays |
//!
//! A working day is a date with working hours in the calendar
//! ([`BusinessCalendar::is_working_day`]): a make-up day works, a weekend
//! day or a holiday does not. With the default calendar (UTC, every day
//! worked) the rest-day move never applies.
//!
//! Cost: one deadline walks at most the days it counts plus the run of rest
//! days after them (bounded by [`crate::calendar::MAX_SEARCH_DAYS`]), each a
//! lookup in the calendar's holiday and make-up sets.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde_json::Value;

use crate::calendar::{BusinessCalendar, BusinessTimeError};
use crate::vocab::Topic;

vocabulary! {
    /// A regulatory regime for complaint deadlines: the `default` and the
    /// per-topic values of a complaint policy, and the keys of the report's
    /// `complaints.by_regime`.
    Regime, "complaint regime" {
        /// China's 2020 measures for banking and insurance consumer
        /// complaints: 15 calendar days, extended to 30, then 60; a last
        /// day that is not a working day moves to the next working day.
        Cn2020 => "cn-2020",
        /// The UK FCA's DISP rules: a final response within 8 weeks (56
        /// calendar days), no extension.
        UkFcaDisp => "uk-fca-disp",
        /// The UK FCA's rule for payment-services complaints: 15 working
        /// days, 35 in exceptional cases.
        UkFcaPsd => "uk-fca-psd",
        /// The EU's PSD2 payment complaints: 15 working days, 35 in
        /// exceptional cases.
        EuPsd2 => "eu-psd2",
        /// The US CFPB portal: 15 calendar days, 60 for the final response.
        UsCfpb => "us-cfpb",
    }
}

/// How a regime counts its days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayUnit {
    /// Calendar days.
    Calendar,
    /// Working days of the calendar (dates with working hours).
    Working,
}

impl Regime {
    /// The total days a deadline may have: the base first, then each
    /// extension's new total, increasing.
    pub const fn steps(self) -> &'static [u8] {
        match self {
            Regime::Cn2020 => &[15, 30, 60],
            Regime::UkFcaDisp => &[56],
            Regime::UkFcaPsd | Regime::EuPsd2 => &[15, 35],
            Regime::UsCfpb => &[15, 60],
        }
    }

    /// The days of the deadline without extension.
    pub const fn base_days(self) -> u8 {
        self.steps()[0]
    }

    /// How the days are counted.
    pub const fn unit(self) -> DayUnit {
        match self {
            Regime::UkFcaPsd | Regime::EuPsd2 => DayUnit::Working,
            Regime::Cn2020 | Regime::UkFcaDisp | Regime::UsCfpb => DayUnit::Calendar,
        }
    }

    /// Whether a last day that is not a working day moves to the next
    /// working day (China's civil-law rule for periods).
    pub const fn moves_off_rest_days(self) -> bool {
        matches!(self, Regime::Cn2020)
    }

    /// The extension that may follow a deadline of `days`: the regime's
    /// next step, if any.
    pub fn next_step(self, days: u8) -> Option<u8> {
        self.steps().iter().copied().find(|&s| s > days)
    }
}

/// Whether `days` is an extension's total in some regime (a step after a
/// base): the history invariant of `deadline_extended`, which cannot know
/// the complaint policy (docs/events.md).
pub fn is_extension_step(days: u8) -> bool {
    Regime::ALL
        .iter()
        .any(|r| r.steps().iter().skip(1).any(|&s| s == days))
}

/// Every regime's extension steps, as an error lists them:
/// "cn-2020: 30, 60; uk-fca-disp: none; ...".
pub fn extension_steps_text() -> String {
    Regime::ALL
        .iter()
        .map(|r| {
            let steps: Vec<String> = r.steps()[1..].iter().map(u8::to_string).collect();
            let steps = if steps.is_empty() {
                "none".to_owned()
            } else {
                steps.join(", ")
            };
            format!("{r}: {steps}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A recorded extension: when, and to how many days (a case's
/// `deadline_extended` events, in [`crate::Case::extensions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Extension {
    /// When it was recorded.
    #[serde(serialize_with = "ser_ts")]
    pub at: DateTime<Utc>,
    /// The new total days.
    pub days: u8,
}

fn ser_ts<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::format_timestamp(t))
}

/// Why a deadline could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeadlineError {
    /// The calendar has too few working days (within 20 years).
    #[error(transparent)]
    Calendar(#[from] BusinessTimeError),
    /// The last counted day is 9999-12-31 or later, past the dates a log
    /// can hold.
    #[error("the last day counted, {last_day}, is past the year 9999")]
    PastYear9999 {
        /// The last counted day.
        last_day: NaiveDate,
    },
}

/// The deadline of a complaint received at `opened_at` under `regime`,
/// counted in `calendar` over `days` (the base, or an extension's total):
/// the instant at which it becomes overdue. The one implementation of the
/// rule in the module documentation.
pub fn deadline(
    regime: Regime,
    calendar: &BusinessCalendar,
    opened_at: DateTime<Utc>,
    days: u8,
) -> Result<DateTime<Utc>, DeadlineError> {
    let received = calendar.local_date(opened_at);
    let mut last = match regime.unit() {
        DayUnit::Working => calendar.add_business_days(received, u32::from(days))?,
        DayUnit::Calendar => received
            .checked_add_days(Days::new(u64::from(days)))
            .ok_or(DeadlineError::PastYear9999 { last_day: received })?,
    };
    if regime.moves_off_rest_days() && !calendar.is_working_day(last) {
        last = calendar.next_working_day(last)?;
    }
    match last.succ_opt() {
        Some(end) if end.year() <= 9999 => Ok(calendar.start_of_local_day(end)),
        _ => Err(DeadlineError::PastYear9999 { last_day: last }),
    }
}

/// What one `deadline_extended` did to a complaint's deadline, by the
/// process policy (docs/kpis.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionVerdict {
    /// Recorded before the deadline then in force, to the regime's next
    /// step: the deadline is now counted over its days.
    Granted,
    /// Recorded at or after the deadline then in force: the complaint was
    /// overdue already; the deadline does not move (a `late_extensions`
    /// finding).
    Late {
        /// The deadline in force when it was recorded.
        deadline: DateTime<Utc>,
    },
    /// Its days are not the regime's next step (a history recorded under
    /// another policy, or that skipped a step): the deadline does not move.
    NotNextStep {
        /// The next step the regime allowed, if any.
        expected: Option<u8>,
    },
}

/// A complaint's deadline as its extensions come in: the one place the
/// process policy on extensions is applied, by the report (to a recorded
/// history) and by the service (to a command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineClock {
    regime: Regime,
    opened_at: DateTime<Utc>,
    days: u8,
    deadline: Result<DateTime<Utc>, DeadlineError>,
}

impl DeadlineClock {
    /// The clock of a complaint received at `opened_at`: the regime's base
    /// deadline.
    pub fn new(
        regime: Regime,
        calendar: &BusinessCalendar,
        opened_at: DateTime<Utc>,
    ) -> DeadlineClock {
        let days = regime.base_days();
        DeadlineClock {
            regime,
            opened_at,
            days,
            deadline: deadline(regime, calendar, opened_at, days),
        }
    }

    /// The days of the deadline in force (the base or the latest granted
    /// extension's).
    pub fn days(&self) -> u8 {
        self.days
    }

    /// The deadline in force; an error when the calendar cannot place it.
    pub fn deadline(&self) -> Result<DateTime<Utc>, &DeadlineError> {
        self.deadline.as_ref().map(|d| *d)
    }

    /// The clock after a complaint's recorded extensions, in order, and how
    /// many of them were late.
    pub fn replay(
        regime: Regime,
        calendar: &BusinessCalendar,
        opened_at: DateTime<Utc>,
        extensions: impl IntoIterator<Item = Extension>,
    ) -> (DeadlineClock, u32) {
        let mut clock = DeadlineClock::new(regime, calendar, opened_at);
        let mut late = 0;
        for e in extensions {
            if let ExtensionVerdict::Late { .. } = clock.extend(calendar, e.at, e.days) {
                late += 1;
            }
        }
        (clock, late)
    }

    /// Judges an extension to `days` recorded at `at`, and moves the
    /// deadline when it is granted. A deadline the calendar cannot place is
    /// never reached, so an extension is not late against it.
    pub fn extend(
        &mut self,
        calendar: &BusinessCalendar,
        at: DateTime<Utc>,
        days: u8,
    ) -> ExtensionVerdict {
        let expected = self.regime.next_step(self.days);
        if expected != Some(days) {
            return ExtensionVerdict::NotNextStep { expected };
        }
        if let Ok(d) = self.deadline
            && at >= d
        {
            return ExtensionVerdict::Late { deadline: d };
        }
        self.days = days;
        self.deadline = deadline(self.regime, calendar, self.opened_at, days);
        ExtensionVerdict::Granted
    }
}

/// Where a complaint stands against its deadline as of T: the one rule
/// (docs/kpis.md, "Complaint deadlines") that the report counts and the
/// case board shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ComplaintState {
    /// Resolved (at T) strictly before its deadline.
    WithinDeadline,
    /// Resolved at or after its deadline, or unresolved at T and T at or
    /// after it.
    Overdue,
    /// Unresolved at T, T before the deadline.
    Pending,
}

impl ComplaintState {
    /// The state of a complaint whose deadline is `deadline_ms` (`None`: a
    /// deadline the calendar cannot place, never reached), resolved at
    /// `resolved_ms` when it is resolved (or closed) at T, as of `t_ms`;
    /// instants in milliseconds since the Unix epoch.
    pub fn judge(deadline_ms: Option<i64>, resolved_ms: Option<i64>, t_ms: i64) -> ComplaintState {
        let deadline_ms = deadline_ms.unwrap_or(i64::MAX);
        match resolved_ms {
            Some(resolved) if resolved < deadline_ms => ComplaintState::WithinDeadline,
            Some(_) => ComplaintState::Overdue,
            None if t_ms < deadline_ms => ComplaintState::Pending,
            None => ComplaintState::Overdue,
        }
    }

    /// The wire name: `within_deadline`, `overdue` or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintState::WithinDeadline => "within_deadline",
            ComplaintState::Overdue => "overdue",
            ComplaintState::Pending => "pending",
        }
    }
}

/// Which regime applies to which complaint, and the calendar its days are
/// counted in: a default regime (`cn-2020` unless said otherwise) and
/// overrides per topic (the case's latest topic).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComplaintPolicy {
    /// The regime of a complaint whose topic has no override.
    pub default: Regime,
    /// Overrides by topic.
    pub topics: BTreeMap<Topic, Regime>,
    /// The calendar days are counted in (time zone, working days).
    pub calendar: BusinessCalendar,
}

impl Default for Regime {
    /// `cn-2020`.
    fn default() -> Self {
        Regime::Cn2020
    }
}

/// Why the complaint policy refuses an extension command (the process
/// policy; on a recorded history the report counts a late one in
/// `late_extensions` instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionRefused {
    /// The case has no classification, so no regime applies yet.
    #[error("the case is not classified as a complaint")]
    NotAComplaint,
    /// Its days are not the regime's next step.
    #[error("{regime} allows {} next, not {requested} days", expected.map_or_else(|| "no further extension".to_owned(), |d| format!("an extension to {d} days")))]
    NotNextStep {
        /// The case's regime.
        regime: Regime,
        /// The next step, if any.
        expected: Option<u8>,
        /// The days asked for.
        requested: u8,
    },
    /// The deadline in force has passed: the complaint is overdue already.
    #[error(
        "the deadline {} has passed; an extension must be recorded before it",
        crate::time::format_timestamp(deadline)
    )]
    Late {
        /// The deadline in force.
        deadline: DateTime<Utc>,
    },
}

/// The largest complaint policy JSON accepted, in bytes: a policy names at
/// most one regime per topic, a few hundred bytes.
pub const MAX_COMPLAINT_POLICY_JSON_BYTES: usize = 64 * 1024;

/// Why a complaint policy's JSON was refused; each names the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComplaintPolicyError {
    /// The text is longer than [`MAX_COMPLAINT_POLICY_JSON_BYTES`].
    #[error("the complaint policy is {bytes} bytes; at most {MAX_COMPLAINT_POLICY_JSON_BYTES}")]
    TooLong {
        /// Its length.
        bytes: usize,
    },
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// A key is given twice in one object (at any depth), such as
    /// `topics.card`: JSON leaves duplicates undefined, and keeping the last
    /// one silently would apply a regime the writer may not have seen.
    #[error("{}", crate::unique_json::twice(key))]
    DuplicateKey {
        /// The key's path.
        key: String,
    },
    /// The JSON is not an object.
    #[error(
        r#"expected an object like {{"default": "cn-2020", "topics": {{"card": "eu-psd2"}}}}, found {found}"#
    )]
    NotAnObject {
        /// What was found instead.
        found: &'static str,
    },
    /// A key other than `default` and `topics`.
    #[error("unknown field `{field}`; allowed: default, topics")]
    UnknownField {
        /// The key.
        field: String,
    },
    /// A field's value is not what it must be.
    #[error("{field}: expected {expected}, found {found}")]
    WrongType {
        /// The field's path (`default`, `topics`, `topics.card`).
        field: String,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A regime or a topic that does not exist.
    #[error("{field}: {source}")]
    Unknown {
        /// The field's path.
        field: String,
        /// The vocabulary's error, listing the allowed values.
        source: crate::vocab::UnknownValue,
    },
}

fn kind(v: &Value) -> &'static str {
    crate::event::kind_of(v)
}

impl ComplaintPolicy {
    /// The regime of a complaint with this latest topic.
    pub fn regime(&self, topic: Option<Topic>) -> Regime {
        topic
            .and_then(|t| self.topics.get(&t).copied())
            .unwrap_or(self.default)
    }

    /// The process policy on an extension command: a complaint with latest
    /// topic `topic`, received at `opened_at`, with the `earlier`
    /// extensions recorded, may be extended to `days` at `at` when `days`
    /// is its regime's next step and `at` is before the deadline in force.
    pub fn check_extension(
        &self,
        topic: Option<Topic>,
        opened_at: DateTime<Utc>,
        earlier: &[Extension],
        at: DateTime<Utc>,
        days: u8,
    ) -> Result<(), ExtensionRefused> {
        let Some(topic) = topic else {
            return Err(ExtensionRefused::NotAComplaint);
        };
        let regime = self.regime(Some(topic));
        let (mut clock, _) =
            DeadlineClock::replay(regime, &self.calendar, opened_at, earlier.iter().copied());
        match clock.extend(&self.calendar, at, days) {
            ExtensionVerdict::Granted => Ok(()),
            ExtensionVerdict::Late { deadline } => Err(ExtensionRefused::Late { deadline }),
            ExtensionVerdict::NotNextStep { expected } => Err(ExtensionRefused::NotNextStep {
                regime,
                expected,
                requested: days,
            }),
        }
    }

    /// This policy counting days in `calendar`.
    pub fn with_calendar(mut self, calendar: BusinessCalendar) -> ComplaintPolicy {
        self.calendar = calendar;
        self
    }

    /// Reads a policy from its JSON form,
    /// `{"default": "cn-2020", "topics": {"card": "eu-psd2"}}`: both fields
    /// optional (`default` is `cn-2020`, `topics` empty), no other field.
    /// The calendar is the default one; set it with
    /// [`with_calendar`](Self::with_calendar).
    pub fn from_json(text: &str) -> Result<ComplaintPolicy, ComplaintPolicyError> {
        if text.len() > MAX_COMPLAINT_POLICY_JSON_BYTES {
            return Err(ComplaintPolicyError::TooLong { bytes: text.len() });
        }
        let v = crate::unique_json::parse(text).map_err(|e| match e {
            crate::unique_json::JsonError::Syntax(e) => ComplaintPolicyError::NotJson(e),
            crate::unique_json::JsonError::DuplicateKey(key) => {
                ComplaintPolicyError::DuplicateKey { key }
            }
        })?;
        ComplaintPolicy::from_json_value(&v)
    }

    /// [`from_json`](Self::from_json) on a parsed value.
    pub fn from_json_value(v: &Value) -> Result<ComplaintPolicy, ComplaintPolicyError> {
        let Some(fields) = v.as_object() else {
            return Err(ComplaintPolicyError::NotAnObject { found: kind(v) });
        };
        if let Some(field) = fields.keys().find(|k| *k != "default" && *k != "topics") {
            return Err(ComplaintPolicyError::UnknownField {
                field: field.clone(),
            });
        }
        let regime = |field: String, v: &Value| -> Result<Regime, ComplaintPolicyError> {
            let Some(s) = v.as_str() else {
                return Err(ComplaintPolicyError::WrongType {
                    field,
                    expected: "a regime name (a string)",
                    found: kind(v),
                });
            };
            Regime::parse(s).map_err(|source| ComplaintPolicyError::Unknown { field, source })
        };
        let mut policy = ComplaintPolicy::default();
        if let Some(d) = fields.get("default").filter(|d| !d.is_null()) {
            policy.default = regime("default".to_owned(), d)?;
        }
        if let Some(t) = fields.get("topics").filter(|t| !t.is_null()) {
            let Some(topics) = t.as_object() else {
                return Err(ComplaintPolicyError::WrongType {
                    field: "topics".to_owned(),
                    expected: "an object of topic: regime",
                    found: kind(t),
                });
            };
            for (name, r) in topics {
                let field = format!("topics.{name}");
                let topic = Topic::parse(name).map_err(|source| ComplaintPolicyError::Unknown {
                    field: field.clone(),
                    source,
                })?;
                policy.topics.insert(topic, regime(field, r)?);
            }
        }
        Ok(policy)
    }
}
