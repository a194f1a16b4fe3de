//! The figures that compare a case with the other cases of its customer:
//! repeat problems and follow-up cap violations. They are computed at
//! report time over all cases, so they are exact however the log was
//! partitioned.
//!
//! Each customer's cases are gathered once (a counting sort by customer
//! number), then each customer's lists are sorted once (classified cases by
//! topic and opened time, follow-ups by due time) and swept: the cost is
//! O(n log n) in the number of cases whatever the shape of the data, so a
//! customer with thousands of cases costs no more per case than one with
//! two. Customers are independent, so they are split across threads.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::DAY_MS;
use super::facts::CaseFacts;
use super::parallel::in_parallel;
use crate::policy::follow_ups_too_close;

/// 30 days in milliseconds: how far back a repeat problem is looked for.
pub const REPEAT_WINDOW_MS: i64 = 30 * DAY_MS;

/// What the cross-case figures say about one case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CrossCase {
    /// The case repeats a problem: another case of the same customer with
    /// the same latest topic was opened strictly earlier and at most
    /// [`REPEAT_WINDOW_MS`] before it. An unclassified case repeats nothing.
    pub(super) repeat: bool,
    /// How many of the case's scheduled follow-ups are too close
    /// ([`follow_ups_too_close`]) to one of the same customer recorded
    /// earlier (earlier `at`, or the same `at` and an earlier position):
    /// the per-customer cap of [`crate::policy`], checked after the fact.
    pub(super) cap_violations: u32,
}

/// The cross-case facts of every case, indexed like `facts`, computed on up
/// to `threads` threads, each with whole customers (the result does not
/// depend on how many).
pub(super) fn cross_case(facts: &[CaseFacts], threads: usize) -> Vec<CrossCase> {
    let order = by_customer(facts);
    let parts = split_at_customers(facts, &order, threads.max(1));
    let jobs: Vec<_> = parts
        .iter()
        .map(|cases| move || customers(facts, cases))
        .collect();
    let mut by_case = vec![CrossCase::default(); facts.len()];
    for (cases, out) in parts.iter().zip(in_parallel(jobs)) {
        for (&i, cross) in cases.iter().zip(out) {
            if let Some(slot) = by_case.get_mut(i as usize) {
                *slot = cross;
            }
        }
    }
    by_case
}

/// The cross-case facts of `cases` (indices into `facts`, whole customers,
/// each one run), slot for slot.
fn customers(facts: &[CaseFacts], cases: &[u32]) -> Vec<CrossCase> {
    let mut out = vec![CrossCase::default(); cases.len()];
    let mut scratch = Scratch::default();
    let mut start = 0;
    for run in cases.chunk_by(|a, b| customer_of(facts, *a) == customer_of(facts, *b)) {
        let end = start + run.len();
        if let Some(out) = out.get_mut(start..end) {
            customer(facts, run, out, &mut scratch);
        }
        start = end;
    }
    out
}

fn customer_of(facts: &[CaseFacts], i: u32) -> Option<u32> {
    facts.get(i as usize).map(|f| f.customer)
}

/// The indices of `facts`, each customer's cases one run (a counting sort
/// by customer number, which the accumulator keeps dense), in index order
/// within a run.
fn by_customer(facts: &[CaseFacts]) -> Vec<u32> {
    let customers = facts
        .iter()
        .map(|f| f.customer as usize + 1)
        .max()
        .unwrap_or(0);
    // Customer numbers are dense (interned 0, 1, ...), so this is one
    // entry per customer. starts[c]: where customer c's run begins, once
    // the counts are summed.
    let mut starts = vec![0usize; customers + 1];
    for f in facts {
        if let Some(n) = starts.get_mut(f.customer as usize + 1) {
            *n += 1;
        }
    }
    for c in 1..starts.len() {
        starts[c] += starts[c - 1];
    }
    let mut order = vec![0u32; facts.len()];
    for (i, f) in facts.iter().enumerate() {
        if let Some(next) = starts.get_mut(f.customer as usize)
            && let Some(slot) = order.get_mut(*next)
        {
            // Fewer than 2^32 cases: the accumulator numbers them in a u32.
            *slot = u32::try_from(i).unwrap_or(u32::MAX);
            *next += 1;
        }
    }
    order
}

