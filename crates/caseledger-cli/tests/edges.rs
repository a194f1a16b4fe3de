//! The command line's rough edges, each pinned: a closed stdout, a failed
//! import into a new store, time flags and their errors, the wording of
//! errors for people, `verify --format json`, `--version` and the report's
//! schema version.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;

/// Runs `caseledger --store DIR ARGS` with stdout a pipe that the reader
/// closes after `lines` lines; returns (status, stderr).
fn run_into_closed_pipe(dir: &std::path::Path, args: &[&str], lines: usize) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseledger"))
        .env_remove("CASELEDGER_STORE")
        .arg("--store")
        .arg(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..lines {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
    }
    drop(out);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(dir.path(), &["generate", "--cases", "2000"]);
    assert_eq!(code, 0, "{err}");
    // The export (about 3 MB) is larger than the pipe and the command's
    // own 1 MiB buffer: its writes must meet the close.
    let (code, err) = run_into_closed_pipe(dir.path(), &["export"], 1);
    assert_eq!((code, err.as_str()), (0, ""));
    // The board streams its rows (about 2 MB of JSON here): the close
    // meets it mid-rows in every format.
    for format in ["table", "json", "csv"] {
        let (code, err) = run_into_closed_pipe(dir.path(), &["cases", "--format", format], 1);
        assert_eq!((code, err.as_str()), (0, ""), "cases --format {format}");
    }
    let case = first_case(dir.path());
    for args in [
        &["report", "--group-by", "agent"][..],
        &["report", "--format", "json"],
        &["history", &case],
        &["verify"],
    ] {
        let (code, err) = run_into_closed_pipe(dir.path(), args, 0);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
    }
}

/// A closed stdout ends the output quietly, but a verdict that does not
/// depend on the output keeps its status: `verify` of a damaged store, and
/// `--strict` with permission findings, and `import --check` of a file
/// with problems exit 1 (all exited 0 when the reader had gone: `verify
/// --format json | head -c 0` passed a damaged store).
#[test]
fn a_closed_stdout_never_turns_a_failing_verdict_into_success() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let files = tempfile::tempdir().unwrap();
    let roles = files.path().join("roles.json");
    std::fs::write(&roles, r#"{"agent-001": ["agent"]}"#).unwrap();
    let roles = roles.to_str().unwrap();
    // Sound store, no --strict: the quiet success stays.
    for args in [
        &["verify", "--format", "json"][..],
        &["verify", "--roles", roles],
    ] {
        let (code, err) = run_into_readerless_pipe(Some(dir.path()), args);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
    }
    for args in [
        &["verify", "--roles", roles, "--strict"][..],
        &["verify", "--roles", roles, "--strict", "--format", "json"],
        &["report", "--roles", roles, "--strict"],
        &["report", "--roles", roles, "--strict", "--format", "json"],
    ] {
        let (code, err) = run_into_readerless_pipe(Some(dir.path()), args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("--strict: "), "{args:?}: {err}");
    }
    let seg = dir.path().join("seg-00000001.cls");
    let mut bytes = std::fs::read(&seg).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    for args in [&["verify", "--format", "json"][..], &["verify"]] {
        let (code, err) = run_into_readerless_pipe(Some(dir.path()), args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("verify failed: corruption"), "{args:?}: {err}");
    }
    // `import --check` of a file with problems (it reads no store here).
    let messy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/messy.jsonl");
    for format in ["text", "json"] {
        let args = ["import", "--check", "--format", format, messy];
        let (code, err) = run_into_readerless_pipe(None, &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("nothing was written"), "{args:?}: {err}");
    }
}

#[test]
fn a_failed_import_into_a_new_store_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = b"{\"case_id\": 1}\n".to_vec();
    let new = dir.path().join("new").join("store");
    let (code, _, err) = run_with_stdin(&new, &["import", "-"], bad.clone());
    assert_eq!(code, 1, "{err}");
    assert!(!dir.path().join("new").exists(), "left {}", new.display());
    // An empty directory given as the store stays as it was.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, _) = run_with_stdin(&empty, &["import", "-"], bad);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // A store that existed keeps its files.
    let (code, _, err) = run_with_stdin(&empty, &["import", "-"], good_case(1).join("\n").into());
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run_with_stdin(&empty, &["import", "-"], b"{".to_vec());
    assert_eq!(code, 1);
    assert!(export(&empty).lines().count() == 5);
}

