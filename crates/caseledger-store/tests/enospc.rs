//! ENOSPC for real: a small tmpfs mounted by the test (root only; skipped
//! with a printed reason otherwise), filled so that the fault tests' main
//! scenario runs out of space at every page it allocates in turn: in the
//! checkpoint, a new segment's header, the event records and the commit
//! record. Each run checks what the callers were told and what the next
//! open finds, as `tests/faults.rs` does.
//!
//! In its own test binary: it reopens stores in this process, and a child
//! spawned by a concurrent test would hold a copy of the writer's lock file
//! between its fork and its exec, so the reopen would find the store locked.
#![allow(clippy::unwrap_used)]

mod common;
// Shared with tests/faults.rs, which uses all of it.
#[allow(dead_code)]
#[path = "faults/scenario.rs"]
mod scenario;

use std::collections::BTreeMap;
use std::path::Path;

use caseledger_testkit::tmpfs::{Tmpfs, fill_leaving};
use scenario::{COMMIT_FRAME_BYTES, PAGE_BYTES, Report};

/// The size of the tmpfs: room for the scenario and a filler file.
const TMPFS_BYTES: u64 = 2 << 20;

/// Where a run out of space fails: the file and what the page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PageSite {
    file: String,
    what: &'static str,
}

/// The order in which the scenario allocates tmpfs pages, from the file
/// sizes after each of its report lines (a step writes its files in order:
/// the full segment, then the next one; each from its old end onwards).
fn page_order(snapshots: &[BTreeMap<String, u64>], commit_ends: &[(String, u64)]) -> Vec<PageSite> {
    let pages = |len: u64| len.div_ceil(PAGE_BYTES);
    let mut order = Vec::new();
    let empty = BTreeMap::new();
    let mut before = &empty;
    for after in snapshots {
        // The checkpoint sorts before "seg-...".
        for (file, &len) in after {
            let old = before.get(file).copied().unwrap_or(0);
            for page in pages(old)..pages(len) {
                let start = page * PAGE_BYTES;
                let what = if file == "checkpoint" {
                    "checkpoint"
                } else if page == 0 {
                    "segment header"
                } else if commit_ends
                    .iter()
                    .any(|(f, end)| f == file && (end - COMMIT_FRAME_BYTES..*end).contains(&start))
                {
                    "commit record"
                } else {
                    "event records"
                };
                order.push(PageSite {
                    file: file.clone(),
                    what,
                });
            }
        }
        before = after;
    }
    order
}

fn file_sizes(dir: &Path) -> BTreeMap<String, u64> {
    let mut sizes = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                sizes.insert(name, entry.metadata().unwrap().len());
            }
        }
    }
    sizes
}

/// Runs the main scenario (`rounds` times over) on `dir`, returning its
/// report lines and the file sizes after each line; `on_error` runs after
/// each error.
fn run_main(
    dir: &Path,
    rounds: u128,
    on_error: &mut dyn FnMut(),
) -> (Vec<String>, Vec<BTreeMap<String, u64>>) {
    let mut lines = Vec::new();
    let mut sizes = Vec::new();
    let mut sink = |line: String| {
        lines.push(line);
        sizes.push(file_sizes(dir));
    };
    scenario::run(dir, &scenario::scaled_steps(rounds), &mut sink, on_error);
    (lines, sizes)
}

#[test]
fn enospc_at_every_page_the_scenario_allocates() {
    enospc_at_every_page(1);
}

#[test]
#[ignore = "the main scenario four times over; scripts/faults-long.sh"]
fn enospc_at_every_page_long() {
    enospc_at_every_page(4);
}

fn enospc_at_every_page(rounds: u128) {
    let Some(tmpfs) = Tmpfs::mount(TMPFS_BYTES * rounds as u64) else {
        return;
    };
    let store_dir = tmpfs.path().join("store");
    let filler = tmpfs.path().join("filler");
    // A dry run with room to spare: which page each allocation is.
    let (lines, snapshots) = run_main(&store_dir, rounds, &mut || {});
    let dry = Report::parse(&lines);
    assert!(dry.errors.is_empty(), "{}", dry.dump());
    let mut commit_ends = Vec::new();
    for (line, sizes) in lines.iter().zip(&snapshots) {
        if line.starts_with("ack ") {
            // The step's commit record ends its last segment.
            let (seg, &len) = sizes.iter().rfind(|(f, _)| f.starts_with("seg-")).unwrap();
            commit_ends.push((seg.clone(), len));
        }
    }
    let order = page_order(&snapshots, &commit_ends);
    std::fs::remove_dir_all(&store_dir).unwrap();
    let mut landed: BTreeMap<&'static str, u64> = BTreeMap::new();
    for free_pages in 0..=order.len() {
        let context = format!("ENOSPC with {free_pages} free pages");
        fill_leaving(&filler, free_pages as u64 * PAGE_BYTES, PAGE_BYTES);
        let mut on_error = || std::fs::File::create(&filler).map(drop).unwrap();
        let (lines, _) = run_main(&store_dir, rounds, &mut on_error);
        let report = Report::parse(&lines);
        report.check_answers(&context);
        match order.get(free_pages) {
            None => assert!(report.errors.is_empty(), "{context}: {}", report.dump()),
            Some(site) => {
                let (_, _, message) = report
                    .errors
                    .first()
                    .unwrap_or_else(|| panic!("{context}: no error\n{}", report.dump()));
                let path = store_dir.join(&site.file);
                assert!(
                    message.contains(&format!("cannot write {}", path.display()))
                        && message.contains("No space left on device"),
                    "{context}: the error must name the {} write to {} and the cause: \
                     {message}\n{}",
                    site.what,
                    site.file,
                    report.dump()
                );
                // A full disk, as a caller tells it: source() is the io::Error.
                assert_eq!(
                    report.sources.first().map(String::as_str),
                    Some("StorageFull 28"),
                    "{context}: source() must be ENOSPC\n{}",
                    report.dump()
                );
                *landed.entry(site.what).or_default() += 1;
            }
        }
        std::fs::File::create(&filler).unwrap();
        scenario::check_store(&store_dir, &report, &context);
        std::fs::remove_dir_all(&store_dir).unwrap();
    }
    for what in [
        "checkpoint",
        "segment header",
        "event records",
        "commit record",
    ] {
        assert!(
            landed.contains_key(what),
            "no run failed in the {what}: {landed:?}"
        );
    }
    eprintln!(
        "ENOSPC: {} runs on tmpfs, failures in {landed:?}",
        order.len() + 1
    );
}
