//! The file store keeps the append contract: every case of
//! `caseledger-testkit`, each on a new store in a new temporary directory.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use caseledger_store::{Store, StoreOptions};
use caseledger_testkit::Guarded;

#[test]
fn the_file_store_keeps_the_append_contract() {
    caseledger_testkit::append_contract(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        Guarded::new(store, dir)
    });
}
