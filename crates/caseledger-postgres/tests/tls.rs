//! TLS (feature `tls`): `sslmode=verify-full` with the server's CA in
//! `sslrootcert` connects and appends; an unknown CA and a host name the
//! certificate does not name are refused, also under `sslmode=require`.
//!
//! Uses the test server's own certificate (`ssl_cert_file`) as the CA: on
//! the project's machines, Debian's self-signed "snakeoil" certificate for
//! `localhost`. A server without TLS checks that TLS is required, not
//! skipped.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use caseledger::{EventLog, ExpectedVersion};
use caseledger_postgres::{ErrorKind, PgLog, PgOptions};
use caseledger_testkit::pg::{server_tls, with_host_and_query};
use common::TestDb;

fn kind(result: Result<PgLog, caseledger_postgres::Error>) -> ErrorKind {
    match result {
        Ok(_) => panic!("connected"),
        Err(e) => e.kind().clone(),
    }
}

#[test]
fn verify_full_connects_and_a_wrong_ca_or_host_is_refused() {
    let db = TestDb::new();
    let (on, cert) = server_tls();
    let options = PgOptions::default().connect_timeout_ms(5_000);
    if !on {
        // No TLS on this server: asking for it fails, never falls back.
        let url = with_host_and_query(&db.url, "127.0.0.1", "sslmode=require");
        assert_eq!(kind(PgLog::connect(&url, options)), ErrorKind::Connect);
        eprintln!("the test server offers no TLS: checked that TLS is required");
        return;
    }
    let ok = with_host_and_query(
        &db.url,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={cert}"),
    );
    let log = PgLog::connect(&ok, options).unwrap_or_else(|e| panic!("{e}: {e:?}"));
    let case = caseledger::CaseId::from_u128(1);
    let e = caseledger::Event {
        event_id: caseledger::EventId::from_u128(1),
        case_id: case,
        at: chrono::DateTime::from_timestamp(1_770_000_000, 0).unwrap(),
        actor: caseledger::Actor::System,
        data: caseledger::EventData::Responded,
    };
    log.append(case, ExpectedVersion::NoStream, &[e]).unwrap();
    drop(log);
    // The certificate names localhost, not 127.0.0.1: refused even under
    // `require`, which libpq would let through unchecked.
    let wrong_host = with_host_and_query(
        &db.url,
        "127.0.0.1",
        &format!("sslmode=require&sslrootcert={cert}"),
    );
    assert_eq!(
        kind(PgLog::connect(&wrong_host, options)),
        ErrorKind::Connect
    );
    // A CA that did not sign it: refused.
    let dir = tempfile::tempdir().unwrap();
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, OTHER_CA).unwrap();
    let wrong_ca = with_host_and_query(
        &db.url,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", other_ca.display()),
    );
    assert_eq!(kind(PgLog::connect(&wrong_ca, options)), ErrorKind::Connect);
}

/// A self-signed CA certificate that signed nothing the server holds.
const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIDHTCCAgWgAwIBAgIUO1GeNR3IEzQDTgkvODCjhdYg5VAwDQYJKoZIhvcNAQEL
BQAwHTEbMBkGA1UEAwwSY2FzZWxlZGdlciB0ZXN0IENBMCAXDTI2MTEyNjA3MTEz
NVoYDzIxMjYxMTAyMDcxMTM1WjAdMRswGQYDVQQDDBJjYXNlbGVkZ2VyIHRlc3Qg
Q0EwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCsg4+DNePu4kA5XCSk
4WZ2BoEOAK99SYbMOOgUHkWMCBnGJECJ3KHK0B6P1FkrsEJx94NCWxaWvPiLr+8E
3oucFLJbO1VJaoGtgxxgLbBQAsIimBrF9h3juKe7A7zDOhSBEQ4Y0ej/MhFWsetD
PSugmw2tBhHgXJDyAxiLueCZWLNnDs//uMhKOUa3Xnj8NqZmaw4Z8S8xFkqt4VV6
6bZeNqmXIktzXShbO3WpXAZLQ1UPvCpYnc8ZuVFxZ+y1Fxvifa1Ethai1EEVlqgA
1Gom9VX76ltB0j9NARQX8bGx272QfceEDBZS1u//rC5iz9DRFf1pTVO7VGTZRC2X
4FU3AgMBAAGjUzBRMB0GA1UdDgQWBBQZuSzeXjwH5RtRcac0K4cU5UW45zAfBgNV
HSMEGDAWgBQZuSzeXjwH5RtRcac0K4cU5UW45zAPBgNVHRMBAf8EBTADAQH/MA0G
CSqGSIb3DQEBCwUAA4IBAQAeCq+I8t7lrBnCcrUb4alBL8/h2Aev71BP2sPi5qy0
0IExcYw8atZZGSMC5n5XdzhHLu5jKTEiAhAhUocV3pZkaxEhQgKpVbnaquW9E17/
dtlmPV7+fCdi1+pI2MaWx48aQMZG8mG3fq3pQ6Nm4UgfJRF42qaMKG27RGhBZKSo
m33XS10CXVD6rbF0fvS96earGDWKeDMSiz5nvZ0VfkEvI2rK8oLFPeJlljqkHWfL
C90uU/rpyAMnO0koIlR8h/ZYM+DM+pF9/A7ndA3iuJpJI9OADQfyj+V05fioINaX
+pRvZzV1pQtbILYuHbb0em64ZNyauWTfnHX6mjeIq5LO
-----END CERTIFICATE-----
";
