//! Fault injection: the store under failing system calls (ENOSPC on a real
//! full disk is `tests/enospc.rs`).
//!
//! - EIO and ENOSPC on every call of each file operation (write, fdatasync,
//!   fsync, directory fsync, create, rename, truncate, unlink): an
//!   LD_PRELOAD shim (`faults/shim.c`, built here with `cc`) fails the N-th
//!   call under the store directory in a child process, for every N.
//! - A crash (SIGKILL from the shim) just before every mutating call.
//!
//! Each run checks what the callers were told (errors name the file and the
//! operation; an undone append leaves a store that takes writes; any other
//! failure leaves one that refuses writes until reopened, without calling
//! fdatasync again on the failed segment) and what the next open finds
//! (nothing acknowledged lost, nothing answered "not stored" visible, in-doubt
//! appends whole or absent, a store that verifies and takes writes).
//! docs/store-format.md, section "Faults", states the rules.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "faults/scenario.rs"]
mod scenario;
#[path = "faults/shim.rs"]
mod shim;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use caseledger::*;
use caseledger_store::{CUT_DIR, Store, segment_name};
use scenario::Report;
use shim::{Fault, Injected, ShimRun};

// ---------------------------------------------------------------- the child

/// Child: runs the scenario named by its argument ("main DIR LOG" or
/// "recover DIR LOG") under the shim, appending its report lines to LOG,
/// where the shim logs the calls it counts.
#[test]
fn child_fault_scenario() {
    let Some(arg) = common::child_arg() else {
        return;
    };
    let mut parts = arg.splitn(3, ' ');
    let (name, dir, log) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let steps = steps_named(name);
    let mut log = std::fs::File::options().append(true).open(log).unwrap();
    let mut sink = |line: String| {
        // One write per line, so the lines interleave whole with the shim's.
        log.write_all(format!("{line}\n").as_bytes()).unwrap();
    };
    scenario::run(Path::new(dir), &steps, &mut sink, &mut || {});
}

/// The steps of a scenario by name: "recover", "main", or "main<rounds>".
fn steps_named(name: &str) -> Vec<scenario::Step> {
    match name.strip_prefix("main") {
        Some("") => scenario::main_steps(),
        Some(rounds) => scenario::scaled_steps(rounds.parse().unwrap()),
        None => scenario::recover_steps(),
    }
}

// ------------------------------------------------- the shim: EIO and ENOSPC

/// The file operations the shim fails, with the words the store's error
/// must use for each.
const OPS: &[(&str, &[&str])] = &[
    ("write", &["cannot write"]),
    ("fdatasync", &["cannot fdatasync"]),
    ("fsync", &["cannot fsync"]),
    ("dirsync", &["cannot fsync directory"]),
    // Opening the lock file creates it when missing.
    ("create", &["cannot create", "cannot open"]),
    ("rename", &["cannot move"]),
    ("truncate", &["cannot truncate"]),
    ("unlink", &["cannot remove"]),
];

/// Whether a failure of this call may go unreported: the checkpoint's sync
/// on close (the next open scans past a stale checkpoint).
fn may_be_silent(fault: &Injected, lines: &[String]) -> bool {
    let at = lines.iter().position(|l| l.starts_with("FAIL "));
    let closing = at.is_some_and(|at| {
        let last_mark = lines[..at]
            .iter()
            .rev()
            .find(|l| l.starts_with("mark close"));
        last_mark.is_some_and(|m| m == "mark close")
    });
    closing && fault.path.ends_with("/checkpoint") && fault.op.ends_with("sync")
}

