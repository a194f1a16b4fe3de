//! The case board of issue 22 (docs/kpis.md, "The case board"): every
//! column on hand-made histories with hand-computed deadlines, every filter
//! and the order, as of T, the serde checkpoint, the merge of partitions,
//! and parity with the report's SLA and complaint counts on a synthetic
//! log (the same rules, never a second implementation).
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use caseledger::board::{BoardError, BoardPolicy, BoardQuery, BoardRow, BoardSlaState, CaseBoard};
use caseledger::complaint::{ComplaintState, Regime};
use caseledger::kpi::{KpiAccumulator, ReportParams, SlaPolicy};
use caseledger::projection::Projection;
use caseledger::*;
use caseledger_synth::{Synth, SynthConfig};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::t;

const A: u128 = 0xA;
const B: u128 = 0xB;
const C: u128 = 0xC;
const D: u128 = 0xD;
const E: u128 = 0xE;
const G: u128 = 0x7;

/// T of the hand-made log: one day after 2026-03-02 09:00 UTC.
const T_MIN: i64 = 1440;

fn opened(customer: &str, channel: Channel, tier: Tier) -> EventData {
    EventData::Opened(Opened {
        customer_id: CustomerId::new(customer).unwrap(),
        channel,
        tier,
        summary: None,
        origin: Origin::Customer,
    })
}

fn classified(category: Category, topic: Topic, priority: Priority) -> EventData {
    EventData::Classified(Classified {
        category,
        topic,
        priority,
    })
}

fn assigned(agent: &str, team: Option<&str>) -> EventData {
    EventData::Assigned(Assigned {
        agent: AgentId::new(agent).unwrap(),
        team: team.map(|t| TeamId::new(t).unwrap()),
    })
}

fn resolved() -> EventData {
    EventData::Resolved(Resolved::default())
}

/// A log of `(case, minute, data)`, positions from 1 in this order.
struct Log(Vec<Event>);

impl Log {
    fn new(entries: Vec<(u128, i64, EventData)>) -> Log {
        Log(entries
            .into_iter()
            .enumerate()
            .map(|(i, (case, minute, data))| Event {
                event_id: EventId::from_u128(i as u128 + 1),
                case_id: CaseId::from_u128(case),
                at: t(minute),
                actor: common::agent("agent-1"),
                data,
            })
            .collect())
    }

    fn board(&self, as_of: Option<DateTime<Utc>>) -> CaseBoard {
        let mut board = CaseBoard::new(as_of);
        for (i, e) in self.0.iter().enumerate() {
            board.observe(i as u64 + 1, e);
        }
        board
    }
}

/// The hand-made desk (minutes after 2026-03-02 09:00 UTC; T = 1440):
/// - A: a high complaint, responded, escalated to 2, waiting on the
///   customer since minute 180 (its resolution a minute after T);
/// - B: urgent, never answered: response breached, resolution due at T;
/// - C: resolved within both targets, a follow-up due at minute 2880;
/// - D: low, resolved then reopened;
/// - E and G: high, opened 230 minutes before T, unanswered: at risk, the
///   same deadline (G's id is smaller);
/// - an event of a case never opened (an orphan).
fn desk() -> Log {
    Log::new(vec![
        (A, 0, opened("C-1", Channel::Phone, Tier::Vip)),
        (B, 0, opened("C-2", Channel::Email, Tier::Standard)),
        (
            B,
            0,
            classified(Category::Inquiry, Topic::Account, Priority::Urgent),
        ),
        (C, 5, opened("C-1", Channel::Chat, Tier::New)),
        (
            C,
            5,
            classified(Category::Technical, Topic::Transaction, Priority::Normal),
        ),
        (C, 6, assigned("agent-2", Some("web"))),
        (
            A,
            10,
            classified(Category::Complaint, Topic::Card, Priority::High),
        ),
        (A, 20, assigned("agent-1", Some("cards"))),
        (C, 30, EventData::Responded),
        (A, 60, EventData::Responded),
        (D, 100, opened("C-3", Channel::Phone, Tier::Standard)),
        (
            D,
            100,
            classified(Category::Technical, Topic::Account, Priority::Low),
        ),
        (D, 110, assigned("agent-1", None)),
        (D, 120, EventData::Responded),
        (A, 120, EventData::Escalated(common::escalated(2))),
        (
            A,
            180,
            EventData::AwaitingCustomer(AwaitingCustomer::default()),
        ),
        (D, 200, resolved()),
        (C, 300, resolved()),
        (
            C,
            310,
            EventData::FollowUpScheduled(FollowUpScheduled {
                due: t(2880),
                purpose: FollowUpPurpose::ProblemCheck,
                channel: Channel::Phone,
            }),
        ),
        (D, 400, EventData::Reopened(Reopened { reason: None })),
        (0xF00, 500, EventData::Responded),
        (E, 1210, opened("C-4", Channel::App, Tier::AtRisk)),
        (
            E,
            1210,
            classified(Category::Inquiry, Topic::Account, Priority::High),
        ),
        (G, 1210, opened("C-5", Channel::Sms, Tier::Dormant)),
        (
            G,
            1210,
            classified(Category::Inquiry, Topic::Loan, Priority::High),
        ),
        // After T: never counted by a board as of T.
        (A, 1500, resolved()),
    ])
}

