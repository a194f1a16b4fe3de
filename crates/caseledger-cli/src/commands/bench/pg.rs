//! `bench --store postgres://…`: the floors of the PostgreSQL event log
//! (docs/postgres.md, "Figures"), measured in one run on the server the URL
//! names, each figure a median of `--runs` runs beside its baseline from
//! the same run:
//!
//! - a durable append of 1 event per call on 1 connection against a plain
//!   single-row INSERT + COMMIT loop (floor 80%);
//! - 8 threads of one process against 1 thread (floor 4x: the log groups
//!   concurrent appends into one transaction);
//! - 8 processes against 1 (floor: no worse; the bench runs itself as the
//!   child processes);
//! - the import of the replay store's export (floor 100k events/s, over
//!   1M events);
//! - `report` from PostgreSQL against `report` from the store directory
//!   holding the same events (floor: within 2x).
//!
//! Everything is written to databases the bench creates
//! (`caseledger_bench_<random>`) and drops `WITH (FORCE)` when it ends, on
//! an error too, or to the one `--pg-database` names (which must be empty,
//! and keeps the bench's events).

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use caseledger::{
    Actor, CaseId, Channel, CustomerId, Event, EventData, EventId, EventLog, ExpectedVersion,
    Opened, Origin, Tier,
};
use caseledger_postgres::{PgLog, PgOptions};
use caseledger_synth::Customers;

use super::args::BenchArgs;
use super::measure::{cold, cold_command, median, per_second};
use super::stores::{self, export_path, replay_store};
use super::workdir::{self, Found};
use crate::commands::output::{count, write_stdout};
use crate::exit::UsageError;
use crate::location::PgUrl;

/// The high 64 bits of every case and event id the append figures write
/// (the low 64 bits count), so they never meet the replay store's ids.
const ID_PREFIX: u128 = 0xbe4c_0000_0000_0000;

/// Threads and processes of the concurrent figures.
const CONCURRENCY: u64 = 8;

/// The figures' floors (issue 21).
const FLOOR_APPEND_OF_PLAIN: f64 = 0.80;
const FLOOR_THREADS: f64 = 4.0;
const FLOOR_PROCESSES: f64 = 1.0;
const FLOOR_IMPORT_PER_SECOND: f64 = 100_000.0;
const FLOOR_REPORT_RATIO: f64 = 2.0;

/// One printed figure: its median time, its rate, what it is compared
/// with, and its floor.
struct Figure {
    what: String,
    median: Duration,
    units: u64,
    unit: &'static str,
    /// The comparison (`83% of plain`), empty for a baseline.
    against: String,
    /// The floor and whether it is met; `None` for a baseline.
    floor: Option<(String, bool)>,
}

/// Runs the PostgreSQL bench, or, with `--pg-child-appends`, one of its
/// appending child processes.
pub(crate) fn run(url: &PgUrl, args: &BenchArgs) -> Result<()> {
    if let [first, count] = args.pg_child_appends[..] {
        let log = connect(url)?;
        return append_loop(&log, first, count);
    }
    let args = args.for_postgres();
    let wants = |part: &str| args.only.is_empty() || args.only.iter().any(|o| o == part);
    // Every refusal before anything is written. --dir, which the import
    // and the report use, must be bench's own (or new); a given database
    // must be empty.
    let dir = match wants("import") || wants("report") {
        true => Some(workdir::check(&args.dir)?),
        false => None,
    };
    let mut server = Server::connect(url, args.pg_database.clone())?;
    server.refuse_unless_empty()?;
    if dir == Some(Found::New) {
        workdir::mark(&args.dir)?;
    }
    eprintln!(
        "bench: PostgreSQL at {url}, {} runs per figure, replay store in {}",
        args.runs,
        args.dir.display()
    );
    let exe = std::env::current_exe().context("cannot find this program")?;
    let mut figures = Vec::new();
    let mut notes = Vec::new();
    // The import first: it needs an empty database, which a given one is
    // only before the appends.
    if wants("import") || wants("report") {
        import_and_report(&mut server, &exe, &args, &wants, &mut figures, &mut notes)?;
    }
    if wants("append") {
        append_figures(&mut server, &exe, &args, &mut figures)?;
    }
    server.drop_created()?;
    write_stdout(&table(&args, &figures, &notes))
}

