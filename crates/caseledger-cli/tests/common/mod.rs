//! Shared helpers for the CLI tests: running the binary, a fixed generated
//! store, and hand-written event lines.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;

/// The `caseledger` binary with a clean environment.
pub fn caseledger() -> Command {
    let mut cmd = Command::cargo_bin("caseledger").unwrap();
    cmd.env_remove("CASELEDGER_STORE");
    cmd
}

/// Runs `caseledger --store DIR ARGS...`; returns (status, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_with_stdin(dir, args, Vec::new())
}

/// As [`run`], with bytes on stdin.
pub fn run_with_stdin(dir: &Path, args: &[&str], stdin: Vec<u8>) -> (i32, String, String) {
    let out = caseledger()
        .arg("--store")
        .arg(dir)
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

/// The whole log as exported.
pub fn export(dir: &Path) -> String {
    let (code, out, err) = run(dir, &["export"]);
    assert_eq!(code, 0, "{err}");
    out
}