#[test]
fn from_later_than_to_is_wrong_usage() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let (code, out, err) = run(
        dir.path(),
        &["report", "--from", "2026-03-01", "--to", "2026-02-01"],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("--from") && err.contains("later than") && err.contains("--to"),
        "{err}"
    );
}

fn report_json(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = run(dir, &[&["report", "--format", "json"], args].concat());
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn as_of_now_reads_the_clock_and_a_date_is_the_start_of_its_day_in_utc() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let unix = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    };
    let before = unix(std::time::SystemTime::now());
    let report = report_json(dir.path(), &["--as-of", "now"]);
    let after = unix(std::time::SystemTime::now());
    let as_of = chrono::DateTime::parse_from_rfc3339(report["as_of"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(
        (before..=after).contains(&as_of),
        "{before} {as_of} {after}"
    );
    let (code, all, _) = run(dir.path(), &["export", "--as-of", "now"]);
    assert_eq!(code, 0);
    assert_eq!(all, export(dir.path()));
    let report = report_json(dir.path(), &["--as-of", "2026-03-01"]);
    assert_eq!(report["as_of"], "2026-03-01T00:00:00Z");
}

#[test]
fn a_bad_time_says_which_part_is_wrong_and_shows_an_accepted_example() {
    let dir = tempfile::tempdir().unwrap();
    for (value, part) in [
        ("2026-13-01", "month 13"),
        ("2026-02-30", "day 30"),
        ("01/02/2026", "01/02/2026"),
        ("2026-03-31T25:00:00Z", "hour 25"),
        ("2026-03-31T23:59:59", "offset"),
    ] {
        let (code, _, err) = run(dir.path(), &["report", "--as-of", value]);
        assert_eq!(code, 2, "{value}");
        assert!(
            err.contains(part) && err.contains("2026-03-31") && !err.contains("panicked"),
            "{value}: {err}"
        );
    }
}

#[test]
fn a_case_id_that_is_not_a_uuid_says_so_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(dir.path(), &["history", "110449ab"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("110449ab") && err.contains("UUID") && err.contains("0192f5c4-"),
        "{err}"
    );
}

#[test]
fn a_bad_sla_policy_names_the_priority_and_the_expected_shape() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let policy = dir.path().join("policy.json");
    let target = r#"{"response_s": 3600, "resolution_s": 86400}"#;
    let all_but = |high: &str| {
        format!(r#"{{"low": {target}, "normal": {target}, "high": {high}, "urgent": {target}}}"#)
    };
    for (text, wanted) in [
        (
            all_but("1"),
            &["`high`", r#"{"response_s": 14400, "resolution_s": 259200}"#][..],
        ),
        (
            all_but(r#"{"response_s": 14400}"#),
            &["`high`", "resolution_s"],
        ),
        (
            all_but(r#"{"response_s": -5, "resolution_s": 60}"#),
            &["`high`", "response_s"],
        ),
        (
            format!(r#"{{"critical": {target}}}"#),
            &["`critical`", "low, normal, high, urgent"],
        ),
        (
            r#"{"low": {target}}"#.replace("{target}", target),
            &["`normal`", "missing"],
        ),
    ] {
        std::fs::write(&policy, &text).unwrap();
        let (code, _, err) = run(
            dir.path(),
            &["report", "--sla-policy", policy.to_str().unwrap()],
        );
        assert_eq!(code, 1, "{text}");
        for w in wanted {
            assert!(err.contains(w), "{w:?} not in {err}");
        }
        assert!(
            !err.contains("SlaTarget") && !err.contains("struct"),
            "a Rust type in {err}"
        );
    }
}

#[test]
fn pretty_printed_json_and_compressed_input_get_their_own_messages() {
    let dir = tempfile::tempdir().unwrap();
    let event: serde_json::Value = serde_json::from_str(&good_case(1)[0]).unwrap();
    let pretty = serde_json::to_string_pretty(&event).unwrap();
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], pretty.into());
    assert_eq!(code, 1);
    assert!(
        err.contains("line 1") && err.contains("JSON Lines") && err.contains("one event per line"),
        "{err}"
    );
    let array = format!("[{}]", good_case(1).join(","));
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], array.into());
    assert_eq!(code, 1);
    assert!(err.contains("JSON Lines"), "{err}");
    // A gzip member header (RFC 1952) and some deflate bytes.
    let gzip = vec![
        0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03, 0xab, 0xae, 0x05, 0x00,
    ];
    let (code, _, err) = run_with_stdin(dir.path(), &["import", "-"], gzip);
    assert_eq!(code, 1);
    assert!(err.contains("gzip") && err.contains("decompress"), "{err}");
}

#[test]
fn help_lists_group_by_values_and_every_time_flag_shows_its_formats() {
    let help = |args: &[&str]| {
        let out = caseledger().args(args).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let report = help(&["report", "--help"]);
    for value in [
        "channel", "category", "topic", "priority", "tier", "agent", "team", "month", "quarter",
    ] {
        assert!(report.contains(value), "{value} not in {report}");
    }
    for (args, time_flags) in [
        (&["report", "--help"][..], 3),
        (&["export", "--help"], 1),
        (&["history", "--help"], 1),
        (&["generate", "--help"], 1),
    ] {
        // Help wraps lines to the terminal: compare words.
        let text = help(args).split_whitespace().collect::<Vec<_>>().join(" ");
        let shown = text.matches("start of that day").count();
        assert_eq!(shown, time_flags, "{args:?}: {text}");
        assert!(text.contains("2026-03-31T23:59:59+08:00") && text.contains("`now`"));
    }
}

#[test]
fn verify_prints_json_with_head_and_counts_or_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let (code, out, err) = run(dir.path(), &["verify", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["events"], 822);
    assert_eq!(v["cases"], 120);
    assert_eq!(v["segments"], 1);
    assert_eq!(v["head"]["position"], 822);
    assert_eq!(v["head"]["hash"].as_str().unwrap().len(), 64);
    assert!(v["problem"].is_null());
    // A flipped byte: the problem with file and offset, exit status 1.
    let seg = dir.path().join("seg-00000001.cls");
    let mut bytes = std::fs::read(&seg).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    let (code, out, _) = run(dir.path(), &["verify", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    let problem = &v["problem"];
    assert_eq!(problem["kind"], "corruption");
    assert!(
        problem["file"]
            .as_str()
            .unwrap()
            .ends_with("seg-00000001.cls")
    );
    assert!(problem["offset"].as_u64().unwrap() > 0);
    assert!(problem["detail"].as_str().is_some());
    assert!(problem["next"].as_str().unwrap().contains("backup"));
}

#[test]
fn a_corruption_message_says_what_to_do_next() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let seg = dir.path().join("seg-00000001.cls");
    let mut bytes = std::fs::read(&seg).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    let (code, _, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("restore") && err.contains("backup") && err.contains("Backup and restore"),
        "{err}"
    );
}

#[test]
fn version_names_the_crate_the_store_format_and_the_commit() {
    let out = caseledger().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("caseledger {}", env!("CARGO_PKG_VERSION")))
            && text.contains("store format 1")
            && text.contains("commit "),
        "{text}"
    );
}

#[test]
fn the_report_json_starts_with_its_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    fixed_store(dir.path());
    let (code, out, _) = run(dir.path(), &["report", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("{\n  \"schema_version\": 4,\n"), "{out}");
}

#[test]
fn counts_of_one_are_singular() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) =
        run_with_stdin(dir.path(), &["import", "-"], good_case(1).join("\n").into());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("imported 5 events in 1 case (1 new case)\n"),
        "{out}"
    );
    let (code, out, _) = run(dir.path(), &["verify"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("ok: 5 events in 1 case, 1 segment, "),
        "{out}"
    );
}

