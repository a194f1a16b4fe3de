//! Complaint deadlines by regime (issue 18), hand-computed: a Chinese
//! holiday week with make-up days (Asia/Shanghai, National Day 2026), a
//! deadline on a weekend, extension chains, and a DST change (uk-fca-disp
//! in Europe/London); the complaint policy's JSON form; the process policy
//! on extension commands; and the report's `complaints` section.
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

mod common;

use caseledger::calendar::BusinessCalendar;
use caseledger::complaint::{
    ComplaintPolicy, ComplaintPolicyError, DeadlineClock, ExtensionRefused, ExtensionVerdict,
    Regime, deadline, is_extension_step,
};
use caseledger::kpi::{KpiAccumulator, ReportParams};
use caseledger::*;
use chrono::{DateTime, TimeZone, Utc};
use common::extension;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// 2026's National Day week as a Shanghai desk sees it: Monday to Friday
/// 09:00-18:00; 1 to 7 October (Thursday to Wednesday) are holidays; Sunday
/// 27 September and Saturday 10 October are make-up working days.
fn shanghai() -> BusinessCalendar {
    BusinessCalendar::from_json(
        r#"{"time_zone": "Asia/Shanghai",
            "week": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"],
                     "thu": ["09:00-18:00"], "fri": ["09:00-18:00"]},
            "holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04",
                         "2026-10-05", "2026-10-06", "2026-10-07"],
            "working_days": ["2026-09-27", "2026-10-10"]}"#,
    )
    .unwrap()
}

fn london() -> BusinessCalendar {
    BusinessCalendar::from_json(
        r#"{"time_zone": "Europe/London",
            "week": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"], "wed": ["09:00-17:00"],
                     "thu": ["09:00-17:00"], "fri": ["09:00-17:00"]}}"#,
    )
    .unwrap()
}

/// 10:00 in Shanghai (UTC+8) on a 2026 date.
fn cst(mo: u32, d: u32) -> DateTime<Utc> {
    utc(2026, mo, d, 2, 0)
}

/// Midnight starting a 2026 date in Shanghai, as an instant.
fn cst_midnight(mo: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, mo, d, 0, 0, 0).unwrap() - chrono::Duration::hours(8)
}

#[test]
fn cn_2020_moves_a_last_day_in_the_holiday_week_to_the_next_working_day() {
    let cal = shanghai();
    // Received Wednesday 16 September: day 15 is Thursday 1 October, a
    // holiday; the rest days run to Wednesday 7; the next working day is
    // Thursday 8, so the deadline is the midnight that starts Friday 9.
    assert_eq!(
        deadline(Regime::Cn2020, &cal, cst(9, 16), 15).unwrap(),
        cst_midnight(10, 9)
    );
    // Received on the 22nd: day 15 is Wednesday 7 October, the last
    // holiday: the same next working day.
    assert_eq!(
        deadline(Regime::Cn2020, &cal, cst(9, 22), 15).unwrap(),
        cst_midnight(10, 9)
    );
    // Received Friday 25 September: day 15 is Saturday 10 October, a
    // make-up working day: it stays.
    assert_eq!(
        deadline(Regime::Cn2020, &cal, cst(9, 25), 15).unwrap(),
        cst_midnight(10, 11)
    );
    // Received Saturday 26th: day 15 is Sunday 11 October, a rest day: Monday.
    assert_eq!(
        deadline(Regime::Cn2020, &cal, cst(9, 26), 15).unwrap(),
        cst_midnight(10, 13)
    );
    // The local date of receipt counts: 23:30 UTC on 15 September is 07:30
    // on the 16th in Shanghai.
    assert_eq!(
        deadline(Regime::Cn2020, &cal, utc(2026, 9, 15, 23, 30), 15).unwrap(),
        cst_midnight(10, 9)
    );
}

