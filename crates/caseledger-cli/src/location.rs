//! Where a ledger is: a store directory or a PostgreSQL database
//! (`--store`, `CASELEDGER_STORE`, `copy --source/--target`), and the one
//! redaction of passwords from anything the command prints.
//!
//! A database URL carries its password (`postgres://user:secret@host/db`,
//! or `?password=secret`). The password must never appear in any output or
//! error: [`StoreLocation`] shows itself only redacted, and every line the
//! program prints on stderr goes through [`redact`], which masks the
//! password of any PostgreSQL URL in it and every password of a location
//! this process parsed (the driver's messages might quote one).

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::exit::UsageError;

/// What replaces a password.
pub const MASK: &str = caseledger_postgres::PASSWORD_MASK;

/// The schemes of a PostgreSQL URL (as libpq accepts them).
const PG_SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

/// The longest `--store` value accepted, in bytes: far above any real path
/// or URL.
const MAX_LOCATION_BYTES: usize = 4096;

/// A validated store location.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A store directory (the file store).
    Dir(PathBuf),
    /// A PostgreSQL database, by URL.
    Postgres(PgUrl),
}

/// A PostgreSQL URL. Its password shows only through [`PgUrl::secret`],
/// which is for the database client; `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    url: String,
}

impl PgUrl {
    /// The URL as given, password included: only for the database client.
    pub fn secret(&self) -> &str {
        &self.url
    }

    /// The same server, user and parameters, database `db` (a name of
    /// ASCII letters, digits and `_`, else an error):
    /// [`caseledger_postgres::url_with_database`], which reads the URL as
    /// the client does (a raw `/` or `?` in the password stays the
    /// password's) and leaves out a `dbname` parameter that would name
    /// another database.
    pub fn with_database(&self, db: &str) -> Result<PgUrl, caseledger_postgres::Error> {
        caseledger_postgres::url_with_database(&self.url, db).map(|url| PgUrl { url })
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.url))
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Dir(d) => write!(f, "{}", d.display()),
            StoreLocation::Postgres(url) => url.fmt(f),
        }
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Dir(d) => write!(f, "Dir({})", d.display()),
            StoreLocation::Postgres(url) => url.fmt(f),
        }
    }
}

impl StoreLocation {
    /// Parses a `--store` value (`flag` names it in errors): a URL with
    /// scheme `postgres://` or `postgresql://`, else a directory path. A
    /// value that looks like a URL of another scheme is refused (a typo of
    /// the scheme must not become a directory named `postgress:`). The
    /// value is never quoted whole in an error: it may hold a password.
    pub fn parse(value: &OsStr, flag: &str) -> Result<StoreLocation, UsageError> {
        let Some(text) = value.to_str() else {
            // Not UTF-8: no URL; a path.
            return Ok(StoreLocation::Dir(PathBuf::from(value)));
        };
        if text.len() > MAX_LOCATION_BYTES {
            return Err(UsageError(format!(
                "{flag}: longer than {MAX_LOCATION_BYTES} bytes"
            )));
        }
        if text.trim().is_empty() {
            return Err(UsageError(format!(
                "{flag} is empty: give a store directory or a postgres:// URL"
            )));
        }
        let lower = text.to_ascii_lowercase();
        if let Some(scheme) = PG_SCHEMES.iter().find(|s| lower.starts_with(*s)) {
            // First, so that no message can show it, even this one's.
            remember_secrets(text);
            let rest = &text[scheme.len()..];
            if rest.is_empty() || rest == "/" {
                return Err(UsageError(format!(
                    "{flag} {}: the URL names no server or database; for example \
                     postgres://user@127.0.0.1:5432/caseledger",
                    redact(text)
                )));
            }
            if text.chars().any(char::is_whitespace) {
                // Not quoted: a password with a space ends no URL redact finds.
                return Err(UsageError(format!(
                    "{flag}: the URL holds a space (or another blank); percent-encode it (%20)"
                )));
            }
            return Ok(StoreLocation::Postgres(PgUrl {
                url: text.to_owned(),
            }));
        }
        if let Some(i) = text.find("://") {
            let scheme = &text[..i];
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return Err(UsageError(format!(
                    "{flag}: `{scheme}://` is not a store this build knows: give a store \
                     directory or a postgres:// (postgresql://) URL"
                )));
            }
        }
        Ok(StoreLocation::Dir(PathBuf::from(text)))
    }
}