/// One faulted run of a scenario: checks the answers, the error's message,
/// the sync rule and the store. Returns whether the fault was reported.
fn check_fault_run(run: &ShimRun, setup: &Setup, errno_text: &str) -> bool {
    let context = &run.context;
    let mut report = Report::parse(&run.lines);
    report.acked.extend(&setup.acked_before);
    report.check_answers(context);
    let reported = match &run.fault {
        // A crash: nobody is told anything.
        _ if run.killed => false,
        None => false,
        Some(fault) => {
            let words = OPS.iter().find(|(op, _)| *op == fault.op).unwrap().1;
            match report.errors.first() {
                None => {
                    assert!(
                        may_be_silent(fault, &run.lines),
                        "{context}: the failed {} of {} was not reported\n{}",
                        fault.op,
                        fault.path,
                        report.dump()
                    );
                    false
                }
                Some((_, _, message)) => {
                    assert!(
                        words
                            .iter()
                            .any(|w| message.contains(&format!("{w} {}", fault.path)))
                            && message.contains(errno_text),
                        "{context}: the error must name the operation ({words:?}), the file \
                         {} and the cause ({errno_text}): {message}\n{}",
                        fault.path,
                        report.dump()
                    );
                    // The OS's error is the error's source, with its code:
                    // a caller can tell a full disk from a failing one.
                    let code = if errno_text == "Input/output error" {
                        "Uncategorized 5"
                    } else {
                        "StorageFull 28"
                    };
                    assert_eq!(
                        report.sources.first().map(String::as_str),
                        Some(code),
                        "{context}: source() must be the injected OS error\n{}",
                        report.dump()
                    );
                    // A failed write of a segment happens before the sync:
                    // it is undone, and the caller is told so.
                    let (at, kind, _) = &report.errors[0];
                    if fault.op == "write" && fault.path.contains("/seg-") && at.starts_with("step")
                    {
                        assert_eq!(kind, "Undone", "{context}\n{}", report.dump());
                    }
                    true
                }
            }
        }
    };
    if let Some(fault) = run.fault.as_ref().filter(|f| f.op == "fdatasync") {
        // Never retried: no fdatasync of that file until the store is
        // closed or reopened (or, for a failed open, opened again), unless the file
        // was removed (a new file of that name is another file).
        let at = run
            .lines
            .iter()
            .position(|l| l.starts_with("FAIL "))
            .unwrap();
        let removed =
            |l: &str| l.starts_with("unlink ") && l.ends_with(&format!(" {}", fault.path));
        let again = run.lines[at + 1..]
            .iter()
            .take_while(|l| {
                // A failed open ends that writer too.
                let open_failed = l.starts_with("error ") && !l.starts_with("error step");
                let ended = l.starts_with("mark reopen") || *l == "mark closed" || open_failed;
                !ended && !removed(l)
            })
            .find(|l| l.starts_with("fdatasync ") && l.ends_with(&format!(" {}", fault.path)));
        assert!(
            again.is_none(),
            "{context}: fdatasync of {} was called again after it failed: {again:?}\n{}",
            fault.path,
            report.dump()
        );
    }
    scenario::check_store(&run.store, &report, context);
    setup.check_cut_bytes_kept(&run.store, context);
    reported
}

/// A scenario and the store it starts from.
struct Setup {
    /// The scenario's name (see `steps_named`).
    name: String,
    /// A store to start from (copied for every run), or none: a new store.
    template: Option<tempfile::TempDir>,
    /// Events the template holds, acknowledged before the run.
    acked_before: BTreeSet<u128>,
    /// Bytes of the template's torn tail that recovery must keep in `cut/`.
    torn: Vec<Vec<u8>>,
}

impl Setup {
    fn main(rounds: u128) -> Setup {
        Setup {
            name: if rounds == 1 {
                "main".to_owned()
            } else {
                format!("main{rounds}")
            },
            template: None,
            acked_before: BTreeSet::new(),
            torn: Vec::new(),
        }
    }

    /// A store of 20 acknowledged events followed by a batch of 400 that a
    /// crash interrupted: it fills the rest of segment 1 and two more.
    fn torn_tail() -> Setup {
        let template = tempfile::tempdir().unwrap();
        let live = tempfile::tempdir().unwrap();
        let store = Store::open(live.path(), scenario::options()).unwrap();
        let mut acked_before = BTreeSet::new();
        for id in 1..=20u128 {
            let e = scenario::opened(id % 3, id, 500);
            store.append(e.case_id, ExpectedVersion::Any, &[e]).unwrap();
            acked_before.insert(id);
        }
        let boundary = std::fs::metadata(live.path().join(segment_name(1)))
            .unwrap()
            .len();
        let mut batch = store.batch().unwrap();
        for id in 100..500u128 {
            let e = scenario::opened(id % 3, id, 400);
            batch.append(e.case_id, ExpectedVersion::Any, &[e]).unwrap();
        }
        common::copy_store(live.path(), template.path());
        drop(batch);
        drop(store);
        let segments = caseledger_store::format::SEGMENT_HEADER_BYTES;
        let mut torn = Vec::new();
        for n in 1u32.. {
            let Ok(bytes) = std::fs::read(template.path().join(segment_name(n))) else {
                break;
            };
            let from = if n == 1 { boundary as usize } else { 0 };
            if bytes.len() > from {
                torn.push(bytes[from..].to_vec());
            }
        }
        // The last segment may hold only its header: the batch's bytes
        // after the last roll were still in its buffer.
        assert!(
            torn.len() >= 3 && torn[1].len() > segments,
            "the torn tail spans three segments or more"
        );
        Setup {
            name: "recover".to_owned(),
            template: Some(template),
            acked_before,
            torn,
        }
    }