#[test]
fn cn_2020_extension_chain_15_30_60() {
    let cal = shanghai();
    let opened = cst(9, 16);
    let mut clock = DeadlineClock::new(Regime::Cn2020, &cal, opened);
    assert_eq!(clock.deadline().unwrap(), cst_midnight(10, 9));
    // 35 is PSD2's step, not cn-2020's; 60 skips 30.
    assert_eq!(
        clock.extend(&cal, cst(9, 20), 35),
        ExtensionVerdict::NotNextStep { expected: Some(30) }
    );
    assert_eq!(
        clock.extend(&cal, cst(9, 20), 60),
        ExtensionVerdict::NotNextStep { expected: Some(30) }
    );
    assert_eq!(
        clock.days(),
        15,
        "a refused step does not move the deadline"
    );
    // 30 days: Friday 16 October, a working day.
    assert_eq!(
        clock.extend(&cal, cst(9, 20), 30),
        ExtensionVerdict::Granted
    );
    assert_eq!(clock.deadline().unwrap(), cst_midnight(10, 17));
    // 60 days: Sunday 15 November moves to Monday 16.
    assert_eq!(
        clock.extend(&cal, cst(10, 16), 60),
        ExtensionVerdict::Granted
    );
    assert_eq!(clock.deadline().unwrap(), cst_midnight(11, 17));
    // Nothing after 60.
    assert_eq!(
        clock.extend(&cal, cst(10, 20), 61),
        ExtensionVerdict::NotNextStep { expected: None }
    );
}

#[test]
fn an_extension_at_or_after_the_deadline_is_late_and_does_not_move_it() {
    let cal = BusinessCalendar::default();
    let opened = utc(2026, 3, 2, 9, 0);
    let mut clock = DeadlineClock::new(Regime::Cn2020, &cal, opened);
    let due = utc(2026, 3, 18, 0, 0);
    assert_eq!(clock.deadline().unwrap(), due);
    assert_eq!(
        clock.extend(&cal, due, 30),
        ExtensionVerdict::Late { deadline: due }
    );
    assert_eq!(clock.deadline().unwrap(), due);
    // One millisecond before is in time.
    assert_eq!(
        clock.extend(&cal, due - chrono::Duration::milliseconds(1), 30),
        ExtensionVerdict::Granted
    );
    assert_eq!(clock.deadline().unwrap(), utc(2026, 4, 2, 0, 0));
    let (replayed, late) = DeadlineClock::replay(
        Regime::Cn2020,
        &cal,
        opened,
        [
            caseledger::complaint::Extension { at: due, days: 30 },
            caseledger::complaint::Extension { at: due, days: 60 },
        ],
    );
    assert_eq!(
        late, 1,
        "the first is late; the second is then not the next step"
    );
    assert_eq!(replayed.deadline().unwrap(), due);
}

#[test]
fn psd_regimes_count_working_days_across_the_holiday_week() {
    let cal = shanghai();
    // Received Thursday 24 September. Working days after it: 25 (1), Sunday
    // 27 make-up (2), 28-30 (3-5), the holidays, 8 and 9 October (6, 7),
    // Saturday 10 make-up (8), 12-16 (9-13), 19 (14), 20 (15).
    for regime in [Regime::EuPsd2, Regime::UkFcaPsd] {
        let opened = cst(9, 24);
        assert_eq!(
            deadline(regime, &cal, opened, 15).unwrap(),
            cst_midnight(10, 21)
        );
        // 35: 21-23 (16-18), 26-30 (19-23), 2-6 November (24-28), 9-13
        // (29-33), 16 (34), 17 (35).
        let mut clock = DeadlineClock::new(regime, &cal, opened);
        assert_eq!(
            clock.extend(&cal, cst(10, 1), 35),
            ExtensionVerdict::Granted
        );
        assert_eq!(clock.deadline().unwrap(), cst_midnight(11, 18));
        assert_eq!(
            clock.extend(&cal, cst(10, 2), 60),
            ExtensionVerdict::NotNextStep { expected: None }
        );
    }
}

#[test]
fn us_cfpb_and_uk_disp_keep_a_last_day_that_is_a_rest_day() {
    let cal = shanghai();
    // Day 15 is the holiday of 1 October: it stays.
    assert_eq!(
        deadline(Regime::UsCfpb, &cal, cst(9, 16), 15).unwrap(),
        cst_midnight(10, 2)
    );
    // 60 days: Sunday 15 November, kept.
    let mut clock = DeadlineClock::new(Regime::UsCfpb, &cal, cst(9, 16));
    assert_eq!(
        clock.extend(&cal, cst(9, 17), 60),
        ExtensionVerdict::Granted
    );
    assert_eq!(clock.deadline().unwrap(), cst_midnight(11, 16));
    // The same 60 days under cn-2020 move to Monday.
    assert_eq!(
        deadline(Regime::Cn2020, &cal, cst(9, 16), 60).unwrap(),
        cst_midnight(11, 17)
    );
}

