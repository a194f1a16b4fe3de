//! A store written before issue 19 (closed-loop follow-ups, routing, root
//! causes, quality reviews, proactive contacts) still verifies, exports the
//! same bytes, and reports every figure it had with the same value, except
//! two that changed on purpose: `fcr_rate` (docs/kpis.md: a case whose
//! follow-up ended `not_resolved` is no first contact resolution) and
//! `follow_up.on_time_rate` (its denominator counts the follow-ups pending
//! past their due time: docs/kpis.md, "Follow-up").
//!
//! The fixture `tests/fixtures/store-v1` was made by main at 82780be:
//! `caseledger --store store-v1 generate --cases 50 --seed 4` (369 events,
//! two `not_resolved` follow-up outcomes). Its report JSON (overall and by
//! category) and the SHA-256 of its export were pinned with the same
//! binary, next to it; the test reads them in today's names (issue 23
//! renamed four keys, not their values).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use common::run;

const HEAD: &str =
    "head: position 369 hash 2e38fece998d322fbe390e9dab132c948fc4f35337f4e3e8db3d472c4f1006b0";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A copy of the fixture store (so that no test writes into the repository).
fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join("store-v1")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn pinned(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

/// Every leaf of `old` is in `new` with the same value, except the keys
/// in `changed` (compared in `changed_seen` instead); `new` may have more
/// keys. Returns the differences as paths.
fn compare(
    path: &str,
    old: &Value,
    new: &Value,
    changed: &[&str],
    changed_seen: &mut Vec<(String, Value, Value)>,
    diffs: &mut Vec<String>,
) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let p = format!("{path}.{k}");
                match n.get(k) {
                    None => diffs.push(format!("{p}: missing")),
                    Some(nv) if changed.contains(&k.as_str()) => {
                        changed_seen.push((p, v.clone(), nv.clone()))
                    }
                    Some(nv) => compare(&p, v, nv, changed, changed_seen, diffs),
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            if o.len() != n.len() {
                diffs.push(format!("{path}: {} items, now {}", o.len(), n.len()));
            }
            for (i, (v, nv)) in o.iter().zip(n).enumerate() {
                compare(&format!("{path}[{i}]"), v, nv, changed, changed_seen, diffs);
            }
        }
        (o, n) if o != n => diffs.push(format!("{path}: {o} became {n}")),
        _ => {}
    }
}