/// Parses an optional `--store` value (`None`: not given).
pub fn parse_optional(
    value: Option<&OsString>,
    flag: &str,
) -> Result<Option<StoreLocation>, UsageError> {
    value.map(|v| StoreLocation::parse(v, flag)).transpose()
}

/// The passwords of the URLs this process parsed, raw and
/// percent-decoded: [`redact`] masks them wherever they appear.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The shortest password [`redact`] masks outside a URL: a shorter one
/// would mask its letters in every word (inside a URL, every password is
/// masked).
const MIN_BARE_SECRET_CHARS: usize = 3;

/// Records the password of `url` (if it has one) for [`redact`].
fn remember_secrets(url: &str) {
    let mut found = Vec::new();
    for raw in caseledger_postgres::url_passwords(url) {
        let decoded = percent_decode(raw);
        for s in [raw.to_owned(), decoded] {
            if s.chars().count() >= MIN_BARE_SECRET_CHARS && !found.contains(&s) {
                found.push(s);
            }
        }
    }
    let mut secrets = SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for s in found {
        if !secrets.contains(&s) {
            secrets.push(s);
        }
    }
    // Longest first, so that a password containing another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The one redaction of what the command prints: `text` with every
/// PostgreSQL URL in it masked by the library's
/// [`caseledger_postgres::redact_url`] (`user:PASSWORD@` and
/// `password=PASSWORD` in the query), and every password of a URL this
/// process parsed (of at least [`MIN_BARE_SECRET_CHARS`] characters)
/// masked wherever it appears. Everything the command prints on stderr
/// passes through it, and a location shows itself through it.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Every password this process parsed, masked wherever it appears.
    let bare = |part: &str| {
        let mut part = part.to_owned();
        for s in secrets.iter() {
            if part.contains(s.as_str()) {
                part = part.replace(s.as_str(), MASK);
            }
        }
        part
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, scheme_len)) = find_url(rest) {
        out.push_str(&bare(&rest[..start]));
        let url_len = rest[start + scheme_len..]
            .find(|c: char| c.is_whitespace() || "\"'`<>".contains(c))
            .map_or(rest.len() - start, |n| n + scheme_len);
        let url = caseledger_postgres::redact_url(&rest[start..start + url_len]);
        // The scheme is left as it is: a password spelled `postgres` must
        // not turn the URL into `***://`. (Masking keeps the scheme, so
        // the masked URL starts with it.)
        let (scheme, after) = url.split_at(scheme_len.min(url.len()));
        out.push_str(scheme);
        out.push_str(&bare(after));
        rest = &rest[start + url_len..];
    }
    out.push_str(&bare(rest));
    out
}

/// Where the next PostgreSQL URL starts in `text` and its scheme's length.
fn find_url(text: &str) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    PG_SCHEMES
        .iter()
        .filter_map(|s| lower.find(s).map(|i| (i, s.len())))
        // At one start, the longer scheme (`postgresql://` over none).
        .min_by_key(|&(i, len)| (i, std::cmp::Reverse(len)))
}

