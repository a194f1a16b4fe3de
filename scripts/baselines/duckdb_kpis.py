"""DuckDB baseline for docs/performance.md: the overall figures of
`caseledger report` (docs/kpis.md, default policies) as DuckDB SQL over the
JSON Lines that `caseledger export` writes. `caseledger bench` runs it beside
`caseledger report`, on the same events, and stops if any figure differs.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install duckdb
    /tmp/venv/bin/python scripts/baselines/duckdb_kpis.py EXPORT.jsonl [--threads N] [--time]

Written the way a DuckDB user who knows the engine would write it: the
events are parsed once into a typed table; every per-case fact is one
GROUP BY with FILTERed aggregates and arg_max; repeats are a RANGE window
over each (customer, topic); the follow-up cap is an equi-join on the
customer and a 30-day bucket of the due time (a follow-up can only be too
close to one in its own or a neighbouring bucket). No correlated subquery.

The complaint deadlines follow the regime rule of docs/kpis.md
("Complaint deadlines") under the default complaint policy and calendar:
every complaint is `cn-2020` (15 calendar days, extended to 30 then 60), the
calendar is UTC with every day a working day, so a deadline is the UTC
midnight that ends the last counted day: (day of `opened` + days + 1) x
86,400,000 ms. An extension counts when it is the regime's next step and is
recorded strictly before the deadline then in force; the next step recorded
at or after it is late. A store reported with another policy or calendar
(`report --complaint-policy/--calendar/--sla-policy`) needs other SQL.

Protocol (docs/performance.md): `{"definitions": {...}, "overall": {...}}`
on stdout, with the keys of `caseledger report --format json` in `overall`
(`definitions` declares the regime deadlines, issue 19's `fcr_rate` and the
`on_time_rate` that counts overdue follow-ups (report schema 4), so
the bench compares those figures too); with --time, "duckdb_seconds S"
on stderr (load and query, without the interpreter's start). CI runs it
over a small store (tests/bench.rs, through `bench --only duckdb`) to check
that it still computes the report's figures; its timing is not run by CI.
"""
import argparse
import json
import sys
import time

import duckdb

DAY_MS = 86_400_000
WINDOW_MS = 30 * DAY_MS  # repeats and the follow-up cap: 30 days

LOAD = """
SET TimeZone = 'UTC';
CREATE TEMP TABLE ev AS
SELECT position AS pos, case_id, type, epoch_ms("at") AS ms, data
FROM read_json($path, format = 'newline_delimited', columns = {
  position: 'BIGINT', case_id: 'VARCHAR', type: 'VARCHAR', "at": 'TIMESTAMPTZ',
  data: 'STRUCT(customer_id VARCHAR, category VARCHAR, topic VARCHAR, priority VARCHAR,
                agent VARCHAR, score INTEGER, due TIMESTAMPTZ, outcome VARCHAR, days INTEGER)'});
"""

