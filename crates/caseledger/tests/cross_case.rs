//! The cross-case figures (repeat problems and follow-up cap violations)
//! against a brute-force computation of docs/kpis.md's definitions: every
//! case compared with every other case of its customer, straight from the
//! events. Small random shapes (proptest) catch the edge cases (ties of
//! opened times, follow-ups due at the same instant, exactly 30 days, equal
//! recording times ordered by log position, as-of and cohort bounds); one
//! big deterministic long-tailed history (one customer with thousands of
//! cases, in bursts) catches what only shows at scale.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use std::collections::{BTreeMap, HashMap};

use caseledger::kpi::{GroupBy, KpiAccumulator, Report, ReportParams};
use caseledger::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
}

/// Where the brute force takes its windows from: the definitions' words,
/// not the code's constants.
fn thirty_days() -> Duration {
    Duration::days(30)
}

const TOPICS: [Topic; 3] = [Topic::Card, Topic::Loan, Topic::Account];
const CHANNELS: [Channel; 3] = [Channel::Phone, Channel::Email, Channel::Chat];

/// One case as generated: times are offsets from [`base`].
#[derive(Debug, Clone)]
struct CaseSpec {
    customer: usize,
    opened: Duration,
    channel: usize,
    /// Classifications: (offset after opening, topic index).
    classified: Vec<(Duration, usize)>,
    /// Follow-ups: (offset after opening, due as an offset from base).
    follow_ups: Vec<(Duration, Duration)>,
}

/// The log of `cases`, sorted by `at` (stable: a case's own events keep
/// their order, opened first), positions 1, 2, ...
fn log_of(cases: &[CaseSpec]) -> Vec<Event> {
    let mut events = Vec::new();
    for (n, c) in cases.iter().enumerate() {
        let case_id = CaseId::from_u128(n as u128 + 1);
        let opened = base() + c.opened;
        let event = |at: DateTime<Utc>, data: EventData| Event {
            event_id: EventId::from_u128(0),
            case_id,
            at,
            actor: Actor::parse("agent-1").unwrap(),
            data,
        };
        events.push(event(
            opened,
            EventData::Opened(Opened {
                customer_id: CustomerId::new(format!("C-{}", c.customer)).unwrap(),
                channel: CHANNELS[c.channel % CHANNELS.len()],
                tier: Tier::Standard,
                summary: None,
                origin: caseledger::Origin::Customer,
            }),
        ));
        let mut later: Vec<Event> = Vec::new();
        for (after, topic) in &c.classified {
            later.push(event(
                opened + *after,
                EventData::Classified(Classified {
                    category: Category::Inquiry,
                    topic: TOPICS[topic % TOPICS.len()],
                    priority: Priority::Normal,
                }),
            ));
        }
        for (after, due) in &c.follow_ups {
            later.push(event(
                opened + *after,
                EventData::FollowUpScheduled(FollowUpScheduled {
                    due: base() + *due,
                    purpose: FollowUpPurpose::Feedback,
                    channel: Channel::Phone,
                }),
            ));
        }
        later.sort_by_key(|e| e.at);
        events.extend(later);
    }
    events.sort_by_key(|e| e.at);
    for (i, e) in events.iter_mut().enumerate() {
        e.event_id = EventId::from_u128(i as u128 + 1);
    }
    events
}

/// What the brute force counts for one group (or overall).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    opened: u64,
    repeats: u64,
    cap_violations: u64,
}