/// The printed table.
fn table(args: &BenchArgs, figures: &[Figure], notes: &[String]) -> String {
    let mut out = format!(
        "caseledger bench on PostgreSQL: {} events in the import and report, {} appends per \
         thread or process, {} runs per figure (medians)\n\n",
        args.events(),
        args.appends(),
        args.runs
    );
    out.push_str(&format!(
        "{:<58} {:>10} {:>14}  {:<26} {}\n",
        "measurement", "median", "rate", "against", "floor"
    ));
    for f in figures {
        let floor = match &f.floor {
            Some((floor, true)) => format!("{floor}: met"),
            Some((floor, false)) => format!("{floor}: NOT MET"),
            None => String::new(),
        };
        out.push_str(&format!(
            "{:<58} {:>8.3} s {:>9.0} {}/s  {:<26} {}\n",
            f.what,
            f.median.as_secs_f64(),
            per_second(f.units, f.median),
            f.unit,
            f.against,
            floor
        ));
    }
    for note in notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}

/// The append figures: the plain INSERT loop, 1 thread, 8 threads, 1
/// process and 8 processes, in turn in every run (so that a change in the
/// machine's load touches them all alike).
fn append_figures(
    server: &mut Server,
    exe: &std::path::Path,
    args: &BenchArgs,
    figures: &mut Vec<Figure>,
) -> Result<()> {
    let n = args.appends();
    let db = server.database()?;
    let log = connect(&db)?;
    // Ids of this bench run: a salt of the clock, so that runs into one
    // `--pg-database` do not meet.
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        % (1 << 22);
    let mut next = salt << 40;
    let mut take = |count: u64| {
        let first = next;
        next += count;
        first
    };
    let (mut plain, mut one, mut threads, mut p1, mut p8) =
        (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..args.runs {
        eprintln!("bench: appends, run {} of {}", run + 1, args.runs);
        plain.push(server.insert_loop(&db, n)?);
        one.push(timed(|| append_loop(&log, take(n), n))?);
        let firsts: Vec<u64> = (0..CONCURRENCY).map(|_| take(n)).collect();
        threads.push(timed(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> = firsts
                    .iter()
                    .map(|&first| {
                        let log = &log;
                        s.spawn(move || append_loop(log, first, n))
                    })
                    .collect();
                handles.into_iter().try_for_each(|h| {
                    h.join()
                        .map_err(|_| anyhow::anyhow!("an appending thread panicked"))?
                })
            })
        })?);
        let firsts = [take(n)];
        p1.push(timed(|| processes(exe, &db, &firsts, n))?);
        let firsts: Vec<u64> = (0..CONCURRENCY).map(|_| take(n)).collect();
        p8.push(timed(|| processes(exe, &db, &firsts, n))?);
    }
    drop(log);
    let (plain, one, threads, p1, p8) = (
        median(plain),
        median(one),
        median(threads),
        median(p1),
        median(p8),
    );
    let rate = |units: u64, d: Duration| per_second(units, d);
    let of_plain = rate(n, one) / rate(n, plain);
    let of_one = rate(CONCURRENCY * n, threads) / rate(n, one);
    let of_p1 = rate(CONCURRENCY * n, p8) / rate(n, p1);
    figures.push(Figure {
        what: "baseline: plain single-row INSERT + COMMIT, 1 connection".into(),
        median: plain,
        units: n,
        unit: "rows",
        against: String::new(),
        floor: None,
    });
    figures.push(Figure {
        what: "durable append, 1 event per call, 1 thread".into(),
        median: one,
        units: n,
        unit: "ap",
        against: format!("{:.0}% of plain", 100.0 * of_plain),
        floor: Some((
            format!(">= {:.0}%", 100.0 * FLOOR_APPEND_OF_PLAIN),
            of_plain >= FLOOR_APPEND_OF_PLAIN,
        )),
    });
    figures.push(Figure {
        what: format!("durable append, {CONCURRENCY} threads of 1 process"),
        median: threads,
        units: CONCURRENCY * n,
        unit: "ap",
        against: format!("{of_one:.2}x 1 thread"),
        floor: Some((format!(">= {FLOOR_THREADS:.0}x"), of_one >= FLOOR_THREADS)),
    });
    figures.push(Figure {
        what: "durable append, 1 process (connecting included)".into(),
        median: p1,
        units: n,
        unit: "ap",
        against: String::new(),
        floor: None,
    });
    figures.push(Figure {
        what: format!("durable append, {CONCURRENCY} processes of 1 thread"),
        median: p8,
        units: CONCURRENCY * n,
        unit: "ap",
        against: format!("{of_p1:.2}x 1 process"),
        floor: Some((
            format!(">= {FLOOR_PROCESSES:.0}x (no worse)"),
            of_p1 >= FLOOR_PROCESSES,
        )),
    });
    Ok(())
}

