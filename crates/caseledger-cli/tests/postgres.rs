//! The command line on PostgreSQL, against a real server (each test in a
//! database of its own; see tests/pg/mod.rs): copy file -> PostgreSQL ->
//! file keeps the head, the export and the report; a bad import file
//! leaves the tables unchanged, with the file store's line-numbered error;
//! generate gives the same head on both backends; an interrupted copy into
//! PostgreSQL completes when run again, but not on a row changed since.
#![allow(clippy::unwrap_used)]

mod common;
mod pg;

use std::ffi::OsStr;
use std::path::Path;

use common::*;
use pg::TestDb;

/// `caseledger --store STORE ARGS...` with `stdin`; (status, stdout, stderr).
fn at(store: impl AsRef<OsStr>, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    run_with_stdin(store, args, stdin.to_vec())
}

/// Runs a command that must succeed; its stdout.
fn ok(store: impl AsRef<OsStr>, args: &[&str]) -> String {
    let (code, out, err) = run(store, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// `caseledger copy`: its status and all it printed.
fn copy(a: impl AsRef<OsStr>, b: impl AsRef<OsStr>, env: &[(&str, &str)]) -> (i32, String) {
    let (code, out, err) = common::copy(a, b, env);
    (code, format!("{out}{err}"))
}

/// The `head:` line of a passing `verify`.
fn head(store: impl AsRef<OsStr>) -> String {
    verified_head(store)
}

/// A source ledger (`batched_source`, seed 5); how many batches.
fn source(dir: &Path, cases: u64) -> u64 {
    batched_source(dir, cases, 5)
}

fn report(store: impl AsRef<OsStr>) -> String {
    report_json(store, "channel")
}

#[test]
fn file_to_postgres_to_file_keeps_the_head_the_export_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (a, c) = (dir.path().join("a"), dir.path().join("c"));
    let batches = source(&a, 300);
    let db = TestDb::new();
    let (code, out) = copy(&a, &db.url, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("in {batches} batches")), "{out}");
    let (code, out) = copy(&db.url, &c, &[]);
    assert_eq!(code, 0, "{out}");
    let want = head(&a);
    assert_eq!(head(&db.url), want);
    assert_eq!(head(&c), want);
    let export = ok(&a, &["export"]);
    assert_eq!(ok(&db.url, &["export"]), export);
    assert_eq!(ok(&c, &["export"]), export);
    assert_eq!(report(&db.url), report(&a));
    assert_eq!(report(&c), report(&a));
    // history too, for one case.
    let case = first_case(&a);
    assert_eq!(
        ok(&db.url, &["history", &case, "--format", "json"]),
        ok(&a, &["history", &case, "--format", "json"])
    );
    // A second copy into the same database: nothing to do; into a non-empty
    // database that is not a copy of it: refused.
    let (code, out) = copy(&a, &db.url, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to copy"), "{out}");
    let other = dir.path().join("other");
    fixed_store(&other);
    let (code, out) = copy(&other, &db.url, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not empty"), "{out}");
    assert_eq!(head(&db.url), want);
}

/// `--source` and `--target` naming one database in two spellings (the
/// other scheme, a parameter added, the default port left out) are the
/// same store: wrong usage (status 2), where the copy said the database
/// already held all of itself.
#[test]
fn one_database_spelled_two_ways_is_not_copied_onto_itself() {
    let db = TestDb::new();
    let (code, _, err) = at(
        &db.url,
        &["import", "-"],
        good_case(1).join("\n").as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let scheme = match db.url.strip_prefix("postgres://") {
        Some(rest) => format!("postgresql://{rest}"),
        None => db.url.replacen("postgresql://", "postgres://", 1),
    };
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let mut spellings = vec![scheme, format!("{}{sep}sslmode=disable", db.url)];
    if db.url.contains(":5432/") {
        spellings.push(db.url.replacen(":5432/", "/", 1));
    }
    for other in &spellings {
        for (a, b) in [(&db.url, other), (other, &db.url)] {
            let (code, out) = copy(a, b, &[]);
            assert_eq!(code, 2, "{a} -> {b}: {out}");
            assert!(out.contains("are the same store"), "{a} -> {b}: {out}");
        }
    }
    // Another database of the same server is not the same store.
    let other = TestDb::new();
    let (code, out) = copy(&db.url, &other.url, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_bad_import_leaves_the_tables_unchanged_with_the_same_line_numbered_error() {
    let dir = tempfile::tempdir().unwrap();
    let file_store = dir.path().join("f");
    let db = TestDb::new();
    let first = good_case(1).join("\n");
    for store in [file_store.as_os_str(), OsStr::new(&db.url)] {
        let (code, out, err) = at(store, &["import", "-"], first.as_bytes());
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("imported 5 events in 1 case"), "{out}");
    }
    let before = ok(&db.url, &["export"]);
    let before_head = head(&db.url);
    // Case 2 is fine; line 8 resolves case 3 before it is classified.
    let mut lines = good_case(2);
    lines.push(line(
        3,
        30,
        "opened",
        "2026-03-02T09:00:00Z",
        r#"{"customer_id":"C-3","channel":"app","tier":"standard"}"#,
    ));
    lines.push(line(
        3,
        31,
        "resolved",
        "2026-03-02T10:00:00Z",
        r#"{"resolution":"done"}"#,
    ));
    let bad = lines.join("\n");
    let (code, _, file_err) = at(&file_store, &["import", "-"], bad.as_bytes());
    assert_eq!(code, 1, "{file_err}");
    let (code, _, pg_err) = at(&db.url, &["import", "-"], bad.as_bytes());
    assert_eq!(code, 1, "{pg_err}");
    assert!(pg_err.contains("line 7: "), "{pg_err}");
    assert_eq!(pg_err, file_err, "the same words on both backends");
    assert_eq!(ok(&db.url, &["export"]), before);
    assert_eq!(head(&db.url), before_head);
    // A line that does not parse: refused too, nothing written.
    let (code, _, err) = at(&db.url, &["import", "-"], b"{\"case_id\": 7}\n");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("line 1: "), "{err}");
    assert_eq!(ok(&db.url, &["export"]), before);
    // The good part alone imports; again, it is already stored.
    let good = good_case(2).join("\n");
    let (code, out, err) = at(&db.url, &["import", "-"], good.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("imported 5 events"), "{out}");
    let (code, out, err) = at(&db.url, &["import", "-"], good.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already stored"), "{out}");
}

/// Every read checks what it prints, on PostgreSQL as on a store
/// directory: a row changed behind the log's back (a superuser with the
/// trigger off), which still decodes and matches its columns, is refused by
/// `history`, `follow-ups plan` and `report`, each naming its position, and
/// a copy out of the database stops before the batch that holds it.
#[test]
fn reads_of_postgres_refuse_a_row_changed_behind_the_logs_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    for case in 1..=3 {
        let (code, _, err) = at(
            &db.url,
            &["import", "-"],
            good_case(case).join("\n").as_bytes(),
        );
        assert_eq!(code, 0, "{err}");
    }
    let case_2 = "00000000-0000-0000-0000-000000000002";
    assert!(ok(&db.url, &["history", case_2]).contains("agent-17"));
    // verify's JSON has docs/cli.md's keys, in its order, as the store
    // directory's does; a problem leaves the figures null, not missing.
    let keys = |json: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut keys: Vec<(usize, String)> = v
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (json.find(&format!("\"{k}\"")).unwrap(), k.clone()))
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    };
    let documented = ["ok", "events", "cases", "batches", "head", "problem"];
    assert_eq!(
        keys(&ok(&db.url, &["verify", "--format", "json"])),
        documented
    );
    // Case 2's second event (position 7: each import is a batch of 5).
    db.sql(&format!(
        "ALTER TABLE caseledger.events DISABLE TRIGGER events_append_only;
         UPDATE caseledger.events
            SET body = decode(replace(encode(body, 'hex'), encode('agent-17'::bytea, 'hex'),
                                      encode('agent-99'::bytea, 'hex')), 'hex')
          WHERE case_id = '{case_2}' AND version = 2;"
    ))
    .unwrap();
    let (code, json, _) = at(&db.url, &["verify", "--format", "json"], b"");
    assert_eq!(code, 1);
    assert_eq!(keys(&json), documented);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (
            &v["events"],
            &v["head"],
            &v["problem"]["kind"],
            &v["problem"]["position"]
        ),
        (
            &serde_json::Value::Null,
            &serde_json::Value::Null,
            &"tampered".into(),
            &7.into()
        )
    );
    for args in [
        vec!["history", case_2],
        vec!["follow-ups", "plan", "--on", "2026-03-10"],
        vec!["report"],
    ] {
        let (code, out, err) = at(&db.url, &args, b"");
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(!out.contains("agent-99"), "{args:?}: {out}");
        assert!(err.contains("position 7"), "{args:?}: {err}");
    }
    let target = dir.path().join("copy");
    let (code, out) = copy(&db.url, &target, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("position 7"), "{out}");
    // Nothing of the changed batch was written (the batches before it may
    // be, whole: a copy commits chunks of batches).
    let copied = ok(&target, &["export"]);
    assert!(copied.lines().count() <= 5, "{copied}");
    assert!(!copied.contains("agent-99"), "{copied}");
}

