//! How to reach the server and how the log behaves: the connection string
//! ([`parse_url`], [`redact_url`]) and [`PgOptions`].

use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// Where `recorded_at` comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clock {
    /// The client's system clock when the group is written (the default).
    #[default]
    System,
    /// The event's own `at`: for synthetic histories and tests, whose logs
    /// are then reproducible (the same as the file store's
    /// `Clock::EventTime`, so both give the same head hash).
    EventTime,
}

/// The most connections [`PgOptions::pool_size`] allows.
pub const MAX_POOL_SIZE: usize = 64;
/// The most rows [`PgOptions::page_rows`] allows.
pub const MAX_PAGE_ROWS: usize = 100_000;
/// At most this many queued appends go into one group transaction; the rest
/// wait for the next. Bounds the time one group holds the head lock.
pub const MAX_GROUP_APPENDS: usize = 1024;
/// The channel a `NOTIFY` is sent on after each commit; its payload is the
/// new head position (decimal).
pub const NOTIFY_CHANNEL: &str = "caseledger_events";

/// How to open a PostgreSQL log. Built from the default with its setters,
/// so that a new option breaks no caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgOptions {
    /// Where `recorded_at` comes from.
    pub clock: Clock,
    /// Connections of the pool (reads, and the writer's one): 2 to
    /// [`MAX_POOL_SIZE`]; default 8.
    pub pool_size: usize,
    /// Rows a `read_all` page fetches at a time: 1 to [`MAX_PAGE_ROWS`];
    /// default 10 000.
    pub page_rows: usize,
    /// How long to wait for a connection (to connect, or for a free one in
    /// the pool), in milliseconds; default 10 000.
    pub connect_timeout_ms: u64,
    /// Whether opening may create the caseledger schema in a database that
    /// has none, and upgrade an older one: `true` (the default) for the
    /// process that writes the ledger. `false` opens an existing ledger
    /// only and changes nothing in the database, for a reader (an auditor's
    /// `verify`, a report, an export): a database without the schema is
    /// refused with [`ErrorKind::NoLedger`], where a creating open would
    /// have made an empty ledger in it. An older schema is read as it is,
    /// never upgraded: every table the log reads and appends to is there
    /// since version 1; a projection runner, whose checkpoint table came
    /// later, is refused on it with [`ErrorKind::SchemaTooOld`]. A newer
    /// schema is refused either way ([`ErrorKind::SchemaTooNew`]).
    pub create_schema: bool,
}

impl Default for PgOptions {
    fn default() -> PgOptions {
        PgOptions {
            clock: Clock::System,
            pool_size: 8,
            page_rows: 10_000,
            connect_timeout_ms: 10_000,
            create_schema: true,
        }
    }
}

impl PgOptions {
    /// Where `recorded_at` comes from.
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> PgOptions {
        self.clock = clock;
        self
    }

    /// Connections of the pool (see the field).
    #[must_use]
    pub fn pool_size(mut self, n: usize) -> PgOptions {
        self.pool_size = n;
        self
    }

    /// Rows a `read_all` page fetches (see the field).
    #[must_use]
    pub fn page_rows(mut self, n: usize) -> PgOptions {
        self.page_rows = n;
        self
    }

    /// How long to wait for a connection, in milliseconds.
    #[must_use]
    pub fn connect_timeout_ms(mut self, ms: u64) -> PgOptions {
        self.connect_timeout_ms = ms;
        self
    }

