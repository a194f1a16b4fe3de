//! `bench` on store directories: where it may write (only a `--dir` it
//! made), and which of its stores it reuses. The figures themselves are
//! not checked here (docs/performance.md records them).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;

/// Runs `caseledger bench ARGS... --dir DIR` with a small store and one
/// run per figure; returns (status, stdout, stderr).
fn bench(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = caseledger()
        .args(["bench", "--events", "1000", "--runs", "1"])
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Every file under `dir` with its content, sorted (directories as
/// `path/`).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                out.push((format!("{name}/"), Vec::new()));
                todo.push(path);
            } else {
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A `--dir` holding files bench did not make, under the very names bench
/// uses, is refused (status 2) before anything is touched: every file is
/// still there, unchanged, and nothing was added.
#[test]
fn a_directory_bench_did_not_make_is_refused_and_left_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    for sub in ["import", "bulk", "append-1", "append-8", "append-64"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(sub).join("keep.txt"), "mine").unwrap();
    }
    std::fs::write(dir.join("fdatasync-baseline"), "mine").unwrap();
    std::fs::write(dir.join("export-1000.jsonl"), "mine").unwrap();
    let before = tree(&dir);
    let (code, out, err) = bench(&dir, &["--only", "import,append", "--appends", "10"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("bench --dir {}: is not empty", dir.display()))
            && err.contains("no .caseledger-bench file"),
        "{err}"
    );
    assert_eq!(tree(&dir), before);
}

/// A marker bench did not write (other text, a directory, a link to
/// bench's own) does not make a directory bench's: refused, untouched.
#[test]
fn a_planted_marker_does_not_hand_a_directory_to_bench() {
    let tmp = tempfile::tempdir().unwrap();
    let own = tmp.path().join("own");
    let (code, out, err) = bench(&own, &["--only", "open"]);
    assert_eq!(code, 0, "{out}{err}");
    let real_marker = own.join(".caseledger-bench");
    for (i, plant) in ["text", "directory", "link"].into_iter().enumerate() {
        let dir = tmp.path().join(format!("home-{i}"));
        std::fs::create_dir_all(dir.join("import")).unwrap();
        std::fs::write(dir.join("import").join("thesis.txt"), "mine").unwrap();
        let marker = dir.join(".caseledger-bench");
        match plant {
            "text" => std::fs::write(&marker, "bench may work here").unwrap(),
            "directory" => std::fs::create_dir(&marker).unwrap(),
            _ => std::os::unix::fs::symlink(&real_marker, &marker).unwrap(),
        }
        let before = tree(&dir);
        let (code, out, err) = bench(&dir, &["--only", "import"]);
        assert_eq!(code, 2, "{plant}: {out}{err}");
        assert!(err.contains("that bench did not write"), "{plant}: {err}");
        assert_eq!(tree(&dir), before, "{plant}");
    }
}

/// A store directory given as `--dir` is refused as one, and left as it
/// was.
#[test]
fn a_store_directory_is_refused_as_the_bench_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    fixed_store(&store);
    let before = tree(&store);
    let (code, out, err) = bench(&store, &["--only", "open"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("is a caseledger store directory"), "{err}");
    assert_eq!(tree(&store), before);
}

/// A new `--dir` (and an empty one) is made bench's with the marker; in it
/// bench leaves alone what it does not name, run after run.
#[test]
fn bench_marks_the_directory_it_makes_and_leaves_other_files_in_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for dir in [tmp.path().join("new/bench"), empty] {
        let (code, out, err) = bench(&dir, &["--only", "import,append", "--appends", "10"]);
        assert_eq!(code, 0, "{out}{err}");
        let marker = std::fs::read_to_string(dir.join(".caseledger-bench")).unwrap();
        assert!(marker.contains("caseledger bench"), "{marker}");
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let (code, out, err) = bench(&dir, &["--only", "import,append", "--appends", "10"]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
            "mine"
        );
    }
}

/// The PostgreSQL bench keeps its replay store in `--dir` too: the same
/// refusal, before it connects (the server named does not exist).
#[test]
fn the_postgresql_bench_refuses_a_directory_it_did_not_make() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("export-20000.jsonl"), "mine").unwrap();
    let before = tree(tmp.path());
    let out = caseledger()
        .args([
            "--store",
            "postgres://app@127.0.0.1:1/none",
            "bench",
            "--dir",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not empty (export-20000.jsonl)"), "{err}");
    assert_eq!(tree(tmp.path()), before);
}

/// A store directory given to bench (`--store` or `CASELEDGER_STORE`) is
/// wrong usage, not ignored: bench builds its own stores in `--dir`.
/// Nothing is made: not `--dir`, not the store.
#[test]
fn a_store_directory_given_to_bench_is_wrong_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let dir = tmp.path().join("bench");
    for by_env in [false, true] {
        let mut command = caseledger();
        match by_env {
            true => command.env("CASELEDGER_STORE", &store),
            false => command.arg("--store").arg(&store),
        };
        let out = command
            .args(["bench", "--events", "1000", "--runs", "1", "--only", "open"])
            .arg("--dir")
            .arg(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("bench does not take a store directory")
                && err.contains("stores of its own in --dir"),
            "{err}"
        );
        assert!(!dir.exists() && !store.exists());
    }
}