fn ids(rows: &[BoardRow]) -> Vec<u128> {
    rows.iter().map(|r| r.case_id.0.as_u128()).collect()
}

fn at_t() -> CaseBoard {
    desk().board(Some(t(T_MIN)))
}

fn rows(query: &BoardQuery) -> Vec<BoardRow> {
    at_t().rows(query, &BoardPolicy::default())
}

fn ts(s: &str) -> DateTime<Utc> {
    caseledger::parse_timestamp(s).unwrap()
}

#[test]
fn every_column_of_a_waiting_escalated_complaint() {
    let all = rows(&BoardQuery::default());
    let a = all.iter().find(|r| r.case_id.0.as_u128() == A).unwrap();
    assert_eq!(a.status, Status::Open);
    assert_eq!(a.phase, Some(Phase::Escalated));
    assert_eq!(a.customer_id.as_str(), "C-1");
    assert_eq!((a.tier, a.channel), (Tier::Vip, Channel::Phone));
    assert_eq!(
        (a.category, a.topic, a.priority),
        (
            Some(Category::Complaint),
            Some(Topic::Card),
            Some(Priority::High)
        )
    );
    assert_eq!(a.agent.as_ref().map(AgentId::as_str), Some("agent-1"));
    assert_eq!(a.team.as_ref().map(TeamId::as_str), Some("cards"));
    assert_eq!(a.opened, t(0));
    assert_eq!(a.first_response, Some(t(60)));
    assert_eq!(a.latest_resolution, None, "its resolution is after T");
    assert_eq!(a.escalation_level, 2);
    assert!(a.awaiting_customer);
    assert_eq!(a.follow_up_due, None);
    // High: 4 h to respond (met at 1 h), 72 h to resolve, paused by the
    // wait running since minute 180 (1,260 minutes at T): 72 h + 21 h
    // after opening, 2026-03-06 06:00.
    assert_eq!(a.sla_response.deadline, Some(ts("2026-03-02T13:00:00Z")));
    assert_eq!(a.sla_response.state, BoardSlaState::Met);
    assert_eq!(a.sla_resolution.deadline, Some(ts("2026-03-06T06:00:00Z")));
    assert_eq!(a.sla_resolution.state, BoardSlaState::Pending);
    // cn-2020: 15 days from 2 March, the day of receipt not counted: the
    // deadline ends 17 March.
    let complaint = a.complaint.unwrap();
    assert_eq!(complaint.regime, Regime::Cn2020);
    assert_eq!(complaint.deadline, Some(ts("2026-03-18T00:00:00Z")));
    assert_eq!(complaint.state, ComplaintState::Pending);
    assert_eq!(a.last_event, t(180));
    assert_eq!(a.next_deadline, Some(ts("2026-03-06T06:00:00Z")));
}