/// `%XX` sequences decoded (a malformed one is kept as it is); bytes that
/// are not UTF-8 are replaced.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                // Two hex digits make a byte.
                out.push(((hex(h).unwrap_or(0) << 4) | hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(s: &str) -> Result<StoreLocation, String> {
        StoreLocation::parse(OsStr::new(s), "--store").map_err(|e| e.0)
    }

    #[test]
    fn a_url_is_postgres_and_anything_else_a_directory() {
        for url in [
            "postgres://u@127.0.0.1:5432/db",
            "postgresql://u:p@h/db?sslmode=require",
            "POSTGRES://h/db",
            "postgres:///db?host=/var/run/postgresql",
        ] {
            assert!(
                matches!(parse(url), Ok(StoreLocation::Postgres(_))),
                "{url}"
            );
        }
        for dir in ["events/", "./postgres", "/data/postgres:5432", "C:x"] {
            assert_eq!(parse(dir), Ok(StoreLocation::Dir(PathBuf::from(dir))));
        }
        let err = parse("postgress://u:hunter2@h/db").unwrap_err();
        assert!(err.contains("`postgress://` is not a store"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(
            parse("postgres://")
                .unwrap_err()
                .contains("names no server")
        );
        let err = parse("postgres://u:pass word@h/db").unwrap_err();
        assert!(
            err.contains("holds a space") && !err.contains("word"),
            "{err}"
        );
    }

    #[test]
    fn every_form_of_password_is_masked() {
        let cases = [
            (
                "postgres://alice:s3cr3t@db.bank:5432/ledger",
                "postgres://alice:***@db.bank:5432/ledger",
            ),
            (
                "postgresql://alice:p%40ss@h/db?sslmode=require",
                "postgresql://alice:***@h/db?sslmode=require",
            ),
            // A raw `@` in the password: the last one ends it.
            ("postgres://alice:a@b@h/db", "postgres://alice:***@h/db"),
            (
                "postgres://h/db?user=alice&password=zz9&sslmode=verify-full",
                "postgres://h/db?user=alice&password=***&sslmode=verify-full",
            ),
            (
                "postgres://h/db?PassWord=zz9",
                "postgres://h/db?PassWord=***",
            ),
            // A raw `?` or `/` in the password: masked whole, with or
            // without a query after it.
            (
                "postgres://alice:Zq9?secret@127.0.0.1:5432/DB?sslmode=disable",
                "postgres://alice:***@127.0.0.1:5432/DB?sslmode=disable",
            ),
            ("postgres://u:Se?cret1@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u:S3cretPart/tail9@h/db",
                "postgres://u:***@h/db",
            ),
            (
                "postgres://h/db?password=a?b&x=1",
                "postgres://h/db?password=***&x=1",
            ),
            // No password: unchanged.
            ("postgres://alice@h:5432/db", "postgres://alice@h:5432/db"),
            ("postgres://h/db", "postgres://h/db"),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
            let loc = parse(url).unwrap();
            assert_eq!(loc.to_string(), want);
            assert_eq!(format!("{loc:?}"), format!("PgUrl({want})"));
        }
        // In running text, each URL is masked, and the rest kept.
        assert_eq!(
            redact("cannot connect to postgres://a:x1@h/d (refused); also `postgresql://b:y2@h/e`"),
            "cannot connect to postgres://a:***@h/d (refused); also `postgresql://b:***@h/e`"
        );
    }

    #[test]
    fn another_database_keeps_the_server_user_and_parameters() {
        let Ok(StoreLocation::Postgres(url)) = parse("postgres://u:pw@h:5432/test?sslmode=disable")
        else {
            panic!("a URL");
        };
        let other = |url: &PgUrl, db| url.with_database(db).map(|u| u.secret().to_owned());
        assert_eq!(
            other(&url, "bench_1").ok().as_deref(),
            Some("postgres://u:pw@h:5432/bench_1?sslmode=disable")
        );
        let cases = [
            ("postgresql://h", "postgresql://h/b"),
            ("postgresql://h/", "postgresql://h/b"),
            // A raw `/` or `?` in the password is the password's (the
            // client reads the user information to the first `@`).
            ("postgres://u:p/w@h/db", "postgres://u:p/w@h/b"),
            ("postgres://u:p?w@h:1/db?x=1", "postgres://u:p?w@h:1/b?x=1"),
            // `dbname` would name another database over the path.
            (
                "postgres://u@h/db?dbname=prod&sslmode=disable",
                "postgres://u@h/b?sslmode=disable",
            ),
            ("postgres://u@h/db?DB%6Eame=prod", "postgres://u@h/b"),
        ];
        for (given, want) in cases {
            let Ok(StoreLocation::Postgres(url)) = parse(given) else {
                panic!("a URL: {given}");
            };
            assert_eq!(other(&url, "b").ok().as_deref(), Some(want), "{given}");
        }
        let Ok(StoreLocation::Postgres(url)) = parse("postgres://h/db") else {
            panic!("a URL");
        };
        assert!(other(&url, "b; DROP").is_err(), "not a plain name");
        assert!(other(&url, "").is_err());
    }

    #[test]
    fn a_password_spelled_like_the_scheme_leaves_the_scheme() {
        // (Masked in every other test's text from now on: this process
        // parsed it.)
        parse("postgres://app:postgres@h/db").unwrap();
        assert_eq!(
            redact("cannot open postgres://app:postgres@h/db: postgres said no"),
            "cannot open postgres://app:***@h/db: *** said no"
        );
    }

    #[test]
    fn a_parsed_password_is_masked_wherever_it_appears() {
        parse("postgres://bob:Tr0ub4dor%263@h/db").unwrap();
        // Raw and decoded, without a URL around them (a driver's message).
        assert_eq!(
            redact("auth failed for Tr0ub4dor%263 / Tr0ub4dor&3"),
            "auth failed for *** / ***"
        );
    }
}