/// `verify` checks the head row's recorded time, which appends take as
/// the time no later event may be recorded before.
#[test]
fn verify_on_postgres_refuses_a_head_whose_recorded_time_was_changed() {
    let db = TestDb::new();
    let (code, _, err) = at(
        &db.url,
        &["import", "-"],
        good_case(1).join("\n").as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let sound = head(&db.url);
    for change in [
        "recorded_secs = 253402300000",
        "recorded_nanos = 2000000000",
        "recorded_secs = NULL",
    ] {
        db.sql(&format!(
            "CREATE TABLE public.saved AS SELECT * FROM caseledger.head;
             UPDATE caseledger.head SET {change};"
        ))
        .unwrap();
        let (code, out, err) = at(&db.url, &["verify"], b"");
        assert_eq!(code, 1, "{change}: {out}{err}");
        assert!(err.contains("recorded time"), "{change}: {err}");
        db.sql(
            "UPDATE caseledger.head h SET recorded_secs = s.recorded_secs,
                    recorded_nanos = s.recorded_nanos FROM public.saved s; DROP TABLE public.saved;",
        )
        .unwrap();
        assert_eq!(head(&db.url), sound, "{change}: put back");
    }
}

#[test]
fn generate_gives_the_same_head_as_on_a_store_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let args = ["generate", "--cases", "150", "--seed", "9"];
    let on_file = ok(dir.path(), &args);
    let on_pg = ok(&db.url, &args);
    assert_eq!(on_pg, on_file);
    assert_eq!(head(&db.url), head(dir.path()));
    assert_eq!(report(&db.url), report(dir.path()));
    // Only into an empty database.
    let (code, _, err) = at(&db.url, &args, b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refused: "), "{err}");
}

#[test]
fn an_interrupted_copy_into_postgres_completes_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let batches = source(dir.path(), 2600);
    let db = TestDb::new();
    // Stopped late: the first chunk of batches is loaded (a transaction),
    // the one being loaded is not.
    let stop = (batches - 3).to_string();
    let (code, out) = copy(dir.path(), &db.url, &[("CASELEDGER_TEST_COPY_STOP", &stop)]);
    assert_eq!(code, 75, "{out}");
    let (code, out) = copy(dir.path(), &db.url, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("resumed: "), "{out}");
    assert_eq!(head(&db.url), head(dir.path()));
    assert_eq!(ok(&db.url, &["export"]), ok(dir.path(), &["export"]));
}

