//! `bench --store postgres://…` against the real server, and the commands
//! that refuse a database: each names itself and says why, in one line,
//! before connecting.
#![allow(clippy::unwrap_used)]

mod common;
mod pg;

use caseledger_testkit::pg::base_url;
use common::*;
use pg::TestDb;

/// The databases on the server whose name starts with `prefix`.
fn databases(prefix: &str) -> Vec<String> {
    let prefix = format!("{prefix}%");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .query(
                    "SELECT datname FROM pg_database WHERE datname LIKE $1",
                    &[&prefix],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
        })
    })
    .join()
    .unwrap()
}

/// A short bench: every figure printed with its floor, met or not, and
/// the databases it created are gone afterwards.
#[test]
fn the_bench_prints_every_figure_with_its_floor_and_drops_its_databases() {
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_caseledger"))
        .env("CASELEDGER_STORE", base_url())
        .args([
            "bench",
            "--events",
            "1000",
            "--appends",
            "10",
            "--runs",
            "1",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (figure, floor) in [
        ("durable append, 1 event per call, 1 thread", ">= 80%"),
        ("durable append, 8 threads of 1 process", ">= 4x"),
        (
            "durable append, 8 processes of 1 thread",
            ">= 1x (no worse)",
        ),
        ("import JSON Lines", ">= 100k ev/s"),
        ("report --format json, PostgreSQL, cold", "<= 2x"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(figure))
            .unwrap_or_else(|| panic!("no `{figure}` in:\n{stdout}"));
        assert!(
            line.ends_with(&format!("{floor}: met"))
                || line.ends_with(&format!("{floor}: NOT MET")),
            "{line}"
        );
    }
    assert!(stdout.contains("baseline: plain single-row INSERT + COMMIT"));
    assert_eq!(
        databases(&format!("caseledger_bench_{pid}_")),
        Vec::<String>::new()
    );
}

/// With `--pg-database`, everything lands in that database, which stays:
/// the import's events and every append, a log that verifies.
#[test]
fn a_given_database_receives_the_import_and_every_append_and_verifies() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let out = caseledger()
        .env("CASELEDGER_STORE", base_url())
        .args([
            "bench",
            "--events",
            "1000",
            "--appends",
            "10",
            "--runs",
            "1",
        ])
        .args(["--pg-database", &db.name, "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The replay store the import read: how many events it holds.
    let replay = dir.path().join("replay-1000");
    let (code, verified, err) = run(&replay, &["verify"]);
    assert_eq!(code, 0, "{err}");
    let imported: u64 = head_position(&verified);
    let (code, verified, err) = run_at(&db.url, &["verify"]);
    assert_eq!(code, 0, "{err}");
    // Appends: 1 thread, 8 threads, 1 process, 8 processes, 10 each.
    assert_eq!(head_position(&verified), imported + 10 * (1 + 8 + 1 + 8));
}

/// A `--pg-database` whose log holds events is refused (status 2) before
/// anything is written, whichever figures are asked for: the bench's
/// synthetic events could never be removed from a ledger. Its head is
/// unchanged, and no `--dir` was made.
#[test]
fn a_given_database_holding_events_is_refused_and_left_as_it_was() {
    let db = TestDb::new();
    let (code, _, err) = run_at(&db.url, &["generate", "--cases", "2"]);
    assert_eq!(code, 0, "{err}");
    let (_, before, _) = run_at(&db.url, &["verify"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench");
    for only in [&["--only", "append"][..], &["--only", "import"], &[]] {
        let out = caseledger()
            .env("CASELEDGER_STORE", base_url())
            .args([
                "bench",
                "--events",
                "1000",
                "--appends",
                "10",
                "--runs",
                "1",
            ])
            .args(only)
            .args(["--pg-database", &db.name, "--dir"])
            .arg(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{only:?}: {err}");
        assert!(
            err.contains(&format!(
                "bench --pg-database {}: the database holds ",
                db.name
            )) && err.contains("give an empty database"),
            "{err}"
        );
        let (_, after, _) = run_at(&db.url, &["verify"]);
        assert_eq!(head_position(&after), head_position(&before));
        assert_eq!(after, before);
        assert!(!dir.exists(), "{only:?}");
    }
}

fn head_position(verify_output: &str) -> u64 {
    verify_output
        .lines()
        .find_map(|l| l.strip_prefix("head: position "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no head in {verify_output}"))
}

fn run_at(store: &str, args: &[&str]) -> (i32, String, String) {
    let out = caseledger()
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The commands a database does not serve refuse it before connecting
/// (the server named does not exist): exit 2, one line naming the command
/// and why, without the password.
#[test]
fn commands_without_a_database_form_name_themselves_and_say_why() {
    let url = "postgres://app:hunter22@127.0.0.1:1/none";
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap();
    let reject = format!("{path}.rejects");
    for (args, command, why) in [
        (
            vec!["import", "--check", path],
            "import --check",
            "without --store",
        ),
        (
            vec!["import", "--reject", &reject, path],
            "import --reject",
            "import the file",
        ),
        (vec!["recover"], "recover", "torn tail"),
        (vec!["demo"], "demo", "generate --cases 3000"),
    ] {
        let (code, out, err) = run_at(url, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "error: {command} does not work on a PostgreSQL database"
            )),
            "{err}"
        );
        assert!(err.contains(why) && err.contains("app:***@"), "{err}");
        assert!(!err.contains("hunter22"), "{err}");
    }
    // And the file store's bench refuses the flags of the PostgreSQL one.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(dir.path(), &["bench", "--pg-database", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--pg-database is for a PostgreSQL bench"),
        "{err}"
    );
}

/// An event id already stored in another case is refused with its line, as
/// on a store directory, and nothing of the file is written (the table's
/// unique key finds it; the error is mapped back to the input's line).
#[test]
fn an_event_id_stored_in_another_case_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file_store = dir.path().join("f");
    let db = TestDb::new();
    let first = good_case(1).join("\n");
    for store in [file_store.to_str().unwrap(), db.url.as_str()] {
        let out = caseledger()
            .args(["--store", store, "import", "-"])
            .write_stdin(first.clone())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_, before, _) = run_at(&db.url, &["export"]);
    // Case 2, whose third line takes the id of case 1's first event.
    let mut lines = good_case(2);
    lines[2] = line(2, 10, "responded", "2026-03-02T09:20:00+08:00", "{}");
    let bad = lines.join("\n");
    for store in [file_store.to_str().unwrap(), db.url.as_str()] {
        let out = caseledger()
            .args(["--store", store, "import", "-"])
            .write_stdin(bad.clone())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{store}: {err}");
        assert!(err.contains("line 3: "), "{store}: {err}");
        assert!(
            err.contains("00000000-0000-0000-0001-000000000010"),
            "{store}: {err}"
        );
    }
    let (_, after, _) = run_at(&db.url, &["export"]);
    assert_eq!(after, before, "nothing of the file is written");
}