    /// Whether opening may create or upgrade the schema (see the field):
    /// `false` to open an existing ledger without changing the database.
    #[must_use]
    pub fn create_schema(mut self, create: bool) -> PgOptions {
        self.create_schema = create;
        self
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        let bad = |reason: String| Err(Error::new(ErrorKind::InvalidOption { reason }));
        if !(2..=MAX_POOL_SIZE).contains(&self.pool_size) {
            return bad(format!(
                "pool_size {}: 2 to {MAX_POOL_SIZE}",
                self.pool_size
            ));
        }
        if !(1..=MAX_PAGE_ROWS).contains(&self.page_rows) {
            return bad(format!(
                "page_rows {}: 1 to {MAX_PAGE_ROWS}",
                self.page_rows
            ));
        }
        if self.connect_timeout_ms == 0 {
            return bad("connect_timeout_ms 0: at least 1".to_owned());
        }
        Ok(())
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

/// How a connection is secured, from the string's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    /// `disable`: plain.
    Disabled,
    /// `allow`, `prefer` (the default): TLS when the build has it (feature
    /// `tls`) and the server offers it, plain otherwise.
    Preferred,
    /// `require`, `verify-ca`, `verify-full`: TLS or no connection.
    Required,
}

/// A parsed connection string: the client's configuration, and what this
/// crate takes out of it itself (the client parses neither `verify-*`
/// modes nor `sslrootcert`).
#[derive(Debug)]
pub(crate) struct Target {
    pub config: tokio_postgres::Config,
    pub tls: Tls,
    /// `sslrootcert=PATH`: the PEM file of the CAs to trust instead of the
    /// system's.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub root_cert: Option<std::path::PathBuf>,
}

/// Whether `s` names a PostgreSQL server: a `postgres://` or
/// `postgresql://` URL. (A file store path is anything else.)
pub fn is_postgres_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

fn invalid(reason: String) -> Error {
    Error::new(ErrorKind::InvalidUrl { reason })
}

/// Where a URL's parts are, as the client (tokio-postgres) reads them: the
/// user information runs from the scheme to the first `@`, if there is one
/// (so a raw `:`, `/` or `?` in a password is the password's), then the
/// host and the path run to the first `?`, the query after it.
struct UrlParts {
    /// Where the user information (or, without one, the host) starts.
    after_scheme: usize,
    /// The `@` that ends the user information, if there is one.
    at: Option<usize>,
    /// The `?` that starts the query, if there is one.
    query: Option<usize>,
}

impl UrlParts {
    /// The parts of `url`, if it has a `scheme://`.
    fn of(url: &str) -> Option<UrlParts> {
        let after_scheme = url.find("://")? + 3;
        let at = url[after_scheme..].find('@').map(|i| after_scheme + i);
        let host = at.map_or(after_scheme, |i| i + 1);
        let query = url[host..].find('?').map(|i| host + i);
        Some(UrlParts {
            after_scheme,
            at,
            query,
        })
    }
}

/// The query parameter's name percent-decoded, in lower case.
fn param_name(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                // Two hex digits: below 256.
                decoded.push(((h << 4) | l) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).to_ascii_lowercase()
}

/// The same server, user and parameters as the URL `url`, database `db`:
/// the path replaced, and a `dbname` query parameter (which would name
/// another database over the path) left out. `db` is a name of ASCII
/// letters, digits and `_`, which needs no encoding; anything else is
/// refused, as is a connection string that is not a URL.
pub fn url_with_database(url: &str, db: &str) -> Result<String, Error> {
    if db.is_empty() || !db.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid(
            "a database name of ASCII letters, digits and `_` is expected".to_owned(),
        ));
    }
    let parts = UrlParts::of(url)
        .filter(|_| is_postgres_url(url))
        .ok_or_else(|| invalid("a postgres:// URL is expected".to_owned()))?;
    let host = parts.at.map_or(parts.after_scheme, |i| i + 1);
    let host_end = parts.query.unwrap_or(url.len());
    let authority_end = url[host..host_end].find('/').map_or(host_end, |i| host + i);
    let mut out = format!("{}/{db}", &url[..authority_end]);
    if let Some(q) = parts.query {
        let kept: Vec<&str> = url[q + 1..]
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| param_name(p.split_once('=').map_or(p, |(k, _)| k)) != "dbname")
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    Ok(out)
}

