//! The values of the command line's flags: the output formats, and the
//! parsers that check a time, a case id or a grouping as clap reads them
//! (each error says what is wrong and shows an accepted form).

use caseledger::kpi::GroupBy;
use chrono::{DateTime, NaiveDate, Utc};
use clap::ValueEnum;
use clap::builder::TypedValueParser as _;

/// The `report` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// The JSON object of docs/cli.md.
    Json,
    /// One row per group, with a header.
    Csv,
    /// One self-contained page with charts, tables and an agent scorecard.
    Html,
}

/// The `cases` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CasesFormat {
    /// Aligned columns for people, fit to 80 columns (or the terminal).
    Table,
    /// One JSON object: T, the head, and every row (docs/cli.md).
    Json,
    /// One row per case, with a header.
    Csv,
}

/// The `verify` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// Lines for people.
    Text,
    /// One JSON object: the head and counts, or the problem (docs/cli.md).
    Json,
}

/// The `import --check` and `import --reject` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// Lines for people.
    Text,
    /// One JSON object: the counts, and the problems listed (docs/cli.md).
    Json,
}

/// The `history` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// Aligned columns for people.
    Table,
    /// A JSON object with every event and the state after it.
    Json,
}

/// How `generate` spreads cases over customers (`--customers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CustomersArg {
    /// A few cases per customer (the default).
    Uniform,
    /// Zipf-like: the busiest customer holds a quarter of the cases.
    LongTail,
}

impl From<CustomersArg> for caseledger_synth::Customers {
    fn from(arg: CustomersArg) -> Self {
        match arg {
            CustomersArg::Uniform => caseledger_synth::Customers::Uniform,
            CustomersArg::LongTail => caseledger_synth::Customers::LongTail,
        }
    }
}

/// What a time flag accepts, for error messages.
const ACCEPTED_TIMES: &str = "use a date like 2026-03-31 (the start of that day, UTC), a time with \
                              an offset like 2026-03-31T23:59:59Z or 2026-03-31T23:59:59+08:00, \
                              or `now`";

/// Parses a time flag: `now` (the clock, read here: the library reads
/// none), a date `YYYY-MM-DD` for the start of that day in UTC, or RFC 3339
/// with an offset. Errors say which part is wrong and show accepted forms.
pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if s == "now" {
        return Ok(Utc::now());
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    check_date(s, date)?;
    // Both forms go through the domain's parser, so that its rules (such as
    // the range of years) hold for dates too.
    match time {
        None => caseledger::parse_timestamp(&format!("{date}T00:00:00Z"))
            .map_err(|e| format!("{e}; {ACCEPTED_TIMES}")),
        Some(time) => caseledger::parse_timestamp(s).map_err(|e| match check_time(s, time) {
            Err(specific) => specific,
            Ok(()) => format!("{e}; {ACCEPTED_TIMES}"),
        }),
    }
}

/// A `report` time flag: an instant, or a date whose start is taken in the
/// report's time zone once that is known (docs/cli.md, "Local time").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportTime {
    /// A time with an offset, or `now`.
    Instant(DateTime<Utc>),
    /// A date alone: local midnight of that date.
    Date(NaiveDate),
}

impl ReportTime {
    /// The instant: a date's local midnight in `zone` (UTC when `None`),
    /// by the calendar's one rule for local times (a midnight in a gap
    /// moves forward to the gap's end). A usage error, naming `flag`, when
    /// that midnight is not a storable instant (0001-01-01 in a zone east
    /// of UTC begins in the year 0).
    pub fn instant(
        self,
        zone: Option<caseledger::calendar::Tz>,
        flag: &str,
    ) -> Result<DateTime<Utc>, crate::exit::UsageError> {
        match self {
            ReportTime::Instant(t) => Ok(t),
            ReportTime::Date(d) => {
                let zone = zone.unwrap_or(chrono_tz_utc());
                let t = caseledger::calendar::start_of_local_day(zone, d);
                storable_day_start(flag, d, zone, t)
            }
        }
    }
}

/// `t`, the start of `date` in `zone` given to `flag`, if it is a storable
/// instant (docs/events.md: years 0001 to 9999, UTC); else a usage error
/// that says so.
pub(crate) fn storable_day_start(
    flag: &str,
    date: NaiveDate,
    zone: caseledger::calendar::Tz,
    t: DateTime<Utc>,
) -> Result<DateTime<Utc>, crate::exit::UsageError> {
    caseledger::check_timestamp(&t).map(|()| t).map_err(|e| {
        crate::exit::UsageError(format!(
            "{flag} {date} begins in {zone} outside the times a store holds: {e}"
        ))
    })
}

