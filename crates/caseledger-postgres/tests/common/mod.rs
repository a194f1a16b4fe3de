//! A database of its own for each test, on the server named by
//! `CASELEDGER_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped `WITH (FORCE)` when the guard drops, also when the test panics.
//! A server that cannot be reached fails the test: it never skips.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use caseledger_postgres::{PgLog, PgOptions};

/// The server the tests use.
pub fn base_url() -> String {
    std::env::var("CASELEDGER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database name replaced by `db` (keeps the query string).
pub fn url_with_db(url: &str, db: &str) -> String {
    let scheme_end = url
        .find("://")
        .expect("a postgres:// URL in CASELEDGER_TEST_PG")
        + 3;
    let (head, rest) = url.split_at(scheme_end);
    let (path_and_auth, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let authority = path_and_auth.split('/').next().unwrap_or("");
    let mut out = format!("{head}{authority}/{db}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `url` connecting as `user` (no password: the test server trusts local
/// connections, as the default server does).
pub fn url_as_user(url: &str, user: &str) -> String {
    let scheme_end = url.find("://").expect("a postgres:// URL") + 3;
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..authority_end].rsplit_once('@') {
        Some((_, host)) => host,
        None => &rest[..authority_end],
    };
    format!("{head}{user}@{host}{}", &rest[authority_end..])
}

/// Runs `f` with an admin client of the base database, on a thread and a
/// runtime of its own (so it works inside a test's runtime too).
pub fn admin<T: Send + 'static>(
    f: impl FnOnce(
        tokio_postgres::Client,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
    + Send
    + 'static,
) -> T {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "the PostgreSQL tests need a server: cannot connect to {} ({e}); set \
                         CASELEDGER_TEST_PG",
                        caseledger_postgres::redact_url(&base_url())
                    )
                });
            tokio::spawn(conn);
            f(client).await
        })
    })
    .join()
    .expect("the admin thread")
}

/// Runs SQL statements on the database `db` (as the test server's user).
pub fn sql_on(db: &str, sql: &str) -> Result<(), String> {
    let url = url_with_db(&base_url(), db);
    let sql = sql.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("{e}: {}", e.as_db_error().map_or("", |d| d.message())))
        })
    })
    .join()
    .expect("the sql thread")
}

/// A database created for one test and dropped with the guard.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub url: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    pub fn new() -> TestDb {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        let name = format!("caseledger_t_{:016x}", h.finish());
        let create = format!("CREATE DATABASE {name}");
        admin(move |c| {
            Box::pin(async move {
                c.batch_execute(&create).await.expect("CREATE DATABASE");
            })
        });
        let url = url_with_db(&base_url(), &name);
        TestDb { name, url }
    }

    /// A blocking log on this database.
    pub fn log(&self) -> PgLog {
        self.log_with(PgOptions::default())
    }

    pub fn log_with(&self, options: PgOptions) -> PgLog {
        PgLog::connect(&self.url, options).unwrap_or_else(|e| panic!("connect: {e} ({e:?})"))
    }

    pub fn sql(&self, sql: &str) -> Result<(), String> {
        sql_on(&self.name, sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let drop_sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        admin(move |c| {
            Box::pin(async move {
                if let Err(e) = c.batch_execute(&drop_sql).await {
                    eprintln!("could not drop a test database: {e}");
                }
            })
        });
    }
}