# One row per case, as of T (the latest event): its facts in one pass.
CASES = """
CREATE TEMP TABLE cs AS
WITH agg AS (
  SELECT case_id,
    min(ms) FILTER (WHERE type = 'opened') AS opened,
    arg_min(data.customer_id, pos) FILTER (WHERE type = 'opened') AS customer,
    arg_max(data.category, pos) FILTER (WHERE type = 'classified') AS category,
    arg_max(data.topic, pos) FILTER (WHERE type = 'classified') AS topic,
    coalesce(arg_max(data.priority, pos) FILTER (WHERE type = 'classified'), 'normal') AS priority,
    arg_max(type, pos) FILTER (WHERE type IN ('opened', 'resolved', 'reopened', 'closed'))
      IN ('resolved', 'closed') AS is_res,
    min(ms) FILTER (WHERE type = 'responded') AS first_resp,
    arg_max(ms, pos) FILTER (WHERE type = 'resolved') AS last_res,
    min(pos) FILTER (WHERE type = 'resolved') AS first_res_pos,
    list(pos) FILTER (WHERE type = 'responded') AS resp_pos,
    bool_or(type = 'escalated') AS escalated,
    bool_or(type = 'reopened') AS reopened,
    count(DISTINCT data.agent) FILTER (WHERE type = 'assigned') AS agents,
    count(*) FILTER (WHERE type = 'surveyed') AS surveys,
    bool_or(type = 'follow_up_completed' AND data.outcome = 'not_resolved') AS fu_not_resolved,
    list({p: pos, t: ms, d: data.days} ORDER BY pos) FILTER (WHERE type = 'deadline_extended') AS ext
  FROM ev GROUP BY case_id),
-- Waits on the customer: from each awaiting_customer to the next event that
-- ends it, or to T (docs/kpis.md, SLA); the resolution clock leaves them out.
waits AS (
  SELECT case_id, sum(coalesce(until, (SELECT max(ms) FROM ev)) - ms) AS wait_ms FROM (
    SELECT case_id, type, ms, lead(ms) OVER (PARTITION BY case_id ORDER BY pos) AS until
    FROM ev WHERE type IN ('awaiting_customer', 'customer_replied', 'resolved', 'reopened', 'closed'))
  WHERE type = 'awaiting_customer' GROUP BY case_id)
SELECT agg.* EXCLUDE (resp_pos), coalesce(waits.wait_ms, 0) AS wait_ms,
  first_res_pos IS NOT NULL AS ever_res,
  len(list_filter(coalesce(resp_pos, []), lambda p: p < first_res_pos)) AS resp_before_res,
  CASE WHEN is_res THEN last_res - opened END AS res_ms
FROM agg LEFT JOIN waits USING (case_id) WHERE opened IS NOT NULL
"""

# The verdicts: SLA (default policy, calendar hours, the resolution part net
# of the waits on the customer) and the complaint
# deadline of cn-2020 replayed over the case's extensions.
VERDICTS = """
CREATE TEMP TABLE vd AS
WITH t AS (SELECT max(ms) AS t FROM ev),
sla AS (
  SELECT cs.*, t.t,
    CASE priority WHEN 'urgent' THEN 3600000 WHEN 'high' THEN 14400000
                  WHEN 'low' THEN 259200000 ELSE 86400000 END AS resp_tgt,
    CASE priority WHEN 'urgent' THEN 86400000 WHEN 'high' THEN 259200000
                  WHEN 'low' THEN 1209600000 ELSE 604800000 END AS res_tgt,
    (opened // {day}) * {day} AS day0
  FROM cs, t),
step30 AS (
  SELECT *, day0 + 16 * {day}::BIGINT AS d15,
    list_filter(coalesce(ext, []), lambda x: x.d = 30 AND x.t < day0 + 16 * {day}::BIGINT)[1] AS g30
  FROM sla),
step60 AS (
  SELECT *,
    CASE WHEN g30 IS NOT NULL THEN
      list_filter(ext, lambda x: x.d = 60 AND x.p > g30.p AND x.t < day0 + 31 * {day}::BIGINT)[1] END AS g60
  FROM step30)
SELECT *,
  CASE WHEN first_resp IS NOT NULL THEN (CASE WHEN first_resp - opened <= resp_tgt THEN 'met' ELSE 'breached' END)
       WHEN t - opened > resp_tgt THEN 'breached' ELSE 'pending' END AS resp_part,
  CASE WHEN is_res THEN (CASE WHEN res_ms - wait_ms <= res_tgt THEN 'met' ELSE 'breached' END)
       WHEN t - opened - wait_ms > res_tgt THEN 'breached' ELSE 'pending' END AS res_part,
  CASE WHEN g60 IS NOT NULL THEN day0 + 61 * {day}::BIGINT
       WHEN g30 IS NOT NULL THEN day0 + 31 * {day}::BIGINT ELSE d15 END AS deadline,
  len(list_filter(coalesce(ext, []), lambda x: x.d = 30 AND x.t >= d15 AND (g30 IS NULL OR x.p < g30.p)))
  + CASE WHEN g30 IS NULL THEN 0 ELSE len(list_filter(ext, lambda x: x.d = 60 AND x.p > g30.p
          AND x.t >= day0 + 31 * {day}::BIGINT AND (g60 IS NULL OR x.p < g60.p))) END AS late_ext
FROM step60
""".format(day=DAY_MS)