/// docs/kpis.md's `repeat_rate` and `follow_up.cap_violations`, computed
/// the slow and obvious way from the events at positions 1, 2, ...:
/// overall and per group key (`group_by` Topic or Channel only).
fn brute_force(
    events: &[Event],
    as_of: Option<DateTime<Utc>>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    group_by: Option<GroupBy>,
) -> (Counts, BTreeMap<String, Counts>) {
    struct Case {
        customer: CustomerId,
        opened: DateTime<Utc>,
        channel: Channel,
        topic: Option<Topic>,
    }
    // As of T: only events at or before T.
    let t = as_of.or_else(|| events.iter().map(|e| e.at).max());
    let visible: Vec<(u64, &Event)> = (1u64..)
        .zip(events)
        .filter(|(_, e)| t.is_some_and(|t| e.at <= t))
        .collect();
    let mut cases: HashMap<CaseId, Case> = HashMap::new();
    // (customer, case, at, position, due) of every visible follow-up.
    let mut follow_ups = Vec::new();
    for (position, e) in &visible {
        match &e.data {
            EventData::Opened(o) => {
                cases.entry(e.case_id).or_insert(Case {
                    customer: o.customer_id.clone(),
                    opened: e.at,
                    channel: o.channel,
                    topic: None,
                });
            }
            // The latest classification: the last one in the log.
            EventData::Classified(c) => {
                if let Some(case) = cases.get_mut(&e.case_id) {
                    case.topic = Some(c.topic);
                }
            }
            EventData::FollowUpScheduled(f) => {
                if let Some(case) = cases.get(&e.case_id) {
                    follow_ups.push((case.customer.clone(), e.case_id, e.at, *position, f.due));
                }
            }
            _ => {}
        }
    }
    let in_cohort =
        |c: &Case| from.is_none_or(|f| c.opened >= f) && to.is_none_or(|t| c.opened < t);
    let key = |c: &Case| match group_by {
        Some(GroupBy::Topic) => c.topic.map_or("unclassified", Topic::as_str).to_owned(),
        Some(GroupBy::Channel) => c.channel.as_str().to_owned(),
        _ => String::new(),
    };
    let mut overall = Counts::default();
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    for (id, case) in cases.iter().filter(|(_, c)| in_cohort(c)) {
        // A repeat: another case of the same customer, same topic (both
        // classified), opened strictly earlier and at most 30 days earlier,
        // in the cohort or not.
        let repeat = case.topic.is_some()
            && cases.values().any(|other| {
                other.customer == case.customer
                    && other.topic == case.topic
                    && other.opened < case.opened
                    && case.opened - other.opened <= thirty_days()
            });
        // Cap violations: this case's follow-ups for which the customer
        // has another one, in any case, recorded earlier (earlier `at`, or
        // the same `at` and an earlier position), due less than 30 days
        // apart.
        let violations = follow_ups
            .iter()
            .filter(|(_, case_id, ..)| case_id == id)
            .filter(|(customer, _, at, position, due)| {
                follow_ups.iter().any(|(c2, _, at2, position2, due2)| {
                    c2 == customer
                        && (at2, position2) < (at, position)
                        && (*due - *due2).abs() < thirty_days()
                })
            })
            .count() as u64;
        let add = |c: &mut Counts| {
            c.opened += 1;
            c.repeats += u64::from(repeat);
            c.cap_violations += violations;
        };
        add(&mut overall);
        if group_by.is_some() {
            add(groups.entry(key(case)).or_default());
        }
    }
    (overall, groups)
}

/// The rate the report must show for `repeats` out of `opened`: the same
/// division, so the floats compare exactly.
fn repeat_rate(c: Counts) -> Option<f64> {
    (c.opened > 0).then(|| c.repeats as f64 / c.opened as f64)
}

/// The report's figures as [`Counts`], with its repeat rate.
fn counts_of(k: &kpi::Kpis) -> (u64, Option<f64>, u64) {
    (k.cases_opened, k.repeat_rate, k.follow_up.cap_violations)
}

fn expected(c: Counts) -> (u64, Option<f64>, u64) {
    (c.opened, repeat_rate(c), c.cap_violations)
}

