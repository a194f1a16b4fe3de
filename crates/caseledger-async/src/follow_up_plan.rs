//! The follow-up plan applied through the async service:
//! [`caseledger::follow_up_plan::apply`]'s face for a service on an async
//! runtime. The plan itself (candidates, the cap, due times) is made by
//! the domain crate's `plan`, which waits on nothing.

use caseledger::follow_up_plan::{
    AppliedCall, CallStep, FollowUpFacts, Plan, call_answered, call_to_record,
};
use caseledger::{Actor, IdSource};

use crate::{AsyncCaseService, AsyncEventLog};

/// Records the calls of `plan` through `service`, in the plan's order, by
/// `actor`: the very steps and answers of the blocking
/// [`caseledger::follow_up_plan::apply`] (see there: each call's
/// `follow_up_scheduled` with its derived event id, the rules and the cap
/// checked again, a call recorded before answered as already recorded, a
/// case with events after the start of the day refused), one call after
/// the other, awaiting the log for each.
///
/// Dropping the future between calls leaves the calls before recorded and
/// the rest not; applying the same plan again records only those (the
/// others come back as already recorded).
pub async fn apply<L: AsyncEventLog, I: IdSource>(
    service: &AsyncCaseService<L, I>,
    facts: &FollowUpFacts,
    plan: &Plan,
    actor: &Actor,
) -> Vec<AppliedCall<L::Error>> {
    let mut applied = Vec::with_capacity(plan.calls.len());
    for call in &plan.calls {
        applied.push(match call_to_record(facts, plan, call, actor) {
            CallStep::Record(command) => {
                call_answered(plan, call, service.execute_command(command).await)
            }
            CallStep::Settled(refused) => refused,
        });
    }
    applied
}