/// UTC as the calendar's time zone type.
fn chrono_tz_utc() -> caseledger::calendar::Tz {
    caseledger::calendar::Tz::UTC
}

/// Parses a `report` time flag: as [`parse_time`], but a date alone is kept
/// as a date, for local midnight in the report's time zone.
pub(crate) fn parse_report_time(s: &str) -> Result<ReportTime, String> {
    let instant = parse_time(s)?;
    if s != "now" && !s.contains(['T', 't', ' ']) {
        return Ok(ReportTime::Date(instant.date_naive()));
    }
    Ok(ReportTime::Instant(instant))
}

/// Parses `--time-zone`: an IANA name such as `Asia/Shanghai`.
pub(crate) fn parse_time_zone(s: &str) -> Result<caseledger::calendar::Tz, String> {
    s.parse::<caseledger::calendar::Tz>().map_err(|_| {
        format!(
            "`{s}` is not an IANA time zone name; use one like Asia/Shanghai, Europe/London or UTC"
        )
    })
}

/// Two ASCII digits as a number.
fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(c - b'0')),
        _ => None,
    }
}

/// Checks the date part `YYYY-MM-DD` of the time flag `s`.
fn check_date(s: &str, date: &str) -> Result<(), String> {
    if date.contains(['/', '.']) {
        return Err(format!(
            "`{s}`: write the date as year-month-day with hyphens (YYYY-MM-DD, like 2026-03-31): \
             a form like 01/02/2026 can mean 1 February or 2 January; {ACCEPTED_TIMES}"
        ));
    }
    let b = date.as_bytes();
    let shaped =
        b.len() == 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    let (Some(month), Some(day), true) = (
        two_digits(b.get(5..7).unwrap_or_default()),
        two_digits(b.get(8..10).unwrap_or_default()),
        shaped,
    ) else {
        return Err(format!(
            "`{s}` is not a time in a form this command reads: {ACCEPTED_TIMES}"
        ));
    };
    if !(1..=12).contains(&month) {
        return Err(format!(
            "`{s}`: month {month} does not exist (01 to 12); {ACCEPTED_TIMES}"
        ));
    }
    // Four ASCII digits: always a valid year number.
    let year: i32 = date[..4].parse().unwrap_or_default();
    let last_day = (28..=31)
        .rev()
        .find(|d| NaiveDate::from_ymd_opt(year, month, *d).is_some())
        .unwrap_or(28);
    if !(1..=last_day).contains(&day) {
        return Err(format!(
            "`{s}`: day {day} does not exist in {year:04}-{month:02} (01 to {last_day}); \
             {ACCEPTED_TIMES}"
        ));
    }
    Ok(())
}

/// Looks for what is wrong in the time part `hh:mm:ss[.fraction]offset` of
/// the time flag `s`; Ok when nothing specific is found.
fn check_time(s: &str, time: &str) -> Result<(), String> {
    let b = time.as_bytes();
    let field = |i: usize| two_digits(b.get(i..i + 2).unwrap_or_default());
    let (Some(hour), Some(minute), Some(second)) = (field(0), field(3), field(6)) else {
        return Err(format!(
            "`{s}`: the time of day must be hh:mm:ss, like 23:59:59; {ACCEPTED_TIMES}"
        ));
    };
    for (what, value, max) in [
        ("hour", hour, 23),
        ("minute", minute, 59),
        ("second", second, 60),
    ] {
        if value > max {
            return Err(format!(
                "`{s}`: {what} {value} does not exist (00 to {max}); {ACCEPTED_TIMES}"
            ));
        }
    }
    let mut rest = &time[8.min(time.len())..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset_ok = rest.eq_ignore_ascii_case("z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && two_digits(&rest.as_bytes()[1..3]).is_some()
            && rest.as_bytes()[3] == b':'
            && two_digits(&rest.as_bytes()[4..6]).is_some());
    match (rest.is_empty(), offset_ok) {
        (true, _) => Err(format!(
            "`{s}` has no offset: add Z for UTC or the offset from UTC, like \
             2026-03-31T23:59:59Z or 2026-03-31T23:59:59+08:00"
        )),
        (false, false) => Err(format!(
            "`{s}`: the offset `{rest}` is not Z or +hh:mm / -hh:mm, like \
             2026-03-31T23:59:59+08:00"
        )),
        (false, true) => Ok(()),
    }
}

/// A `--head` value: the ledger as it stood when its head was at
/// `position`, and, when given, the chain hash it must have there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadArg {
    /// The head's position (1 or later).
    pub position: u64,
    /// The head's chain hash, as a report printed it.
    pub hash: Option<[u8; 32]>,
}

