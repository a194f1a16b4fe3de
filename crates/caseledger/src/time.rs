//! Which instants the project records: the one rule every timestamp field
//! (`at`, `data.due`, `recorded_at`, the command line's time flags, the
//! generator's start) is checked against, and the one way the project
//! writes and reads them ([`format_timestamp`], [`parse_timestamp`]).
//! docs/events.md states it.
//!
//! Why a rule at all: chrono represents a leap second (`23:59:60`) as a
//! nanosecond count of one billion or more, which no other tool, no RFC 3339
//! writer and no stored record can carry; and a year outside 0001 to 9999
//! has no four-digit RFC 3339 form, so it could be written but never read
//! back. Refusing both at the door keeps every recorded instant exportable
//! and importable again.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};

/// The earliest storable instant: 0001-01-01T00:00:00Z.
pub const MIN_TIMESTAMP: DateTime<Utc> = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(d) => match d.and_hms_opt(0, 0, 0) {
        Some(t) => t.and_utc(),
        None => DateTime::<Utc>::MIN_UTC,
    },
    None => DateTime::<Utc>::MIN_UTC,
};

/// The latest storable instant: 9999-12-31T23:59:59.999999999Z.
pub const MAX_TIMESTAMP: DateTime<Utc> = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => match d.and_hms_nano_opt(23, 59, 59, 999_999_999) {
        Some(t) => t.and_utc(),
        None => DateTime::<Utc>::MAX_UTC,
    },
    None => DateTime::<Utc>::MAX_UTC,
};

/// Nanoseconds in a second: chrono's sub-second count reaches this only for
/// a leap second.
const NANOS_PER_SECOND: u32 = 1_000_000_000;

/// Why an instant cannot be recorded. The caller names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// Second 60 of a minute.
    #[error(
        "{0} is a leap second; a leap second is not a distinct instant here; use :59 or the \
         next minute"
    )]
    LeapSecond(String),
    /// Before year 1 or after year 9999 (in UTC).
    #[error(
        "{0} is outside the storable range 0001-01-01T00:00:00Z to \
         9999-12-31T23:59:59.999999999Z"
    )]
    OutOfRange(String),
}

/// Checks that `t` is a storable instant: not a leap second, and within
/// [`MIN_TIMESTAMP`]..=[`MAX_TIMESTAMP`].
pub fn check_timestamp(t: &DateTime<Utc>) -> Result<(), TimestampError> {
    if t.timestamp_subsec_nanos() >= NANOS_PER_SECOND {
        return Err(TimestampError::LeapSecond(describe(t)));
    }
    if *t < MIN_TIMESTAMP || *t > MAX_TIMESTAMP {
        return Err(TimestampError::OutOfRange(describe(t)));
    }
    Ok(())
}

/// The instant as RFC 3339 in UTC; chrono writes a year beyond 9999 with a
/// sign (`+10000-01-01T00:00:00Z`).
fn describe(t: &DateTime<Utc>) -> String {
    format_timestamp(t)
}

/// Formats a timestamp the one way the project writes them: RFC 3339 in UTC
/// with a `Z`, and fractional seconds only when present.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Why [`parse_timestamp`] refused a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampParseError {
    /// Not an RFC 3339 timestamp with an offset.
    #[error(
        "`{input}` is not an RFC 3339 timestamp with an offset, such as \
         2026-03-02T09:15:00+08:00 ({source})"
    )]
    NotRfc3339 {
        /// The text.
        input: String,
        /// chrono's reason.
        source: chrono::ParseError,
    },
    /// A timestamp, but not a storable instant ([`check_timestamp`]).
    #[error("{}{source}", written_otherwise.as_ref().map(|s| format!("`{s}`: ")).unwrap_or_default())]
    Unstorable {
        /// The text, when it was written otherwise than the instant in
        /// UTC that the error names.
        written_otherwise: Option<String>,
        /// Why it is not storable.
        source: TimestampError,
    },
}

/// Parses an RFC 3339 timestamp that carries an offset, normalised to UTC,
/// and checks it is storable ([`crate::check_timestamp`]).
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, TimestampParseError> {
    let t = DateTime::<FixedOffset>::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|source| TimestampParseError::NotRfc3339 {
            input: s.to_owned(),
            source,
        })?;
    check_timestamp(&t).map_err(|source| TimestampParseError::Unstorable {
        // The error names the instant in UTC; name the input too when it
        // was written otherwise.
        written_otherwise: (format_timestamp(&t) != s).then(|| s.to_owned()),
        source,
    })?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_the_documented_instants() {
        assert_eq!(
            crate::format_timestamp(&MIN_TIMESTAMP),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(
            crate::format_timestamp(&MAX_TIMESTAMP),
            "9999-12-31T23:59:59.999999999Z"
        );
    }
}