#[test]
fn uk_fca_disp_counts_8_weeks_in_london_across_the_clock_change() {
    let cal = london();
    // Received Sunday 1 March 2026 at noon (GMT). 56 days later is Sunday
    // 26 April, after the clocks went forward on 29 March: the deadline is
    // midnight BST starting 27 April, 23:00 UTC on the 26th. A Sunday stays.
    assert_eq!(
        deadline(Regime::UkFcaDisp, &cal, utc(2026, 3, 1, 12, 0), 56).unwrap(),
        utc(2026, 4, 26, 23, 0)
    );
    // 23:30 UTC on 31 March is 00:30 on 1 April in London: received on
    // the 1st; 56 days later is 27 May; the deadline 23:00 UTC on the 27th.
    assert_eq!(
        deadline(Regime::UkFcaDisp, &cal, utc(2026, 3, 31, 23, 30), 56).unwrap(),
        utc(2026, 5, 27, 23, 0)
    );
    // Back across the autumn change (25 October): received 1 October (BST),
    // day 56 is 26 November (GMT): midnight GMT.
    assert_eq!(
        deadline(Regime::UkFcaDisp, &cal, utc(2026, 10, 1, 8, 0), 56).unwrap(),
        utc(2026, 11, 27, 0, 0)
    );
    assert_eq!(Regime::UkFcaDisp.next_step(56), None, "no extension");
}

#[test]
fn with_the_default_calendar_no_deadline_moves() {
    let cal = BusinessCalendar::default();
    // Received Monday 2 March 2026 (UTC); day 15 is Tuesday 17.
    let opened = utc(2026, 3, 2, 9, 0);
    for regime in [Regime::Cn2020, Regime::UsCfpb, Regime::EuPsd2] {
        assert_eq!(
            deadline(regime, &cal, opened, 15).unwrap(),
            utc(2026, 3, 18, 0, 0),
            "{regime}"
        );
    }
    // Saturday 14 March + 15 = Sunday 29 March: every day works, no move.
    assert_eq!(
        deadline(Regime::Cn2020, &cal, utc(2026, 3, 14, 0, 0), 15).unwrap(),
        utc(2026, 3, 30, 0, 0)
    );
}

#[test]
fn the_extension_steps_of_every_regime() {
    assert_eq!(Regime::Cn2020.steps(), &[15, 30, 60]);
    assert_eq!(Regime::UkFcaDisp.steps(), &[56]);
    assert_eq!(Regime::EuPsd2.steps(), &[15, 35]);
    assert_eq!(Regime::UsCfpb.steps(), &[15, 60]);
    let steps: Vec<u8> = (1..=255).filter(|&d| is_extension_step(d)).collect();
    assert_eq!(steps, vec![30, 35, 60]);
}

#[test]
fn a_deadline_past_the_year_9999_is_an_error_not_a_panic() {
    let cal = BusinessCalendar::default();
    assert!(deadline(Regime::Cn2020, &cal, utc(9999, 12, 20, 0, 0), 15).is_err());
    // A calendar whose only working day (Monday) is a holiday for 22 years:
    // no next working day within the 20-year search.
    let never = BusinessCalendar::builder("UTC")
        .hours(chrono::Weekday::Mon, &["09:00-17:00"])
        .holidays(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                .expect("a date")
                .iter_weeks()
                .take_while(|d| chrono::Datelike::year(d) < 2048),
        )
        .build()
        .expect("valid: at most 10,000 holidays");
    assert!(deadline(Regime::EuPsd2, &never, utc(2026, 3, 2, 0, 0), 15).is_err());
    assert!(deadline(Regime::Cn2020, &never, utc(2026, 3, 2, 0, 0), 15).is_err());
}