/// The import of the replay store's export into a new database (a cold
/// process each run), and the report from the last one against the report
/// from the replay store.
fn import_and_report(
    server: &mut Server,
    exe: &std::path::Path,
    args: &BenchArgs,
    wants: &dyn Fn(&str) -> bool,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let shape = replay_store(args, Customers::Uniform, &mut Vec::new())?;
    // Kept across runs: written whole, and removed whenever the store is
    // generated again.
    let export = export_path(args, shape.customers);
    if !export.exists() {
        stores::export(exe, &shape.dir, &export)?;
    }
    // A given database is imported into once (it cannot be emptied again).
    let runs = match server.given.is_some() {
        true => 1,
        false => args.runs.min(3),
    };
    let mut imports = Vec::new();
    let mut db = None;
    for run in 0..runs {
        eprintln!(
            "bench: import of {} events, run {} of {runs}",
            shape.events,
            run + 1
        );
        if let Some(previous) = db.take() {
            server.drop_database(&previous)?;
        }
        let target = server.database()?;
        // The schema first, outside the timing (as a deployed ledger has it).
        let log = connect(&target)?;
        if log.head()?.position > 0 {
            bail!("bench: the database {target} holds events: the import needs an empty one");
        }
        drop(log);
        let mut command = pg_command(exe, &target);
        command.arg("import").arg(&export).stdout(Stdio::null());
        imports.push(timed(|| {
            let out = command.output()?;
            if !out.status.success() {
                bail!(
                    "bench: the import failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            Ok(())
        })?);
        db = Some(target);
    }
    let Some(db) = db else {
        bail!("bench: no import ran");
    };
    let import = median(imports);
    if wants("import") {
        let rate = per_second(shape.events, import);
        figures.push(Figure {
            what: "import JSON Lines (checked, COPY, all or nothing), cold".into(),
            median: import,
            units: shape.events,
            unit: "ev",
            against: format!("median of {runs}"),
            floor: Some((
                format!(">= {}k ev/s", FLOOR_IMPORT_PER_SECOND / 1e3),
                rate >= FLOOR_IMPORT_PER_SECOND,
            )),
        });
        if shape.events < 1_000_000 {
            notes.push(format!(
                "the import floor is set for 1,000,000 events; this run imported {} \
                 (--events 1000000 for the documented figure)",
                shape.events
            ));
        }
    }
    if wants("report") {
        let report = ["report", "--format", "json"];
        let (mut files, mut pgs) = (Vec::new(), Vec::new());
        for run in 0..args.runs {
            eprintln!("bench: report, run {} of {}", run + 1, args.runs);
            files.push(cold(exe, &shape.dir, &report)?.0);
            pgs.push(cold_command(pg_command(exe, &db), &report)?.0);
        }
        let (file, pg) = (median(files), median(pgs));
        let ratio = pg.as_secs_f64() / file.as_secs_f64().max(1e-9);
        figures.push(Figure {
            what: "baseline: report --format json, store directory, cold".into(),
            median: file,
            units: shape.events,
            unit: "ev",
            against: String::new(),
            floor: None,
        });
        figures.push(Figure {
            what: "report --format json, PostgreSQL, cold".into(),
            median: pg,
            units: shape.events,
            unit: "ev",
            against: format!("{ratio:.2}x the store directory"),
            floor: Some((
                format!("<= {FLOOR_REPORT_RATIO:.0}x"),
                ratio <= FLOOR_REPORT_RATIO,
            )),
        });
    }
    // The replay store and its export stay in --dir for the next run.
    Ok(())
}

/// This program with `--store` set to `db` through the environment (so the
/// password is not on a command line other users can list).
fn pg_command(exe: &std::path::Path, db: &PgUrl) -> Command {
    let mut command = Command::new(exe);
    command.env("CASELEDGER_STORE", OsStr::new(db.secret()));
    command
}

/// `f`'s wall time.
fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed())
}