# Repeats: an earlier case (strictly) of the same customer and topic at most
# 30 days before, found by a RANGE frame that ends 1 ms before this case.
REPEATS = f"""
SELECT count(*) FILTER (WHERE earlier > 0) AS repeats FROM (
  SELECT count(*) OVER (PARTITION BY customer, topic ORDER BY opened
                        RANGE BETWEEN {WINDOW_MS} PRECEDING AND 1 PRECEDING) AS earlier
  FROM cs WHERE topic IS NOT NULL)
"""

# Follow-ups: each completion against the due time of the latest schedule
# before it; a schedule that the case's next follow-up event does not
# complete (a completion answers the latest schedule) and whose due time is
# before T is overdue, and counts against the on-time rate; the cap as a semi-join of each schedule with the customer's
# schedules recorded before it whose due times differ by less than 30 days.
FOLLOW_UPS = f"""
WITH fu AS (
  SELECT case_id, pos, ms, type, data.outcome AS outcome,
    epoch_ms(data.due) AS due,
    last_value(epoch_ms(data.due) IGNORE NULLS) OVER (
      PARTITION BY case_id ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS due_before,
    lead(type) OVER (PARTITION BY case_id ORDER BY pos) AS next_type
  FROM ev WHERE type IN ('follow_up_scheduled', 'follow_up_completed')),
sched AS (
  SELECT fu.pos, fu.ms, fu.due, cs.customer, fu.due // {WINDOW_MS} AS bucket
  FROM fu JOIN cs USING (case_id) WHERE fu.type = 'follow_up_scheduled'),
near AS (SELECT s.*, s.bucket + k AS probe FROM sched s, (VALUES (-1), (0), (1)) AS n(k)),
viol AS (
  SELECT count(*) AS n FROM sched a SEMI JOIN near b
    ON b.customer = a.customer AND b.probe = a.bucket
   AND abs(b.due - a.due) < {WINDOW_MS}
   AND (b.ms < a.ms OR (b.ms = a.ms AND b.pos < a.pos)))
SELECT
  count(*) FILTER (WHERE type = 'follow_up_scheduled') AS scheduled,
  count(*) FILTER (WHERE type = 'follow_up_completed') AS completed,
  count(*) FILTER (WHERE type = 'follow_up_completed' AND ms <= due_before) AS on_time,
  count(*) FILTER (WHERE type = 'follow_up_scheduled' AND next_type IS DISTINCT FROM 'follow_up_completed'
                   AND due < (SELECT max(ms) FROM ev)) AS overdue,
  count(*) FILTER (WHERE outcome = 'confirmed') AS confirmed,
  count(*) FILTER (WHERE outcome = 'not_resolved') AS not_resolved,
  count(*) FILTER (WHERE outcome = 'unreachable') AS unreachable,
  (SELECT n FROM viol) AS cap_violations
FROM fu JOIN cs USING (case_id)
"""

# Per-case counts, and the duration lists sorted once for nearest-rank
# percentiles (rank ceil(p * n / 100), in integers).
OVERALL = """
SELECT
  count(*) AS opened,
  count(*) FILTER (WHERE is_res) AS resolved,
  count(*) FILTER (WHERE is_res AND NOT escalated AND NOT reopened AND agents <= 1
                   AND resp_before_res <= 1 AND NOT coalesce(fu_not_resolved, false)) AS fcr,
  count(*) FILTER (WHERE escalated) AS escalated,
  count(*) FILTER (WHERE reopened) AS reopened,
  count(*) FILTER (WHERE ever_res) AS ever_res,
  count(*) FILTER (WHERE resp_part = 'met' AND res_part = 'met') AS sla_met,
  count(*) FILTER (WHERE resp_part = 'breached' OR res_part = 'breached') AS sla_breached,
  count(*) FILTER (WHERE is_res AND surveys > 0) AS surveyed_resolved,
  count(*) FILTER (WHERE category = 'complaint') AS complaints,
  count(*) FILTER (WHERE category = 'complaint' AND is_res AND last_res < deadline) AS c_within,
  count(*) FILTER (WHERE category = 'complaint' AND ((is_res AND last_res >= deadline)
                                                     OR (NOT is_res AND t >= deadline))) AS c_overdue,
  count(*) FILTER (WHERE category = 'complaint' AND NOT is_res AND t < deadline) AS c_pending,
  count(*) FILTER (WHERE category = 'complaint' AND ext IS NOT NULL) AS c_extended,
  coalesce(sum(late_ext) FILTER (WHERE category = 'complaint'), 0) AS c_late,
  list_sort(list(first_resp - opened) FILTER (WHERE first_resp IS NOT NULL)) AS fr,
  list_sort(list(res_ms) FILTER (WHERE is_res)) AS rt,
  list_sort(list(res_ms) FILTER (WHERE is_res AND category = 'complaint')) AS ct
FROM vd
"""

