//! The measures of issue 20, points 4 and 5, on hand-computed histories:
//! every period (ISO weeks around the new year, time zones), two
//! dimensions at once, who handled a case, and the responder rows
//! (docs/kpis.md).
#![allow(clippy::unwrap_used)] // Test helpers: a failed unwrap is a failed test.

use caseledger::kpi::{GroupBy, KpiAccumulator, Report, ReportParams};
use caseledger::*;
use caseledger_testkit::history::{checked_report, next_event};
use chrono::{DateTime, Utc};

fn t(s: &str) -> DateTime<Utc> {
    parse_timestamp(s).unwrap()
}

/// A log of events across cases, positions in the order added.
#[derive(Default)]
struct Log {
    events: Vec<Event>,
}

impl Log {
    fn add(&mut self, case: u128, at: &str, actor: &str, data: EventData) -> &mut Self {
        let e = next_event(&self.events, case, t(at), actor, data);
        self.events.push(e);
        self
    }

    fn open(&mut self, case: u128, at: &str) -> &mut Self {
        self.add(
            case,
            at,
            "system",
            EventData::Opened(Opened {
                customer_id: CustomerId::new(format!("cust-{case}")).unwrap(),
                channel: Channel::Phone,
                tier: Tier::Standard,
                summary: None,
                origin: Origin::Customer,
            }),
        )
    }

    fn assign(&mut self, case: u128, at: &str, agent: &str) -> &mut Self {
        self.add(
            case,
            at,
            "system",
            EventData::Assigned(Assigned {
                agent: AgentId::new(agent).unwrap(),
                team: None,
            }),
        )
    }

    fn respond(&mut self, case: u128, at: &str, agent: &str) -> &mut Self {
        self.add(case, at, agent, EventData::Responded)
    }

    /// Classifies the case (an inquiry, as a resolution needs one), then
    /// resolves it.
    fn resolve(&mut self, case: u128, at: &str, agent: &str) -> &mut Self {
        self.add(
            case,
            at,
            agent,
            EventData::Classified(Classified {
                category: Category::Inquiry,
                topic: Topic::Account,
                priority: Priority::Normal,
            }),
        );
        self.add(case, at, agent, EventData::Resolved(Resolved::default()))
    }

    fn reopen(&mut self, case: u128, at: &str) -> &mut Self {
        self.add(
            case,
            at,
            "customer",
            EventData::Reopened(Reopened {
                reason: Some("still broken".to_owned()),
            }),
        )
    }

    /// Checks every case's history against the rules, then reports.
    fn report(&self, params: &ReportParams) -> Report {
        checked_report(&self.events, None, params)
    }
}

fn by(g: GroupBy) -> ReportParams {
    ReportParams {
        group_by: Some(g),
        ..ReportParams::default()
    }
}

/// The groups' keys and case counts.
fn keys(report: &Report) -> Vec<(String, u64)> {
    report
        .groups
        .iter()
        .map(|g| (g.key.clone(), g.kpis.cases_opened))
        .collect()
}