#[test]
fn the_other_columns_on_new_resolved_and_reopened_cases() {
    let all = rows(&BoardQuery::default());
    let row = |id| all.iter().find(|r| r.case_id.0.as_u128() == id).unwrap();
    let b = row(B);
    assert_eq!(b.phase, Some(Phase::New));
    assert_eq!((b.agent.clone(), b.team.clone()), (None, None));
    // Urgent: 1 h and 24 h; nothing done in 24 h.
    assert_eq!(b.sla_response.deadline, Some(t(60)));
    assert_eq!(b.sla_response.state, BoardSlaState::Breached);
    assert_eq!(b.sla_resolution.deadline, Some(t(T_MIN)));
    assert_eq!(b.sla_resolution.state, BoardSlaState::AtRisk);
    assert_eq!(b.complaint, None);
    assert_eq!(b.next_deadline, Some(t(60)));

    let c = row(C);
    assert_eq!((c.status, c.phase), (Status::Resolved, None));
    assert_eq!(c.latest_resolution, Some(t(300)));
    assert_eq!(c.follow_up_due, Some(t(2880)));
    assert_eq!(c.sla_response.state, BoardSlaState::Met);
    assert_eq!(c.sla_resolution.state, BoardSlaState::Met);
    assert_eq!(c.sla_resolution.deadline, Some(t(5 + 168 * 60)));
    assert_eq!(
        c.next_deadline, None,
        "a resolved case has no open deadline"
    );
    assert_eq!(c.last_event, t(310));

    let d = row(D);
    assert_eq!((d.status, d.phase), (Status::Open, Some(Phase::Reopened)));
    assert_eq!(d.latest_resolution, Some(t(200)));
    assert_eq!(d.team, None);
    assert_eq!(d.escalation_level, 0);
    assert!(!d.awaiting_customer);
    // Low: 336 h to resolve, counted again from opening once reopened.
    assert_eq!(d.sla_resolution.deadline, Some(t(100 + 336 * 60)));
    assert_eq!(d.sla_resolution.state, BoardSlaState::Pending);
    assert_eq!(d.next_deadline, Some(t(100 + 336 * 60)));

    let e = row(E);
    assert_eq!(e.sla_response.state, BoardSlaState::AtRisk);
    assert_eq!(e.sla_response.deadline, Some(t(1450)));
}

#[test]
fn rows_come_by_the_nearest_open_deadline_then_case_id() {
    // B's response (minute 60), then G and E (both minute 1450, G's id is
    // smaller), A (2026-03-06), D (minute 20,260), and C, with none open.
    assert_eq!(ids(&rows(&BoardQuery::default())), [B, G, E, A, D, C]);
    let board = at_t();
    assert_eq!(board.len(), 6);
    assert_eq!(board.orphan_events(), 1);
    assert_eq!(board.events(), 25, "the event after T is not counted");
    assert_eq!(board.last_position(), 26);
    assert_eq!(board.as_of(), Some(t(T_MIN)));
}

#[test]
fn each_filter_keeps_exactly_its_cases() {
    let q = |f: &dyn Fn(&mut BoardQuery)| {
        let mut query = BoardQuery::default();
        f(&mut query);
        ids(&rows(&query))
    };
    assert_eq!(q(&|q| q.status = Some(Status::Resolved)), [C]);
    assert_eq!(q(&|q| q.status = Some(Status::Open)), [B, G, E, A, D]);
    assert_eq!(q(&|q| q.status = Some(Status::Closed)), [0u128; 0]);
    assert_eq!(
        q(&|q| q.agent = Some(AgentId::new("agent-1").unwrap())),
        [A, D]
    );
    assert_eq!(
        q(&|q| q.agent = Some(AgentId::new("nobody").unwrap())),
        [0u128; 0]
    );
    assert_eq!(q(&|q| q.team = Some(TeamId::new("web").unwrap())), [C]);
    assert_eq!(
        q(&|q| q.customer = Some(CustomerId::new("C-1").unwrap())),
        [A, C]
    );
    assert_eq!(q(&|q| q.category = Some(Category::Complaint)), [A]);
    assert_eq!(q(&|q| q.priority = Some(Priority::High)), [G, E, A]);
    // Overdue: B's response is breached and B is unresolved.
    assert_eq!(q(&|q| q.overdue = true), [B]);
    // At risk as the report counts it: B's resolution is at risk, but B
    // has a breached target, so it is not pending.
    assert_eq!(q(&|q| q.at_risk = true), [G, E]);
    // Within an hour of T: B's resolution (due at T), G's and E's response.
    assert_eq!(q(&|q| q.due_within_ms = Some(3_600_000)), [B, G, E]);
    // Within a day: also C's follow-up, due exactly a day after T.
    assert_eq!(q(&|q| q.due_within_ms = Some(86_400_000)), [B, G, E, C]);
    assert_eq!(q(&|q| q.limit = Some(2)), [B, G]);
    assert_eq!(
        q(&|q| {
            q.priority = Some(Priority::High);
            q.at_risk = true;
            q.limit = Some(1);
        }),
        [G]
    );
}