/// Checks the report of `events` with these bounds against the brute force.
fn check(
    events: &[Event],
    as_of: Option<DateTime<Utc>>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    group_by: Option<GroupBy>,
) -> Result<(), TestCaseError> {
    let (overall, groups) = brute_force(events, as_of, from, to, group_by);
    let params = ReportParams {
        from,
        to,
        group_by,
        ..ReportParams::default()
    };
    let mut acc = KpiAccumulator::new(as_of);
    acc.replay((1u64..).zip(events));
    let report: Report = acc.report(&params);
    prop_assert_eq!(counts_of(&report.overall), expected(overall), "overall");
    let got: BTreeMap<String, (u64, Option<f64>, u64)> = report
        .groups
        .iter()
        .map(|g| (g.key.clone(), counts_of(&g.kpis)))
        .collect();
    let want: BTreeMap<String, (u64, Option<f64>, u64)> =
        groups.into_iter().map(|(k, c)| (k, expected(c))).collect();
    prop_assert_eq!(got, want, "groups by {:?}", group_by);
    // The same report, every figure, on any number of threads.
    for threads in [0, 2, 3, 5] {
        prop_assert_eq!(
            &acc.report_on_threads(&params, threads),
            &report,
            "{} threads",
            threads
        );
    }
    // The same report from the accumulators of partitions of the cases
    // (as the replay's threads make them), merged in either order: what a
    // merge renumbers (customers, agents, teams, cases, waits) is kept.
    for parts in 2..=4_u128 {
        let mut split: Vec<KpiAccumulator> =
            (0..parts).map(|_| KpiAccumulator::new(as_of)).collect();
        for (position, e) in (1u64..).zip(events) {
            let part = (e.case_id.0.as_u128() * 7 % parts) as usize;
            split[part].observe(position, e);
        }
        if parts % 2 == 0 {
            split.reverse();
        }
        let mut merged = split.remove(0);
        for p in split {
            merged.merge(p).unwrap();
        }
        prop_assert_eq!(merged.cases(), acc.cases(), "{} partitions", parts);
        prop_assert_eq!(&merged.report(&params), &report, "{} partitions", parts);
    }
    Ok(())
}

/// A time on a coarse grid of 5-day slots (so that exactly 30 days apart,
/// six slots, happens often), nudged by a few milliseconds.
fn slot(n: i64, nudge_ms: i64) -> Duration {
    Duration::days(5 * n) + Duration::milliseconds(nudge_ms)
}

/// A due time on the same grid, nudged by a nanosecond either way or a
/// millisecond: "less than 30 days" is exact, below the millisecond too.
fn due_slot(n: i64, nudge: u8) -> Duration {
    slot(n, 0)
        + match nudge {
            0 => Duration::zero(),
            1 => Duration::nanoseconds(1),
            2 => Duration::nanoseconds(-1),
            _ => Duration::milliseconds(1),
        }
}

fn arb_case(customers: usize) -> impl Strategy<Value = CaseSpec> {
    (
        0..customers,
        (0i64..16, 0i64..3),
        0usize..3,
        prop::collection::vec((0i64..3, 0usize..3), 0..3),
        prop::collection::vec(((0i64..4), (0i64..16, 0u8..4)), 0..3),
    )
        .prop_map(|(customer, (s, nudge), channel, classified, follow_ups)| {
            CaseSpec {
                customer,
                opened: slot(s, nudge),
                channel,
                // Classified on the day of opening or a few 5-day slots
                // later: the latest topic as of T changes with T.
                classified: classified
                    .into_iter()
                    .map(|(after, topic)| (slot(after, 0), topic))
                    .collect(),
                // Recorded a whole number of slots after opening: equal
                // recording times across cases are common.
                follow_ups: follow_ups
                    .into_iter()
                    .map(|(after, (due, nudge))| (slot(after, 0), due_slot(due, nudge)))
                    .collect(),
            }
        })
}

fn arb_log() -> impl Strategy<Value = Vec<CaseSpec>> {
    (1usize..5).prop_flat_map(|customers| prop::collection::vec(arb_case(customers), 0..40))
}