SURVEYS = """
SELECT count(*) AS responses, avg(data.score) AS mean,
       count(*) FILTER (WHERE data.score >= 4) AS satisfied
FROM ev JOIN cs USING (case_id) WHERE type = 'surveyed'
"""


def rate(a, b):
    return None if not b else a / b


def stats(ms):
    """Statistics of a sorted list of durations in ms (docs/kpis.md)."""
    n = len(ms)
    if n == 0:
        return {"count": 0, "mean_s": None, "median_s": None, "p90_s": None}
    return {"count": n, "mean_s": sum(ms) / n / 1000.0,
            "median_s": ms[(50 * n + 99) // 100 - 1] / 1000.0,
            "p90_s": ms[(90 * n + 99) // 100 - 1] / 1000.0}


def row(con, sql):
    cur = con.execute(sql)
    return dict(zip([d[0] for d in cur.description], cur.fetchone()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time", action="store_true")
    a = ap.parse_args()
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    con.execute(LOAD, {"path": a.events})
    con.execute(CASES)
    con.execute(VERDICTS)
    o = row(con, OVERALL)
    rep = row(con, REPEATS)
    fu = row(con, FOLLOW_UPS)
    sv = row(con, SURVEYS)
    elapsed = time.perf_counter() - start

    within, overdue = o["c_within"], o["c_overdue"]
    regime = {"count": o["complaints"], "within_deadline": within, "overdue": overdue,
              "pending": o["c_pending"], "extended": o["c_extended"],
              "deadline_rate": rate(within, within + overdue)}
    overall = {
        "cases_opened": o["opened"], "cases_resolved": o["resolved"],
        "backlog": o["opened"] - o["resolved"],
        "resolution_rate": rate(o["resolved"], o["opened"]),
        "first_response": stats(o["fr"] or []), "resolution_time": stats(o["rt"] or []),
        "fcr_rate": rate(o["fcr"], o["resolved"]),
        "escalation_rate": rate(o["escalated"], o["opened"]),
        "reopen_rate": rate(o["reopened"], o["ever_res"]),
        "sla": {"met": o["sla_met"], "breached": o["sla_breached"],
                "pending": o["opened"] - o["sla_met"] - o["sla_breached"],
                "met_rate": rate(o["sla_met"], o["sla_met"] + o["sla_breached"])},
        "complaints": {**regime, "rate": rate(o["complaints"], o["opened"]),
                       "resolution_time": stats(o["ct"] or []), "late_extensions": int(o["c_late"]),
                       "by_regime": {"cn-2020": regime} if o["complaints"] else {}},
        "csat": {"responses": sv["responses"], "mean_score": sv["mean"],
                 "satisfied_share": rate(sv["satisfied"], sv["responses"])},
        "survey_response_rate": rate(o["surveyed_resolved"], o["resolved"]),
        "repeat_rate": rate(rep["repeats"], o["opened"]),
        "follow_up": {"scheduled": fu["scheduled"], "completed": fu["completed"],
                      "overdue": fu["overdue"],
                      "on_time_rate": rate(fu["on_time"], fu["completed"] + fu["overdue"]),
                      "cap_violations": fu["cap_violations"], "confirmed": fu["confirmed"],
                      "not_resolved": fu["not_resolved"], "unreachable": fu["unreachable"],
                      "confirmed_rate": rate(fu["confirmed"], fu["completed"])},
    }
    # The definitions declared, so that `caseledger bench` compares these
    # figures too (docs/performance.md, the scripts' protocol).
    definitions = {"complaint_deadlines": "regime", "fcr_rate": "not_resolved_follow_up",
                   "follow_up_on_time_rate": "overdue_counted"}
    json.dump({"definitions": definitions, "overall": overall}, sys.stdout, indent=1, sort_keys=True)
    print()
    if a.time:
        print(f"duckdb_seconds {elapsed:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
