//! Shared helpers for the domain crate's integration tests: a fixed clock,
//! event and action builders, and a given/when/then scenario.
#![allow(dead_code, clippy::unwrap_used)]

use caseledger::*;
use chrono::{DateTime, Duration, TimeZone, Utc};

/// The case every scenario is about.
pub const CASE: CaseId = CaseId::from_u128(0xC0FFEE);

/// Minute `m` after 2026-03-02 09:00 UTC.
pub fn t(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(m)
}

pub fn agent(name: &str) -> Actor {
    Actor::parse(name).unwrap()
}

pub fn opened() -> Opened {
    Opened {
        customer_id: CustomerId::new("C-1001").unwrap(),
        channel: Channel::Phone,
        tier: Tier::Vip,
        summary: Some("card blocked abroad".into()),
        origin: caseledger::Origin::Customer,
    }
}

pub fn classified(category: Category) -> Classified {
    Classified {
        category,
        topic: Topic::Card,
        priority: Priority::High,
    }
}

pub fn assigned(name: &str) -> Assigned {
    Assigned {
        agent: AgentId::new(name).unwrap(),
        team: Some(TeamId::new("cards").unwrap()),
    }
}

pub fn escalated(level: i64) -> Escalated {
    Escalated {
        level: EscalationLevel::new(level).unwrap(),
        team: None,
        reason: None,
    }
}

pub fn follow_up(due_minute: i64) -> FollowUpScheduled {
    FollowUpScheduled {
        due: t(due_minute),
        purpose: FollowUpPurpose::ProblemCheck,
        channel: Channel::Phone,
    }
}

pub fn survey(score: i64) -> Surveyed {
    Surveyed::new(Score::new(score).unwrap())
}

/// The event a command with this data would record: for `given` histories.
pub fn event(n: u128, minute: i64, data: EventData) -> Event {
    Event {
        event_id: EventId::from_u128(n),
        case_id: CASE,
        at: t(minute),
        actor: agent("agent-1"),
        data,
    }
}

/// A given/when/then scenario against the decider.
pub struct Scenario {
    state: CaseState,
    minute: i64,
    next_id: u128,
}

/// Starts a scenario with a history of event data, one minute apart.
pub fn given(history: Vec<EventData>) -> Scenario {
    let mut s = Scenario {
        state: CaseState::initial(),
        minute: 0,
        next_id: 1,
    };
    for data in history {
        let e = event(s.next_id, s.minute, data);
        s.state = s.state.apply(&e).unwrap();
        s.next_id += 1;
        s.minute += 1;
    }
    s
}

/// The history of an open, classified case.
pub fn open_classified() -> Vec<EventData> {
    vec![
        EventData::Opened(opened()),
        EventData::Classified(classified(Category::Complaint)),
    ]
}

/// A deadline extension to `days`, approved by `lead-1`.
pub fn extension(days: i64) -> DeadlineExtended {
    DeadlineExtended {
        days: ExtensionDays::new(days).unwrap(),
        approved_by: AgentId::new("lead-1").unwrap(),
        reason: "external appraisal".into(),
    }
}

/// The history of a resolved case.
pub fn resolved() -> Vec<EventData> {
    let mut h = open_classified();
    h.push(EventData::Resolved(Resolved::default()));
    h
}

impl Scenario {
    pub fn state(&self) -> &CaseState {
        &self.state
    }

    /// Decides `action` by `agent-2` at the next minute.
    pub fn when(&self, action: Action) -> Then {
        self.when_at(self.minute, action)
    }

    /// Decides `action` at minute `minute`.
    pub fn when_at(&self, minute: i64, action: Action) -> Then {
        let command = Command {
            case_id: CASE,
            event_id: EventId::from_u128(1000),
            at: t(minute),
            actor: agent("agent-2"),
            action,
        };
        let before = self.state.clone();
        let result = decide(&self.state, &command);
        assert_eq!(before, self.state, "decide must not change the state");
        Then {
            state: self.state.clone(),
            result,
        }
    }
}

/// The outcome of a `when`.
pub struct Then {
    state: CaseState,
    result: Result<Vec<Event>, CaseError>,
}

impl Then {
    /// Asserts the command recorded exactly these event data; returns the new state.
    pub fn then_records(self, expected: Vec<EventData>) -> CaseState {
        let events = self.result.unwrap();
        let got: Vec<EventData> = events.iter().map(|e| e.data.clone()).collect();
        assert_eq!(got, expected);
        events.iter().fold(self.state, |s, e| s.apply(e).unwrap())
    }

    /// Asserts the command was refused for this violation.
    pub fn then_refused(self, violation: Violation) -> CaseError {
        let err = self.result.unwrap_err();
        assert_eq!(err.violation, violation);
        assert_eq!(err.case_id, CASE);
        assert_eq!(err.status, self.state.status());
        err
    }
}