#[test]
fn as_of_counts_only_the_events_at_or_before_t() {
    let log = desk();
    // Before D was reopened, after it was resolved.
    let early = log.board(Some(t(300)));
    let rows = early.rows(&BoardQuery::default(), &BoardPolicy::default());
    let d = rows.iter().find(|r| r.case_id.0.as_u128() == D).unwrap();
    assert_eq!(d.status, Status::Resolved);
    assert!(
        !rows.iter().any(|r| r.case_id.0.as_u128() == E),
        "E opens later"
    );
    // Without an as-of time, T is the latest event: A is resolved then.
    let all = log.board(None);
    assert_eq!(all.as_of(), Some(t(1500)));
    let rows = all.rows(&BoardQuery::default(), &BoardPolicy::default());
    let a = rows.iter().find(|r| r.case_id.0.as_u128() == A).unwrap();
    assert_eq!(a.status, Status::Resolved);
    assert_eq!(a.latest_resolution, Some(t(1500)));
    assert!(!a.awaiting_customer, "the resolution ended the wait");
}

/// The cut at the as-of time is exact, as the report's, though the board
/// keeps its own times in milliseconds: an event a tenth of a millisecond
/// after T is not counted, one at T is.
#[test]
fn as_of_cuts_to_the_nanosecond_as_the_report_does() {
    let at = |us: i64| t(0) + Duration::microseconds(us);
    let mut log = Log::new(vec![
        (A, 0, opened("C-1", Channel::Phone, Tier::Standard)),
        (B, 0, opened("C-2", Channel::Phone, Tier::Standard)),
        (C, 0, opened("C-3", Channel::Phone, Tier::Standard)),
    ]);
    // 123.400 µs, T = 123.450 µs, 123.500 µs after t(0): one millisecond.
    log.0[0].at = at(123) + Duration::nanoseconds(400);
    log.0[1].at = at(123) + Duration::nanoseconds(450);
    log.0[2].at = at(123) + Duration::nanoseconds(500);
    let as_of = at(123) + Duration::nanoseconds(450);
    let board = log.board(Some(as_of));
    let mut kpis = KpiAccumulator::new(Some(as_of));
    for (i, e) in log.0.iter().enumerate() {
        kpis.observe(i as u64 + 1, e);
    }
    assert_eq!(board.events(), 2);
    assert_eq!(board.events(), kpis.events());
    assert_eq!(board.len(), kpis.cases());
    assert_eq!(board.as_of(), Some(as_of));
    // Asked for a moment after T, even within its millisecond: refused.
    let later = as_of + Duration::nanoseconds(1);
    assert!(matches!(
        board.select_at(later, &BoardQuery::default(), &BoardPolicy::default()),
        Err(BoardError::AfterAsOf { .. })
    ));
    // Without an as-of time, T is the latest event's time exactly, as the
    // report's; a moment before it, even within its millisecond, is refused.
    let all = log.board(None);
    let latest = log.0[2].at;
    assert_eq!(all.as_of(), Some(latest));
    let mut kpis = KpiAccumulator::new(None);
    for (i, e) in log.0.iter().enumerate() {
        kpis.observe(i as u64 + 1, e);
    }
    assert_eq!(kpis.as_of(), all.as_of());
    assert!(
        all.select_at(latest, &BoardQuery::default(), &BoardPolicy::default())
            .is_ok()
    );
    assert!(matches!(
        all.select_at(
            latest - Duration::nanoseconds(1),
            &BoardQuery::default(),
            &BoardPolicy::default()
        ),
        Err(BoardError::BeforeLatestEvent { .. })
    ));
    // A board saved before the sub-millisecond part was kept reads back
    // with none (the cut at its millisecond, as it was made).
    let mut saved = serde_json::to_value(&board).unwrap();
    saved.as_object_mut().unwrap().remove("as_of_sub_ms_ns");
    let old: CaseBoard = serde_json::from_value(saved).unwrap();
    assert_eq!(old.as_of(), Some(t(0)));
}