/// A file written whole by a rename (`report --output`, `import --reject`)
/// is refused where the path holds a symbolic link or a FIFO, which the
/// rename would replace by a plain file (a device such as `/dev/null` too,
/// for a command run as root); and `import --reject` refuses an input it
/// cannot read twice alike (a FIFO given by its path).
#[test]
fn files_written_by_rename_refuse_links_and_fifos_and_reject_refuses_a_fifo_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let (code, _, err) = run(&store, &["generate", "--cases", "5"]);
    assert_eq!(code, 0, "{err}");
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "kept").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, good_case(1).join("\n")).unwrap();
    for (path, what) in [(&link, "a symbolic link"), (&fifo, "not a regular file")] {
        let p = path.to_str().unwrap();
        let (code, _, err) = run(&store, &["report", "--output", p]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(what), "{err}");
        let (code, _, err) = run(
            dir.path().join("r"),
            &["import", "--reject", p, input.to_str().unwrap()],
        );
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(what), "{err}");
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // The input read twice: a FIFO is refused before anything is read.
    let reject = dir.path().join("rejected.jsonl");
    let (code, _, err) = run(
        dir.path().join("r2"),
        &[
            "import",
            "--reject",
            reject.to_str().unwrap(),
            fifo.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    assert!(!reject.exists());
}

/// The files of a store directory, by name, with their bytes.
fn store_files(dir: &std::path::Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// An output file inside the store directory is refused before anything
/// is written: renamed into place, it replaced a segment or the
/// checkpoint, and the command said it had succeeded.
#[test]
fn files_written_by_rename_refuse_a_path_inside_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let (code, _, err) = run(&store, &["generate", "--cases", "5"]);
    assert_eq!(code, 0, "{err}");
    let before = store_files(&store);
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, good_case(1).join("\n")).unwrap();
    let link = dir.path().join("link-to-store");
    std::os::unix::fs::symlink(&store, &link).unwrap();
    let paths = [
        store.join(caseledger_store::segment_name(1)),
        store.join(caseledger_store::CHECKPOINT_FILE),
        store.join("new.txt"),
        store.join("sub/new.txt"),
        dir.path().join("x/../s/checkpoint"),
        link.join(caseledger_store::CHECKPOINT_FILE),
    ];
    for path in &paths {
        let p = path.to_str().unwrap();
        let (code, out, err) = run(&store, &["report", "--output", p]);
        assert_eq!(code, 2, "{p}: {out}{err}");
        assert!(err.contains("inside the store directory"), "{err}");
        let (code, out, err) = run(&store, &["import", "--reject", p, input.to_str().unwrap()]);
        assert_eq!(code, 2, "{p}: {out}{err}");
        assert!(err.contains("inside the store directory"), "{err}");
        assert_eq!(store_files(&store), before, "{p}");
    }
    let (code, _, err) = run(&store, &["verify"]);
    assert_eq!(code, 0, "{err}");
    // A store not created yet: its directory is checked as it will be.
    let new = dir.path().join("n/st");
    let reject = new.join("r.jsonl");
    let (code, _, err) = run(
        &new,
        &[
            "import",
            "--reject",
            reject.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("inside the store directory"), "{err}");
    assert!(!dir.path().join("n").exists());
    // Beside the store is fine.
    let beside = dir.path().join("report.txt");
    let (code, _, err) = run(&store, &["report", "--output", beside.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

/// Text from the data reaches the terminal escaped: a resolution with a
/// line feed and an escape sequence cannot forge a row of a case's history
/// or change the terminal, nor can a value an input line got wrong forge a
/// line of `import --check` or of an import's error.
#[test]
fn text_from_the_data_cannot_forge_lines_or_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let case = "00000000-0000-0000-0000-00000000f001";
    let forged = format!(
        "{}\n{}\n{}\n",
        line(1, 1, "opened", "2026-03-02T09:00:00Z", r#"{"customer_id":"C-1","channel":"phone","tier":"vip"}"#),
        line(1, 2, "classified", "2026-03-02T09:01:00Z", r#"{"category":"complaint","topic":"card","priority":"high"}"#),
        line(1, 3, "resolved", "2026-03-02T10:00:00Z",
             r#"{"resolution":"refund issued\n4    4  2026-03-02T10:05:00Z  supervisor-9  closed\u001b[8m\r\u0007","root_cause":"other"}"#),
    )
    .replace("00000000-0000-0000-0000-000000000001", case);
    let input = dir.path().join("forged.jsonl");
    std::fs::write(&input, &forged).unwrap();
    let (code, _, err) = run(&store, &["import", input.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&store, &["history", case]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{7}'),
        "{out:?}"
    );
    // The header, a blank line, the column names and the three events.
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(out.contains(r"refund issued\n4"), "{out}");
    // A value an input line got wrong: one line per problem.
    let bad = line(
        2,
        20,
        "opened",
        "2026-03-02T09:00:00Z",
        r#"{"customer_id":"C-2","channel":"\u001b[2J\u001b[Hphone\nline 9: all good"}"#,
    );
    let input = dir.path().join("bad.jsonl");
    std::fs::write(&input, format!("{bad}\n")).unwrap();
    let (code, out, err) = run(&store, &["import", "--check", input.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let problems: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(problems.len(), 1, "{out}");
    assert!(!out.contains('\u{1b}'), "{out:?}");
    let (code, _, err) = run(&store, &["import", input.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        !err.contains('\u{1b}') && !err.contains("\nline 9"),
        "{err:?}"
    );
    assert!(err.contains(r"\u{1b}[2J"), "{err}");
}

/// `--wide` shows every key and name whole: two agents whose ids share a
/// long prefix are told apart in the report's groups and on the board (a
/// table that fits the terminal cuts them).
#[test]
fn wide_tables_show_long_ids_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let agent = |n: u32| format!("cn-shanghai-pudong-branch-agent-000{n}");
    let mut lines = Vec::new();
    for case in 1..=2u32 {
        lines.push(line(
            case,
            case * 10,
            "opened",
            "2026-03-02T09:00:00Z",
            r#"{"customer_id":"C-1","channel":"phone","tier":"vip"}"#,
        ));
        lines.push(line(
            case,
            case * 10 + 1,
            "assigned",
            "2026-03-02T09:05:00Z",
            &format!(r#"{{"agent":"{}"}}"#, agent(case)),
        ));
    }
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let (code, _, err) = run(&store, &["import", input.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for args in [
        vec!["report", "--group-by", "agent", "--wide"],
        vec!["cases", "--wide"],
    ] {
        let (code, out, err) = run(&store, &args);
        assert_eq!(code, 0, "{err}");
        for n in 1..=2 {
            assert!(out.contains(&agent(n)), "{args:?}: {out}");
        }
    }
    let (code, out, err) = run(&store, &["report", "--group-by", "agent"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(&agent(1)) && out.contains('…'), "{out}");
}

/// `report --output` killed (SIGKILL) while its temporary file exists
/// leaves that file behind; the next `report --output` to the same file
/// removes it (the rules of what it removes: tests/import_reject.rs, which
/// shares them).
#[test]
fn a_temporary_output_file_left_by_a_kill_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    let (code, _, err) = run(&store, &["generate", "--cases", "5"]);
    assert_eq!(code, 0, "{err}");
    let report = dir.path().join("report.txt");
    let args = ["report", "--output", report.to_str().unwrap()];
    let left = killed_holding_its_temporary(&store, &args);
    assert!(left.exists(), "{}", left.display());
    assert!(!report.exists());
    let (code, _, err) = run(&store, &args);
    assert_eq!(code, 0, "{err}");
    assert!(report.exists());
    assert!(!left.exists(), "the killed run's temporary is removed");
}