fn arb_bound() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    prop::option::of((0i64..22, 0i64..2).prop_map(|(s, nudge)| base() + slot(s, nudge)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn repeats_and_cap_violations_equal_the_brute_force(
        cases in arb_log(),
        as_of in arb_bound(),
        from in arb_bound(),
        to in arb_bound(),
        group in prop::option::of(prop::bool::ANY),
    ) {
        let events = log_of(&cases);
        let group_by = group.map(|topic| if topic { GroupBy::Topic } else { GroupBy::Channel });
        check(&events, as_of, from, to, group_by)?;
    }
}

/// splitmix64: a tiny deterministic generator for the big shape.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A long-tailed history: one busy customer with 3,000 cases opened in
/// bursts (ten at the same instant, bursts some hours apart, some exactly
/// 30 days apart), many follow-ups due at the same few instants and
/// recorded at the same instants, reclassifications; a second busy
/// customer on exact 30-day boundaries; then 400 customers with one to
/// five cases each.
fn long_tailed() -> Vec<CaseSpec> {
    let mut rng = Rng(16);
    let mut cases = Vec::new();
    let hours = |h: u64| Duration::hours(h as i64);
    for burst in 0..300u64 {
        // One burst in ten lands exactly 30 days after another one.
        let at = if burst % 10 == 5 {
            hours((burst - 5) * 7) + Duration::days(30)
        } else {
            hours(burst * 7)
        };
        for _ in 0..10 {
            let mut classified = Vec::new();
            if rng.below(5) > 0 {
                classified.push((Duration::zero(), rng.below(3) as usize));
            }
            if rng.below(7) == 0 {
                classified.push((hours(rng.below(400)), rng.below(3) as usize));
            }
            let mut follow_ups = Vec::new();
            if rng.below(2) == 0 {
                // Due at one of a few instants; recorded on the hour.
                let due = Duration::days(10 * rng.below(12) as i64);
                follow_ups.push((hours(rng.below(3)), due));
            }
            cases.push(CaseSpec {
                customer: 0,
                opened: at,
                channel: rng.below(3) as usize,
                classified,
                follow_ups,
            });
        }
    }
    // A second busy customer on a 10-day beat, five cases at each instant:
    // the same topic comes back exactly every 30 days (a repeat only
    // because "at most 30 days" includes 30), and the follow-ups are due
    // exactly 30 days apart (no violation, since "less than 30 days"
    // excludes 30).
    for k in 0..200i64 {
        for n in 0..5i64 {
            cases.push(CaseSpec {
                customer: 401,
                opened: Duration::days(10 * k),
                channel: n as usize,
                classified: vec![(Duration::zero(), (k % 3) as usize)],
                follow_ups: if n == 0 {
                    vec![(Duration::hours(1), Duration::days(30 * k))]
                } else {
                    Vec::new()
                },
            });
        }
    }
    for customer in 1..=400usize {
        for _ in 0..=rng.below(5) {
            let follow_ups = if rng.below(3) == 0 {
                vec![(hours(rng.below(48)), Duration::days(rng.below(120) as i64))]
            } else {
                Vec::new()
            };
            cases.push(CaseSpec {
                customer,
                opened: hours(rng.below(24 * 90)),
                channel: rng.below(3) as usize,
                classified: vec![(Duration::zero(), rng.below(3) as usize)],
                follow_ups,
            });
        }
    }
    cases
}

#[test]
fn a_long_tailed_history_equals_the_brute_force() {
    let events = log_of(&long_tailed());
    let (overall, _) = brute_force(&events, None, None, None, None);
    // The shape is what it claims: repeats and violations by the thousand.
    assert!(overall.opened > 3_000, "{overall:?}");
    assert!(overall.repeats > 1_000, "{overall:?}");
    assert!(overall.cap_violations > 1_000, "{overall:?}");
    let day = |d: i64| Some(base() + Duration::days(d));
    check(&events, None, None, None, Some(GroupBy::Topic)).unwrap();
    check(&events, None, day(20), day(60), Some(GroupBy::Channel)).unwrap();
    check(&events, day(45), day(31), None, None).unwrap();
}