/// The events of the run's uniform store, from the table's first line.
fn events_measured(stdout: &str) -> u64 {
    stdout
        .strip_prefix("caseledger bench: ")
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no event count in {stdout}"))
}

/// A replay store is reused only whole. One a stopped run left (here a
/// smaller store under its name, and no completion marker) is generated
/// again, and its stale export goes; a whole one is reused; one whose
/// head is not the one its marker records is generated again.
#[test]
fn a_replay_store_is_reused_only_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench");
    std::fs::create_dir(&dir).unwrap();
    // Bench's own marker, from a directory bench made.
    let donor = tmp.path().join("donor");
    let (code, out, err) = bench(&donor, &["--only", "open"]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::copy(
        donor.join(".caseledger-bench"),
        dir.join(".caseledger-bench"),
    )
    .unwrap();
    let replay = dir.join("replay-1000");
    let (code, _, err) = run(&replay, &["generate", "--cases", "3", "--seed", "2026"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.join("export-1000.jsonl"), "stale").unwrap();

    let (code, out, err) = bench(&dir, &["--only", "open"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!(
            "{}: it has no completion marker",
            replay.display()
        )),
        "{err}"
    );
    let events = events_measured(&out);
    assert!(events > 900, "{out}");
    assert!(!dir.join("export-1000.jsonl").exists());

    let (code, out, err) = bench(&dir, &["--only", "open"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("generating"), "{err}");
    assert_eq!(events_measured(&out), events);

    let marker = dir.join("replay-1000.complete");
    let text = std::fs::read_to_string(&marker).unwrap();
    assert!(text.contains(&format!("events {events}\n")), "{text}");
    std::fs::write(
        &marker,
        text.replace(&format!("events {events}\n"), "events 17\n"),
    )
    .unwrap();
    let (code, out, err) = bench(&dir, &["--only", "open"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("is not the one its completion marker"),
        "{err}"
    );
    assert_eq!(events_measured(&out), events);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), text);
}

/// The project's DuckDB baseline computes the report's own definitions:
/// `bench --only duckdb` compares every overall figure the script prints
/// with `report`'s, on a uniform and a long-tailed store, and stops on the
/// first difference. Without this check a definition changed in the
/// report (as `follow_up.on_time_rate` was, report schema 4) leaves the
/// baseline computing the old one, and the bench then stops on its first
/// run with DuckDB instead of measuring.
///
/// It needs a Python with the `duckdb` module, named by
/// `CASELEDGER_TEST_DUCKDB_PYTHON` (`.ci/run` installs one, so CI never
/// skips it); without the variable it says it skipped.
#[test]
fn the_projects_duckdb_script_computes_the_reports_figures() {
    let Some(python) = std::env::var_os("CASELEDGER_TEST_DUCKDB_PYTHON") else {
        eprintln!(
            "skipped: set CASELEDGER_TEST_DUCKDB_PYTHON to a Python with the duckdb module \
             (python3 -m venv /tmp/venv && /tmp/venv/bin/pip install duckdb)"
        );
        return;
    };
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/baselines/duckdb_kpis.py");
    let tmp = tempfile::tempdir().unwrap();
    let out = caseledger()
        .args([
            "bench", "--events", "20000", "--runs", "1", "--only", "duckdb",
        ])
        .arg("--python")
        .arg(&python)
        .arg("--duckdb-script")
        .arg(&script)
        .arg("--dir")
        .arg(tmp.path().join("bench"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // A Python without duckdb makes the bench skip its row (status 0): that
    // is a failure here, since the variable names the one to use.
    for shape in ["uniform", "long-tail"] {
        let compared = format!("({shape} store): ");
        let line = err
            .lines()
            .find(|l| l.contains(&compared) && l.contains("overall figures equal the report's"))
            .unwrap_or_else(|| panic!("no comparison on the {shape} store in:\n{err}"));
        // Every figure the script prints is compared: none is skipped for
        // an undeclared definition, and the count covers the report's
        // overall figures (51 today; far more than a handful).
        let checked: u32 = line
            .split("): ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {line}"));
        assert!(checked >= 40, "only {checked} figures compared: {line}");
    }
    assert!(!err.contains("not compared"), "{err}");
}
