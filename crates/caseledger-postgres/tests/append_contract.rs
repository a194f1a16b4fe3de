//! The PostgreSQL log keeps the append contract: every case of
//! `caseledger-testkit`, each on a new log in a new database.

mod common;

use caseledger_testkit::Guarded;
use common::TestDb;

#[test]
fn the_postgres_log_keeps_the_append_contract() {
    caseledger_testkit::append_contract(|| {
        let db = TestDb::new();
        let log = db.log();
        Guarded::new(log, db)
    });
}
