//! A database of its own for each test (`caseledger_testkit::pg`, shared
//! with the command line's tests), with the log on it.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use caseledger::{Actor, CaseId, Event, EventData, EventId};
use caseledger_postgres::{PgLog, PgOptions};
pub use caseledger_testkit::pg::{admin, sql_on, url_as_user};
use chrono::{TimeZone, Utc};

/// A database created for one test and dropped with the guard
/// (`caseledger_testkit::pg::TestDb`), with the log on it.
#[derive(Debug)]
pub struct TestDb(caseledger_testkit::pg::TestDb);

impl std::ops::Deref for TestDb {
    type Target = caseledger_testkit::pg::TestDb;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl TestDb {
    /// A database on the shared test server.
    pub fn new() -> TestDb {
        TestDb(caseledger_testkit::pg::TestDb::new())
    }

    /// A database on the server of `server_url` (a private server).
    pub fn on(server_url: &str) -> TestDb {
        TestDb(caseledger_testkit::pg::TestDb::on(server_url))
    }

    /// A blocking log on this database.
    pub fn log(&self) -> PgLog {
        self.log_with(PgOptions::default())
    }

    pub fn log_with(&self, options: PgOptions) -> PgLog {
        PgLog::connect(&self.url, options).unwrap_or_else(|e| panic!("connect: {e} ({e:?})"))
    }
}

/// A `responded` event of case `case` with id `id`, at one fixed moment
/// (a log checks no case rule).
pub fn responded(case: u128, id: u128) -> Event {
    Event {
        event_id: EventId::from_u128(id),
        case_id: CaseId::from_u128(case),
        at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        actor: Actor::System,
        data: EventData::Responded,
    }
}