/// Parses a connection URL (`postgres://user:password@host:port/db?…`) or
/// key=value string. `sslmode=verify-ca` and `verify-full`, and
/// `sslrootcert`, which the client does not parse itself, are taken out
/// here. Errors name the part that is wrong, never the password.
pub(crate) fn parse_url(url: &str) -> Result<Target, Error> {
    let mut tls = Tls::Preferred;
    let mut root_cert = None;
    // Takes our parameters out; keeps the others for the client.
    let mut take = |key: &str, value: &str| -> Result<Option<String>, Error> {
        match key {
            "sslmode" => {
                tls = match value {
                    "disable" => Tls::Disabled,
                    "allow" | "prefer" => Tls::Preferred,
                    "require" | "verify-ca" | "verify-full" => Tls::Required,
                    other => {
                        return Err(invalid(format!(
                            "sslmode `{other}`: one of disable, allow, prefer, require, \
                             verify-ca, verify-full"
                        )));
                    }
                };
                Ok(Some(format!(
                    "sslmode={}",
                    match tls {
                        Tls::Disabled => "disable",
                        Tls::Preferred => "prefer",
                        Tls::Required => "require",
                    }
                )))
            }
            "sslrootcert" => {
                root_cert = Some(std::path::PathBuf::from(value));
                Ok(None)
            }
            _ => Ok(Some(format!("{key}={value}"))),
        }
    };
    let cleaned = if let Some(parts) = UrlParts::of(url).filter(|_| is_postgres_url(url)) {
        // The client knows the scheme in lower case only; the command line
        // takes `POSTGRES://` as a URL too.
        let scheme_end = parts.after_scheme;
        let url = format!(
            "{}{}",
            url[..scheme_end].trim_start().to_ascii_lowercase(),
            &url[scheme_end..]
        );
        match parts.query.map(|q| (&url[..q], &url[q + 1..])) {
            Some((base, query)) => {
                let mut kept = Vec::new();
                for param in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = param.split_once('=').unwrap_or((param, ""));
                    if let Some(p) = take(k, v)? {
                        kept.push(p);
                    }
                }
                match kept.is_empty() {
                    true => base.to_owned(),
                    false => format!("{base}?{}", kept.join("&")),
                }
            }
            None => url,
        }
    } else if url.contains(['\'', '\\']) {
        // Quoted key=value values (a password with spaces): left to the
        // client whole; `verify-*` and `sslrootcert` need the URL form then.
        url.to_owned()
    } else {
        let mut kept = Vec::new();
        for pair in url.split_whitespace() {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if let Some(p) = take(k, v)? {
                kept.push(p);
            }
        }
        kept.join(" ")
    };
    let config: tokio_postgres::Config = cleaned.parse().map_err(|e: tokio_postgres::Error| {
        // The client's parse errors name an option or a byte offset, never
        // a value; what they name is in their source ("unknown option
        // `foo`", "invalid value for option `port`").
        match std::error::Error::source(&e) {
            Some(detail) => invalid(format!("{e}: {detail}")),
            None => invalid(e.to_string()),
        }
    })?;
    Ok(Target {
        config,
        tls,
        root_cert,
    })
}

/// Whether two connection strings (either form) name the same database,
/// as far as the strings tell: the same database name (the user's name
/// when none is given, as the server takes it) and at least one server
/// address in common, an address being a host (`hostaddr` when given, as
/// the client connects to it) with its port (5432 when none is given).
/// The scheme, the user, the password, `sslmode` and the other parameters
/// do not matter: `postgres://u@h/db` and
/// `postgresql://u@h:5432/db?sslmode=disable` are the same database.
///
/// Names are compared as written, not resolved: `localhost` and
/// `127.0.0.1` (or a host name and its address, or a Unix socket and TCP)
/// count as different, since what a name resolves to is the connection's
/// to find out, possibly not the same on the next lookup. Fails with
/// [`ErrorKind::InvalidUrl`] on a string [`PgLog::connect`] would refuse.
///
/// [`PgLog::connect`]: crate::PgLog::connect
pub fn same_database(a: &str, b: &str) -> Result<bool, Error> {
    let (a, b) = (parse_url(a)?.config, parse_url(b)?.config);
    let database = |c: &tokio_postgres::Config| c.get_dbname().or(c.get_user()).map(str::to_owned);
    if database(&a) != database(&b) {
        return Ok(false);
    }
    let b = addresses(&b);
    Ok(addresses(&a).iter().any(|x| b.contains(x)))
}