/// Changes the row at `position` behind the log's back (a superuser with
/// the append-only trigger off) by `set`, an UPDATE's SET list; the row is
/// saved first, for [`put_back`].
fn change_row(db: &TestDb, position: u64, set: &str) {
    db.sql(&format!(
        "CREATE TABLE public.saved AS SELECT * FROM caseledger.events WHERE position = {position};
         ALTER TABLE caseledger.events DISABLE TRIGGER events_append_only;
         UPDATE caseledger.events SET {set} WHERE position = {position};
         ALTER TABLE caseledger.events ENABLE TRIGGER events_append_only;"
    ))
    .unwrap();
}

/// Puts back the row [`change_row`] changed.
fn put_back(db: &TestDb) {
    db.sql(
        "ALTER TABLE caseledger.events DISABLE TRIGGER events_append_only;
         UPDATE caseledger.events e SET customer_id = s.customer_id, body = s.body
           FROM public.saved s WHERE e.position = s.position;
         ALTER TABLE caseledger.events ENABLE TRIGGER events_append_only;
         DROP TABLE public.saved;",
    )
    .unwrap();
}

/// A copy resumed into PostgreSQL compares the target's head with the
/// source's chain, which vouches for no row before it: the whole target is
/// checked first. A row of the interrupted copy changed behind the log's
/// back (its body, or a column) fails the copy with status 1, as damaged
/// data, naming the row's position and writing nothing, where it would be
/// resumed and called the same ledger as the source; so does a complete
/// copy's "nothing to copy".
#[test]
fn a_copy_into_postgres_does_not_resume_on_a_changed_row() {
    let dir = tempfile::tempdir().unwrap();
    let batches = source(dir.path(), 2600);
    let db = TestDb::new();
    let stop = (batches - 3).to_string();
    let (code, out) = copy(dir.path(), &db.url, &[("CASELEDGER_TEST_COPY_STOP", &stop)]);
    assert_eq!(code, 75, "{out}");
    let held = head(&db.url);
    // One byte of a body (its link breaks).
    change_row(
        &db,
        1234,
        "body = set_byte(body, length(body) - 1, get_byte(body, length(body) - 1) # 1)",
    );
    let (code, out) = copy(dir.path(), &db.url, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("resumed"), "{out}");
    assert!(out.contains("at position 1234:"), "{out}");
    assert!(
        out.contains("they do not verify: nothing was copied"),
        "{out}"
    );
    put_back(&db);
    assert_eq!(head(&db.url), held, "the refused copy wrote nothing");
    // Put back, the copy resumes and completes.
    let (code, out) = copy(dir.path(), &db.url, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("resumed: "), "{out}");
    let want = head(dir.path());
    assert_eq!(head(&db.url), want);
    // A column of a complete copy: not "nothing to copy".
    change_row(&db, 17_500, "customer_id = 'C-999999'");
    let (code, out) = copy(dir.path(), &db.url, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("nothing to copy"), "{out}");
    assert!(out.contains("at position 17500:"), "{out}");
    put_back(&db);
    assert_eq!(head(&db.url), want);
}

