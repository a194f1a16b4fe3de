//! The closed vocabularies of a case: channels, tiers, categories, topics,
//! priorities, follow-up purposes and outcomes, escalation levels and scores.
//!
//! Every value here is part of the public event contract (docs/events.md):
//! bank systems store and send these strings, so they never change meaning.
//! Each enum knows its own wire name, its full list of allowed values, and a
//! stable one-byte code (its index in `ALL`) for compact encodings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A string that is not one of a vocabulary's allowed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; allowed: {}", allowed.join(", "))]
pub struct UnknownValue {
    /// What kind of value was expected (`channel`, `topic`, ...).
    pub what: &'static str,
    /// The value that was given.
    pub value: String,
    /// Every allowed value, in declaration order.
    pub allowed: Vec<&'static str>,
}

/// Declares a closed vocabulary enum with its wire names.
///
/// Why a macro: eleven vocabularies need the same seven trait impls; writing
/// them by hand would repeat the rule "a value is one of these strings" eleven
/// times.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order (the order of `code`).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name of this vocabulary as used in error messages.
            pub const WHAT: &'static str = $what;

            /// The wire name of this value.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses a wire name; the error lists every allowed value.
            pub fn parse(s: &str) -> Result<Self, $crate::UnknownValue> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::UnknownValue {
                        what: $what,
                        value: s.to_owned(),
                        allowed: Self::ALL.iter().map(|v| v.as_str()).collect(),
                    }),
                }
            }

            /// A stable one-byte code: the index in [`Self::ALL`].
            pub fn code(self) -> u8 {
                // `ALL` holds at most a dozen values, so the index fits a u8.
                self as u8
            }

            /// The value with this [`code`](Self::code), if any.
            pub fn from_code(code: u8) -> Option<Self> {
                Self::ALL.get(usize::from(code)).copied()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // A visitor rather than a `Cow<str>`, which serde always
                // deserializes as an owned copy: a wire name is read
                // where it lies.
                struct Name;
                impl ::serde::de::Visitor<'_> for Name {
                    type Value = $name;

                    fn expecting(
                        &self,
                        f: &mut ::std::fmt::Formatter<'_>,
                    ) -> ::std::fmt::Result {
                        write!(f, "a {} (a string)", $what)
                    }

                    fn visit_str<E: ::serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        $name::parse(s).map_err(E::custom)
                    }
                }
                d.deserialize_str(Name)
            }
        }
    };
}

vocabulary! {
    /// How the customer contacted the bank.
    Channel, "channel" {
        /// Hotline phone call.
        Phone => "phone",
        /// Email.
        Email => "email",
        /// Text message.
        Sms => "sms",
        /// Online chat.
        Chat => "chat",
        /// Social media.
        Social => "social",
        /// A branch counter.
        Branch => "branch",
        /// The mobile app.
        App => "app",
    }
}

vocabulary! {
    /// The customer's tier, which drives follow-up targeting and reporting.
    Tier, "tier" {
        /// An ordinary customer (the default).
        Standard => "standard",
        /// VIP or high-net-worth customer.
        Vip => "vip",
        /// A new customer.
        New => "new",
        /// A customer at risk of churning.
        AtRisk => "at_risk",
        /// A long-inactive customer.
        Dormant => "dormant",
    }
}

vocabulary! {
    /// The kind of problem, which decides the route of a case.
    Category, "category" {
        /// A common question the front line answers directly.
        Inquiry => "inquiry",
        /// A system fault or something needing specialist support.
        Technical => "technical",
        /// A dissatisfied customer; tracked against regulatory deadlines.
        Complaint => "complaint",
        /// A contact the bank started (a bank-originated case, docs/events.md).
        Outreach => "outreach",
        /// The customer suggests an improvement (not a complaint).
        Suggestion => "suggestion",
        /// The customer praises the service (not a complaint).
        Praise => "praise",
    }
}

vocabulary! {
    /// What the case is about.
    Topic, "topic" {
        /// Accounts.
        Account => "account",
        /// Transactions and transfers.
        Transaction => "transaction",
        /// Cards.
        Card => "card",
        /// Loans.
        Loan => "loan",
        /// Wealth management.
        Wealth => "wealth",
        /// Product quality.
        ProductQuality => "product_quality",
        /// Service process.
        ServiceProcess => "service_process",
        /// Staff attitude.
        StaffAttitude => "staff_attitude",
        /// Anything else.
        Other => "other",
    }
}

vocabulary! {
    /// How urgent the case is; drives the SLA targets.
    Priority, "priority" {
        /// Low.
        Low => "low",
        /// Normal.
        Normal => "normal",
        /// High.
        High => "high",
        /// Urgent.
        Urgent => "urgent",
    }
}

vocabulary! {
    /// Why the bank calls the customer back after resolution.
    FollowUpPurpose, "purpose" {
        /// Collect feedback.
        Feedback => "feedback",
        /// Check that the problem is really solved.
        ProblemCheck => "problem_check",
        /// Maintain the relationship.
        Relationship => "relationship",
        /// Proactive: holiday care.
        Care => "care",
        /// Proactive: a visit to a VIP customer.
        VipVisit => "vip_visit",
        /// Proactive: waking a dormant customer.
        Activation => "activation",
        /// Proactive: a usage check about a month after a purchase.
        UsageCheck => "usage_check",
        /// Proactive: a reminder a week before a product expires.
        ExpiryReminder => "expiry_reminder",
    }
}