/// The addresses a parsed connection string connects to, as the client
/// picks them: for each host, its `hostaddr` when given, else the host
/// (an IP address written in one canonical form, a name in lower case, a
/// socket directory as it is), with its port: the host's own when there is
/// one per host, else the one given, else 5432.
fn addresses(c: &tokio_postgres::Config) -> Vec<(String, u16)> {
    use tokio_postgres::config::Host;
    let (hosts, hostaddrs, ports) = (c.get_hosts(), c.get_hostaddrs(), c.get_ports());
    (0..hosts.len().max(hostaddrs.len()))
        .map(|i| {
            let host = match (hostaddrs.get(i), hosts.get(i)) {
                (Some(ip), _) => ip.to_string(),
                (None, Some(Host::Tcp(name))) => match name.parse::<std::net::IpAddr>() {
                    Ok(ip) => ip.to_string(),
                    Err(_) => name.to_ascii_lowercase(),
                },
                #[cfg(unix)]
                (None, Some(Host::Unix(dir))) => format!("unix:{}", dir.display()),
                (None, None) => String::new(),
            };
            let port = match ports {
                [] => 5432,
                [one] => *one,
                many => many.get(i).copied().unwrap_or(5432),
            };
            (host, port)
        })
        .collect()
}

/// What replaces a password in [`redact_url`]'s output.
pub const PASSWORD_MASK: &str = "***";