/// A copy stopped by a damaged source record says what the target holds:
/// the verified prefix written before it, by its last position, which the
/// same copy resumes after once the source is put right.
#[test]
fn a_copy_stopped_by_a_changed_source_row_names_the_prefix_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    source(&a, 2600);
    let db = TestDb::new();
    let (code, out) = copy(&a, &db.url, &[]);
    assert_eq!(code, 0, "{out}");
    // Past the first page the source's read checks (10,000 rows): the
    // batches before it are written first.
    change_row(
        &db,
        15_000,
        "body = set_byte(body, length(body) - 1, get_byte(body, length(body) - 1) # 1)",
    );
    let (code, out) = copy(&db.url, &b, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("at position 15000:"), "{out}");
    let held = head(&b);
    let position = held
        .split(' ')
        .nth(2)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap();
    assert!((1..15_000).contains(&position), "{held}");
    assert!(
        out.contains(&format!(
            "holds a verified, resumable prefix of it, positions 1 to {position} ({position} \
             events"
        )),
        "{out}"
    );
    put_back(&db);
    let (code, out) = copy(&db.url, &b, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with(&format!(
            "resumed: {} held positions 1 to {position} ",
            b.display()
        )),
        "{out}"
    );
    assert_eq!(head(&b), head(&a));
}

/// `copy` file -> PostgreSQL killed (SIGKILL) at several points: before
/// the first event; inside the first transaction of 16,384 events (its
/// rows sent, not committed: the server rolls them back); after it, inside
/// the second. Each time, the same command run again completes the copy
/// (resuming where a transaction had committed) to the source's head and
/// export.
#[test]
fn a_copy_into_postgres_killed_at_several_points_resumes_to_the_same_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let batches = source(dir.path(), 3000);
    let want_head = head(dir.path());
    let want_export = ok(dir.path(), &["export"]);
    let late = batches - 2;
    for point in ["0:0".to_owned(), "100:3".to_owned(), format!("{late}:0")] {
        let db = TestDb::new();
        copy_killed_at(dir.path(), &db.url, &point);
        let (code, out) = copy(dir.path(), &db.url, &[]);
        assert_eq!(code, 0, "after a kill at {point}: {out}");
        if point == format!("{late}:0") {
            assert!(out.starts_with("resumed: "), "{point}: {out}");
        }
        assert_eq!(head(&db.url), want_head, "{point}");
        assert_eq!(ok(&db.url, &["export"]), want_export, "{point}");
    }
}