vocabulary! {
    /// What a follow-up contact found.
    FollowUpOutcome, "outcome" {
        /// The customer confirmed the problem is solved.
        Confirmed => "confirmed",
        /// The customer says it is not solved (the case should be reopened).
        NotResolved => "not_resolved",
        /// The customer could not be reached.
        Unreachable => "unreachable",
    }
}

vocabulary! {
    /// Why a problem happened (`resolved`'s optional `root_cause`): what
    /// management fixes, rather than the single case.
    RootCause, "root cause" {
        /// The product itself is at fault.
        ProductDefect => "product_defect",
        /// A gap in the bank's process.
        ProcessGap => "process_gap",
        /// A member of staff made a mistake.
        StaffError => "staff_error",
        /// A system was down.
        SystemOutage => "system_outage",
        /// A third party (a merchant, a card network) is at fault.
        ThirdParty => "third_party",
        /// The customer misunderstood; nothing was wrong.
        CustomerMisunderstanding => "customer_misunderstanding",
        /// Anything else.
        Other => "other",
    }
}

vocabulary! {
    /// How a survey was taken (`surveyed`'s optional `via`).
    SurveyVia, "survey channel" {
        /// A phone call.
        Phone => "phone",
        /// A text message.
        Sms => "sms",
        /// An email.
        Email => "email",
        /// The bank's app.
        App => "app",
        /// An online chat.
        Chat => "chat",
        /// At a branch.
        Branch => "branch",
    }
}

vocabulary! {
    /// Who started a case (`opened`'s optional `origin`).
    #[derive(Default)]
    Origin, "origin" {
        /// The customer contacted the bank (the default).
        #[default]
        Customer => "customer",
        /// The bank contacted the customer on its own initiative (care,
        /// VIP visits, activation, usage checks, expiry reminders).
        Bank => "bank",
    }
}

impl Origin {
    /// Whether this is the default, [`Origin::Customer`] (then the field is
    /// left out of the JSON form and of the stored record).
    pub fn is_customer(&self) -> bool {
        *self == Origin::Customer
    }
}

/// A value outside its allowed numeric range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value} is out of range; allowed: {min} to {max}")]
pub struct OutOfRange {
    /// What kind of value (`level`, `score`).
    pub what: &'static str,
    /// The value that was given.
    pub value: i64,
    /// Smallest allowed value.
    pub min: i64,
    /// Largest allowed value.
    pub max: i64,
}

/// Declares a small bounded integer newtype (its range within `u8`).
macro_rules! bounded {
    ($(#[$meta:meta])* $name:ident, $what:literal, $min:literal..=$max:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(u8);

        impl $name {
            /// Smallest allowed value.
            pub const MIN: u8 = $min;
            /// Largest allowed value.
            pub const MAX: u8 = $max;

            /// Checks the range.
            pub fn new(value: i64) -> Result<Self, OutOfRange> {
                if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&value) {
                    // In range MIN..=MAX, within u8, so the cast is lossless.
                    Ok(Self(value as u8))
                } else {
                    Err(OutOfRange {
                        what: $what,
                        value,
                        min: i64::from(Self::MIN),
                        max: i64::from(Self::MAX),
                    })
                }
            }

            /// The nearest value in range.
            pub fn clamped(value: i64) -> Self {
                // Clamped into MIN..=MAX (within u8), so the cast is lossless.
                Self(value.clamp(i64::from(Self::MIN), i64::from(Self::MAX)) as u8)
            }

            /// The value.
            pub const fn get(self) -> u8 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = i64::deserialize(d)?;
                Self::new(v).map_err(serde::de::Error::custom)
            }
        }
    };
}

bounded! {
    /// An escalation level: 1 (specialist team) to 3 (management). A case
    /// starts at level 0, which is not an escalation.
    EscalationLevel, "level", 1..=3
}

bounded! {
    /// A satisfaction score from 1 (very dissatisfied) to 5 (very satisfied).
    Score, "score", 1..=5
}

bounded! {
    /// The new total days of a complaint deadline (`deadline_extended`'s
    /// `days`), 1 to 255 as read; the case rules then want a step of a
    /// regime ([`crate::complaint::is_extension_step`]).
    ExtensionDays, "days", 1..=255
}

bounded! {
    /// A quality reviewer's score of a case (`qa_reviewed`), 0 to 100.
    QaScore, "qa score", 0..=100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_dense() {
        for (i, t) in Topic::ALL.iter().enumerate() {
            assert_eq!(usize::from(t.code()), i);
            assert_eq!(Topic::from_code(t.code()), Some(*t));
            assert_eq!(Topic::parse(t.as_str()), Ok(*t));
        }
        assert_eq!(Topic::from_code(Topic::ALL.len() as u8), None);
    }

    #[test]
    fn unknown_value_lists_allowed_values() {
        let err = Channel::parse("fax").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown channel `fax`; allowed: phone, email, sms, chat, social, branch, app"
        );
    }

    #[test]
    fn bounded_values_check_their_range() {
        assert_eq!(Score::new(5).map(Score::get), Ok(5));
        assert_eq!(
            Score::new(0).unwrap_err().to_string(),
            "score 0 is out of range; allowed: 1 to 5"
        );
        assert!(EscalationLevel::new(4).is_err());
        assert!(EscalationLevel::new(1).is_ok());
    }
}