/// Connects the log to `url`.
fn connect(url: &PgUrl) -> Result<PgLog> {
    PgLog::connect(url.secret(), PgOptions::default())
        .with_context(|| format!("bench: cannot open {url}"))
}

/// The event of append number `n`: a new case opened (valid on its own,
/// and outside every cross-case condition).
fn opened(n: u64) -> Result<Event> {
    let id = ID_PREFIX << 64 | u128::from(n);
    Ok(Event {
        event_id: EventId::from_u128(id),
        case_id: CaseId::from_u128(id),
        at: chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc(),
        actor: Actor::parse("agent-1")?,
        data: EventData::Opened(Opened {
            customer_id: CustomerId::new(format!("C-{n}"))?,
            channel: Channel::Phone,
            tier: Tier::Standard,
            summary: None,
            origin: Origin::default(),
        }),
    })
}

/// Appends `count` events one per call, numbers from `first`.
fn append_loop(log: &PgLog, first: u64, count: u64) -> Result<()> {
    let events: Vec<Event> = (first..first + count).map(opened).collect::<Result<_>>()?;
    for e in &events {
        log.append(
            e.case_id,
            ExpectedVersion::NoStream,
            std::slice::from_ref(e),
        )
        .context("bench: an append failed")?;
    }
    Ok(())
}

