//! Identifiers: cases, events, customers, agents, teams, and the actor who
//! did something.
//!
//! The event log carries ids, never names or phone numbers (privacy rule in
//! docs/events.md), so every text id here is short and bounded.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Longest accepted text id, in bytes. Why a limit: ids are indexed and
/// repeated in every report row; an unbounded id is a memory and privacy risk
/// (free text does not belong in an id).
pub const MAX_ID_BYTES: usize = 128;

/// Longest accepted free-text field (summary, reason, comment), in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;

/// Why a text value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The value is empty (or only white space).
    #[error("{what} must not be empty")]
    Empty {
        /// The field.
        what: &'static str,
    },
    /// The value is longer than its limit.
    #[error("{what} is {len} bytes long; at most {max} allowed")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// An id holds white space, a control character, a format character
    /// (invisible or direction-changing, such as U+200B or U+202E), another
    /// invisible character (such as the Hangul filler U+3164) or a line or
    /// paragraph separator.
    #[error(
        "{what} must not contain U+{:04X} ({}); ids have no white space, control, format or \
         invisible characters",
        u32::from(*character),
        character_kind(*character)
    )]
    BadCharacter {
        /// The field.
        what: &'static str,
        /// The first character refused.
        character: char,
    },
    /// An agent or team id is one of the words the ledger and its reports
    /// use for something else ([`RESERVED_AGENT_IDS`],
    /// [`RESERVED_TEAM_IDS`]).
    #[error(
        "{what} must not be `{word}`: the word is reserved for {}",
        reserved_meaning(word)
    )]
    Reserved {
        /// The field.
        what: &'static str,
        /// The reserved word given.
        word: &'static str,
    },
}

/// The words no new agent id may be, and why: `system` and `customer` are
/// the other two actors (an agent of that id could not act as itself),
/// `unassigned` is the report's group of cases without an agent, and `all`
/// its total row in tables. An agent of one of these ids would be merged
/// with, or mistaken for, what the word stands for.
pub const RESERVED_AGENT_IDS: &[&str] = &[
    Actor::SYSTEM,
    Actor::CUSTOMER,
    UNASSIGNED_KEY,
    TOTAL_ROW_KEY,
];

/// The words no new team id may be: the report's group of cases without a
/// team, and its total row in tables (see [`RESERVED_AGENT_IDS`]).
pub const RESERVED_TEAM_IDS: &[&str] = &[UNASSIGNED_KEY, TOTAL_ROW_KEY];

/// The key of the report's group of cases without an agent (grouped by
/// agent) or without a team (by team); no agent or team id may be it.
pub const UNASSIGNED_KEY: &str = "unassigned";

/// The key of the total row in the report's tables and CSV; no agent or
/// team id may be it.
pub const TOTAL_ROW_KEY: &str = "all";

/// What a reserved word stands for, for the error message.
fn reserved_meaning(word: &str) -> &'static str {
    match word {
        Actor::SYSTEM => "the bank's automated systems as actor",
        Actor::CUSTOMER => "the customer as actor",
        UNASSIGNED_KEY => "the cases without one in reports",
        _ => "the total row of reports",
    }
}

/// Refuses `s` when it is one of `words`.
pub(crate) fn check_reserved(
    what: &'static str,
    s: &str,
    words: &'static [&'static str],
) -> Result<(), TextError> {
    match words.iter().find(|&&w| w == s) {
        Some(&word) => Err(TextError::Reserved { what, word }),
        None => Ok(()),
    }
}

