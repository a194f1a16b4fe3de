//! Cost by data shape (docs/performance.md, "Cost by data shape"): the
//! library's fold and decide on one case of very many events, touched by
//! very many agents, teams and reviewers. The figures are printed by an
//! ignored test, run by hand:
//!
//! ```sh
//! cargo test --release -p caseledger --test shapes -- --ignored --nocapture
//! ```
//!
//! It times nothing against a limit; what it asserts is the fold's result.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use std::time::Instant;

use caseledger::*;

const CASE: &str = "00000000-0000-0000-0000-000000000001";

/// Event `n` of the case, `n` seconds after 2026-03-02 09:00 UTC.
fn event(n: usize, actor: &str, kind: &str, data: &str) -> Event {
    let at = chrono::DateTime::from_timestamp(1_772_442_000 + n as i64, 0).unwrap();
    serde_json::from_str(&format!(
        r#"{{"case_id":"{CASE}","type":"{kind}","at":"{}","actor":"{actor}","event_id":"00000000-0000-0000-0001-{n:012}","data":{data}}}"#,
        format_timestamp(&at)
    ))
    .unwrap()
}

/// The case of `scripts/shapes.py bigcase`: about `n` events, one cycle of
/// 13 for each of n/13 agents, teams and reviewers.
fn big_case(n: usize) -> Vec<Event> {
    let complaint = r#"{"category":"complaint","topic":"card","priority":"high"}"#;
    let mut events = vec![
        event(
            0,
            "agent-0",
            "opened",
            r#"{"customer_id":"C-1","channel":"phone"}"#,
        ),
        event(1, "agent-0", "classified", complaint),
    ];
    let mut push = |actor: &str, kind: &str, data: &str| {
        let e = event(events.len(), actor, kind, data);
        events.push(e);
    };
    for i in 1..=(n / 13).max(1) {
        let a = format!("agent-{i}");
        push(
            &a,
            "assigned",
            &format!(r#"{{"agent":"{a}","team":"team-{i}"}}"#),
        );
        push(&a, "responded", "{}");
        push(&a, "awaiting_customer", "{}");
        push("customer", "customer_replied", "{}");
        push(&a, "classified", complaint);
        if i <= 3 {
            push(&a, "escalated", &format!(r#"{{"level":{i}}}"#));
        }
        push(&a, "resolved", r#"{"root_cause":"process_gap"}"#);
        push("customer", "surveyed", r#"{"score":4}"#);
        push(
            &a,
            "follow_up_scheduled",
            r#"{"due":"2030-01-01T00:00:00Z","purpose":"problem_check","channel":"phone"}"#,
        );
        push(&a, "follow_up_completed", r#"{"outcome":"not_resolved"}"#);
        let r = format!("reviewer-{i}");
        push(
            &r,
            "qa_reviewed",
            &format!(r#"{{"reviewer":"{r}","score":80}}"#),
        );
        push(&a, "reopened", "{}");
    }
    events
}

/// The median of three runs of `f`, in milliseconds.
fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

#[test]
#[ignore = "prints figures; run by hand with --release (docs/performance.md)"]
fn one_case_of_very_many_events_folds_and_decides_in_linear_time() {
    println!("events   fold ms   ratio   fold+decide ms   ratio");
    let mut previous: Option<(f64, f64)> = None;
    for n in [25_000, 50_000, 100_000, 200_000, 400_000] {
        let events = big_case(n);
        let cycles = n / 13;
        let state = fold(&events).unwrap();
        let case = state.case().unwrap();
        assert_eq!(case.agents_assigned.len(), cycles);
        assert_eq!(case.teams.len(), cycles);
        assert_eq!(case.reviewers.len(), cycles);
        // agent-0 and every cycle's agent (reviewers are not listed).
        assert_eq!(case.agents_acted.len(), cycles + 1);
        let fold_ms = median_ms(|| {
            fold(&events).unwrap();
        });
        // What a service does for one command: fold the stream, decide.
        let review = Command {
            case_id: CaseId::from_u128(1),
            event_id: EventId::from_u128(u128::MAX),
            at: events.last().unwrap().at,
            actor: Actor::parse("reviewer-new").unwrap(),
            action: Action::Respond,
        };
        let decide_ms = median_ms(|| {
            let state = fold(&events).unwrap();
            assert_eq!(decide(&state, &review).unwrap().len(), 1);
        });
        let ratio = |now: f64, before: Option<f64>| {
            before.map_or(String::new(), |b| format!("{:.2}", now / b))
        };
        println!(
            "{:>7} {fold_ms:>9.1} {:>7} {decide_ms:>16.1} {:>7}",
            events.len(),
            ratio(fold_ms, previous.map(|p| p.0)),
            ratio(decide_ms, previous.map(|p| p.1)),
        );
        previous = Some((fold_ms, decide_ms));
    }
}
