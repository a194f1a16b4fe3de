//! A database of its own for each test, on the server named by
//! `CASELEDGER_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`;
//! it may carry a password and `sslmode`), dropped `WITH (FORCE)` when the
//! guard drops, also when the test panics. A server that cannot be reached
//! fails the test: it never skips.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// The server the tests use.
pub fn base_url() -> String {
    std::env::var("CASELEDGER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database name replaced by `db` (the query string kept).
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

/// Runs one SQL text on the database `db` (`None`: the base database).
pub fn sql(db: Option<&str>, text: &str) -> Result<(), String> {
    let url = match db {
        Some(db) => url_with_db(&base_url(), db),
        None => base_url(),
    };
    let text = text.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| {
                    format!(
                        "the PostgreSQL tests need a server: cannot connect ({e}); set \
                         CASELEDGER_TEST_PG"
                    )
                })?;
            tokio::spawn(conn);
            client.batch_execute(&text).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .expect("the sql thread")
}

/// A database created for one test, dropped with the guard.
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
        sql(None, &format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("{e}"));
        let url = url_with_db(&base_url(), &name);
        TestDb { name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let drop_sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = sql(None, &drop_sql) {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}