/// The Unicode format characters (general category Cf, Unicode 16.0), as
/// inclusive ranges. They are invisible or change the direction of text, so
/// an id holding one looks like another id (`C-1001` and `C-1001` followed by
/// U+200B) and would split one customer in two. A static table rather than a
/// dependency: the category changes rarely, and an id checked against an
/// older table is still checked against every character that was Cf then.
const FORMAT_CHARACTERS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Characters that show as nothing (or as a blank) although they are not
/// white space, controls or format characters: the rest of Unicode's
/// `Default_Ignorable_Code_Point` (Unicode 16.0: the combining grapheme
/// joiner U+034F, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0,
/// the variation selectors, the Khmer inherent vowels, the Mongolian free
/// variation selectors, and the reserved ranges the property names), and
/// U+2800, the braille blank. `agent-1` followed by U+3164 renders as
/// `agent-1` and would be another agent, with other roles, in every report.
/// Inclusive ranges, sorted; disjoint from [`FORMAT_CHARACTERS`].
const INVISIBLE_CHARACTERS: &[(char, char)] = &[
    ('\u{034F}', '\u{034F}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180D}'),
    ('\u{180F}', '\u{180F}'),
    ('\u{2065}', '\u{2065}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{E0000}', '\u{E0000}'),
    ('\u{E0002}', '\u{E001F}'),
    ('\u{E0080}', '\u{E0FFF}'),
];

fn in_table(table: &[(char, char)], c: char) -> bool {
    table
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

fn is_format_character(c: char) -> bool {
    in_table(FORMAT_CHARACTERS, c)
}

fn is_invisible_character(c: char) -> bool {
    in_table(INVISIBLE_CHARACTERS, c)
}

/// What kind of refused character `c` is, for the error message.
fn character_kind(c: char) -> &'static str {
    match c {
        '\u{2028}' => "a line separator",
        '\u{2029}' => "a paragraph separator",
        c if c.is_control() => "a control character",
        c if c.is_whitespace() => "white space",
        c if is_invisible_character(c) => "an invisible character",
        _ => "a format character",
    }
}

/// The rule for new ids: no white space (which includes the line and
/// paragraph separators U+2028 and U+2029), no control characters, no
/// format characters, no other invisible characters.
fn refused_in_new_id(c: char) -> bool {
    c.is_whitespace() || c.is_control() || is_format_character(c) || is_invisible_character(c)
}

/// Whether the rule for new ids (docs/events.md, "The envelope") refuses
/// `c`: white space, a control character, a format character (invisible
/// or direction-changing, such as U+200B or U+202E) or another invisible
/// character (such as U+3164). A store written before these were refused
/// may hold ids with them: a view that
/// shows an id to people writes such characters visibly, so that the id
/// cannot pass for another or reorder the text around it.
pub fn refused_in_id(c: char) -> bool {
    refused_in_new_id(c)
}

/// The rule ids were stored under before format characters were refused:
/// no white space, no control characters. Stored data is read with it, so
/// that stores written earlier still read and verify.
fn refused_in_stored_id(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// Checks a new text id: non-empty, bounded, and no character the id rule
/// refuses (docs/events.md).
pub(crate) fn check_id(what: &'static str, s: &str) -> Result<(), TextError> {
    check_id_with(what, s, refused_in_new_id)
}

/// Checks a stored text id by the older, more lenient rule: what a store
/// reads back, and so all its writer may write. New input is checked by the
/// stricter rule of the ids' `new` constructors.
#[doc(hidden)]
pub fn check_stored_id(what: &'static str, s: &str) -> Result<(), TextError> {
    check_id_with(what, s, refused_in_stored_id)
}

fn check_id_with(what: &'static str, s: &str, refused: fn(char) -> bool) -> Result<(), TextError> {
    if s.is_empty() {
        return Err(TextError::Empty { what });
    }
    if s.len() > MAX_ID_BYTES {
        return Err(TextError::TooLong {
            what,
            len: s.len(),
            max: MAX_ID_BYTES,
        });
    }
    // Fast path: visible ASCII (what ids almost always are) is fine as it is.
    if s.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(());
    }
    match s.chars().find(|&c| refused(c)) {
        Some(character) => Err(TextError::BadCharacter { what, character }),
        None => Ok(()),
    }
}

/// Checks a free-text field: bounded length only; empty text is allowed.
pub(crate) fn check_text(what: &'static str, s: &str) -> Result<(), TextError> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(TextError::TooLong {
            what,
            len: s.len(),
            max: MAX_TEXT_BYTES,
        });
    }
    Ok(())
}

