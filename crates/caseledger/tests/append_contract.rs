//! The in-memory log keeps the append contract: every case of
//! `caseledger-testkit`, each on a new log.

#[test]
fn the_memory_log_keeps_the_append_contract() {
    caseledger_testkit::append_contract(caseledger::InMemoryEventLog::new);
}