#[test]
fn the_complaint_policy_json_and_its_errors_name_the_field() {
    let p = ComplaintPolicy::from_json(r#"{"default": "us-cfpb", "topics": {"card": "eu-psd2"}}"#)
        .unwrap();
    assert_eq!(p.default, Regime::UsCfpb);
    assert_eq!(p.regime(Some(Topic::Card)), Regime::EuPsd2);
    assert_eq!(p.regime(Some(Topic::Loan)), Regime::UsCfpb);
    assert_eq!(p.regime(None), Regime::UsCfpb);
    assert_eq!(
        ComplaintPolicy::from_json("{}").unwrap(),
        ComplaintPolicy::default()
    );
    assert_eq!(ComplaintPolicy::default().default, Regime::Cn2020);
    let err = |text: &str| ComplaintPolicy::from_json(text).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"default": "cn-2021"}"#),
        "default: unknown complaint regime `cn-2021`; allowed: cn-2020, uk-fca-disp, uk-fca-psd, eu-psd2, us-cfpb"
    );
    assert_eq!(
        err(r#"{"topics": {"cards": "eu-psd2"}}"#),
        "topics.cards: unknown topic `cards`; allowed: account, transaction, card, loan, wealth, product_quality, service_process, staff_attitude, other"
    );
    assert_eq!(
        err(r#"{"topics": {"card": 15}}"#),
        "topics.card: expected a regime name (a string), found a number"
    );
    assert_eq!(
        err(r#"{"topics": ["card"]}"#),
        "topics: expected an object of topic: regime, found an array"
    );
    assert_eq!(
        err(r#"{"default": "cn-2020", "calendar": "x.json"}"#),
        "unknown field `calendar`; allowed: default, topics"
    );
    assert!(matches!(
        ComplaintPolicy::from_json("[]"),
        Err(ComplaintPolicyError::NotAnObject { .. })
    ));
    assert!(matches!(
        ComplaintPolicy::from_json(&" ".repeat(70_000)),
        Err(ComplaintPolicyError::TooLong { .. })
    ));
}

// ---- The process policy on commands ----

fn complaint_service() -> (CaseService<InMemoryEventLog, SequentialIds>, CaseId) {
    let service = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1));
    let case = CaseId::from_u128(7);
    let agent = Actor::parse("agent-1").unwrap();
    service
        .execute(
            case,
            utc(2026, 3, 2, 9, 0),
            agent.clone(),
            Action::Open(common::opened()),
        )
        .unwrap();
    service
        .execute(
            case,
            utc(2026, 3, 2, 9, 0),
            agent,
            Action::Classify(Classified {
                category: Category::Complaint,
                topic: Topic::Card,
                priority: Priority::Normal,
            }),
        )
        .unwrap();
    (service, case)
}

#[test]
fn the_service_refuses_a_late_extension_and_one_that_is_not_the_next_step() {
    let (service, case) = complaint_service();
    let lead = Actor::parse("lead-1").unwrap();
    // cn-2020 by default: 35 is not its next step.
    let refused = service
        .execute(
            case,
            utc(2026, 3, 10, 0, 0),
            lead.clone(),
            Action::ExtendDeadline(extension(35)),
        )
        .unwrap_err();
    assert!(
        matches!(
            refused,
            ServiceError::Extension {
                reason: ExtensionRefused::NotNextStep {
                    regime: Regime::Cn2020,
                    expected: Some(30),
                    requested: 35
                },
                ..
            }
        ),
        "{refused}"
    );
    // At the deadline (2026-03-18 00:00 UTC): late.
    let late = service
        .execute(
            case,
            utc(2026, 3, 18, 0, 0),
            lead.clone(),
            Action::ExtendDeadline(extension(30)),
        )
        .unwrap_err();
    assert_eq!(
        late.to_string(),
        "case 00000000-0000-0000-0000-000000000007: the deadline extension is refused: the deadline 2026-03-18T00:00:00Z has passed; an extension must be recorded before it"
    );
    // In time, then the next step.
    service
        .execute(
            case,
            utc(2026, 3, 17, 23, 0),
            lead.clone(),
            Action::ExtendDeadline(extension(30)),
        )
        .unwrap();
    let done = service
        .execute(
            case,
            utc(2026, 3, 20, 0, 0),
            lead,
            Action::ExtendDeadline(extension(60)),
        )
        .unwrap();
    let days: Vec<u8> = done
        .state
        .case()
        .unwrap()
        .extensions
        .iter()
        .map(|e| e.days)
        .collect();
    assert_eq!(days, vec![30, 60]);
}

#[test]
fn the_service_applies_its_complaint_policy() {
    let service = CaseService::new(InMemoryEventLog::new(), SequentialIds::new(1))
        .with_complaint_policy(
            ComplaintPolicy::from_json(r#"{"topics": {"card": "eu-psd2"}}"#).unwrap(),
        );
    let case = CaseId::from_u128(8);
    let agent = Actor::parse("agent-1").unwrap();
    service
        .execute(
            case,
            utc(2026, 3, 2, 9, 0),
            agent.clone(),
            Action::Open(common::opened()),
        )
        .unwrap();
    let card = Classified {
        category: Category::Complaint,
        topic: Topic::Card,
        priority: Priority::Normal,
    };
    service
        .execute(
            case,
            utc(2026, 3, 2, 9, 0),
            agent.clone(),
            Action::Classify(card),
        )
        .unwrap();
    // eu-psd2: 35 is the next step, 30 is not.
    assert!(
        service
            .execute(
                case,
                utc(2026, 3, 3, 0, 0),
                agent.clone(),
                Action::ExtendDeadline(extension(30))
            )
            .is_err()
    );
    service
        .execute(
            case,
            utc(2026, 3, 3, 0, 0),
            agent,
            Action::ExtendDeadline(extension(35)),
        )
        .unwrap();
}

// ---- The report ----

fn ev(n: u128, case: u128, at: DateTime<Utc>, data: EventData) -> Event {
    Event {
        event_id: EventId::from_u128(n),
        case_id: CaseId::from_u128(case),
        at,
        actor: Actor::parse("agent-1").unwrap(),
        data,
    }
}

fn complaint(topic: Topic) -> EventData {
    EventData::Classified(Classified {
        category: Category::Complaint,
        topic,
        priority: Priority::Normal,
    })
}

#[test]
fn the_report_counts_each_complaint_against_its_regime() {
    // Default calendar (UTC, every day). Policy: cards under eu-psd2, the
    // rest cn-2020. Every case received 2026-03-02 (deadlines: 15 days,
    // 2026-03-18 00:00; cn 30 days 2026-04-02 00:00; psd 35 days
    // 2026-04-07 00:00).
    let opened = utc(2026, 3, 2, 9, 0);
    let mut n = 0;
    let mut events = Vec::new();
    let mut add = |case: u128, at: DateTime<Utc>, data: EventData| {
        n += 1;
        events.push(ev(n, case, at, data));
    };
    for case in 1..=6 {
        add(case, opened, EventData::Opened(common::opened()));
    }
    // 1: cn, resolved the day before the deadline: within.
    add(1, opened, complaint(Topic::Loan));
    add(
        1,
        utc(2026, 3, 17, 23, 59),
        EventData::Resolved(Resolved::default()),
    );
    // 2: cn, resolved at the deadline exactly: overdue.
    add(2, opened, complaint(Topic::Loan));
    add(
        2,
        utc(2026, 3, 18, 0, 0),
        EventData::Resolved(Resolved::default()),
    );
    // 3: cn, extended to 30 in time, resolved on day 20: within, extended.
    add(3, opened, complaint(Topic::Account));
    add(
        3,
        utc(2026, 3, 10, 0, 0),
        EventData::DeadlineExtended(extension(30)),
    );
    add(
        3,
        utc(2026, 3, 22, 0, 0),
        EventData::Resolved(Resolved::default()),
    );
    // 4: cn, extended late (at the deadline), unresolved: overdue at T,
    // one late extension.
    add(4, opened, complaint(Topic::Account));
    add(
        4,
        utc(2026, 3, 18, 0, 0),
        EventData::DeadlineExtended(extension(30)),
    );
    // 5: card, eu-psd2, extended to 35, unresolved: pending at T.
    add(5, opened, complaint(Topic::Card));
    add(
        5,
        utc(2026, 3, 12, 0, 0),
        EventData::DeadlineExtended(extension(35)),
    );
    // 6: card, eu-psd2, unresolved: past its 15 days at T: overdue.
    add(6, opened, complaint(Topic::Card));
    // An inquiry is no complaint.
    add(7, opened, EventData::Opened(common::opened()));
    let mut acc = KpiAccumulator::new(Some(utc(2026, 3, 25, 0, 0)));
    for (i, e) in events.iter().enumerate() {
        acc.observe(i as u64 + 1, e);
    }
    let params = ReportParams {
        complaints: ComplaintPolicy::from_json(r#"{"topics": {"card": "eu-psd2"}}"#).unwrap(),
        ..ReportParams::default()
    };
    let c = acc.report(&params).overall.complaints;
    assert_eq!(c.count, 6);
    assert_eq!((c.within_deadline, c.overdue, c.pending), (2, 3, 1));
    assert_eq!((c.extended, c.late_extensions), (3, 1));
    assert_eq!(c.deadline_rate, Some(2.0 / 5.0));
    let cn = c.by_regime.get(Regime::Cn2020);
    assert_eq!(
        (
            cn.count,
            cn.within_deadline,
            cn.overdue,
            cn.pending,
            cn.extended
        ),
        (4, 2, 2, 0, 2)
    );
    let psd = c.by_regime.get(Regime::EuPsd2);
    assert_eq!(
        (
            psd.count,
            psd.within_deadline,
            psd.overdue,
            psd.pending,
            psd.extended
        ),
        (2, 0, 1, 1, 1)
    );
    assert_eq!(psd.deadline_rate, Some(0.0));
    // The JSON: only the regimes with complaints, in the regimes' order.
    let json = serde_json::to_value(c).unwrap();
    let keys: Vec<&String> = json["by_regime"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cn-2020", "eu-psd2"]);
    assert_eq!(
        json["by_regime"]["eu-psd2"],
        serde_json::json!({"count": 2, "within_deadline": 0, "overdue": 1, "pending": 1,
                           "extended": 1, "deadline_rate": 0.0})
    );
    // Under the default policy everything is cn-2020, and case 5 (35 days:
    // not a cn-2020 step, so no move) is overdue too.
    let all_cn = acc.report(&ReportParams::default()).overall.complaints;
    assert_eq!(
        (all_cn.within_deadline, all_cn.overdue, all_cn.pending),
        (2, 4, 0)
    );
    assert_eq!(all_cn.by_regime.get(Regime::Cn2020).count, 6);
}

#[test]
fn the_report_counts_deadlines_in_the_policy_s_calendar() {
    // Received 16 September 2026 in Shanghai, cn-2020: the deadline is the
    // midnight starting 9 October (the holiday week moved it); with the
    // default calendar it is the midnight starting 2 October (UTC).
    let opened = cst(9, 16);
    let events = [
        ev(1, 1, opened, EventData::Opened(common::opened())),
        ev(2, 1, opened, complaint(Topic::Loan)),
        ev(3, 1, cst(10, 5), EventData::Resolved(Resolved::default())),
    ];
    let mut acc = KpiAccumulator::new(None);
    for (i, e) in events.iter().enumerate() {
        acc.observe(i as u64 + 1, e);
    }
    let shanghai_policy = ReportParams {
        complaints: ComplaintPolicy::default().with_calendar(shanghai()),
        ..ReportParams::default()
    };
    let c = acc.report(&shanghai_policy).overall.complaints;
    assert_eq!((c.within_deadline, c.overdue), (1, 0));
    let c = acc.report(&ReportParams::default()).overall.complaints;
    assert_eq!((c.within_deadline, c.overdue), (0, 1));
}

#[test]
fn a_complaint_policy_key_given_twice_is_refused_by_its_path() {
    let refused = |json: &str| match ComplaintPolicy::from_json(json) {
        Err(ComplaintPolicyError::DuplicateKey { key }) => key,
        other => panic!("{json}: expected a duplicate key, got {other:?}"),
    };
    assert_eq!(
        refused(r#"{"default": "cn-2020", "default": "us-cfpb"}"#),
        "default"
    );
    let text = r#"{"topics": {"card": "eu-psd2", "card": "us-cfpb"}}"#;
    assert_eq!(refused(text), "topics.card");
    assert_eq!(
        ComplaintPolicy::from_json(text).unwrap_err().to_string(),
        "`topics.card` is given twice; each key may appear once"
    );
}
