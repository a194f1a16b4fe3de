//! The flags of `bench`.

use std::path::PathBuf;

/// The flags of `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Where to build the benchmark stores (reused across runs). Use a
    /// directory on the disk you want to measure, not a tmpfs.
    #[arg(long, value_name = "DIR", default_value = "caseledger-bench")]
    pub(super) dir: PathBuf,
    /// Size of the replay store, in events (about; whole cases).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    pub(super) events: u64,
    /// Runs per figure; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub(super) runs: u32,
    /// Run only these parts (comma-separated: report, duckdb, verify, open,
    /// import, append); all by default.
    #[arg(long, value_delimiter = ',', value_parser = ["report", "duckdb", "verify", "open", "import", "append"])]
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
    /// Durable appends per thread in the append benchmarks.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    pub(super) appends: u64,
}
