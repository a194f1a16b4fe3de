//! Figures for docs/postgres.md (`#[ignore]`: run on purpose, in release):
//!
//! ```sh
//! cargo test --release -p caseledger-postgres --test bench -- --ignored --nocapture
//! ```
//!
//! Each figure is the median of `RUNS` runs, on the server of
//! `CASELEDGER_TEST_PG`, durable (the server's `synchronous_commit`, on by
//! default): one event per append from one thread against a plain
//! single-row INSERT + COMMIT loop on the same server in the same run; 8
//! threads of one process against 1; 8 processes against 1.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, and shows the error.

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use caseledger::*;
use caseledger_postgres::PgLog;
use common::{TestDb, responded};

const RUNS: usize = 5;
const APPENDS: u64 = 200;
const CHILD_ENV: &str = "CASELEDGER_PG_BENCH_CHILD";

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Appends `n` events one per call, each to its own new case, ids from
/// `base`; returns appends per second.
fn append_loop(log: &PgLog, base: u128, n: u64) -> f64 {
    let start = Instant::now();
    for i in 0..u128::from(n) {
        let id = base + i;
        log.append(
            CaseId::from_u128(id),
            ExpectedVersion::NoStream,
            &[responded(id, id)],
        )
        .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// A plain single-row INSERT + COMMIT per row (autocommit), `n` rows of a
/// record's size; returns rows per second.
fn insert_loop(db: &TestDb, n: u64, run: usize) -> f64 {
    let url = db.url.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            c.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS plain_{run} (id bigint PRIMARY KEY, body bytea NOT NULL)"
            ))
            .await
            .unwrap();
            let sql = format!("INSERT INTO plain_{run} (id, body) VALUES ($1, $2)");
            let stmt = c.prepare(&sql).await.unwrap();
            let body = vec![7u8; 140];
            let start = Instant::now();
            for i in 0..n as i64 {
                c.execute(&stmt, &[&i, &body]).await.unwrap();
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
    })
    .join()
    .unwrap()
}

/// `threads` threads appending `per_thread` events each; appends per second.
fn threaded(log: &PgLog, threads: u64, per_thread: u64, base: u128) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                append_loop(log, base + u128::from(t) * 1_000_000, per_thread);
            });
        }
    });
    (threads * per_thread) as f64 / start.elapsed().as_secs_f64()
}

/// Child: appends `n` events from one thread, ids from `base`, after the
/// start time given (so that processes start together); prints nothing.
#[test]
#[ignore = "a benchmark's child process"]
fn child_appender() {
    let Ok(arg) = std::env::var(CHILD_ENV) else {
        return;
    };
    let f: Vec<&str> = arg.split(' ').collect();
    let log = PgLog::connect(f[0], caseledger_postgres::PgOptions::default()).unwrap();
    let (base, n): (u128, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
    append_loop(&log, base, n);
}

/// `processes` processes appending `per_process` events each, one thread
/// each; appends per second, counted from the spawn (connecting included,
/// the same for 1 and 8).
fn processes(db: &TestDb, processes: u64, per_process: u64, base: u128) -> f64 {
    let start = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|p| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "child_appender",
                    "--ignored",
                    "--nocapture",
                    "--quiet",
                ])
                .env(
                    CHILD_ENV,
                    format!(
                        "{} {} {per_process}",
                        db.url,
                        base + u128::from(p) * 1_000_000
                    ),
                )
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    (processes * per_process) as f64 / start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "a benchmark: run it on purpose, in release"]
fn bench_durable_appends() {
    let db = TestDb::new();
    let log = db.log();
    let mut base = 1u128 << 64;
    let mut next = |step: u128| {
        base += step;
        base
    };
    let (mut ours, mut plain, mut one, mut eight, mut p1, mut p8) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for run in 0..RUNS {
        plain.push(insert_loop(&db, APPENDS, run));
        ours.push(append_loop(&log, next(1 << 40), APPENDS));
        one.push(threaded(&log, 1, APPENDS, next(1 << 40)));
        eight.push(threaded(&log, 8, APPENDS, next(1 << 40)));
        p1.push(processes(&db, 1, APPENDS, next(1 << 40)));
        p8.push(processes(&db, 8, APPENDS, next(1 << 40)));
    }
    let (ours, plain) = (median(ours), median(plain));
    let (one, eight, p1, p8) = (median(one), median(eight), median(p1), median(p8));
    println!("median of {RUNS} runs, {APPENDS} appends per thread or process, 1 event each:");
    println!("  plain INSERT+COMMIT, 1 connection: {plain:.0} rows/s");
    println!(
        "  append, 1 thread:                  {ours:.0} appends/s ({:.0}% of plain)",
        100.0 * ours / plain
    );
    println!(
        "  append, 8 threads, 1 process:      {eight:.0} appends/s ({:.1}x 1 thread at {one:.0})",
        eight / one
    );
    println!(
        "  append, 8 processes, 1 thread each: {p8:.0} appends/s ({:.2}x 1 process at {p1:.0})",
        p8 / p1
    );
    let report = log.verify_chain(|_| {}).unwrap();
    println!(
        "  the log: {} events in {} transactions",
        report.events, report.commits
    );
}
