//! PostgreSQL for tests (feature `postgres`): a database of its own for each
//! test ([`TestDb`]) on the shared test server, and a private server
//! ([`PrivateServer`]) for the fault tests that restart a server or fill
//! its disk, which must never happen to the shared one.
//!
//! The shared server is the one `CASELEDGER_TEST_PG` names (default
//! `postgres://postgres@127.0.0.1:5432/test`; it may carry a password and
//! `sslmode`). A server that cannot be reached fails the test: nothing here
//! ever skips.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shared test server's URL: `CASELEDGER_TEST_PG`, or the default.
pub fn base_url() -> String {
    std::env::var("CASELEDGER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database name replaced by `db` (its query string kept).
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

/// `url` connecting as `user`, without a password (the test servers trust
/// local connections).
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

/// `url` with any password replaced by `***`, for messages.
fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!(
                "{}{user}:***@{host}{}",
                &url[..scheme_end],
                &rest[authority_end..]
            )
        }
        None => url.to_owned(),
    }
}

/// A future an admin closure returns.
pub type AdminFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs `f` with a client connected to `url`, on a thread and a runtime of
/// its own (so it works inside a test's runtime too). Panics, naming the
/// server (password hidden), when it cannot connect.
pub fn admin_on<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(tokio_postgres::Client) -> AdminFuture<T> + Send + 'static,
) -> T {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the admin connection");
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "the PostgreSQL tests need a server: cannot connect to {} ({e}); set \
                         CASELEDGER_TEST_PG",
                        redacted(&url)
                    )
                });
            tokio::spawn(conn);
            f(client).await
        })
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Whether the shared server offers TLS, and its certificate file (on the
/// project's machines Debian's self-signed "snakeoil" certificate, for
/// `localhost`): what the TLS tests trust as their CA.
pub fn server_tls() -> (bool, String) {
    admin(|c| {
        Box::pin(async move {
            let ssl: String = c.query_one("SHOW ssl", &[]).await.expect("SHOW ssl").get(0);
            let cert: String = c
                .query_one("SHOW ssl_cert_file", &[])
                .await
                .expect("SHOW ssl_cert_file")
                .get(0);
            (ssl == "on", cert)
        })
    })
}

/// `url` with host `host` and the query `query` (replacing any): the same
/// server by another name, with TLS parameters.
pub fn with_host_and_query(url: &str, host: &str, query: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let rest = rest.split('?').next().unwrap_or(rest);
    let (auth, path) = rest.split_once('/').expect("a URL with a database");
    let (user, hostport) = match auth.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), auth),
    };
    let port = hostport.rsplit_once(':').map_or("5432", |(_, p)| p);
    format!("{scheme}://{user}{host}:{port}/{path}?{query}")
}

/// [`admin_on`] the shared server's base database.
pub fn admin<T: Send + 'static>(
    f: impl FnOnce(tokio_postgres::Client) -> AdminFuture<T> + Send + 'static,
) -> T {
    admin_on(&base_url(), f)
}

/// Runs SQL statements on `url` over a connection of its own; the error
/// carries the server's message.
pub fn sql_at(url: &str, sql: &str) -> Result<(), String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the SQL connection");
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| {
                    format!(
                        "the PostgreSQL tests need a server: cannot connect to {} ({e}); set \
                         CASELEDGER_TEST_PG",
                        redacted(&url)
                    )
                })?;
            tokio::spawn(conn);
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("{e}: {}", e.as_db_error().map_or("", |d| d.message())))
        })
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs SQL statements on the database `db` of the shared server.
pub fn sql_on(db: &str, sql: &str) -> Result<(), String> {
    sql_at(&url_with_db(&base_url(), db), sql)
}

/// A login role created for one test in the database `db` (with `grants`,
/// SQL run after `CREATE ROLE name LOGIN`, `{role}` standing for its name),
/// dropped with what it owns when the guard goes, also when the test
/// panics: roles are the server's, not the database's, so dropping the
/// database would leave it behind.
#[derive(Debug)]
pub struct TestRole {
    /// The role's name.
    pub name: String,
    db: String,
}

impl TestRole {
    /// Creates role `name` in database `db` and runs `grants` for it.
    pub fn new(db: &str, name: &str, grants: &str) -> Result<TestRole, String> {
        let role = TestRole {
            name: name.to_owned(),
            db: db.to_owned(),
        };
        sql_on(db, &format!("CREATE ROLE {name} LOGIN;"))?;
        sql_on(db, &grants.replace("{role}", name))?;
        Ok(role)
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let sql = format!("DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}", self.name);
        let _ = sql_on(&self.db, &sql);
    }
}

/// A database created for one test (`caseledger_t_<random>`) and dropped
/// `WITH (FORCE)` with the guard, also when the test panics.
#[derive(Debug)]
pub struct TestDb {
    /// The database's name.
    pub name: String,
    /// A URL of the database (the server's URL with this database).
    pub url: String,
    /// The server's URL (its maintenance database), to drop it from.
    server: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A new database on the shared test server.
    pub fn new() -> TestDb {
        TestDb::on(&base_url())
    }

    /// A new database on the server of `server_url`.
    pub fn on(server_url: &str) -> TestDb {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        let name = format!("caseledger_t_{:016x}", h.finish());
        sql_at(server_url, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        TestDb {
            url: url_with_db(server_url, &name),
            name,
            server: server_url.to_owned(),
        }
    }

    /// Runs SQL statements on this database.
    pub fn sql(&self, sql: &str) -> Result<(), String> {
        sql_at(&self.url, sql)
    }

    /// Runs `f` with a client of this database's server (its maintenance
    /// database), as [`admin_on`].
    pub fn admin<T: Send + 'static>(
        &self,
        f: impl FnOnce(tokio_postgres::Client) -> AdminFuture<T> + Send + 'static,
    ) -> T {
        admin_on(&self.server, f)
    }
}