/// Declares a validated text id newtype.
macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, $reserved:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id by the rule for new ids (docs/events.md,
            /// "The envelope").
            pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
                let s = s.into();
                check_id($what, &s)?;
                check_reserved($what, &s, $reserved)?;
                Ok(Self(s))
            }

            /// Wraps an id read back from stored data, checked by the
            /// older rule it may have been stored under (format characters
            /// allowed), so that stores written earlier still read. New
            /// input goes through [`Self::new`]; appends check the new rule.
            #[doc(hidden)]
            pub fn from_stored(s: impl Into<String>) -> Result<Self, TextError> {
                let s = s.into();
                check_stored_id($what, &s)?;
                Ok(Self(s))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, given back: for a reader that reuses the
            /// allocation for the next id it decodes.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = TextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id! {
    /// The bank's id of a customer (never a name or phone number).
    CustomerId, "customer_id", &[]
}

text_id! {
    /// The id of an agent (a member of staff who handles cases).
    AgentId, "agent", RESERVED_AGENT_IDS
}

text_id! {
    /// The id of a team of agents.
    TeamId, "team", RESERVED_TEAM_IDS
}

/// Declares a UUID newtype.
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }

            /// A deterministic id from a number: for tests and generators.
            pub const fn from_u128(n: u128) -> Self {
                Self(Uuid::from_u128(n))
            }

            /// The UUID.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id! {
    /// The id of a case; also the id of its event stream.
    CaseId
}

uuid_id! {
    /// The id of one event; the key of idempotent appends.
    EventId
}

impl EventId {
    /// The id of an event a command records besides its own, derived from
    /// the command's event id and a `tag` naming the derived event: a UUID
    /// v8 (RFC 9562) from the first 16 bytes of SHA-256 over this id's 16
    /// bytes and the tag's UTF-8. The same command gives the same derived
    /// id, so a retry records nothing twice (docs/events.md, "Commands").
    pub fn derived(&self, tag: &str) -> EventId {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.0.as_bytes());
        h.update(tag.as_bytes());
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        EventId(uuid::Builder::from_custom_bytes(id).into_uuid())
    }
}

/// Who did something. Every change is attributable (docs/events.md).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// An automated system of the bank.
    System,
    /// The customer themself (for example through the app).
    Customer,
    /// An agent.
    Agent(AgentId),
}

impl Actor {
    /// Wire name of [`Actor::System`].
    pub const SYSTEM: &'static str = "system";
    /// Wire name of [`Actor::Customer`].
    pub const CUSTOMER: &'static str = "customer";