/// What `--head` accepts, for error messages.
const ACCEPTED_HEADS: &str = "use the head a report printed, POSITION:HASH, like \
                              822:d7b3b51089d4838a778ac40ef01906cc1230da4a5d4c3f91c6d3f097bb726845 \
                              (or a position alone, like 822)";

/// Parses `--head`: `POSITION:HASH` (the position and the 64 hexadecimal
/// digits of the chain hash, as every report prints its head) or a
/// position alone. Position 0, the empty ledger, is refused: no report
/// worth reproducing has it.
pub(crate) fn parse_head(s: &str) -> Result<HeadArg, String> {
    let (position, hash) = match s.split_once(':') {
        Some((p, h)) => (p.trim(), Some(h.trim())),
        None => (s.trim(), None),
    };
    if position.is_empty() || !position.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{s}`: the position `{position}` is not a whole number; {ACCEPTED_HEADS}"
        ));
    }
    let Ok(position) = position.parse::<u64>() else {
        return Err(format!(
            "`{s}`: the position is too large for a ledger; {ACCEPTED_HEADS}"
        ));
    };
    if position == 0 {
        return Err(format!(
            "`{s}`: position 0 is the empty ledger, before any event; a report's head is \
             position 1 or later; {ACCEPTED_HEADS}"
        ));
    }
    let hash = match hash {
        None => None,
        Some(h) => Some(parse_hash(h).ok_or_else(|| {
            format!(
                "`{s}`: the hash `{h}` is not 64 hexadecimal digits ({} given); {ACCEPTED_HEADS}",
                h.chars().count()
            )
        })?),
    };
    Ok(HeadArg { position, hash })
}

/// 64 hexadecimal digits as 32 bytes.
fn parse_hash(h: &str) -> Option<[u8; 32]> {
    let b = h.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        let digit = |c: u8| char::from(c).to_digit(16);
        // Each digit is below 16, so the byte fits.
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Parses a case id, explaining what one looks like.
pub(crate) fn parse_case_id(s: &str) -> Result<caseledger::CaseId, String> {
    s.parse().map_err(|e| {
        format!(
            "`{s}` is not a case id: a case id is a UUID, 32 hexadecimal digits in groups of \
             8-4-4-4-12, like 0192f5c4-7d1e-7c3a-9a61-3f0c2b1d4e5f ({e})"
        )
    })
}

/// A `--group-by` value: one dimension, or two (`agent,month`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    /// The first dimension.
    pub first: GroupBy,
    /// The second, if any.
    pub then: Option<GroupBy>,
}

/// The most dimensions `--group-by` takes.
pub(crate) const MAX_GROUP_BY_DIMENSIONS: usize = 2;

/// Parses `--group-by`: one dimension of the domain's list, or two
/// separated by a comma (`agent,month`); not the same one twice, and
/// `responder` alone (its rows are agents, not groups of cases).
pub(crate) fn parse_group_by(s: &str) -> Result<Grouping, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() > MAX_GROUP_BY_DIMENSIONS {
        return Err(format!(
            "`{s}` has {} dimensions; --group-by takes at most {MAX_GROUP_BY_DIMENSIONS}, \
             like agent,month",
            parts.len()
        ));
    }
    let dims = parts
        .iter()
        .map(|p| GroupBy::parse(p).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    match dims[..] {
        [first] => Ok(Grouping { first, then: None }),
        [a, b] if a == b => Err(format!("`{s}` names {a} twice")),
        [a, b] if a == GroupBy::Responder || b == GroupBy::Responder => Err(format!(
            "`{s}`: responder gives one row per agent, not groups of cases, and takes no \
             second dimension"
        )),
        [first, then] => Ok(Grouping {
            first,
            then: Some(then),
        }),
        // `split` gives at least one part, and more than two were refused.
        _ => Err(format!("`{s}` is not a --group-by value")),
    }
}

/// The `--period` values: the groupings that are periods of time.
pub(crate) fn period_parser() -> impl clap::builder::TypedValueParser<Value = GroupBy> {
    clap::builder::PossibleValuesParser::new(
        GroupBy::ALL
            .iter()
            .filter(|g| g.is_period())
            .map(|g| g.as_str()),
    )
    .try_map(|s: String| GroupBy::parse(&s))
}

/// The longest `--due-within`: 10 years, far beyond any deadline a desk
/// plans for (and far from overflowing milliseconds).
const MAX_DURATION_MS: i64 = 10 * 366 * 86_400_000;

/// Parses a duration flag: a whole number followed by `m` (minutes), `h`
/// (hours) or `d` (days), like `90m`, `8h`, `3d`; in milliseconds.
pub(crate) fn parse_duration_ms(s: &str) -> Result<i64, String> {
    const ACCEPTED: &str = "use a whole number and a unit: m (minutes), h (hours) or d (days), \
                            like 90m, 8h or 3d";
    let unit_ms = match s.chars().last() {
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        Some(c @ ('M' | 'H' | 'D')) => {
            return Err(format!(
                "`{s}`: the unit is written in lower case ({}); {ACCEPTED}",
                c.to_ascii_lowercase()
            ));
        }
        _ => return Err(format!("`{s}` has no unit; {ACCEPTED}")),
    };
    let digits = &s[..s.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a whole number of a unit; {ACCEPTED}"));
    }
    digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .filter(|ms| *ms <= MAX_DURATION_MS)
        .ok_or_else(|| format!("`{s}` is longer than 10 years; {ACCEPTED}"))
}

/// The `--status` values of `cases`: the statuses an opened case can have.
pub(crate) fn status_parser() -> impl clap::builder::TypedValueParser<Value = caseledger::Status> {
    use caseledger::Status;
    const STATUSES: [Status; 3] = [Status::Open, Status::Resolved, Status::Closed];
    clap::builder::PossibleValuesParser::new(STATUSES.iter().map(|s| s.as_str())).try_map(
        |s: String| {
            STATUSES
                .into_iter()
                .find(|st| st.as_str() == s)
                .ok_or_else(|| format!("unknown status `{s}`"))
        },
    )
}

/// A vocabulary flag (`--category`, `--priority`), from the domain's list,
/// so that `--help` and the error for a wrong value list them.
macro_rules! vocab_parser {
    ($name:ident, $ty:ty) => {
        pub(crate) fn $name() -> impl clap::builder::TypedValueParser<Value = $ty> {
            clap::builder::PossibleValuesParser::new(<$ty>::ALL.iter().map(|v| v.as_str()))
                .try_map(|s: String| <$ty>::parse(&s))
        }
    };
}
vocab_parser!(category_parser, caseledger::Category);
vocab_parser!(priority_parser, caseledger::Priority);

#[cfg(test)]
mod tests {
    use super::{parse_duration_ms, parse_head};

    #[test]
    fn heads_read_as_printed_and_say_what_is_wrong() {
        let hash = "d7b3b51089d4838a778ac40ef01906cc1230da4a5d4c3f91c6d3f097bb726845";
        let head = parse_head(&format!("822:{hash}")).unwrap();
        assert_eq!(head.position, 822);
        assert_eq!(
            head.hash.map(|h| caseledger_store::hex(&h)),
            Some(hash.to_owned())
        );
        let upper = parse_head(&format!("822:{}", hash.to_uppercase())).unwrap();
        assert_eq!(upper, head);
        assert_eq!(parse_head("5").unwrap().hash, None);
        for (bad, says) in [
            ("0", "position 0 is the empty ledger"),
            (&format!("0:{hash}"), "position 0 is the empty ledger"),
            ("x:ab", "the position `x` is not a whole number"),
            ("", "the position `` is not a whole number"),
            ("-3", "the position `-3` is not a whole number"),
            ("99999999999999999999", "too large"),
            (
                "822:abc",
                "the hash `abc` is not 64 hexadecimal digits (3 given)",
            ),
            (&format!("822:{}", &hash[1..]), "(63 given)"),
            (&format!("822:{}g", &hash[1..]), "(64 given)"),
            (&format!("822:{hash}:1"), "(66 given)"),
        ] {
            let err = parse_head(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(err.contains("POSITION:HASH"), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_read_in_minutes_hours_and_days_and_say_what_is_wrong() {
        assert_eq!(parse_duration_ms("90m"), Ok(90 * 60_000));
        assert_eq!(parse_duration_ms("8h"), Ok(8 * 3_600_000));
        assert_eq!(parse_duration_ms("3d"), Ok(3 * 86_400_000));
        assert_eq!(parse_duration_ms("0h"), Ok(0));
        for bad in [
            "8",
            "h",
            "-1h",
            "1.5h",
            "8 h",
            "3w",
            "",
            "99999999999999999999d",
        ] {
            let err = parse_duration_ms(bad).unwrap_err();
            assert!(err.contains("like 90m, 8h or 3d"), "{bad}: {err}");
        }
        assert!(parse_duration_ms("4000d").unwrap_err().contains("10 years"));
    }
}
