//! An embedding program's own projection over the same events: the open
//! workload of each agent, and how many contacts cases needed by channel.
//! Cases are recorded through the application service, as a bank system
//! would, into the in-memory log.
//!
//! Run: `cargo run --example custom_projection`

use std::collections::BTreeMap;

use caseledger::prelude::*;
use caseledger_ids::UuidV7Ids;
use chrono::{DateTime, Duration, TimeZone, Utc};

/// Open cases per agent and contacts per channel, folded from events.
#[derive(Default, Debug)]
struct Workload {
    channel_of: BTreeMap<CaseId, Channel>,
    agent_of: BTreeMap<CaseId, AgentId>,
    open: BTreeMap<CaseId, bool>,
    contacts_by_channel: BTreeMap<Channel, u32>,
}

impl Workload {
    fn observe(&mut self, e: &Event) {
        match &e.data {
            EventData::Opened(o) => {
                self.channel_of.insert(e.case_id, o.channel);
                self.open.insert(e.case_id, true);
            }
            EventData::Assigned(a) => {
                self.agent_of.insert(e.case_id, a.agent.clone());
            }
            EventData::Responded => {
                if let Some(c) = self.channel_of.get(&e.case_id) {
                    *self.contacts_by_channel.entry(*c).or_default() += 1;
                }
            }
            EventData::Resolved(_) | EventData::Closed => {
                self.open.insert(e.case_id, false);
            }
            EventData::Reopened(_) => {
                self.open.insert(e.case_id, true);
            }
            _ => {}
        }
    }

    fn open_per_agent(&self) -> BTreeMap<&AgentId, usize> {
        let mut out = BTreeMap::new();
        for (case, agent) in &self.agent_of {
            if self.open.get(case) == Some(&true) {
                *out.entry(agent).or_default() += 1;
            }
        }
        out
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = CaseService::new(InMemoryEventLog::new(), UuidV7Ids::new());
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .ok_or("bad date")?;
    let agents = ["agent-01", "agent-02", "agent-03"];
    for n in 0..12u32 {
        let case = CaseId::from_u128(u128::from(n) + 1);
        let at = start + Duration::minutes(i64::from(n) * 7);
        let agent = Actor::parse(agents[n as usize % agents.len()])?;
        let channel = Channel::ALL[n as usize % Channel::ALL.len()];
        let open = Opened {
            customer_id: CustomerId::new(format!("C-{:04}", n % 5))?,
            channel,
            tier: Tier::Standard,
            summary: None,
            origin: caseledger::Origin::Customer,
        };
        service.execute(case, at, Actor::System, Action::Open(open))?;
        let class = Classified {
            category: Category::Inquiry,
            topic: Topic::Account,
            priority: Priority::Normal,
        };
        service.execute(case, at, agent.clone(), Action::Classify(class))?;
        let assignee = Assigned {
            agent: AgentId::new(agent.as_str())?,
            team: None,
        };
        service.execute(case, at, agent.clone(), Action::Assign(assignee))?;
        for _ in 0..=(n % 3) {
            service.execute(
                case,
                at + Duration::minutes(5),
                agent.clone(),
                Action::Respond,
            )?;
        }
        if n % 2 == 0 {
            let done = at + Duration::minutes(30);
            service.execute(case, done, agent, Action::Resolve(Resolved::default()))?;
        }
    }

    let mut workload = Workload::default();
    for recorded in service.log().read_all(1)? {
        workload.observe(&recorded?.event);
    }
    println!("open cases per agent:");
    for (agent, n) in workload.open_per_agent() {
        println!("  {agent:<10} {n}");
    }
    println!("contacts by channel:");
    for (channel, n) in &workload.contacts_by_channel {
        println!("  {:<10} {n}", channel.as_str());
    }
    Ok(())
}