/// A deadline past the year 9999 (a case opened at its very end) is none,
/// as a complaint's is: every time the board gives is a storable one, which
/// prints as RFC 3339.
#[test]
fn deadlines_past_the_year_9999_are_none() {
    let mut log = Log::new(vec![
        (A, 0, opened("C-1", Channel::Phone, Tier::Standard)),
        (
            A,
            1,
            classified(Category::Complaint, Topic::Card, Priority::Low),
        ),
    ]);
    let end = caseledger::MAX_TIMESTAMP - Duration::hours(1);
    log.0[0].at = end;
    log.0[1].at = end + Duration::minutes(1);
    let board = log.board(None);
    let rows = board.rows(&BoardQuery::default(), &BoardPolicy::default());
    let row = &rows[0];
    assert_eq!(row.sla_resolution.deadline, None);
    for t in [
        row.sla_response.deadline,
        row.sla_resolution.deadline,
        row.next_deadline,
        row.complaint.and_then(|c| c.deadline),
    ]
    .into_iter()
    .flatten()
    {
        assert!(t <= caseledger::MAX_TIMESTAMP, "{t}");
    }
}

#[test]
fn a_live_board_answers_later_moments_and_refuses_earlier_ones() {
    let live = desk().board(None);
    let later = live
        .rows_at(t(3000), &BoardQuery::default(), &BoardPolicy::default())
        .unwrap();
    let e = later.iter().find(|r| r.case_id.0.as_u128() == E).unwrap();
    assert_eq!(e.sla_response.state, BoardSlaState::Breached);
    let err = live
        .rows_at(t(1000), &BoardQuery::default(), &BoardPolicy::default())
        .unwrap_err();
    assert!(matches!(err, BoardError::BeforeLatestEvent { .. }), "{err}");
    let err = at_t()
        .rows_at(t(2000), &BoardQuery::default(), &BoardPolicy::default())
        .unwrap_err();
    assert!(matches!(err, BoardError::AfterAsOf { .. }), "{err}");
    // At its own T, rows_at answers what rows does.
    assert_eq!(
        at_t()
            .rows_at(t(T_MIN), &BoardQuery::default(), &BoardPolicy::default())
            .unwrap(),
        rows(&BoardQuery::default())
    );
}

#[test]
fn a_business_calendar_moves_the_sla_deadlines() {
    // Weekdays 09:00-17:00 UTC, targets in business seconds: B (urgent,
    // opened Monday 09:00) must respond by 10:00 and resolve within 8
    // business hours, by 17:00 the same day.
    let policy = SlaPolicy::from_json(
        r#"{"calendar": {"time_zone": "UTC", "week": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"],
              "wed": ["09:00-17:00"], "thu": ["09:00-17:00"], "fri": ["09:00-17:00"]}},
            "priorities": {"normal": {"response_s": 14400, "resolution_s": 28800},
                           "urgent": {"response_s": 3600, "resolution_s": 28800}}}"#,
    )
    .unwrap();
    let board_policy = BoardPolicy::new(policy, Default::default());
    let rows = at_t().rows(&BoardQuery::default(), &board_policy);
    let row = |id| rows.iter().find(|r| r.case_id.0.as_u128() == id).unwrap();
    assert_eq!(row(B).sla_response.deadline, Some(t(60)));
    assert_eq!(row(B).sla_resolution.deadline, Some(t(480)));
    assert_eq!(row(B).sla_resolution.state, BoardSlaState::AtRisk);
    // E, opened Tuesday 05:10 before opening hours: its 4 business hours
    // (normal targets for high) run from 09:00 to 13:00.
    assert_eq!(
        row(E).sla_response.deadline,
        Some(ts("2026-03-03T13:00:00Z"))
    );
    assert_eq!(row(E).sla_response.state, BoardSlaState::Pending);
}