    fn prepare(&self, store: &Path) {
        if let Some(t) = &self.template {
            common::copy_store(t.path(), store);
        }
    }

    /// Every torn piece is kept, byte for byte, in a file under `cut/`.
    fn check_cut_bytes_kept(&self, store: &Path, context: &str) {
        if self.torn.is_empty() {
            return;
        }
        let kept: Vec<Vec<u8>> = std::fs::read_dir(store.join(CUT_DIR))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        for (i, piece) in self.torn.iter().enumerate() {
            assert!(
                kept.contains(piece),
                "{context}: torn piece {i} ({} bytes) is not kept in cut/",
                piece.len()
            );
        }
    }
}

/// Fails every call of each operation in turn, with `errno`, in the
/// scenario; returns how many faults were injected per operation.
fn every_call_fails(setup: &Setup, errno: &str, ops: &[&str]) -> BTreeMap<String, u64> {
    let errno_text = match errno {
        "EIO" => "Input/output error",
        _ => "No space left on device",
    };
    let counts = shim::count_calls(&setup.name, &|dir| setup.prepare(dir));
    let mut injected = BTreeMap::new();
    for &op in ops {
        let calls = counts.get(op).copied().unwrap_or(0);
        for n in 1..=calls {
            let run = shim::run_child(
                &setup.name,
                &|dir| setup.prepare(dir),
                Fault::fail(op, n, errno),
            );
            assert!(
                run.fault.is_some(),
                "{}: the shim failed no call",
                run.context
            );
            check_fault_run(&run, setup, errno_text);
            *injected.entry(op.to_owned()).or_default() += 1;
        }
    }
    injected
}

#[test]
fn eio_on_every_call_of_every_operation_in_the_main_scenario() {
    let ops: Vec<&str> = OPS.iter().map(|o| o.0).collect();
    let injected = every_call_fails(&Setup::main(1), "EIO", &ops);
    for op in ["write", "fdatasync", "fsync", "dirsync", "create"] {
        assert!(injected.contains_key(op), "no {op} call: {injected:?}");
    }
    eprintln!("EIO, main scenario: faults injected per operation {injected:?}");
}

#[test]
fn eio_on_every_call_of_every_operation_in_recovery() {
    let ops: Vec<&str> = OPS.iter().map(|o| o.0).collect();
    let injected = every_call_fails(&Setup::torn_tail(), "EIO", &ops);
    for op in [
        "write",
        "fdatasync",
        "fsync",
        "dirsync",
        "create",
        "rename",
        "truncate",
    ] {
        assert!(injected.contains_key(op), "no {op} call: {injected:?}");
    }
    eprintln!("EIO, recovery scenario: faults injected per operation {injected:?}");
}

#[test]
fn enospc_on_every_write_create_and_sync() {
    let ops = ["write", "create", "fdatasync"];
    let main = every_call_fails(&Setup::main(1), "ENOSPC", &ops);
    let recover = every_call_fails(&Setup::torn_tail(), "ENOSPC", &ops);
    eprintln!("ENOSPC: faults injected per operation: main {main:?}, recovery {recover:?}");
}

// ------------------------------------------- a crash before every mutation

fn crash_before_every_call(setup: &Setup) -> u64 {
    let counts = shim::count_calls(&setup.name, &|dir| setup.prepare(dir));
    let calls: u64 = counts.values().sum();
    for n in 1..=calls {
        let run = shim::run_child(&setup.name, &|dir| setup.prepare(dir), Fault::kill(n));
        assert!(run.killed, "{}: the child was not killed", run.context);
        check_fault_run(&run, setup, "");
    }
    calls
}

#[test]
fn a_crash_before_any_call_of_the_main_scenario_loses_nothing_acknowledged() {
    let crashes = crash_before_every_call(&Setup::main(1));
    eprintln!("main scenario: a crash before each of its {crashes} mutating calls");
}

#[test]
fn a_crash_before_any_call_of_recovery_keeps_the_cut_bytes() {
    let crashes = crash_before_every_call(&Setup::torn_tail());
    eprintln!("recovery scenario: a crash before each of its {crashes} mutating calls");
}

#[test]
#[ignore = "the main scenario four times over; scripts/faults-long.sh"]
fn every_fault_on_every_call_long() {
    let ops: Vec<&str> = OPS.iter().map(|o| o.0).collect();
    let setup = Setup::main(4);
    let eio = every_call_fails(&setup, "EIO", &ops);
    let enospc = every_call_fails(&setup, "ENOSPC", &ops);
    let crashes = crash_before_every_call(&setup);
    eprintln!("main scenario x4: EIO {eio:?}, ENOSPC {enospc:?}, {crashes} crash points");
}
