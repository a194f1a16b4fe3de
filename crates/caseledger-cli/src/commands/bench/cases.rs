//! The case board (`caseledger cases`, issue 22) timed as a cold process,
//! in the same rounds as `report`, so that their ratio compares like with
//! like on a loaded machine.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::measure::{Peaks, Row, children_cpu, cold, median, ratio};
use super::stores::Shape;

/// The commands timed in each round, in order: `report` first, the
/// reference the board's figures are compared with.
const COMMANDS: [(&str, &[&str]); 3] = [
    (
        "report --threads 2",
        &["report", "--format", "json", "--threads", "2"],
    ),
    (
        "cases --overdue --limit 20",
        &["cases", "--overdue", "--limit", "20"],
    ),
    (
        "cases --format json (every row)",
        &["cases", "--format", "json"],
    ),
];

/// One command's medians over the rounds.
struct Timed {
    wall: Duration,
    cpu: Duration,
    peak_kib: u64,
}

/// Rows for the case board on `shape`: `runs` rounds, each timing `report`
/// and the two `cases` commands as cold processes in turn (wall time, CPU
/// time of the child, peak RSS); one row per `cases` command, its note
/// holding `report`'s medians from the same rounds and the ratios.
pub(super) fn cases_rows(exe: &Path, shape: &Shape, runs: u32) -> Result<Vec<Row>> {
    let mut walls = vec![Vec::new(); COMMANDS.len()];
    let mut cpus = vec![Vec::new(); COMMANDS.len()];
    let mut peaks = vec![Vec::new(); COMMANDS.len()];
    for _ in 0..runs {
        for (i, (_, args)) in COMMANDS.iter().enumerate() {
            let before = children_cpu();
            let (wall, peak) = cold(exe, &shape.dir, args)?;
            cpus[i].push(children_cpu().saturating_sub(before));
            walls[i].push(wall);
            peaks[i].push(peak);
        }
    }
    let timed: Vec<Timed> = walls
        .into_iter()
        .zip(cpus)
        .zip(peaks)
        .map(|((w, c), peaks_kib)| Timed {
            wall: median(w),
            cpu: median(c),
            // The median, as for `report`'s rows.
            peak_kib: Peaks::of(peaks_kib).median,
        })
        .collect();
    let Some((report, board)) = timed.split_first() else {
        return Ok(Vec::new());
    };
    Ok(COMMANDS[1..]
        .iter()
        .zip(board)
        .map(|((what, _), t)| Row {
            what: format!("{what}, {} customers, cold", shape.customers.as_str()),
            median: t.wall,
            units: shape.events,
            unit: "events",
            bytes: Some(shape.bytes),
            note: format!(
                "CPU {:.3} s, peak RSS {} MiB; report (2 threads) in the same rounds {:.3} s \
                 (CPU {:.3} s): cases / report {:.2}x wall, {:.2}x CPU",
                t.cpu.as_secs_f64(),
                t.peak_kib / 1024,
                report.wall.as_secs_f64(),
                report.cpu.as_secs_f64(),
                ratio(t.wall, report.wall),
                ratio(t.cpu, report.cpu)
            ),
        })
        .collect())
}
