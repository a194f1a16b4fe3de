//! What every measurement of `bench` uses: a printed row, medians over
//! runs, rates and ratios, and timing this program as a cold child.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::exit::PEAK_MEMORY_ENV;

/// One printed figure.
pub(super) struct Row {
    pub(super) what: String,
    pub(super) median: Duration,
    pub(super) units: u64,
    pub(super) unit: &'static str,
    pub(super) bytes: Option<u64>,
    pub(super) note: String,
}

pub(super) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// The peak RSS of a child over several runs, in KiB: the median is the
/// figure (issue 16's targets are medians), the largest shows how far a
/// run's thread timing moves it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Peaks {
    pub(super) median: u64,
    pub(super) max: u64,
}

impl Peaks {
    /// From each run's peak; a run whose child gave no peak (0: its line
    /// did not parse) is left out rather than pull the median down.
    pub(super) fn of(mut kib: Vec<u64>) -> Peaks {
        kib.retain(|&k| k > 0);
        kib.sort_unstable();
        Peaks {
            median: kib.get(kib.len() / 2).copied().unwrap_or_default(),
            max: kib.last().copied().unwrap_or_default(),
        }
    }
}

pub(super) fn per_second(units: u64, d: Duration) -> f64 {
    units as f64 / d.as_secs_f64().max(1e-9)
}

pub(super) fn short(unit: &str) -> &str {
    match unit {
        "events" => "ev",
        "appends" => "ap",
        other => other,
    }
}

pub(super) fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

pub(super) fn repeat(runs: u32, mut f: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    let mut v = Vec::with_capacity(runs as usize);
    for _ in 0..runs {
        v.push(f()?);
    }
    Ok(median(v))
}

pub(super) fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

/// The CPU time (user + system) of this process's waited-for children so
/// far, from `/proc/self/stat` (`cutime` + `cstime`); zero where there is
/// no such file. Read before and after a child to get the child's CPU
/// time, which a loaded machine disturbs less than wall time.
pub(super) fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, cutime 16 and cstime 17 (proc(5)).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    // Clock ticks of USER_HZ, which Linux fixes at 100 a second for
    // everything /proc exports, whatever the kernel's internal rate.
    Duration::from_millis((ticks(13) + ticks(14)) * 10)
}

/// Runs this program as a child; returns its wall time and peak RSS (KiB,
/// reported by the child itself, see `main::report_peak_memory`).
pub(super) fn cold(exe: &Path, store: &Path, args: &[&str]) -> Result<(Duration, u64)> {
    let mut command = Command::new(exe);
    command.arg("--store").arg(store);
    cold_command(command, args)
}

/// Runs `command` (this program, its store given) with `args` as a cold
/// child: its wall time and peak RSS (KiB), as [`cold`].
pub(super) fn cold_command(mut command: Command, args: &[&str]) -> Result<(Duration, u64)> {
    let t = Instant::now();
    let out = command
        .args(args)
        .env(PEAK_MEMORY_ENV, "1")
        .stdout(std::process::Stdio::null())
        .output()?;
    let d = t.elapsed();
    if !out.status.success() {
        bail!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok((d, peak))
}