#[test]
fn the_serde_form_restores_the_board_and_resumes_like_a_full_replay() {
    let log = desk();
    let whole = log.board(None);
    let json = serde_json::to_string(&whole).unwrap();
    let back: CaseBoard = serde_json::from_str(&json).unwrap();
    assert_eq!(back, whole);
    // A checkpoint after each position, resumed with the rest of the log,
    // equals the board fed the whole log.
    for cut in 0..log.0.len() {
        let mut first = CaseBoard::new(None);
        for (i, e) in log.0[..cut].iter().enumerate() {
            first.observe(i as u64 + 1, e);
        }
        let mut resumed: CaseBoard =
            serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
        for (i, e) in log.0.iter().enumerate().skip(cut) {
            resumed.observe(i as u64 + 1, e);
        }
        assert_eq!(resumed, whole, "cut at {cut}");
    }
    // A stored board naming one case twice is refused.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = v["entries"][0].clone();
    v["entries"].as_array_mut().unwrap().push(first);
    let err = serde_json::from_value::<CaseBoard>(v).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
}

#[test]
fn boards_of_disjoint_partitions_merge_into_the_whole() {
    let log = desk();
    let as_of = Some(t(T_MIN));
    let (mut even, mut odd) = (CaseBoard::new(as_of), CaseBoard::new(as_of));
    for (i, e) in log.0.iter().enumerate() {
        let part = if e.case_id.0.as_u128() % 2 == 0 {
            &mut even
        } else {
            &mut odd
        };
        part.observe(i as u64 + 1, e);
    }
    odd.merge(even).unwrap();
    let policy = BoardPolicy::default();
    assert_eq!(
        odd.rows(&BoardQuery::default(), &policy),
        at_t().rows(&BoardQuery::default(), &policy)
    );
    assert_eq!((odd.events(), odd.orphan_events()), (25, 1));
    assert!(odd.merge(CaseBoard::new(None)).is_err());
}

/// The board's states are the report's: on a synthetic log, counting the
/// rows gives the report's SLA and complaint figures.
#[test]
fn the_board_agrees_with_the_report_on_a_synthetic_log() {
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    let events: Vec<Event> = Synth::new(SynthConfig {
        cases: 400,
        seed: 22,
        start,
        span_days: 60,
        customers: caseledger_synth::Customers::Uniform,
    })
    .collect();
    let as_of = Some(start + Duration::days(45));
    let mut board = CaseBoard::new(as_of);
    let mut acc = KpiAccumulator::new(as_of);
    for (i, e) in events.iter().enumerate() {
        board.observe(i as u64 + 1, e);
        acc.observe(i as u64 + 1, e);
    }
    let report = acc.report(&ReportParams::default());
    let rows = board.rows(&BoardQuery::default(), &BoardPolicy::default());
    assert_eq!(rows.len(), acc.cases());
    let count = |f: &dyn Fn(&BoardRow) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    let breached = |s: BoardSlaState| s == BoardSlaState::Breached;
    let met = |s: BoardSlaState| s == BoardSlaState::Met;
    let sla = report.overall.sla;
    assert_eq!(
        count(&|r| breached(r.sla_response.state) || breached(r.sla_resolution.state)),
        sla.breached
    );
    assert_eq!(
        count(&|r| met(r.sla_response.state) && met(r.sla_resolution.state)),
        sla.met
    );
    let mut at_risk = BoardQuery::default();
    at_risk.at_risk = true;
    assert_eq!(
        board.rows(&at_risk, &BoardPolicy::default()).len() as u64,
        sla.at_risk
    );
    assert!(
        sla.breached > 0 && sla.met > 0 && sla.pending > 0,
        "{sla:?}"
    );
    let complaints = report.overall.complaints;
    let state = |s: ComplaintState| count(&|r| r.complaint.is_some_and(|c| c.state == s));
    assert_eq!(
        state(ComplaintState::WithinDeadline),
        complaints.within_deadline
    );
    assert_eq!(state(ComplaintState::Overdue), complaints.overdue);
    assert_eq!(state(ComplaintState::Pending), complaints.pending);
    assert_eq!(count(&|r| r.complaint.is_some()), complaints.count);
}

