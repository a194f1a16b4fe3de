//! A database of its own for each test, shared with the PostgreSQL log's
//! tests: see `caseledger_testkit::pg`.
pub use caseledger_testkit::pg::TestDb;
