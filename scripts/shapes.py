#!/usr/bin/env python3
"""Writes event histories of shapes the generator does not make, as JSON
Lines for `caseledger import` (docs/events.md), on stdout.

    scripts/shapes.py SHAPE N [--zone +08:00] > events.jsonl

SHAPE (N scales the number of events, about linearly):
  bigcase    one case of about N events: N/13 cycles of assignment to a new
             agent and team, response, wait and reply, reclassification,
             resolution, survey, follow-up scheduled and completed
             `not_resolved`, reopening, and a quality review by a new
             reviewer; the first three cycles escalate; resolved and closed
             at the end. One minute between events.
  bigcase-ties  the same case with every event at one instant.
  burst      about N/6 cases of one customer, every event at one instant
             (2026-03-02T09:00Z): opened, classified, assigned (50 agents),
             responded, resolved, a survey, and for every other case a
             follow-up scheduled (all due at one instant): the others are
             all candidates of `follow-ups plan --on 2026-03-06`.
  one-agent  N/7 cases over a year, 1,000 customers, every event by one
             agent (agent-1), the same seven events a case.
  many-agents  the same, each case by its own agent.

Event ids are given (deterministic), so that equal lines stay distinct
events. Times are written with the offset `--zone` (default `Z`), which
the import normalises to UTC.
"""

import json
import sys
from datetime import datetime, timedelta, timezone

BASE = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)


def main():
    args = sys.argv[1:]
    zone = "Z"
    if "--zone" in args:
        i = args.index("--zone")
        zone = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    shape, n = args[0], int(args[1])
    if zone == "Z":
        tz = timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        h, m = zone[1:].split(":")
        tz = timezone(sign * timedelta(hours=int(h), minutes=int(m)))
    out = sys.stdout
    seq = [0]

    def stamp(t):
        s = t.astimezone(tz).isoformat(timespec="milliseconds")
        return s.replace("+00:00", "Z") if zone == "Z" else s

    def emit(case, typ, t, actor, data):
        seq[0] += 1
        out.write(
            json.dumps(
                {
                    "case_id": f"{case:08x}-0000-4000-8000-000000000000",
                    "type": typ,
                    "at": stamp(t),
                    "actor": actor,
                    "event_id": f"{case:08x}-0000-4000-9000-{seq[0]:012x}",
                    "data": data,
                },
                separators=(",", ":"),
            )
            + "\n"
        )

    if shape in ("bigcase", "bigcase-ties"):
        step = timedelta(0) if shape == "bigcase-ties" else timedelta(minutes=1)
        t = [BASE]

        def ev(typ, actor, data):
            emit(1, typ, t[0], actor, data)
            t[0] += step

        ev("opened", "agent-0", {"customer_id": "C-1", "channel": "phone"})
        complaint = {"category": "complaint", "topic": "card", "priority": "high"}
        ev("classified", "agent-0", complaint)
        for i in range(max(1, n // 13)):
            a = f"agent-{i + 1}"
            ev("assigned", a, {"agent": a, "team": f"team-{i + 1}"})
            ev("responded", a, {})
            ev("awaiting_customer", a, {"reason": "documents"})
            ev("customer_replied", "customer", {})
            ev("classified", a, complaint)
            if i < 3:
                ev("escalated", a, {"level": i + 1})
            ev("resolved", a, {"root_cause": "process_gap"})
            ev("surveyed", "customer", {"score": 1 + i % 5})
            due = stamp(t[0] + timedelta(days=1))
            ev("follow_up_scheduled", a, {"due": due, "purpose": "problem_check", "channel": "phone"})
            ev("follow_up_completed", a, {"outcome": "not_resolved"})
            r = f"reviewer-{i + 1}"
            ev("qa_reviewed", r, {"reviewer": r, "score": 50 + i % 50})
            ev("reopened", a, {})
        ev("resolved", "agent-0", {"root_cause": "process_gap"})
        ev("closed", "agent-0", {})
    elif shape == "burst":
        due = stamp(BASE + timedelta(days=2))
        cases = max(1, n // 6)
        for c in range(1, cases + 1):
            a = f"agent-{c % 50}"
            emit(c, "opened", BASE, a, {"customer_id": "C-1", "channel": "chat"})
        for c in range(1, cases + 1):
            a = f"agent-{c % 50}"
            emit(c, "classified", BASE, a, {"category": "inquiry", "topic": "card", "priority": "normal"})
            emit(c, "assigned", BASE, a, {"agent": a, "team": "team-1"})
            emit(c, "responded", BASE, a, {})
            emit(c, "resolved", BASE, a, {})
            emit(c, "surveyed", BASE, "customer", {"score": 4})
            if c % 2:
                emit(c, "follow_up_scheduled", BASE, a, {"due": due, "purpose": "feedback", "channel": "phone"})
    elif shape in ("one-agent", "many-agents"):
        cases = max(1, n // 7)
        for c in range(1, cases + 1):
            a = "agent-1" if shape == "one-agent" else f"agent-{c}"
            t = BASE + timedelta(seconds=c * 365 * 86400 // cases)
            cust = {"customer_id": f"C-{c % 1000}", "channel": "email"}
            emit(c, "opened", t, "customer", cust)
            t += timedelta(minutes=5)
            emit(c, "classified", t, a, {"category": "inquiry", "topic": "loan", "priority": "normal"})
            emit(c, "assigned", t, a, {"agent": a, "team": "team-1"})
            t += timedelta(hours=1)
            emit(c, "responded", t, a, {})
            t += timedelta(hours=3)
            emit(c, "resolved", t, a, {})
            emit(c, "surveyed", t + timedelta(hours=1), "customer", {"score": 5})
            emit(c, "closed", t + timedelta(days=7), a, {})
    else:
        sys.exit(f"unknown shape {shape}\n{__doc__}")


main()
