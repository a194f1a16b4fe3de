//! The SIGKILL tests' shared parts (`crash.rs`: batches from one thread;
//! `crash_threads.rs`: appends from several): the event ids that say which
//! append they belong to, the children's acknowledgement lines, one kill
//! cycle, and the check of the log after it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use caseledger::*;
use caseledger_store::Store;
use caseledger_synth::SplitMix64;

/// Acknowledged appends: uid -> (first position, size).
pub type Acked = BTreeMap<u64, (u64, u64)>;

/// An event id that says which append (or batch) it belongs to, where, and
/// how big the append is: `uid << 32 | size << 16 | index`.
pub fn id(uid: u64, size: u64, index: u64) -> u128 {
    (u128::from(uid) << 32) | (u128::from(size) << 16) | u128::from(index)
}

/// Records a child's `ack UID FIRST SIZE` line; false for any other line.
pub fn record_ack(line: &str, acked: &mut Acked) -> bool {
    let Some(rest) = line.trim().strip_prefix("ack ") else {
        return false;
    };
    let v: Vec<u64> = rest.split(' ').map(|s| s.parse().unwrap()).collect();
    acked.insert(v[0], (v[1], v[2]));
    true
}

/// One kill cycle: starts the child test `child` with `arg`, reads its
/// acknowledgements until a random number below `max_acks` came (or it
/// ended), waits up to 1.5 ms more, kills it, and records the lines it
/// printed before the kill (acknowledgements too).
pub fn kill_child_after_acks(
    child: &str,
    arg: &str,
    max_acks: u64,
    rng: &mut SplitMix64,
    acked: &mut Acked,
) {
    let mut child = super::spawn_child(child, arg);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let wait_for = rng.below(max_acks);
    let mut line = String::new();
    let mut seen = 0;
    while seen < wait_for {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen += u64::from(record_ack(&line, acked));
    }
    std::thread::sleep(Duration::from_micros(rng.below(1500)));
    child.kill().unwrap();
    child.wait().unwrap();
    for line in out.lines() {
        record_ack(&line.unwrap(), acked);
    }
}

/// From position `from` (1, or just after a commit) on: every acknowledged
/// append is at its positions; every append in the log is whole and its
/// events consecutive (an append is never split, nor interleaved with
/// another); positions are gapless.
pub fn check_log(store: &Store, acked: &Acked, from: u64) {
    let events: Vec<RecordedEvent> = store.read_all(from).unwrap().map(Result::unwrap).collect();
    let at = |p: u64| events.get(usize::try_from(p.checked_sub(from)?).ok()?);
    for (i, e) in (from..).zip(&events) {
        assert_eq!(e.position, i);
    }
    assert_eq!(from + events.len() as u64 - 1, store.head().position);
    for (uid, &(first, size)) in acked.iter().filter(|(_, a)| a.0 >= from) {
        for i in 0..size {
            let stored = at(first + i).map(|e| e.event.event_id);
            assert_eq!(
                stored,
                Some(EventId::from_u128(id(*uid, size, i))),
                "acknowledged append {uid} at position {}",
                first + i
            );
        }
    }
    let mut p = from;
    while let Some(e) = at(p) {
        let raw = e.event.event_id.as_uuid().as_u128();
        let (size, index) = ((raw >> 16) & 0xffff, raw & 0xffff);
        assert_eq!(index, 0, "an append starts at position {p}");
        for j in 0..size {
            let raw_j =
                at(p + u64::try_from(j).unwrap()).map(|e| e.event.event_id.as_uuid().as_u128());
            assert_eq!(raw_j, Some(raw + j), "the append at position {p} is whole");
        }
        p += u64::try_from(size).unwrap();
    }
}