fn pairs(p: &[(&str, u64)]) -> Vec<(String, u64)> {
    p.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

/// ISO weeks around two new years: 1 January 2026 is a Thursday, so its
/// week is 2026-W01, which began on Monday 29 December 2025; 2026 has 53
/// ISO weeks, and Friday 1 January 2027 is in 2026-W53; Monday 4 January
/// 2027 begins 2027-W01. Half years and years by the calendar.
#[test]
fn every_period_has_its_key() {
    let mut log = Log::default();
    log.open(1, "2025-12-28T12:00:00Z") // Sunday: 2025-W52
        .open(2, "2025-12-29T00:00:00Z") // Monday: 2026-W01
        .open(3, "2026-01-01T00:00:00Z") // 2026-W01
        .open(4, "2026-03-01T10:00:00Z") // Sunday: 2026-W09
        .open(5, "2026-06-30T23:59:59Z") // 2026-W27, 2026-H1
        .open(6, "2026-07-01T00:00:00Z") // 2026-W27, 2026-H2
        .open(7, "2027-01-01T00:00:00Z") // Friday: 2026-W53
        .open(8, "2027-01-04T00:00:00Z"); // Monday: 2027-W01
    assert_eq!(
        keys(&log.report(&by(GroupBy::Week))),
        pairs(&[
            ("2025-W52", 1),
            ("2026-W01", 2),
            ("2026-W09", 1),
            ("2026-W27", 2),
            ("2026-W53", 1),
            ("2027-W01", 1),
        ])
    );
    assert_eq!(
        keys(&log.report(&by(GroupBy::Month))),
        pairs(&[
            ("2025-12", 2),
            ("2026-01", 1),
            ("2026-03", 1),
            ("2026-06", 1),
            ("2026-07", 1),
            ("2027-01", 2),
        ])
    );
    assert_eq!(
        keys(&log.report(&by(GroupBy::Quarter))),
        pairs(&[
            ("2025-Q4", 2),
            ("2026-Q1", 2),
            ("2026-Q2", 1),
            ("2026-Q3", 1),
            ("2027-Q1", 2)
        ])
    );
    assert_eq!(
        keys(&log.report(&by(GroupBy::HalfYear))),
        pairs(&[
            ("2025-H2", 2),
            ("2026-H1", 3),
            ("2026-H2", 1),
            ("2027-H1", 2)
        ])
    );
    assert_eq!(
        keys(&log.report(&by(GroupBy::Year))),
        pairs(&[("2025", 2), ("2026", 4), ("2027", 2)])
    );
}

/// A period is that of the local date of `opened` in the report's time
/// zone: 31 December 2026 20:00 UTC is 1 January 2027 04:00 in Shanghai
/// (still 2026-W53, a Friday, but 2027 and 2027-H1), and 4 January 2027
/// 02:00 UTC is Sunday 3 January 21:00 in New York (2026-W53).
#[test]
fn periods_are_local_to_the_report_s_time_zone() {
    let mut log = Log::default();
    log.open(1, "2026-12-31T20:00:00Z")
        .open(2, "2027-01-04T02:00:00Z");
    let zoned = |g, zone| {
        keys(&log.report(&ReportParams {
            group_by: Some(g),
            time_zone: Some(zone),
            ..ReportParams::default()
        }))
    };
    assert_eq!(
        keys(&log.report(&by(GroupBy::Week))),
        pairs(&[("2026-W53", 1), ("2027-W01", 1)])
    );
    assert_eq!(
        zoned(GroupBy::Week, calendar::Tz::America__New_York),
        pairs(&[("2026-W53", 2)])
    );
    assert_eq!(
        keys(&log.report(&by(GroupBy::Year))),
        pairs(&[("2026", 1), ("2027", 1)])
    );
    assert_eq!(
        zoned(GroupBy::Year, calendar::Tz::Asia__Shanghai),
        pairs(&[("2027", 2)])
    );
    assert_eq!(
        zoned(GroupBy::HalfYear, calendar::Tz::Asia__Shanghai),
        pairs(&[("2027-H1", 2)])
    );
}

/// Two dimensions: rows sorted by the first key, then the second; each
/// case in one row, so the rows add up; the JSON key is an object of both
/// and `group_by` the array of both.
#[test]
fn two_dimensions_split_each_group_by_the_second() {
    let mut log = Log::default();
    log.open(1, "2026-03-02T09:00:00Z")
        .assign(1, "2026-03-02T09:05:00Z", "agent-2")
        .open(2, "2026-02-10T09:00:00Z")
        .assign(2, "2026-02-10T09:05:00Z", "agent-2")
        .open(3, "2026-03-20T09:00:00Z")
        .assign(3, "2026-03-20T09:05:00Z", "agent-1")
        .open(4, "2026-03-21T09:00:00Z")
        .assign(4, "2026-03-21T09:05:00Z", "agent-2");
    let report = log.report(&ReportParams {
        group_by: Some(GroupBy::Agent),
        then_by: Some(GroupBy::Month),
        ..ReportParams::default()
    });
    let rows: Vec<(&str, &str, u64)> = report
        .groups
        .iter()
        .map(|g| {
            (
                g.key.as_str(),
                g.then_key.as_deref().unwrap(),
                g.kpis.cases_opened,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("agent-1", "2026-03", 1),
            ("agent-2", "2026-02", 1),
            ("agent-2", "2026-03", 2)
        ]
    );
    assert_eq!(report.overall.cases_opened, 4);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["group_by"], serde_json::json!(["agent", "month"]));
    assert_eq!(
        json["groups"][2]["key"],
        serde_json::json!({"agent": "agent-2", "month": "2026-03"})
    );
    // The object keeps the dimensions' order, not the alphabet's.
    let text = serde_json::to_string(&json["groups"][0]["key"]).unwrap();
    assert_eq!(text, r#"{"agent":"agent-1","month":"2026-03"}"#);
    let reversed = log.report(&ReportParams {
        group_by: Some(GroupBy::Month),
        then_by: Some(GroupBy::Agent),
        ..ReportParams::default()
    });
    let text = serde_json::to_string(&reversed).unwrap();
    assert!(
        text.contains(r#""key":{"month":"2026-02","agent":"agent-2"}"#),
        "{text}"
    );
    // One dimension keeps today's form: a string key and a string group_by.
    let one = serde_json::to_value(log.report(&by(GroupBy::Agent))).unwrap();
    assert_eq!(one["group_by"], "agent");
    assert_eq!(one["groups"][0]["key"], "agent-1");
}

/// The responder rows of a hand-computed history (docs/kpis.md,
/// "Responders").
///
/// - case 1: assigned to agent-1 at 09:00; agent-1 responds at 09:30 and
///   10:00 (two contacts; the assignment answered after 1800 s);
/// - case 2: assigned to agent-1 at 09:00, then to agent-2 at 11:00 with no
///   response by agent-1; agent-1 responds at 12:00 (a contact, but not
///   while assigned), agent-2 at 11:10 (answered after 600 s);
/// - case 3: assigned to agent-2 at 09:00, never answered; agent-1
///   responds at 09:20 (a contact only);
/// - case 4: assigned to agent-2 at 09:00, responds at 10:00 (3600 s),
///   reassigned to agent-2 at 12:00 and answered at 12:05 (300 s).
///
/// agent-1: contacts 4; cases assigned 1, 2, replied 1: reply rate 0.5;
/// times [1800]. agent-2: contacts 3; cases assigned 2, 3, 4, replied 2
/// and 4: 2/3; times [300, 600, 3600]: median (rank 2) 600, p90 (rank 3)
/// 3600.
#[test]
fn responder_rows_count_contacts_replies_and_times() {
    let mut log = Log::default();
    log.open(1, "2026-03-02T08:00:00Z")
        .assign(1, "2026-03-02T09:00:00Z", "agent-1")
        .respond(1, "2026-03-02T09:30:00Z", "agent-1")
        .respond(1, "2026-03-02T10:00:00Z", "agent-1")
        .open(2, "2026-03-02T08:00:00Z")
        .assign(2, "2026-03-02T09:00:00Z", "agent-1")
        .assign(2, "2026-03-02T11:00:00Z", "agent-2")
        .respond(2, "2026-03-02T11:10:00Z", "agent-2")
        .respond(2, "2026-03-02T12:00:00Z", "agent-1")
        .open(3, "2026-03-02T08:00:00Z")
        .assign(3, "2026-03-02T09:00:00Z", "agent-2")
        .respond(3, "2026-03-02T09:20:00Z", "agent-1")
        .open(4, "2026-03-02T08:00:00Z")
        .assign(4, "2026-03-02T09:00:00Z", "agent-2")
        .respond(4, "2026-03-02T10:00:00Z", "agent-2")
        .assign(4, "2026-03-02T12:00:00Z", "agent-2")
        .respond(4, "2026-03-02T12:05:00Z", "agent-2");
    let report = log.report(&by(GroupBy::Responder));
    assert!(report.groups.is_empty());
    let rows: Vec<_> = report
        .responders
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.contacts,
                r.cases_assigned,
                r.cases_replied,
                r.reply_rate,
                r.time_to_respond.count,
                r.time_to_respond.median_s,
                r.time_to_respond.p90_s,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("agent-1", 4, 2, 1, Some(0.5), 1, Some(1800.0), Some(1800.0)),
            (
                "agent-2",
                3,
                3,
                2,
                Some(2.0 / 3.0),
                3,
                Some(600.0),
                Some(3600.0)
            ),
        ]
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["group_by"], "responder");
    assert_eq!(json["groups"][1]["key"], "agent-2");
    assert_eq!(json["groups"][1]["reply_rate"], 2.0 / 3.0);
    assert_eq!(json["groups"][1]["time_to_respond"]["p90_s"], 3600.0);

    // The cohort applies: every case opened on 2 March, so a cohort from 3
    // March has no rows at all.
    let later = log.report(&ReportParams {
        group_by: Some(GroupBy::Responder),
        from: Some(t("2026-03-03T00:00:00Z")),
        ..ReportParams::default()
    });
    assert!(later.responders.is_empty());
}

/// Responder rows are the same from any partition of the cases merged.
#[test]
fn responder_rows_merge() {
    let mut log = Log::default();
    for case in 1..=6u128 {
        let agent = if case % 2 == 0 { "agent-1" } else { "agent-2" };
        log.open(case, "2026-03-02T08:00:00Z")
            .assign(case, "2026-03-02T09:00:00Z", agent);
        if case % 3 != 0 {
            log.respond(case, &format!("2026-03-02T09:{:02}:00Z", case * 5), agent);
        }
    }
    let params = by(GroupBy::Responder);
    let whole = log.report(&params);
    for parts in 2..4u128 {
        let mut accs: Vec<KpiAccumulator> = (0..parts).map(|_| KpiAccumulator::new(None)).collect();
        for (i, e) in log.events.iter().enumerate() {
            accs[(e.case_id.0.as_u128() % parts) as usize].observe(i as u64 + 1, e);
        }
        // A case seen in two accumulators keeps the first's facts and
        // records: a duplicate copy must not count twice.
        let mut merged = KpiAccumulator::new(None);
        merged.replay((1u64..).zip(log.events.iter().filter(|e| e.case_id.0.as_u128() == 1)));
        for acc in accs {
            merged.merge(acc).unwrap();
        }
        // (The duplicate's events are counted in `events`, as for any
        // merge: only the figures are compared.)
        let merged = merged.report(&params);
        assert_eq!(merged.responders, whole.responders, "{parts} parts");
        assert_eq!(merged.overall, whole.overall, "{parts} parts");
    }
    assert_eq!(whole.responders[0].cases_assigned, 3);
}

/// An accumulator that keeps no responder records refuses the report by
/// responder rather than give empty rows, which would say nobody responded;
/// it still gives every other report.
#[test]
#[should_panic(expected = "without_responders")]
fn no_report_by_responder_without_the_records() {
    let mut log = Log::default();
    log.open(1, "2026-03-02T08:00:00Z")
        .assign(1, "2026-03-02T09:00:00Z", "agent-1")
        .respond(1, "2026-03-02T09:05:00Z", "agent-1");
    let mut acc = KpiAccumulator::new(None).without_responders();
    acc.replay((1u64..).zip(&log.events));
    assert_eq!(acc.report(&by(GroupBy::Agent)).overall.cases_opened, 1);
    acc.report(&by(GroupBy::Responder));
}

/// Who handled a case (docs/kpis.md): the agent assigned at its last
/// resolution when resolved at T, else its latest assignee.
///
/// Under the case rules (rule 4: `assigned` only while open) the agent at
/// the last resolution is also the latest assignee of a case resolved at
/// T, so the two readings differ only on a history written past the rules
/// (a store or a bank's export that recorded a hand-over after the
/// resolution); this one is replayed without checking the rules.
///
/// - case 1: agent-1 resolves it, then it goes to agent-2 without being
///   reopened: agent-1's (the latest assignee, agent-2, had it before);
/// - case 2: resolved by agent-1, reopened, reassigned to agent-2, who
///   resolves it again: agent-2's;
/// - case 3: resolved by agent-1, reopened and reassigned to agent-2, open
///   at T: agent-2's (its latest assignee);
/// - case 4: resolved with no one assigned, then assigned: unassigned;
/// - case 5: never assigned: unassigned.
#[test]
fn a_case_counts_for_the_agent_who_resolved_it() {
    let mut log = Log::default();
    log.open(1, "2026-03-02T08:00:00Z")
        .assign(1, "2026-03-02T08:10:00Z", "agent-1")
        .resolve(1, "2026-03-02T09:00:00Z", "agent-1")
        .assign(1, "2026-03-02T10:00:00Z", "agent-2")
        .open(2, "2026-03-02T08:00:00Z")
        .assign(2, "2026-03-02T08:10:00Z", "agent-1")
        .resolve(2, "2026-03-02T09:00:00Z", "agent-1")
        .reopen(2, "2026-03-02T10:00:00Z")
        .assign(2, "2026-03-02T10:10:00Z", "agent-2")
        .resolve(2, "2026-03-02T11:00:00Z", "agent-2")
        .open(3, "2026-03-02T08:00:00Z")
        .assign(3, "2026-03-02T08:10:00Z", "agent-1")
        .resolve(3, "2026-03-02T09:00:00Z", "agent-1")
        .reopen(3, "2026-03-02T10:00:00Z")
        .assign(3, "2026-03-02T10:10:00Z", "agent-2")
        .open(4, "2026-03-02T08:00:00Z")
        .resolve(4, "2026-03-02T09:00:00Z", "agent-1")
        .assign(4, "2026-03-02T10:00:00Z", "agent-1")
        .open(5, "2026-03-02T08:00:00Z");
    let mut acc = KpiAccumulator::new(None);
    acc.replay((1u64..).zip(&log.events));
    let report = acc.report(&by(GroupBy::Agent));
    let rows: Vec<(&str, u64, u64)> = report
        .groups
        .iter()
        .map(|g| (g.key.as_str(), g.kpis.cases_opened, g.kpis.cases_resolved))
        .collect();
    assert_eq!(
        rows,
        [("agent-1", 1, 1), ("agent-2", 2, 1), ("unassigned", 2, 1)]
    );
    // Merged from any partition, the same attribution.
    let mut merged = KpiAccumulator::new(None);
    for part in 0..2u128 {
        let mut acc = KpiAccumulator::new(None);
        acc.replay(
            (1u64..)
                .zip(&log.events)
                .filter(|(_, e)| e.case_id.0.as_u128() % 2 == part),
        );
        merged.merge(acc).unwrap();
    }
    assert_eq!(merged.report(&by(GroupBy::Agent)).groups, report.groups);
}
