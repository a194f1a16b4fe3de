//! `verify`: the store's walk over every byte, and the case rules folded
//! over every case, by partitions of cases on the replay's threads; the
//! head, or the problem with what to do next.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use caseledger::permission::{Finding, PermissionAudit, Permissions};
use caseledger::{CaseId, CaseState, RecordedEvent};
use caseledger_store::ErrorKind;

use super::output::{count, verdict_after, write_stdout};
use crate::args::VerifyFormat;

/// Runs `verify`; with `roles`, also lists the permission findings
/// (docs/permissions.md), an error with `strict` when there is any.
pub fn run(
    dir: &Path,
    format: VerifyFormat,
    roles: Option<&Permissions>,
    strict: bool,
) -> Result<()> {
    let bar = crate::progress::bar(None, "verifying");
    // The store's checks and the case rules on the same threads: the log's
    // blocks are read and checked by whichever thread is free, and each
    // thread folds the cases of its partition through the rules
    // (`verify_partitions`; the store's sequential walk when the log does
    // not end at its checkpoint or a check fails, so its verdict and words).
    let (result, folds) = caseledger_store::verify_partitions(
        dir,
        super::report::default_threads(),
        |_| RuleFold::new(roles),
        |fold, e| {
            if e.position % 8192 == 0 {
                bar.set_position(e.position);
            }
            fold.observe(e);
        },
    );
    // The last event folded (each partition's are in position order; on
    // an error, every event before the first bad record was folded, and
    // maybe more: `VerifyProblem::of_store` bounds it by the damage).
    let folded_to = folds.iter().map(|f| f.last_position).max().unwrap_or(0);
    // The first broken rule in log order: each partition stopped at its
    // first, whole cases per partition.
    let mut broken = None;
    let mut audits = Vec::new();
    for f in folds {
        // The process ends soon: freeing every case's state would only add
        // time.
        std::mem::forget(f.states);
        if let Some(b) = f.broken
            && broken
                .as_ref()
                .is_none_or(|o: &RuleBreak| b.position < o.position)
        {
            broken = Some(b);
        }
        audits.extend(f.audit);
    }
    let findings = match broken {
        Some(_) => None,
        None => audits.into_iter().reduce(|mut a, b| {
            a.merge(b);
            a
        }),
    }
    .map(|a| a.findings());
    bar.finish_and_clear();
    let outcome = match (result, broken) {
        (Err(e), _) => Err(VerifyProblem::of_store(&e, folded_to)),
        (Ok(_), Some(b)) => Err(VerifyProblem::of_rule(b)),
        (Ok(report), None) => Ok(report),
    };
    // The verdict does not depend on the output: a reader that closed
    // stdout early never turns a problem or a --strict finding into status
    // 0 (`verdict_after`).
    let written = match format {
        VerifyFormat::Json => write_stdout(&verify_json(&outcome, findings.as_deref())?),
        VerifyFormat::Text => Ok(()),
    };
    let report = match outcome {
        Ok(report) => report,
        Err(p) => {
            let problem = crate::exit::Lines(format!(
                "verify failed: {}\n  {}\n  next: {}",
                p.message, p.what, p.next
            ));
            return verdict_after(written, Err(problem.into()));
        }
    };
    if format == VerifyFormat::Json {
        return verdict_after(written, super::roles::strict(findings.as_deref(), strict));
    }
    let mut text = format!(
        "ok: {} in {}, {}, {} bytes; checksums, hash chain and case rules hold\nhead: position \
         {} hash {}\n",
        count(report.events, "event"),
        count(report.streams, "case"),
        count(report.segments, "segment"),
        report.bytes,
        report.head.position,
        report.head.hash_hex()
    );
    // Where readers stop (the checkpoint), to say so when the log holds
    // complete commits past it. Read after the walk: a writer that came
    // and went since only moves it forward, never makes the note false.
    let checkpoint_head = caseledger_store::LogReader::open(dir)
        .map(|r| r.head())
        .ok();
    if report.writer_active {
        text.push_str("note: a writer is running; checked up to its acknowledged end\n");
    } else if let Some(at) = checkpoint_head.filter(|h| h.position < report.head.position) {
        // A crash after a commit was synced, before its checkpoint: the
        // commits are whole and kept, but reads stop at the checkpoint until
        // a writer's open takes them in.
        text.push_str(&format!(
            "note: the checkpoint records position {}: reads (report, export, ...) stop there \
             until the store is opened for writing (`caseledger recover`, or any write), which \
             takes in the complete commits after it\n",
            at.position
        ));
    }
    if let Some(f) = &findings {
        text.push_str(&super::roles::text(f));
    }
    verdict_after(
        write_stdout(&text),
        super::roles::strict(findings.as_deref(), strict),
    )
}

