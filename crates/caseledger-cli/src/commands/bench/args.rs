//! The flags of `bench`.

use std::path::PathBuf;

/// The flags of `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Where to build the benchmark stores (reused across runs): a new or
    /// empty directory, which bench marks as its own (.caseledger-bench),
    /// or one it marked before; any other is refused. Use a directory on
    /// the disk you want to measure, not a tmpfs.
    #[arg(long, value_name = "DIR", default_value = "caseledger-bench")]
    pub(super) dir: PathBuf,
    /// Size of the replay store, in events (about; whole cases): 1,000,000
    /// by default; 20,000 with a postgres:// store (about a minute).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    pub(super) events: Option<u64>,
    /// Runs per figure; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub(super) runs: u32,
    /// Run only these parts (comma-separated: report, cases, duckdb, verify,
    /// open, import, append); all by default.
    #[arg(long, value_delimiter = ',', value_parser = ["report", "cases", "duckdb", "verify", "open", "import", "append"])]
    pub(super) only: Vec<String>,
    /// The Python that runs the DuckDB baselines. It needs the `duckdb`
    /// module, which bench does not install: python3 -m venv /tmp/venv &&
    /// /tmp/venv/bin/pip install duckdb, then --python /tmp/venv/bin/python.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub(super) python: PathBuf,
    /// A DuckDB baseline script (its protocol is in docs/performance.md);
    /// repeat the flag for several. Each must first give the report's
    /// overall figures; the fastest is the baseline. A missing file is
    /// skipped with a message.
    #[arg(long = "duckdb-script", value_name = "FILE",
          default_values = ["scripts/baselines/duckdb_kpis.py", "../shared/baselines/duckdb_kpis.py"])]
    pub(super) duckdb_scripts: Vec<PathBuf>,
    /// Durable appends per thread (or process) in the append benchmarks:
    /// 1,000 by default, on a store directory and on PostgreSQL.
    #[arg(long, value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    pub(super) appends: Option<u64>,
    /// With a postgres:// store: measure in this existing, empty database
    /// instead of databases the bench creates and drops (for a role that
    /// cannot create databases); one holding events is refused. It is left
    /// holding the bench's events, and the import is measured once.
    #[arg(long, value_name = "NAME")]
    pub(super) pg_database: Option<String>,
    /// Internal: run as one appending child process of the PostgreSQL
    /// bench (`--store` names its database): FIRST,COUNT appends.
    #[arg(long, hide = true, value_name = "FIRST,COUNT", value_delimiter = ',')]
    pub(super) pg_child_appends: Vec<u64>,
}

/// Events in the replay store when `--events` is not given, on a store
/// directory and on PostgreSQL.
const DEFAULT_EVENTS: [u64; 2] = [1_000_000, 20_000];
/// Appends per thread or process when `--appends` is not given, on both.
/// PostgreSQL's default was 100: its runs lasted 30 to 75 ms, short enough
/// for the first appends' costs (a connection opened, statements prepared,
/// the 8 threads' start) and a near-empty table to tilt the ratios (8
/// threads / 1 measured 3.1x to 3.4x at 100 appends, 4.0x to 4.2x at
/// 1,000 in the same session, on the same build).
const DEFAULT_APPENDS: u64 = 1_000;

impl BenchArgs {
    /// The replay store's size in events.
    pub(super) fn events(&self) -> u64 {
        self.events.unwrap_or(DEFAULT_EVENTS[0])
    }

    /// Appends per thread or process.
    pub(super) fn appends(&self) -> u64 {
        self.appends.unwrap_or(DEFAULT_APPENDS)
    }

    /// These flags with the defaults of a PostgreSQL bench for the ones
    /// not given.
    pub(super) fn for_postgres(&self) -> BenchArgs {
        let mut args = self.clone();
        args.events.get_or_insert(DEFAULT_EVENTS[1]);
        args
    }
}
