//! The append contract suite of `caseledger-testkit`, run through the
//! async port: on the memory log, and on the file store on tokio's
//! blocking pool. Every call of every case goes through `AsyncEventLog`.

mod common;

use caseledger::InMemoryEventLog;
use caseledger_async::Blocking;
use caseledger_store::{Store, StoreOptions};
use common::OnRuntime;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime")
}

#[test]
fn the_memory_log_keeps_the_append_contract_through_the_async_port() {
    let rt = runtime();
    caseledger_testkit::append_contract(|| OnRuntime {
        log: InMemoryEventLog::new(),
        runtime: rt.handle().clone(),
        guard: (),
    });
}

#[test]
fn the_file_store_on_the_blocking_pool_keeps_the_append_contract() {
    let rt = runtime();
    caseledger_testkit::append_contract(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("a new store");
        OnRuntime {
            log: Blocking::new(store),
            runtime: rt.handle().clone(),
            guard: dir,
        }
    });
}