/// Why `verify` failed: what, where, and what to do next.
#[derive(Debug)]
struct VerifyProblem {
    /// `corruption`, `torn_tail`, `case_rule` or `error`.
    kind: &'static str,
    /// The message, with file, offset and position.
    message: String,
    /// What kind of problem it is, for people.
    what: &'static str,
    /// What to do next.
    next: String,
    file: Option<PathBuf>,
    offset: Option<u64>,
    position: Option<u64>,
    detail: String,
    /// The last position checked good before the problem.
    last_good: u64,
}

impl VerifyProblem {
    fn of_store(e: &caseledger_store::Error, folded_to: u64) -> VerifyProblem {
        let (kind, what, damage) = match e.kind() {
            ErrorKind::TornTail(d) => (
                "torn_tail",
                "this is a torn tail: an incomplete write at the very end, as a crash leaves",
                Some(d),
            ),
            ErrorKind::Corrupt(d) => (
                "corruption",
                "this is corruption: acknowledged data is damaged; nothing was changed",
                Some(d),
            ),
            _ => ("error", "the store could not be checked", None),
        };
        let checkpoint = damage.is_some_and(|d| d.kind == caseledger_store::DamageKind::Checkpoint);
        // The folds may have gone past the damage: the chain is checked
        // beside the scan that feeds them, so a record whose content was
        // changed (its checksum fixed) is folded before its broken link is
        // found. The damage's position bounds what checks good: the
        // records before it (for a commit record, the position is the
        // event before it, so one fewer is claimed than could be).
        let last_good = match damage.and_then(|d| d.position) {
            Some(p) => folded_to.min(p.saturating_sub(1)),
            None => folded_to,
        };
        let next = match kind {
            // An interrupted creation: nothing to cut, the segment to make.
            "torn_tail"
                if damage.is_some_and(|d| d.kind == caseledger_store::DamageKind::Missing) =>
            {
                "`caseledger recover` completes the store's creation".to_owned()
            }
            "torn_tail" => "`caseledger recover` cuts it and keeps the bytes under cut/".to_owned(),
            // The checkpoint is not the log: opening the store for writing
            // finds the log's end by scanning and writes it again.
            "corruption" if checkpoint => {
                "`caseledger recover` opens the store for writing, which \
                 scans the log past the valid checkpoint slot, keeps every whole commit it finds \
                 and writes the checkpoint again; then run verify again (with neither slot \
                 valid, restore the store directory from a backup copy; see \"Backup and \
                 restore\" in docs/store-format.md)"
                    .to_owned()
            }
            "corruption" => format!(
                "{}Restore the store directory from a backup copy, check the copy with \
                 `caseledger verify` and compare its head with one you recorded; see \"Backup \
                 and restore\" in docs/store-format.md",
                match last_good {
                    // Found before any record was read (a segment missing
                    // or out of place): nothing is known good or bad yet.
                    0 => "no record was checked before the problem was found. ".to_owned(),
                    n => format!(
                        "the records of positions 1 to {n} check good (the last good position \
                         is {n}). "
                    ),
                }
            ),
            _ => "check the path and the permissions, then run verify again".to_owned(),
        };
        VerifyProblem {
            kind,
            message: e.to_string(),
            what,
            next,
            file: damage.map(|d| d.file.clone()),
            offset: damage.map(|d| d.offset),
            position: damage.and_then(|d| d.position),
            detail: damage.map_or_else(|| e.to_string(), |d| d.detail.clone()),
            last_good,
        }
    }