/// One child process per entry of `firsts`, each appending `count` events
/// from one thread; returns once all have ended well.
fn processes(exe: &std::path::Path, db: &PgUrl, firsts: &[u64], count: u64) -> Result<()> {
    let children = firsts
        .iter()
        .map(|first| {
            pg_command(exe, db)
                .arg("bench")
                .arg(format!("--pg-child-appends={first},{count}"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .context("bench: cannot start an appending process")
        })
        .collect::<Result<Vec<_>>>()?;
    let mut failed = None;
    for child in children {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            failed.get_or_insert(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
    }
    match failed {
        Some(why) => bail!("bench: an appending process failed: {why}"),
        None => Ok(()),
    }
}

/// The server: an administrative connection to the URL's database, which
/// creates the bench's databases and drops them again.
struct Server {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    url: PgUrl,
    /// `--pg-database`: used instead of creating databases.
    given: Option<String>,
    /// The databases this bench created and has not dropped yet.
    created: Vec<String>,
}

impl Server {
    fn connect(url: &PgUrl, given: Option<String>) -> Result<Server> {
        if let Some(name) = &given
            && !valid_name(name)
        {
            bail!(
                "--pg-database {name}: letters, digits and `_` only, starting with a letter or `_`"
            );
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("bench: cannot start a runtime")?;
        let (client, connection) = runtime
            .block_on(tokio_postgres::connect(url.secret(), tokio_postgres::NoTls))
            .with_context(|| {
                format!(
                    "bench: cannot connect to {url} (the bench's own connection, which creates \
                     and drops its databases, is without TLS)"
                )
            })?;
        runtime.spawn(connection);
        Ok(Server {
            runtime,
            client,
            url: url.clone(),
            given,
            created: Vec::new(),
        })
    }

    /// Refuses (wrong usage) a `--pg-database` whose log holds events:
    /// the bench's synthetic events could never be removed from it, and
    /// the figures would not be the documented ones (an import into an
    /// empty database).
    fn refuse_unless_empty(&self) -> Result<()> {
        let Some(name) = &self.given else {
            return Ok(());
        };
        let db = self.url.with_database(name)?;
        let head = connect(&db)?.head()?;
        if head.position > 0 {
            return Err(UsageError(format!(
                "bench --pg-database {name}: the database holds {}, and bench \
                 writes synthetic events, which an append-only, hash-chained log can never \
                 remove: give an empty database, or leave --pg-database out for databases \
                 bench creates and drops",
                count(head.position, "event"),
            ))
            .into());
        }
        Ok(())
    }

    /// A database to measure in: `--pg-database`, or a new one.
    fn database(&mut self) -> Result<PgUrl> {
        if let Some(name) = &self.given {
            return Ok(self.url.with_database(name)?);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "caseledger_bench_{}_{nanos}_{}",
            std::process::id(),
            self.created.len()
        );
        self.runtime
            .block_on(
                self.client
                    .batch_execute(&format!("CREATE DATABASE {name}")),
            )
            .with_context(|| format!("bench: cannot create the database {name}"))?;
        self.created.push(name.clone());
        Ok(self.url.with_database(&name)?)
    }

    /// Drops a database this bench created (a given one is kept).
    fn drop_database(&mut self, db: &PgUrl) -> Result<()> {
        let Some(i) = self.created.iter().position(|name| {
            self.url
                .with_database(name)
                .is_ok_and(|u| u.secret() == db.secret())
        }) else {
            return Ok(());
        };
        let name = self.created.remove(i);
        self.runtime
            .block_on(
                self.client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
            )
            .with_context(|| format!("bench: cannot drop the database {name}"))
    }

    /// Drops every database this bench created.
    fn drop_created(&mut self) -> Result<()> {
        while let Some(name) = self.created.last() {
            let db = self.url.with_database(name)?;
            self.drop_database(&db)?;
        }
        Ok(())
    }

    /// A plain single-row INSERT + COMMIT loop of `n` rows of a record's
    /// size into a table of its own in `db` (dropped after); its time.
    fn insert_loop(&self, db: &PgUrl, n: u64) -> Result<Duration> {
        let table = format!("caseledger_bench_plain_{}", std::process::id());
        self.runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(db.secret(), tokio_postgres::NoTls)
                .await
                .with_context(|| format!("bench: cannot connect to {db}"))?;
            let connection = tokio::spawn(connection);
            client
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {table}; \
                     CREATE TABLE {table} (id bigint PRIMARY KEY, body bytea NOT NULL)"
                ))
                .await?;
            let insert = client
                .prepare(&format!("INSERT INTO {table} (id, body) VALUES ($1, $2)"))
                .await?;
            // About an event record's body.
            let body = vec![7u8; 160];
            let t = Instant::now();
            for i in 0..n as i64 {
                client.execute(&insert, &[&i, &body]).await?;
            }
            let d = t.elapsed();
            client.batch_execute(&format!("DROP TABLE {table}")).await?;
            drop(client);
            let _ = connection.await;
            Ok(d)
        })
    }
}

impl Drop for Server {
    /// On an error too: the databases this bench created go.
    fn drop(&mut self) {
        if let Err(e) = self.drop_created() {
            eprintln!("bench: {e:#}");
        }
    }
}

/// Whether `name` is a database name the bench may write into SQL
/// unquoted.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}