/// Every SLA deadline is where the verdict turns: not breached at it,
/// breached a millisecond after (calendar hours), for waiting and
/// non-waiting cases alike.
#[test]
fn an_sla_deadline_is_the_last_moment_within_the_target() {
    let log = desk();
    let policy = BoardPolicy::default();
    for row in log
        .board(Some(t(T_MIN)))
        .rows(&BoardQuery::default(), &policy)
        .into_iter()
        .filter(|r| r.next_deadline.is_some() && r.case_id.0.as_u128() != A)
    {
        let d = row.next_deadline.unwrap();
        if d < t(T_MIN) {
            continue;
        }
        let state_at = |at: DateTime<Utc>| {
            let r = log.board(Some(at)).rows(&BoardQuery::default(), &policy);
            let r = r.into_iter().find(|x| x.case_id == row.case_id).unwrap();
            (r.sla_response.state, r.sla_resolution.state)
        };
        let (before, after) = (state_at(d), state_at(d + Duration::milliseconds(1)));
        assert!(!breached_in(before), "{}: {before:?}", row.case_id);
        assert!(breached_in(after), "{}: {after:?}", row.case_id);
    }
}

fn breached_in((a, b): (BoardSlaState, BoardSlaState)) -> bool {
    a == BoardSlaState::Breached || b == BoardSlaState::Breached
}

/// A selection says how many rows it has before building any (the table
/// prints that count first), builds the same rows each time it is walked
/// (the table walks it twice), and builds them in the board's order.
#[test]
fn a_selection_counts_its_rows_first_and_builds_the_same_rows_in_order_each_walk() {
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    let mut board = CaseBoard::new(Some(start + Duration::days(20)));
    let events = Synth::new(SynthConfig {
        cases: 300,
        seed: 7,
        start,
        span_days: 30,
        customers: caseledger_synth::Customers::LongTail,
    });
    for (i, e) in events.enumerate() {
        board.observe(i as u64 + 1, &e);
    }
    let policy = BoardPolicy::default();
    let mut overdue = BoardQuery::default();
    overdue.overdue = true;
    let mut limited = BoardQuery::default();
    limited.limit = Some(7);
    let mut nobody = BoardQuery::default();
    nobody.customer = Some(CustomerId::new("nobody-at-all").unwrap());
    let mut counts = Vec::new();
    for query in [BoardQuery::default(), overdue, limited, nobody] {
        let selection = board.select(&query, &policy);
        let first: Vec<BoardRow> = selection.iter().collect();
        assert_eq!(selection.len(), first.len(), "{query:?}");
        assert_eq!(selection.is_empty(), first.is_empty());
        assert_eq!(selection.iter().collect::<Vec<_>>(), first, "{query:?}");
        let key = |r: &BoardRow| (r.next_deadline.is_none(), r.next_deadline, r.case_id);
        assert!(
            first.windows(2).all(|w| key(&w[0]) < key(&w[1])),
            "{query:?}: not in the board's order"
        );
        counts.push(first.len());
    }
    // The walk is not vacuous: every case, some overdue, the limit, none.
    assert_eq!(counts[0], board.len());
    assert!(counts[1] > 0 && counts[1] < counts[0], "{counts:?}");
    assert_eq!(&counts[2..], &[7, 0]);
}

/// A log of `(case, minute, actor, data)`, positions from 1 in this order.
fn log_by(entries: Vec<(u128, i64, &str, EventData)>) -> Log {
    Log(entries
        .into_iter()
        .enumerate()
        .map(|(i, (case, minute, actor, data))| Event {
            event_id: EventId::from_u128(i as u128 + 1),
            case_id: CaseId::from_u128(case),
            at: t(minute),
            actor: common::agent(actor),
            data,
        })
        .collect())
}