    fn of_rule(b: RuleBreak) -> VerifyProblem {
        VerifyProblem {
            kind: "case_rule",
            message: b.message.clone(),
            what: "the bytes and the chain are sound, but a case's recorded history breaks a \
                   case rule",
            next: "the history was recorded by a program that did not check the rules; \
                   `caseledger history CASE_ID` shows the case"
                .to_owned(),
            file: None,
            offset: None,
            position: Some(b.position),
            detail: b.message,
            last_good: b.position.saturating_sub(1),
        }
    }
}

/// The `--format json` output of verify (docs/cli.md), keys in the
/// documented order.
fn verify_json(
    outcome: &Result<caseledger_store::VerifyReport, VerifyProblem>,
    findings: Option<&[Finding]>,
) -> Result<String> {
    #[derive(serde::Serialize)]
    struct ProblemJson<'a> {
        kind: &'a str,
        file: Option<String>,
        offset: Option<u64>,
        position: Option<u64>,
        last_good_position: u64,
        detail: &'a str,
        next: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Out<'a> {
        ok: bool,
        events: Option<u64>,
        cases: Option<u64>,
        segments: Option<u32>,
        bytes: Option<u64>,
        head: Option<super::output::HeadJson>,
        writer_active: Option<bool>,
        problem: Option<ProblemJson<'a>>,
        /// Only with `--roles`.
        #[serde(skip_serializing_if = "Option::is_none")]
        permission_findings: Option<&'a [Finding]>,
    }
    let mut out = match outcome {
        Ok(r) => Out {
            ok: true,
            events: Some(r.events),
            cases: Some(r.streams),
            segments: Some(r.segments),
            bytes: Some(r.bytes),
            head: Some(super::output::HeadJson::new(
                r.head.position,
                r.head.hash_hex(),
            )),
            writer_active: Some(r.writer_active),
            problem: None,
            permission_findings: None,
        },
        Err(p) => Out {
            ok: false,
            events: None,
            cases: None,
            segments: None,
            bytes: None,
            head: None,
            writer_active: None,
            problem: Some(ProblemJson {
                kind: p.kind,
                file: p.file.as_ref().map(|f| f.display().to_string()),
                offset: p.offset,
                position: p.position,
                last_good_position: p.last_good,
                detail: &p.detail,
                next: &p.next,
            }),
            permission_findings: None,
        },
    };
    // The findings of a sound log only.
    if outcome.is_ok() {
        out.permission_findings = findings;
    }
    Ok(serde_json::to_string_pretty(&out)? + "\n")
}

/// A case whose recorded history breaks a rule.
#[derive(Debug)]
struct RuleBreak {
    position: u64,
    message: String,
}

/// One partition's fold of its cases through the rules: each case's state,
/// the first broken rule, and with `roles` the permission audit.
struct RuleFold {
    states: HashMap<CaseId, CaseState, foldhash::fast::RandomState>,
    audit: Option<PermissionAudit>,
    broken: Option<RuleBreak>,
    /// The position of the last event folded.
    last_position: u64,
}

impl RuleFold {
    fn new(roles: Option<&Permissions>) -> RuleFold {
        RuleFold {
            states: HashMap::default(),
            audit: super::roles::audit(roles),
            broken: None,
            last_position: 0,
        }
    }

    /// Folds one event into its case; after a broken rule, the partition's
    /// later events are only counted.
    fn observe(&mut self, e: RecordedEvent) {
        self.last_position = e.position;
        if self.broken.is_some() {
            return;
        }
        if let Some(a) = &mut self.audit {
            a.observe(e.position, &e.event);
        }
        let state = self.states.entry(e.event.case_id).or_default();
        if let Err(err) = state.apply_in_place(&e.event) {
            self.broken = Some(RuleBreak {
                position: e.position,
                message: format!(
                    "case {} at position {} breaks a case rule: {err}",
                    e.event.case_id, e.position
                ),
            });
        }
    }
}
