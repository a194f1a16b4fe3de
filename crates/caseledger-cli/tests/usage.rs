//! Usage: help texts with examples, exit status 2 for wrong usage, clear
//! one-line errors for a missing or damaged store.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

const SUBCOMMANDS: [&str; 9] = [
    "import", "export", "report", "history", "verify", "recover", "generate", "demo", "copy",
];

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in SUBCOMMANDS {
        let out = caseledger().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Example:") && text.contains("--store"),
            "{sub}: {text}"
        );
    }
}

#[test]
fn wrong_usage_exits_with_2() {
    let out = caseledger().args(["report"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("--store DIR or set CASELEDGER_STORE")
    );
    let out = caseledger()
        .args(["report", "--store", "x", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = caseledger()
        .args(["report", "--store", "x", "--as-of", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = caseledger().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_store_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let out = caseledger()
        .env("CASELEDGER_STORE", dir.path())
        .args(["verify"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn a_missing_store_is_a_clear_error_with_status_1() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["report"][..],
        &["export"],
        &["verify"],
        &["history", "00000000-0000-0000-0000-000000000001"],
    ] {
        let (code, _, err) = run(dir.path().join("nope"), args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains("nope") && !err.contains("panicked"), "{err}");
    }
}

#[test]
fn verify_names_corruption_and_torn_tails_and_recover_cuts_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let seg = dir.path().join("seg-00000001.cls");
    let original = std::fs::read(&seg).unwrap();
    // A flipped byte in the middle: corruption.
    let mut bytes = original.clone();
    bytes[original.len() / 2] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    let (code, _, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("corruption") && err.contains("seg-00000001.cls") && err.contains("at byte"),
        "{err}"
    );
    let (code, _, err) = run(dir.path(), &["recover"]);
    assert_eq!(code, 1, "recover refuses corruption");
    assert!(err.contains("corruption"), "{err}");
    // Half a record appended at the end, as a crash leaves: a torn tail.
    let mut torn = original.clone();
    torn.extend_from_slice(&original[64..100]);
    std::fs::write(&seg, &torn).unwrap();
    let (code, _, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("torn tail") && err.contains("recover"),
        "{err}"
    );
    let (code, out, err) = run(dir.path(), &["recover"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("cut a torn tail") && out.contains("36 bytes, kept in"),
        "{out}"
    );
    let (code, out, _) = run(dir.path(), &["recover"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("nothing to recover"), "{out}");
    let (code, _, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&seg).unwrap(), original);
}

#[test]
fn generate_is_deterministic_and_idempotent() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    fixed_store(a.path());
    fixed_store(b.path());
    assert_eq!(
        std::fs::read(a.path().join("seg-00000001.cls")).unwrap(),
        std::fs::read(b.path().join("seg-00000001.cls")).unwrap()
    );
    let (code, out, _) = run(a.path(), &["generate", "--cases", "120", "--seed", "7"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("generated 0 events") && out.contains("stored already"),
        "{out}"
    );
}

#[test]
fn generate_long_tail_gives_one_customer_a_fifth_of_the_cases() {
    let opened_per_customer = |args: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let (code, _, err) = run(dir.path(), args);
        assert_eq!(code, 0, "{err}");
        let mut per: std::collections::BTreeMap<String, usize> = Default::default();
        for line in export(dir.path()).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["type"] == "opened" {
                *per.entry(v["data"]["customer_id"].to_string()).or_default() += 1;
            }
        }
        per.into_values().max().unwrap()
    };
    let base = ["generate", "--cases", "2000", "--seed", "3"];
    let long = opened_per_customer(&[&base[..], &["--customers", "long-tail"]].concat());
    assert!(long >= 400, "the busiest of 2000 has {long}");
    let uniform = opened_per_customer(&[&base[..], &["--customers", "uniform"]].concat());
    assert!(uniform < 100, "uniform: the busiest has {uniform}");
    assert_eq!(
        uniform,
        opened_per_customer(&base),
        "uniform is the default"
    );
}

#[test]
fn generate_and_demo_refuse_a_store_holding_other_data() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let (code, _, err) = run_with_stdin(&real, &["import", "-"], good_case(1).join("\n").into());
    assert_eq!(code, 0, "{err}");
    let before = export(&real);
    for args in [&["generate", "--cases", "3"][..], &["demo"]] {
        let (code, out, err) = run(&real, args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.contains("refused")
                && err.contains("5 events")
                && err.contains("--store")
                && err.contains("import"),
            "{args:?}: {err}"
        );
        assert_eq!(export(&real), before, "{args:?} changed the store");
    }
    // A generated store stops being one once anything else is appended.
    let synthetic = dir.path().join("synthetic");
    fixed_store(&synthetic);
    let more = run(&synthetic, &["generate", "--cases", "5", "--seed", "8"]);
    assert_eq!(more.0, 0, "generate may add to its own store: {}", more.2);
    let (code, _, err) =
        run_with_stdin(&synthetic, &["import", "-"], good_case(1).join("\n").into());
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&synthetic, &["generate", "--cases", "5", "--seed", "9"]);
    assert_eq!(code, 2, "{err}");
}

/// A `generate` stopped after its commit and before it wrote
/// `generated-head` (killed: the commit's fdatasync is most of its run)
/// leaves the store holding exactly its events and no marker. Run again
/// with the same flags it takes them as its own, appends nothing and
/// records its head; with other flags, or with anything else in the store,
/// it still refuses.
#[test]
fn generate_stopped_before_its_marker_takes_its_events_as_its_own_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let args = ["generate", "--cases", "120", "--seed", "7"];
    let (code, first, err) = run(&store, &args);
    assert_eq!(code, 0, "{err}");
    let marker = store.join("generated-head");
    let written = std::fs::read_to_string(&marker).unwrap();
    // The files as the kill leaves them.
    std::fs::remove_file(&marker).unwrap();
    for other in [
        &["generate", "--cases", "120", "--seed", "8"][..],
        &["generate", "--cases", "119", "--seed", "7"],
    ] {
        let (code, _, err) = run(&store, other);
        assert_eq!(code, 2, "{other:?}: {err}");
        assert!(err.contains("refused"), "{other:?}: {err}");
    }
    let before = export(&store);
    let (code, out, err) = run(&store, &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("generated 0 events") && out.contains("stored already"),
        "{out}"
    );
    let head = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("head:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(head(&out), head(&first));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), written);
    assert_eq!(export(&store), before);
    // Its events and one more: not its own.
    std::fs::remove_file(&marker).unwrap();
    let (code, _, err) = run_with_stdin(&store, &["import", "-"], good_case(1).join("\n").into());
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&store, &args);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn demo_creates_then_reuses_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("demo");
    let (code, out, err) = run(&store, &["demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("creating the demo store"), "{err}");
    assert!(
        out.contains("KPI report") && out.contains("2026-01") && out.contains("Next, try:"),
        "{out}"
    );
    let (code, again, err) = run(&store, &["demo"]);
    assert_eq!(code, 0);
    assert!(err.contains("reusing"), "{err}");
    assert_eq!(out, again);
    // Stopped between its commit and its marker (the files as a kill
    // leaves them), the demo store is reused and its marker written again,
    // so that `generate` takes the store as its own, as after a whole demo.
    let marker = store.join("generated-head");
    let written = std::fs::read_to_string(&marker).unwrap();
    std::fs::remove_file(&marker).unwrap();
    let (code, again, err) = run(&store, &["demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("reusing"), "{err}");
    assert_eq!(out, again);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), written);
    let (code, _, err) = run(&store, &["generate", "--cases", "5", "--seed", "9"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn reading_commands_work_while_a_writer_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let case = first_case(dir.path());
    let before = export(dir.path());
    let _writer =
        caseledger_store::Store::open(dir.path(), caseledger_store::StoreOptions::default())
            .unwrap();
    for args in [&["report"][..], &["export"], &["history", &case]] {
        let (code, _, err) = run(dir.path(), args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    assert_eq!(export(dir.path()), before);
    let (code, out, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("a writer is running"), "{out}");
    let (code, _, err) = run(dir.path(), &["import", "-"]);
    assert_eq!(code, 1);
    assert!(err.contains("locked by another process"), "{err}");
}

/// A password in a store URL appears in no output: not in errors (of
/// parsing, of connecting, of any command), not in --help (which shows the
/// environment's values of other flags).
#[test]
fn a_store_password_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2-Zq9";
    // Port 1 on the loopback: nothing listens, the connection is refused.
    let url = format!("postgres://alice:{secret}@127.0.0.1:1/ledger");
    let query = format!("postgresql://127.0.0.1:1/ledger?user=alice&password={secret}");
    let typo = format!("postgress://alice:{secret}@127.0.0.1:1/ledger");
    let target = dir.path().join("t");
    // A store, so that a copy from it goes on to connect to the database.
    fixed_store(&target);
    let target = target.to_str().unwrap();
    let runs: Vec<Vec<String>> = vec![
        vec!["--store".into(), url.clone(), "verify".into()],
        vec!["--store".into(), query.clone(), "export".into()],
        vec!["--store".into(), query.clone(), "report".into()],
        vec!["--store".into(), url.clone(), "import".into(), "-".into()],
        vec!["--store".into(), typo.clone(), "verify".into()],
        vec![
            "copy".into(),
            "--source".into(),
            url.clone(),
            "--target".into(),
            target.into(),
        ],
        vec![
            "copy".into(),
            "--source".into(),
            target.into(),
            "--target".into(),
            query.clone(),
        ],
        vec![
            "copy".into(),
            "--source".into(),
            url.clone(),
            "--target".into(),
            url.clone(),
        ],
    ];
    for args in runs {
        let out = caseledger().args(&args).write_stdin("").output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(!text.contains(secret), "{args:?}: {text}");
        assert!(
            text.contains("***") || text.contains("postgress://"),
            "{args:?}: {text}"
        );
    }
    for help in [&["--help"][..], &["verify", "--help"], &["copy", "--help"]] {
        let out = caseledger()
            .env("CASELEDGER_STORE", &url)
            .args(help)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("CASELEDGER_STORE"),
            "{text}"
        );
        assert!(!text.contains(secret), "{help:?}: {text}");
    }
}

#[test]
fn an_output_path_that_names_no_file_is_wrong_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("s");
    fixed_store(&store);
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, good_case(1).join("\n")).unwrap();
    let dotdot = tmp.path().join("x").join("..");
    let dotdot = dotdot.to_str().unwrap();
    for args in [
        vec!["report", "--output", dotdot],
        vec!["import", "--reject", dotdot, input.to_str().unwrap()],
    ] {
        let (code, _, err) = run(&store, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("not a file name"), "{args:?}: {err}");
    }
}