/// Only an agent's contact is a response (domain.md): a `responded` by
/// `system` or `customer` gives the board no first response, leaves the
/// response deadline open (and breached once past), and the case new.
#[test]
fn system_and_customer_responses_leave_the_response_deadline_open() {
    let email = |customer| opened(customer, Channel::Email, Tier::Standard);
    let urgent = || classified(Category::Inquiry, Topic::Account, Priority::Urgent);
    let log = log_by(vec![
        (A, 0, "agent-1", email("C-1")),
        (A, 0, "agent-1", urgent()),
        (A, 1, "system", EventData::Responded),
        (A, 10, "customer", EventData::Responded),
        (B, 0, "agent-1", email("C-2")),
        (B, 0, "agent-1", urgent()),
        (B, 1, "system", EventData::Responded),
        (B, 30, "agent-2", EventData::Responded),
    ]);
    let all = log
        .board(Some(t(90)))
        .rows(&BoardQuery::default(), &BoardPolicy::default());
    let row = |id| all.iter().find(|r| r.case_id.0.as_u128() == id).unwrap();
    let a = row(A);
    assert_eq!(a.first_response, None);
    assert_eq!(a.phase, Some(Phase::New), "nobody has responded");
    assert_eq!(a.sla_response.state, BoardSlaState::Breached);
    assert_eq!(a.next_deadline, Some(t(60)));
    assert!(a.overdue);
    let b = row(B);
    assert_eq!(b.first_response, Some(t(30)), "the agent's");
    assert_eq!(b.phase, Some(Phase::InProgress));
    assert_eq!(b.sla_response.state, BoardSlaState::Met);
    assert_eq!(b.next_deadline, Some(t(24 * 60)), "the resolution's");
}

/// A case resolved or closed without ever a response has no open response
/// deadline (docs/kpis.md, "The case board": the nearest *open* deadline):
/// it neither comes first forever nor takes a `limit`'s place. Reopened,
/// it is open work nobody has answered: its response deadline is open
/// again (long past, so it comes first).
#[test]
fn a_case_done_without_a_response_has_no_open_deadline() {
    let email = |customer| opened(customer, Channel::Email, Tier::Standard);
    let urgent = || classified(Category::Inquiry, Topic::Account, Priority::Urgent);
    let reopened = || EventData::Reopened(Reopened { reason: None });
    let log = log_by(vec![
        // A: resolved without a response, then closed.
        (A, 0, "agent-1", email("C-1")),
        (A, 0, "agent-1", urgent()),
        (A, 5, "agent-1", resolved()),
        (A, 6, "agent-1", EventData::Closed),
        // B: resolved with only the system's acknowledgement.
        (B, 0, "agent-1", email("C-2")),
        (B, 0, "agent-1", urgent()),
        (B, 5, "system", EventData::Responded),
        (B, 7, "agent-1", resolved()),
        // C: resolved without a response, then reopened.
        (C, 0, "agent-1", email("C-3")),
        (C, 0, "agent-1", urgent()),
        (C, 8, "agent-1", resolved()),
        (C, 70, "customer", reopened()),
        // D: open, answered, its resolution due at minute 24 h.
        (D, 0, "agent-1", email("C-4")),
        (D, 0, "agent-1", urgent()),
        (D, 10, "agent-2", EventData::Responded),
    ]);
    let board = log.board(Some(t(90)));
    let policy = BoardPolicy::default();
    let all = board.rows(&BoardQuery::default(), &policy);
    let row = |id| all.iter().find(|r| r.case_id.0.as_u128() == id).unwrap();
    assert_eq!(row(A).next_deadline, None, "closed");
    assert_eq!(row(B).next_deadline, None, "resolved");
    // The verdict is unchanged: the response target was missed.
    assert_eq!(row(A).sla_response.state, BoardSlaState::Breached);
    assert!(!row(A).overdue);
    assert_eq!(row(C).next_deadline, Some(t(60)), "reopened: open again");
    assert!(row(C).overdue);
    assert_eq!(row(D).next_deadline, Some(t(24 * 60)));
    assert_eq!(ids(&all), [C, D, A, B]);
    let mut first = BoardQuery::default();
    first.limit = Some(1);
    assert_eq!(ids(&board.rows(&first, &policy)), [C]);
    first.status = Some(Status::Open);
    first.limit = Some(2);
    assert_eq!(ids(&board.rows(&first, &policy)), [C, D]);
}