impl Default for TestDb {
    fn default() -> TestDb {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let drop_sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = sql_at(&self.server, &drop_sql) {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// How [`PrivateServer::restart`] stops the server (`pg_ctl -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Terminates every session, then a clean shutdown with a checkpoint.
    Fast,
    /// Kills the server's processes: the next start recovers from the WAL,
    /// as after a crash.
    Immediate,
}

impl StopMode {
    fn arg(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

/// A PostgreSQL server of the test's own: `initdb` into a temporary
/// directory, started on a free port of 127.0.0.1 (its unix socket in that
/// directory), as the `postgres` user when the test runs as root
/// (PostgreSQL refuses root). Stopped (`-m immediate`) and removed when
/// dropped, also when the test panics. For tests that restart a server or
/// fill its disk; everything else uses the shared server ([`TestDb`]).
///
/// The binaries come from `pg_config --bindir`, else
/// `/usr/lib/postgresql/15/bin`; when neither has `initdb` and `pg_ctl`,
/// [`PrivateServer::start`] panics saying so: a fault test never skips.
#[derive(Debug)]
pub struct PrivateServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivateServer {
    /// Creates and starts a server. Takes about a second.
    pub fn start() -> PrivateServer {
        let bin = server_bindir();
        let as_postgres = crate::tmpfs::is_root();
        let dir = tempfile::Builder::new()
            .prefix("caseledger-pg-")
            .tempdir()
            .expect("a temporary directory for the private server");
        let mut server = PrivateServer {
            dir,
            bin,
            port: 0,
            as_postgres,
        };
        server.give_to_server(server.dir.path());
        let data = server.data_dir();
        let initdb = server.bin.join("initdb");
        let out = server.run(
            Command::new(&initdb)
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "-A", "trust", "-E", "UTF8"])
                .args(["--locale=C", "--no-sync", "--no-instructions"]),
        );
        assert!(
            out.status.success(),
            "{} failed: {}",
            initdb.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // A port free now may be taken before the server binds it: try a
        // few.
        let mut last = String::new();
        for _ in 0..5 {
            server.port = free_port();
            let out = server.pg_ctl(&["start"]);
            if out.status.success() {
                return server;
            }
            last = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(server.log_file()).unwrap_or_default()
            );
        }
        panic!("the private PostgreSQL server does not start: {last}");
    }

    /// The URL of the database `db` on this server (user `postgres`).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The URL of its maintenance database, for [`TestDb::on`].
    pub fn server_url(&self) -> String {
        self.url("postgres")
    }

    /// Stops the server (`pg_ctl restart -m MODE`) and starts it again on
    /// the same port; returns once it accepts connections.
    pub fn restart(&self, mode: StopMode) {
        let out = self.pg_ctl(&["restart", "-m", mode.arg()]);
        assert!(
            out.status.success(),
            "pg_ctl restart -m {} failed: {}{}",
            mode.arg(),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log_file()).unwrap_or_default()
        );
    }

    /// Makes `path` (a directory made by the test) the server's own, as a
    /// tablespace's directory must be.
    pub fn give_to_server(&self, path: &Path) {
        if !self.as_postgres {
            return;
        }
        let out = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(path)
            .output()
            .expect("run chown");
        assert!(
            out.status.success(),
            "chown postgres {}: {} (the private server runs as the user postgres)",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server's log so far (to show when a test fails).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        // fsync off: the tests crash the server's processes (an immediate
        // stop), never the machine, so the page cache keeps every write the
        // WAL holds; syncing would only slow the shared CI machine.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off \
             -c shared_buffers=16MB -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        self.run(
            Command::new(self.bin.join("pg_ctl"))
                .args(args)
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_file())
                .args(["-w", "-t", "30", "-o", &options]),
        )
    }

    /// Runs `cmd` as the server's user.
    fn run(&self, cmd: &mut Command) -> Output {
        let mut full = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(cmd.get_program());
            c.args(cmd.get_args());
            c
        } else {
            let mut c = Command::new(cmd.get_program());
            c.args(cmd.get_args());
            c
        };
        full.current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let out = self.run(
            Command::new(self.bin.join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(self.data_dir()),
        );
        if !out.status.success() {
            eprintln!(
                "could not stop the private PostgreSQL server in {}: {}",
                self.dir.path().display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, else
/// PostgreSQL 15's Debian directory; panics with the reason when neither.
fn server_bindir() -> PathBuf {
    let mut tried = Vec::new();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    for dir in from_pg_config
        .into_iter()
        .chain([PathBuf::from("/usr/lib/postgresql/15/bin")])
    {
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return dir;
        }
        tried.push(dir.display().to_string());
    }
    panic!(
        "the PostgreSQL fault tests need initdb and pg_ctl (PostgreSQL 15's server package) to \
         run a private server; not found in {} (pg_config --bindir, then the default)",
        tried.join(", ")
    );
}

/// A TCP port of 127.0.0.1 free at the time of the call.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("the bound address").port()
}

/// Waits until `url` accepts connections, at most `limit`.
pub fn wait_until_up(url: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while sql_at(url, "SELECT 1").is_err() {
        assert!(
            Instant::now() < deadline,
            "{} does not accept connections",
            redacted(url)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