/// The connection string with its password replaced by `***`: for logs,
/// messages and `Debug` output. In the URL form, the password of the user
/// information (after the first `:`, up to the last `@`: a raw `@`, `/` or
/// `?` in a password is masked whole) and the value of every `password`
/// query parameter (its name in any case, percent-encoded or not); in the
/// key=value form, the value of `password=`. The one
/// redaction of the project: the command line masks every URL of its
/// messages with it.
pub fn redact_url(url: &str) -> String {
    if url.find("://").is_none() {
        // key=value form: blank the value of `password=`.
        return url
            .split(' ')
            .map(|part| match part.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                    format!("password={PASSWORD_MASK}")
                }
                _ => part.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    let mut spans = password_spans(url);
    spans.sort_unstable();
    let mut masked = String::with_capacity(url.len());
    let mut last = 0;
    for (start, end) in spans {
        if end <= last {
            // Within a span masked already.
            continue;
        }
        masked.push_str(&url[last..start.max(last)]);
        if start >= last {
            masked.push_str(PASSWORD_MASK);
        }
        last = end;
    }
    masked.push_str(&url[last..]);
    masked
}

/// The passwords a connection string holds, as written (percent-encoded
/// when they are): the ones [`redact_url`] masks. For a caller that also
/// masks them where they appear without their URL (a driver's message).
pub fn url_passwords(url: &str) -> Vec<&str> {
    if url.find("://").is_none() {
        return url
            .split(' ')
            .filter_map(|part| part.split_once('='))
            .filter(|(k, _)| k.eq_ignore_ascii_case("password"))
            .map(|(_, v)| v)
            .collect();
    }
    password_spans(url)
        .into_iter()
        .map(|(start, end)| &url[start..end])
        .collect()
}

/// The byte ranges of the passwords in a URL, taken wide: whatever
/// follows the first `:` of the user information up to the last `@` of the
/// URL (a raw `@`, `/` or `?` in a password is masked whole, and a URL the
/// client would read otherwise is masked more, never less), and the value
/// of every `password` parameter after any `?` or `&` (up to the next
/// `&`). Ranges may overlap; [`redact_url`] merges them.
fn password_spans(url: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let Some(after_scheme) = url.find("://").map(|i| i + 3) else {
        return spans;
    };
    if let Some(at) = url[after_scheme..].rfind('@') {
        let userinfo_end = after_scheme + at;
        if let Some(colon) = url[after_scheme..userinfo_end].find(':') {
            spans.push((after_scheme + colon + 1, userinfo_end));
        }
    }
    for (i, _) in url[after_scheme..].match_indices(['?', '&']) {
        let start = after_scheme + i + 1;
        let end = url[start..].find('&').map_or(url.len(), |n| start + n);
        if let Some((key, _)) = url[start..end].split_once('=')
            && is_password_key(key)
        {
            spans.push((start + key.len() + 1, end));
        }
    }
    spans
}

/// Whether a query parameter's name is `password`, in any case, each
/// letter percent-encoded or not.
fn is_password_key(key: &str) -> bool {
    param_name(key) == "password"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_redacted_in_every_form() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.bank:5432/ledger?sslmode=require"),
            "postgres://app:***@db.bank:5432/ledger?sslmode=require"
        );
        assert_eq!(
            redact_url("postgresql://app@db/ledger?password=s3cret&x=1"),
            "postgresql://app@db/ledger?password=***&x=1"
        );
        assert_eq!(
            redact_url("host=db user=app password=s3cret"),
            "host=db user=app password=***"
        );
        let cases = [
            (
                "postgresql://alice:p%40ss@h/db?sslmode=require",
                "postgresql://alice:***@h/db?sslmode=require",
            ),
            // A raw `@` or `/` in the password: masked whole.
            ("postgres://alice:a@b@h/db", "postgres://alice:***@h/db"),
            ("postgres://alice:a/b@h/db", "postgres://alice:***@h/db"),
            (
                "postgres://h/db?user=alice&password=zz9&sslmode=verify-full",
                "postgres://h/db?user=alice&password=***&sslmode=verify-full",
            ),
            (
                "postgres://h/db?PassWord=zz9",
                "postgres://h/db?PassWord=***",
            ),
            (
                "postgres://h/db?pass%77ord=zz9",
                "postgres://h/db?pass%77ord=***",
            ),
            // A raw `?` in the password, before a query or not.
            (
                "postgres://u:Zq9?secret@h:5432/db?sslmode=disable",
                "postgres://u:***@h:5432/db?sslmode=disable",
            ),
            ("postgres://u:a?b@h/db", "postgres://u:***@h/db"),
            // A query value holding `?`, and a password parameter after it.
            (
                "postgres://h/db?application_name=a?b&password=zz9",
                "postgres://h/db?application_name=a?b&password=***",
            ),
            (
                "postgres://h/db?password=a?b&x=1",
                "postgres://h/db?password=***&x=1",
            ),
            // Both forms at once: one mask each.
            (
                "postgres://u:pw@h/db?password=zz9",
                "postgres://u:***@h/db?password=***",
            ),
            // No password: unchanged.
            ("postgres://alice@h:5432/db", "postgres://alice@h:5432/db"),
            ("postgres://h/db", "postgres://h/db"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
        assert_eq!(
            url_passwords("postgres://a:x%40y@h/db?password=zz9"),
            ["x%40y", "zz9"]
        );
        assert_eq!(url_passwords("host=h password=pw"), ["pw"]);
        assert_eq!(
            url_passwords("postgres://u:Zq9?secret@h/db?x=1"),
            ["Zq9?secret"]
        );
    }

    #[test]
    fn a_password_with_a_question_mark_reaches_the_client_whole() {
        let t = parse_url("postgres://app:Zq9?secret@h:5433/ledger?sslmode=disable")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.config.get_password(), Some(&b"Zq9?secret"[..]));
        assert_eq!(t.config.get_dbname(), Some("ledger"));
        assert_eq!(t.config.get_ports(), [5433]);
        assert_eq!(t.tls, Tls::Disabled);
        let t = parse_url("postgres://app:a?b@h/ledger").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.config.get_password(), Some(&b"a?b"[..]));
        assert_eq!(t.config.get_dbname(), Some("ledger"));
        // The scheme in capitals, as the command line takes it.
        let t = parse_url("POSTGRES://app@h/ledger").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.config.get_dbname(), Some("ledger"));
    }

    #[test]
    fn a_malformed_url_says_which_option() {
        for (url, named) in [
            ("postgres://h/db?foo=bar", "unknown option `foo`"),
            ("postgres://h:99999/db", "port"),
            ("postgres://h/db?port=abc", "port"),
        ] {
            match parse_url(url).map(|_| ()) {
                Err(e) => match e.kind() {
                    ErrorKind::InvalidUrl { reason } => {
                        assert!(reason.contains(named), "{url}: {reason}");
                    }
                    other => panic!("{url}: {other:?}"),
                },
                Ok(()) => panic!("{url}: accepted"),
            }
        }
    }

    #[test]
    fn another_database_is_named_in_the_path_alone() {
        let with = |url, db| url_with_database(url, db).ok();
        assert_eq!(
            with("postgres://u:p?w@h/db?dbname=prod&x=1", "b").as_deref(),
            Some("postgres://u:p?w@h/b?x=1")
        );
        assert_eq!(with("host=h dbname=x", "b"), None, "not a URL");
        assert_eq!(with("postgres://h/db", "b c"), None, "not a plain name");
    }

    #[test]
    fn the_same_database_is_told_by_its_parameters_not_its_spelling() {
        let same = |a: &str, b: &str| same_database(a, b).unwrap_or_else(|e| panic!("{e}"));
        let base = "postgres://postgres@127.0.0.1:5432/db";
        for other in [
            base,
            "postgresql://postgres@127.0.0.1:5432/db",
            "postgres://postgres@127.0.0.1:5432/db?sslmode=disable",
            "postgres://postgres@127.0.0.1/db",
            "postgres://other:pw@127.0.0.1/db?application_name=x",
            "postgres://postgres@h2:6000,127.0.0.1:5432/db",
            "postgres://postgres@name.bank/db?hostaddr=127.0.0.1",
            "host=127.0.0.1 port=5432 user=postgres dbname=db",
            "postgres://db@127.0.0.1",
        ] {
            assert!(same(base, other), "{other}");
            assert!(same(other, base), "{other}");
        }
        for other in [
            "postgres://postgres@127.0.0.1:5432/db2",
            "postgres://postgres@127.0.0.1:5433/db",
            "postgres://postgres@127.0.0.2:5432/db",
            "postgres://postgres@127.0.0.1",
            // Not resolved: see the function.
            "postgres://postgres@localhost:5432/db",
        ] {
            assert!(!same(base, other), "{other}");
        }
        assert!(same(
            "postgres://u@DB.Bank/x",
            "postgres://u@db.bank:5432/x"
        ));
        assert!(same(
            "postgres://u@[::1]/x",
            "postgres://u@[0:0:0:0:0:0:0:1]/x"
        ));
        assert!(matches!(
            same_database(base, "postgres://h/db?sslmode=sometimes"),
            Err(e) if matches!(e.kind(), ErrorKind::InvalidUrl { .. })
        ));
    }

    #[test]
    fn verify_full_is_taken_as_tls_required() {
        let t = parse_url(
            "postgres://app:pw@localhost/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.tls, Tls::Required);
        assert_eq!(
            t.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert_eq!(t.root_cert, Some(std::path::PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        let kv = parse_url("host=db user=app sslmode=disable").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kv.tls, Tls::Disabled);
        assert_eq!(
            kv.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        assert!(matches!(
            parse_url("postgres://h/db?sslmode=sometimes").map(|_| ()),
            Err(e) if matches!(e.kind(), ErrorKind::InvalidUrl { .. })
        ));
    }
}