#[test]
fn the_command_line_connects_over_tls_when_the_url_asks_for_it() {
    use caseledger_testkit::pg::{server_tls, with_host_and_query};
    let db = TestDb::new();
    let (on, cert) = server_tls();
    if !on {
        // No TLS on this server: asking for it fails, never falls back.
        let url = with_host_and_query(&db.url, "127.0.0.1", "sslmode=require");
        let (code, _, err) = run(&url, &["verify"]);
        assert_ne!(code, 0, "{err}");
        eprintln!("the test server offers no TLS: checked that TLS is required");
        return;
    }
    // The server's certificate as the CA: verify-full to the name it holds.
    let tls = with_host_and_query(
        &db.url,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={cert}"),
    );
    ok(&tls, &["generate", "--cases", "20"]);
    assert_eq!(head(&tls), head(&db.url), "the same log, read over TLS");
    // Under `require` too the name is checked: 127.0.0.1 is not it.
    let wrong_host = with_host_and_query(
        &db.url,
        "127.0.0.1",
        &format!("sslmode=require&sslrootcert={cert}"),
    );
    let (code, _, err) = run(&wrong_host, &["verify"]);
    assert_ne!(code, 0, "connected to a name the certificate does not hold");
    assert!(err.contains("connect"), "{err}");
}

/// How many tables the database has in the schema `caseledger`.
fn caseledger_tables(db: &TestDb) -> i64 {
    caseledger_testkit::pg::admin_on(&db.url, |c| {
        Box::pin(async move {
            c.query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'caseledger'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
        })
    })
}

/// Every command that only reads, pointed at a database without a ledger
/// (a mistyped name that exists, a restore without the schema), fails as
/// on a directory that is not a store (status 1), naming the database and
/// what to do, and leaves it without any caseledger table, where it used
/// to create the schema and `verify` said "ok: 0 events". A writing
/// command still creates the ledger.
#[test]
fn reading_commands_create_nothing_in_a_database_without_a_ledger() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let copied = dir.path().join("copied");
    let case = "00000000-0000-0000-0000-000000000001";
    // The reads, and `follow-ups plan --apply`, which appends only to a
    // ledger that is there (its calls are on recorded cases).
    let reads: [&[&str]; 9] = [
        &["verify"],
        &["verify", "--format", "json"],
        &["report"],
        &["export"],
        &["history", case],
        &["cases"],
        &["follow-ups", "plan", "--on", "2026-03-16"],
        &[
            "follow-ups",
            "plan",
            "--on",
            "2026-03-16",
            "--apply",
            "--actor",
            "planner-1",
        ],
        &[
            "copy",
            "--source",
            &db.url,
            "--target",
            copied.to_str().unwrap(),
        ],
    ];
    for args in reads {
        let (code, out, err) = run(&db.url, args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains(&format!(
                "cannot open store {}: it is not a caseledger store",
                db.url
            )) && err.contains("import, generate or copy into it first")
                && err.contains(&format!("`{}` holds no caseledger ledger", db.name)),
            "{args:?}: {err}"
        );
        assert_eq!(caseledger_tables(&db), 0, "{args:?} created tables");
        if args.contains(&"json") {
            // As a store directory's: the JSON says why nothing was checked.
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["ok"], false, "{out}");
            assert_eq!(v["problem"]["kind"], "error", "{out}");
            let detail = v["problem"]["detail"].as_str().unwrap();
            assert!(detail.contains("it is not a caseledger store"), "{detail}");
        }
    }
    assert!(!copied.join(caseledger_store::CHECKPOINT_FILE).exists());
    // A writing command creates the ledger, which the reads then read.
    let (code, _, err) = at(
        &db.url,
        &["import", "-"],
        good_case(1).join("\n").as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(caseledger_tables(&db), 5);
    assert!(head(&db.url).starts_with("head: position 5 "));
}

/// A database that does not exist: the server's words once, without the
/// client's bare "db error" line, and never the password.
#[test]
fn a_missing_database_is_named_once_without_the_password() {
    let secret = "pw-Qx73-secret";
    let url = caseledger_testkit::pg::url_with_db(
        &caseledger_testkit::pg::base_url(),
        "caseledger_no_such_database",
    );
    let (scheme, rest) = url.split_once("://").unwrap();
    let url = match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap();
            format!("{scheme}://{user}:{secret}@{host}")
        }
        None => format!("{scheme}://postgres:{secret}@{rest}"),
    };
    let (code, out, err) = run(&url, &["verify"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!err.contains(secret) && !out.contains(secret), "{err}");
    assert!(!err.contains("db error"), "{err}");
    assert_eq!(
        err.matches("\"caseledger_no_such_database\" does not exist")
            .count(),
        1,
        "{err}"
    );
}