#[test]
fn the_old_store_verifies_to_the_same_head() {
    let dir = store();
    let (code, out, err) = run(dir.path(), &["verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("case rules hold"), "{out}");
    assert!(out.contains(HEAD), "{out}");
}

#[test]
fn the_old_store_exports_the_same_bytes() {
    let dir = store();
    let (code, out, err) = run(dir.path(), &["export"]);
    assert_eq!(code, 0, "{err}");
    let digest = hex(&Sha256::digest(out.as_bytes()));
    let want = std::fs::read_to_string(fixtures().join("store-v1.export.sha256")).unwrap();
    assert_eq!(digest, want.trim());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The pinned report (schema version 2) in today's names: issue 23's
/// renames (docs/kpis.md, "Display labels"; CHANGELOG.md) applied to every
/// KPIS object, and the schema version raised for them (3), and for
/// `follow_up.on_time_rate`'s new denominator (4; its values are compared
/// as a changed figure). Only names change: the values stay the pinned
/// ones, so [`compare`] still checks every old figure's value.
fn in_todays_names(mut report: Value) -> Value {
    fn rename(m: &mut serde_json::Map<String, Value>, from: &str, to: &str) {
        if let Some(v) = m.remove(from) {
            assert!(m.insert(to.to_owned(), v).is_none(), "{to} was there");
        }
    }
    fn kpis(k: &mut Value) {
        if let Some(csat) = k.get_mut("csat").and_then(Value::as_object_mut) {
            rename(csat, "mean", "mean_score");
            rename(csat, "satisfied_rate", "satisfied_share");
        }
        if let Some(sla) = k.get_mut("sla").and_then(Value::as_object_mut) {
            rename(sla, "rate", "met_rate");
        }
    }
    assert_eq!(report["schema_version"], 2);
    report["schema_version"] = 4.into();
    kpis(&mut report["overall"]);
    if let Some(groups) = report["groups"].as_array_mut() {
        groups.iter_mut().for_each(kpis);
    }
    report
}

/// The changed figures of the report (`args`) against its pinned form,
/// each as (path, old, new), and the new report.
fn check_report(pinned_name: &str, args: &[&str]) -> (Vec<(String, Value, Value)>, Value) {
    let dir = store();
    let mut all = vec!["report", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(dir.path(), &all);
    assert_eq!(code, 0, "{err}");
    let new: Value = serde_json::from_str(&out).unwrap();
    let (mut changed, mut diffs) = (Vec::new(), Vec::new());
    compare(
        "",
        &in_todays_names(pinned(pinned_name)),
        &new,
        &["fcr_rate", "on_time_rate"],
        &mut changed,
        &mut diffs,
    );
    assert!(diffs.is_empty(), "figures changed: {diffs:#?}");
    (changed, new)
}

/// Checks a changed figure: `fcr_rate` only moves down (the two
/// `not_resolved` outcomes take their cases out of first contact
/// resolution when they were in it); `follow_up.on_time_rate` is exactly
/// the old on-time completions over (completed + overdue) of the new
/// report (the same completions; the overdue pending follow-ups join the
/// denominator), null when both are 0.
fn check_changed(new_report: &Value, (path, old, new): &(String, Value, Value)) {
    if path.ends_with(".fcr_rate") {
        assert!(
            new.as_f64().unwrap() <= old.as_f64().unwrap(),
            "{path}: {old} -> {new}"
        );
        return;
    }
    let kpis = path.strip_suffix(".follow_up.on_time_rate").unwrap();
    let kpis = match kpis.strip_prefix(".groups[") {
        Some(i) => &new_report["groups"][i.trim_end_matches(']').parse::<usize>().unwrap()],
        None => &new_report["overall"],
    };
    let f = &kpis["follow_up"];
    let (completed, overdue) = (
        f["completed"].as_u64().unwrap(),
        f["overdue"].as_u64().unwrap(),
    );
    let on_time = old.as_f64().map_or(0.0, |r| (r * completed as f64).round());
    let want = (completed + overdue > 0).then(|| on_time / (completed + overdue) as f64);
    assert_eq!(new.as_f64(), want, "{path}: {old} -> {new}");
}

#[test]
fn every_old_figure_but_fcr_and_on_time_keeps_its_value() {
    let (changed, new) = check_report("store-v1.report.json", &[]);
    let paths: Vec<&str> = changed.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        paths,
        [".overall.fcr_rate", ".overall.follow_up.on_time_rate"]
    );
    for c in &changed {
        check_changed(&new, c);
    }
    // The store has follow-ups pending past due: the rate did move.
    assert!(changed[1].1 != changed[1].2, "{changed:?}");
}

#[test]
fn every_old_figure_by_category_but_fcr_and_on_time_keeps_its_value() {
    let (changed, new) = check_report(
        "store-v1.report-by-category.json",
        &["--group-by", "category"],
    );
    for c in &changed {
        check_changed(&new, c);
    }
}
#[test]
fn the_old_store_has_no_findings_it_could_not_have() {
    let dir = store();
    let (code, out, err) = run(dir.path(), &["report", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let o = &r["overall"];
    // No event of the new kinds exists in an old store.
    assert_eq!(o["quality"]["reviewed"], 0);
    assert_eq!(o["outreach"]["cases"], 0);
    // The generator recorded `not_resolved` outcomes without a reopen.
    assert_eq!(o["follow_up"]["not_resolved"], 2);
    assert_eq!(o["findings"]["not_resolved_without_reopen"], 2);
    // Counts of outcomes add up to the completions.
    let f = &o["follow_up"];
    let sum = f["confirmed"].as_u64().unwrap()
        + f["not_resolved"].as_u64().unwrap()
        + f["unreachable"].as_u64().unwrap();
    assert_eq!(Some(sum), f["completed"].as_u64());
}