/// `order` cut into at most `parts` pieces of about the same number of
/// cases, each cut between two customers.
fn split_at_customers<'a>(facts: &[CaseFacts], order: &'a [u32], parts: usize) -> Vec<&'a [u32]> {
    let mut pieces = Vec::with_capacity(parts);
    let mut rest = order;
    for left in (1..=parts).rev() {
        if rest.is_empty() {
            break;
        }
        let mut cut = rest.len().div_ceil(left);
        // Move the cut past the end of the customer it falls in.
        let customer = |k: usize| rest.get(k).and_then(|&i| customer_of(facts, i));
        while cut < rest.len() && cut > 0 && customer(cut) == customer(cut - 1) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Buffers reused from one customer to the next.
#[derive(Default)]
struct Scratch {
    /// (topic code, opened, slot) of the customer's classified cases.
    topics: Vec<(u8, i64, usize)>,
    /// (due, (at, position), slot) of the customer's follow-ups.
    follow_ups: Vec<(DateTime<Utc>, (i64, u64), usize)>,
    /// Indices into `follow_ups` of the sliding window, by increasing
    /// (at, position): its front is the earliest recorded in the window.
    window: VecDeque<usize>,
}

/// The cross-case facts of one customer's `cases` (indices into `facts`),
/// into `out`, slot for slot.
fn customer(facts: &[CaseFacts], cases: &[u32], out: &mut [CrossCase], s: &mut Scratch) {
    let each = || {
        cases
            .iter()
            .enumerate()
            .filter_map(|(slot, &i)| Some((slot, facts.get(i as usize)?)))
    };

    // Repeats: by topic, then opened time. A case repeats when the latest
    // opened time strictly before its own, among its topic's cases, is at
    // most the window before it.
    s.topics.clear();
    s.topics.extend(each().filter_map(|(slot, f)| {
        let topic = f.classification?.topic;
        Some((topic.code(), f.opened_ms, slot))
    }));
    s.topics.sort_unstable();
    for run in s.topics.chunk_by(|a, b| a.0 == b.0) {
        // The opened time of the current block of equal times, and the one
        // before it.
        let (mut earlier, mut current): (Option<i64>, Option<i64>) = (None, None);
        for &(_, opened, slot) in run {
            if current != Some(opened) {
                earlier = current;
                current = Some(opened);
            }
            if earlier.is_some_and(|e| opened.saturating_sub(e) <= REPEAT_WINDOW_MS)
                && let Some(o) = out.get_mut(slot)
            {
                o.repeat = true;
            }
        }
    }

    // Cap violations: by due time. The follow-ups too close to one form a
    // window of that order whose two ends only move forward; the window's
    // earliest recorded follow-up is the front of a monotone queue. A
    // follow-up is a violation when that earliest one was recorded before
    // it (it is in its own window, and not before itself).
    s.follow_ups.clear();
    s.follow_ups.extend(each().flat_map(|(slot, f)| {
        f.follow_ups()
            .iter()
            .map(move |fu| (fu.due, (fu.at_ms, fu.position), slot))
    }));
    s.follow_ups.sort_unstable_by_key(|fu| fu.0);
    s.window.clear();
    let fus = &s.follow_ups;
    let (mut lo, mut hi) = (0, 0);
    for &(due, recorded, slot) in fus {
        while let Some(next) = fus.get(hi)
            && follow_ups_too_close(next.0, due)
        {
            while s
                .window
                .back()
                .is_some_and(|&b| fus.get(b).is_none_or(|b| b.1 >= next.1))
            {
                s.window.pop_back();
            }
            s.window.push_back(hi);
            hi += 1;
        }
        while fus.get(lo).is_some_and(|f| !follow_ups_too_close(f.0, due)) {
            lo += 1;
        }
        while s.window.front().is_some_and(|&f| f < lo) {
            s.window.pop_front();
        }
        let earliest = s.window.front().and_then(|&f| fus.get(f)).map(|f| f.1);
        if earliest.is_some_and(|e| e < recorded)
            && let Some(o) = out.get_mut(slot)
        {
            o.cap_violations += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Channel, Origin, Tier};

    fn case(customer: u32) -> CaseFacts {
        CaseFacts::opened(
            customer,
            Channel::Phone,
            Tier::Standard,
            Origin::Customer,
            0,
        )
    }

    #[test]
    fn cases_are_grouped_by_customer_and_split_between_customers() {
        // Customer 1 holds most cases: a long tail.
        let customers = [1, 0, 1, 2, 1, 1, 3, 1, 2, 1];
        let facts: Vec<CaseFacts> = customers.iter().map(|&c| case(c)).collect();
        let order = by_customer(&facts);
        assert_eq!(order, [1, 0, 2, 4, 5, 7, 9, 3, 8, 6]);
        for parts in 1..=12 {
            let pieces = split_at_customers(&facts, &order, parts);
            assert!(pieces.len() <= parts, "{parts}: {pieces:?}");
            assert_eq!(pieces.concat(), order, "{parts}: every case once, in order");
            for pair in pieces.windows(2) {
                let last = pair[0].last().map(|&i| facts[i as usize].customer);
                let first = pair[1].first().map(|&i| facts[i as usize].customer);
                assert_ne!(last, first, "{parts}: a customer split in two: {pieces:?}");
            }
        }
        assert_eq!(split_at_customers(&facts, &order, 2).len(), 2);
    }
}
