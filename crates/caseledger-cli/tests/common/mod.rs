//! Shared helpers for the CLI tests: running the binary, a fixed generated
//! store, hand-written event lines, and the ledgers and checks of the copy
//! tests (file and PostgreSQL).
#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsStr;
use std::path::Path;

use assert_cmd::Command;
use caseledger::Event;
use caseledger_store::{Clock, Store, StoreOptions};
use caseledger_synth::{Synth, SynthConfig};
use chrono::TimeZone;

/// The `caseledger` binary with a clean environment.
pub fn caseledger() -> Command {
    let mut cmd = Command::cargo_bin("caseledger").unwrap();
    cmd.env_remove("CASELEDGER_STORE");
    cmd
}

/// Runs `caseledger --store STORE ARGS...` (a directory or a PostgreSQL
/// URL); returns (status, stdout, stderr).
pub fn run(store: impl AsRef<OsStr>, args: &[&str]) -> (i32, String, String) {
    run_with_stdin(store, args, Vec::new())
}

/// As [`run`], with bytes on stdin.
pub fn run_with_stdin(
    store: impl AsRef<OsStr>,
    args: &[&str],
    stdin: Vec<u8>,
) -> (i32, String, String) {
    let out = caseledger()
        .arg("--store")
        .arg(store)
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A store with a fixed synthetic history: 120 cases, seed 7. Its bytes are
/// the same on every run (generated stores record each event at its time).
pub fn fixed_store(dir: &Path) {
    let (code, _, err) = run(dir, &["generate", "--cases", "120", "--seed", "7"]);
    assert_eq!(code, 0, "{err}");
}

/// The first case id of the fixed store.
pub fn first_case(dir: &Path) -> String {
    let (_, out, _) = run(dir, &["export"]);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    first["case_id"].as_str().unwrap().to_owned()
}

/// One JSON line of an event.
pub fn line(case: u32, id: u32, kind: &str, at: &str, data: &str) -> String {
    format!(
        r#"{{"case_id":"00000000-0000-0000-0000-{case:012}","type":"{kind}","at":"{at}","actor":"agent-17","event_id":"00000000-0000-0000-0001-{id:012}","data":{data}}}"#
    )
}

/// A valid opened → classified → responded → resolved → closed case.
pub fn good_case(case: u32) -> Vec<String> {
    let id = case * 10;
    vec![
        line(
            case,
            id,
            "opened",
            "2026-03-02T09:15:00+08:00",
            r#"{"customer_id":"C-1001","channel":"phone","tier":"vip"}"#,
        ),
        line(
            case,
            id + 1,
            "classified",
            "2026-03-02T09:16:00+08:00",
            r#"{"category":"complaint","topic":"card","priority":"high"}"#,
        ),
        line(case, id + 2, "responded", "2026-03-02T09:20:00+08:00", "{}"),
        line(
            case,
            id + 3,
            "resolved",
            "2026-03-02T10:00:00+08:00",
            r#"{"resolution":"card unblocked"}"#,
        ),
        line(case, id + 4, "closed", "2026-03-03T10:00:00+08:00", "{}"),
    ]
}

/// Case 5's five lines, then a sixth whose event id is line 2's: the same
/// line again, another event of case 5 under that id, and an event of case
/// 6 under it (the import, check and reject tests of a repeat). Each
/// with its name.
pub fn files_with_a_repeat() -> Vec<(&'static str, Vec<String>)> {
    let ls = good_case(5);
    let with = |extra: String| {
        let mut all = ls.clone();
        all.push(extra);
        all
    };
    vec![
        ("the same line", with(ls[1].clone())),
        (
            "another event of the case",
            with(ls[1].replace("agent-17", "agent-18")),
        ),
        (
            "an event of another case",
            with(line(
                6,
                51,
                "opened",
                "2026-03-05T09:00:00Z",
                r#"{"customer_id":"C-6","channel":"app","tier":"new"}"#,
            )),
        ),
    ]
}

/// The whole log as exported.
pub fn export(store: impl AsRef<OsStr>) -> String {
    let (code, out, err) = run(store, &["export"]);
    assert_eq!(code, 0, "{err}");
    out
}

/// A source ledger for the copy tests: `cases` synthetic cases (`seed`)
/// appended in batches of varying sizes (1 to 97 events), recorded by the
/// system clock, so that its head depends on every batch boundary and
/// recorded time. Returns how many batches.
pub fn batched_source(dir: &Path, cases: u64, seed: u64) -> u64 {
    let store = Store::open(dir, StoreOptions::default().clock(Clock::System)).unwrap();
    let events = synth_events(cases, seed);
    let mut rest = events.as_slice();
    let (mut size, mut batches) = (1, 0);
    while !rest.is_empty() {
        let n = size.min(rest.len());
        let mut batch = store.batch().unwrap();
        append_each_in(&mut batch, &rest[..n]);
        batch.commit().unwrap();
        batches += 1;
        rest = &rest[n..];
        size = size * 7 % 97 + 1;
    }
    batches
}

/// `cases` synthetic cases from `seed`, opened over 60 days from Monday
/// 2026-01-05 08:00 UTC, customers uniform.
pub fn synth_events(cases: u64, seed: u64) -> Vec<Event> {
    Synth::new(SynthConfig {
        cases,
        seed,
        start: chrono::Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap(),
        span_days: 60,
        customers: caseledger_synth::Customers::Uniform,
    })
    .collect()
}

#[path = "../../../caseledger-store/tests/common/batch.rs"]
mod batch;
pub use batch::append_each_in;

/// `caseledger copy --source A --target B` with extra environment;
/// (status, stdout, stderr).
pub fn copy(
    a: impl AsRef<OsStr>,
    b: impl AsRef<OsStr>,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let mut cmd = caseledger();
    cmd.args(["copy", "--source"]).arg(a).arg("--target").arg(b);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The `head:` line of a passing `verify` (which checked everything).
pub fn verified_head(store: impl AsRef<OsStr>) -> String {
    let (code, out, err) = run(store, &["verify"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .find(|l| l.starts_with("head:"))
        .unwrap()
        .to_owned()
}

/// The KPI report as JSON, grouped by `by`.
pub fn report_json(store: impl AsRef<OsStr>, by: &str) -> String {
    let (code, out, err) = run(store, &["report", "--format", "json", "--group-by", by]);
    assert_eq!(code, 0, "{err}");
    out
}

/// `caseledger copy A B` killed with SIGKILL where the copy's test hook
/// holds (`CASELEDGER_TEST_COPY_STOP=POINT:hold`, POINT being `B:E`: B
/// batches written, E events of the next handed over); returns once it is
/// dead.
pub fn copy_killed_at(a: impl AsRef<OsStr>, b: impl AsRef<OsStr>, point: &str) {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"));
    command
        .args(["copy", "--source"])
        .arg(a)
        .arg("--target")
        .arg(b)
        .env("CASELEDGER_TEST_COPY_STOP", format!("{point}:hold"));
    killed_at_hold(
        command,
        "CASELEDGER_TEST_COPY_STOP: holding here until killed",
        point,
    );
}

/// `caseledger --store STORE ARGS...` killed with SIGKILL while the
/// temporary file it writes before a rename exists (the hook
/// `CASELEDGER_TEST_HOLD_TEMPORARY` holds there); returns the temporary
/// file's path once the process is dead.
pub fn killed_holding_its_temporary(store: impl AsRef<OsStr>, args: &[&str]) -> std::path::PathBuf {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"));
    command
        .arg("--store")
        .arg(store)
        .args(args)
        .env("CASELEDGER_TEST_HOLD_TEMPORARY", "1");
    let held = "CASELEDGER_TEST_HOLD_TEMPORARY: holding here until killed: ";
    killed_at_hold(command, held, &format!("{args:?}")).into()
}

/// Runs `command` (without `CASELEDGER_STORE`) until it prints a line
/// starting with `marker` on stderr (a test hook holding there), then kills
/// it with SIGKILL and checks it died of it; returns the rest of that line.
/// Panics, naming `what`, if the command ends before its marker.
fn killed_at_hold(mut command: std::process::Command, marker: &str, what: &str) -> String {
    use std::io::BufRead;
    let mut child = command
        .env_remove("CASELEDGER_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix(marker) {
            child.kill().unwrap();
            let status = child.wait().unwrap();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(9),
                "{what}: killed by SIGKILL"
            );
            return rest.to_owned();
        }
        said.push(line);
    }
    let status = child.wait().unwrap();
    panic!(
        "{what}: ended ({status}) before its hold:\n{}",
        said.join("\n")
    );
}

/// A process id no process has or will have here: one above the kernel's
/// `pid_max`.
pub fn dead_pid() -> u32 {
    let max = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
    max.trim().parse::<u32>().unwrap() + 1
}

/// Runs `caseledger --store STORE ARGS...` with standard output on
/// `/dev/full`, where every write fails (no space left); (status, stderr).
pub fn run_into_full(store: impl AsRef<OsStr>, args: &[&str]) -> (i32, String) {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"))
        .env_remove("CASELEDGER_STORE")
        .arg("--store")
        .arg(store.as_ref())
        .args(args)
        .stdout(full)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs `caseledger [--store DIR] ARGS` with stdout a pipe whose reader
/// is gone before it starts, so that every write fails (EPIPE); returns
/// (status, stderr).
pub fn run_into_readerless_pipe(dir: Option<&std::path::Path>, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"));
    command.env_remove("CASELEDGER_STORE");
    if let Some(dir) = dir {
        command.arg("--store").arg(dir);
    }
    let output = command
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stderr).unwrap(),
    )
}