    /// Parses `system`, `customer`, or an agent id.
    pub fn parse(s: &str) -> Result<Self, TextError> {
        match s {
            Self::SYSTEM => Ok(Actor::System),
            Self::CUSTOMER => Ok(Actor::Customer),
            other => {
                check_id("actor", other)?;
                check_reserved("actor", other, RESERVED_AGENT_IDS)?;
                Ok(Actor::Agent(AgentId(other.to_owned())))
            }
        }
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            Actor::System => Self::SYSTEM,
            Actor::Customer => Self::CUSTOMER,
            Actor::Agent(a) => a.as_str(),
        }
    }

    /// The agent, when the actor is one.
    pub fn agent(&self) -> Option<&AgentId> {
        match self {
            Actor::Agent(a) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Actor {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The hasher of every hash map or set keyed by ids that come from input
/// (case and event UUIDs, customer, agent and team ids): foldhash, seeded
/// at random per process and per map. An unkeyed hasher let a crafted
/// import file make every key collide and a replay crawl; with a secret
/// seed the collisions cannot be chosen in advance. foldhash is nearly as
/// fast as the unkeyed multiply-rotate hasher it replaced (SipHash took a
/// third of a replay). No output depends on a map's iteration order, so the
/// seed never shows.
pub(crate) type KeyedState = foldhash::fast::RandomState;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_empty_long_and_spaced_values() {
        assert_eq!(
            CustomerId::new("").unwrap_err().to_string(),
            "customer_id must not be empty"
        );
        assert!(CustomerId::new("a b").is_err());
        assert!(CustomerId::new("x".repeat(MAX_ID_BYTES + 1)).is_err());
        assert!(CustomerId::new("x".repeat(MAX_ID_BYTES)).is_ok());
    }

    #[test]
    fn the_character_tables_are_sorted_and_disjoint() {
        for table in [FORMAT_CHARACTERS, INVISIBLE_CHARACTERS] {
            for w in table.windows(2) {
                assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:?}");
            }
            // Neither white space nor controls: the tables add to what
            // the standard library knows.
            for &(first, last) in table {
                for c in first..=last {
                    assert!(!c.is_whitespace() && !c.is_control(), "{c:?}");
                }
            }
        }
        for &(first, last) in INVISIBLE_CHARACTERS {
            for c in first..=last {
                assert!(!is_format_character(c), "{c:?} is in both tables");
            }
        }
    }

    /// The unkeyed hasher maps used before [`KeyedState`], kept here only
    /// to craft ids that all collide under it.
    fn old_unkeyed_hash(bytes: &[u8; 16]) -> u64 {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let add = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(w)
        };
        // `Uuid` hashes as `write(&[u8; 16])`: two words, then a final mix.
        let x = add(add(0, word(0)), word(8));
        (x ^ (x >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (x >> 29)
    }

    /// Case ids crafted so that the old unkeyed hasher gives every one the
    /// same hash: the second word cancels the first (the multiplier is odd,
    /// so the state after it can be chosen). A map of them was a list.
    fn colliding_case_ids(n: u64) -> Vec<CaseId> {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        (0..n)
            .map(|i| {
                let w0 = i.wrapping_mul(0x9e37_79b9);
                let w1 = w0.wrapping_mul(K).rotate_left(5) ^ 0x1234_5678;
                let mut b = [0u8; 16];
                b[..8].copy_from_slice(&w0.to_le_bytes());
                b[8..].copy_from_slice(&w1.to_le_bytes());
                CaseId::from_uuid(Uuid::from_bytes(b))
            })
            .collect()
    }

    /// Ids crafted to collide under the old hasher spread under the keyed
    /// one. (Counting a map's probes is not observable from outside; the
    /// spread of the hash values, and of the low bits that pick a bucket,
    /// is what makes the probes short.)
    #[test]
    fn ids_crafted_to_collide_under_the_old_hasher_spread_under_the_keyed_one() {
        use std::collections::HashSet;
        use std::hash::BuildHasher;
        let ids = colliding_case_ids(10_000);
        let old: HashSet<u64> = ids
            .iter()
            .map(|id| old_unkeyed_hash(id.0.as_bytes()))
            .collect();
        assert_eq!(
            old.len(),
            1,
            "the crafted ids must all collide under the old hasher"
        );
        let state = KeyedState::default();
        let new: HashSet<u64> = ids.iter().map(|id| state.hash_one(id)).collect();
        assert_eq!(new.len(), ids.len());
        let buckets: HashSet<u64> = ids.iter().map(|id| state.hash_one(id) & 0xffff).collect();
        // 10,000 random values in 65,536 buckets fill about 9,300.
        assert!(buckets.len() > 8_000, "{} buckets", buckets.len());
    }

    /// The seed is random: two maps (two `KeyedState`s) hash the same id
    /// differently, so no input can be crafted to collide in advance.
    #[test]
    fn two_keyed_states_hash_the_same_id_differently() {
        use std::hash::BuildHasher;
        let (a, b) = (KeyedState::default(), KeyedState::default());
        for id in colliding_case_ids(4) {
            assert_ne!(a.hash_one(id), b.hash_one(id), "{id}");
        }
    }

    #[test]
    fn actor_parses_reserved_words_and_agents() {
        assert_eq!(Actor::parse("system"), Ok(Actor::System));
        assert_eq!(Actor::parse("customer"), Ok(Actor::Customer));
        let a = Actor::parse("agent-17").unwrap();
        assert_eq!(a.agent().map(AgentId::as_str), Some("agent-17"));
        assert!(Actor::parse("").is_err());
    }
}
