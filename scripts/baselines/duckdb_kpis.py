"""DuckDB baseline for docs/performance.md: the KPI set of docs/kpis.md as SQL
over the JSON Lines that `caseledger export` writes (repeats and the
follow-up cap as correlated subqueries, the way the figures read).
`caseledger bench` runs it beside `caseledger report`, on the same events.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install duckdb
    /tmp/venv/bin/python scripts/baselines/duckdb_kpis.py EXPORT.jsonl [--threads N] [--time] [--simple]

It speaks the protocol `caseledger bench` expects of a DuckDB baseline
(docs/performance.md): the overall figures it computes as JSON on stdout,
`{"overall": {...}}` with the keys of `caseledger report --format json`, and
with --time "duckdb_seconds S" on stderr (load and query, without the
interpreter's start). --simple runs the simple query instead (counts, one
mean, one rate) and prints its row. Not run by CI.
"""
import argparse
import decimal
import json
import sys
import time

import duckdb

SIMPLE = """
SELECT count(*) FILTER (WHERE type = 'opened') AS opened,
       count(*) FILTER (WHERE type = 'resolved') AS resolved,
       avg(epoch("at"::TIMESTAMPTZ)) AS mean_at
FROM read_json('{path}', format = 'newline_delimited')
"""

# Per-case facts as of T (the latest event), then the figures: the same
# definitions as docs/kpis.md, nearest-rank percentiles (quantile_disc).
# "at" is quoted: newer DuckDB versions reserve the word.
FULL = """
WITH ev AS (
  SELECT case_id, type, "at"::TIMESTAMPTZ AS "at", actor, data, position
  FROM read_json('{path}', format = 'newline_delimited',
                 columns = {{case_id: 'VARCHAR', type: 'VARCHAR', "at": 'VARCHAR', actor: 'VARCHAR',
                            event_id: 'VARCHAR', position: 'BIGINT', recorded_at: 'VARCHAR',
                            data: 'JSON'}})
),
t AS (SELECT max("at") AS t FROM ev),
o AS (SELECT case_id, min("at") AS opened_at, any_value(data->>'customer_id') AS customer
      FROM ev WHERE type = 'opened' GROUP BY case_id),
c AS (SELECT case_id,
        arg_max(data->>'category', position) FILTER (WHERE type = 'classified') AS category,
        arg_max(data->>'topic', position) FILTER (WHERE type = 'classified') AS topic,
        arg_max(data->>'priority', position) FILTER (WHERE type = 'classified') AS priority,
        arg_max(type, position) FILTER (WHERE type IN ('opened','resolved','reopened','closed')) AS last_state,
        min("at") FILTER (WHERE type = 'responded') AS first_response,
        max("at") FILTER (WHERE type = 'resolved') AS last_resolved,
        min(position) FILTER (WHERE type = 'resolved') AS first_resolved_pos,
        count(*) FILTER (WHERE type = 'resolved') AS resolutions,
        bool_or(type = 'escalated') AS escalated,
        bool_or(type = 'reopened') AS reopened,
        count(DISTINCT data->>'agent') FILTER (WHERE type = 'assigned') AS agents,
        count(*) FILTER (WHERE type = 'surveyed') AS surveys,
        sum((data->>'score')::INT) FILTER (WHERE type = 'surveyed') AS score_sum,
        count(*) FILTER (WHERE type = 'surveyed' AND (data->>'score')::INT >= 4) AS satisfied,
        count(*) FILTER (WHERE type = 'follow_up_scheduled') AS fu_scheduled,
        count(*) FILTER (WHERE type = 'follow_up_completed') AS fu_completed
      FROM ev GROUP BY case_id),
rb AS (SELECT e.case_id, count(*) AS before_first
       FROM ev e JOIN c USING (case_id)
       WHERE e.type = 'responded' AND (c.first_resolved_pos IS NULL OR e.position < c.first_resolved_pos)
       GROUP BY e.case_id),
fu AS (SELECT case_id, type, "at", position,
         (data->>'due')::TIMESTAMPTZ AS due,
         lag((data->>'due')::TIMESTAMPTZ) OVER (PARTITION BY case_id ORDER BY position) AS prev_due
       FROM ev WHERE type IN ('follow_up_scheduled', 'follow_up_completed')),
ontime AS (SELECT case_id, count(*) AS on_time FROM fu
           WHERE type = 'follow_up_completed' AND "at" <= prev_due GROUP BY case_id),
sched AS (SELECT f.case_id, o.customer, f."at", f.position, f.due
          FROM fu f JOIN o USING (case_id) WHERE f.type = 'follow_up_scheduled'),
cap AS (SELECT a.case_id, count(*) AS violations FROM sched a
        WHERE EXISTS (SELECT 1 FROM sched b WHERE b.customer = a.customer
                      AND (b."at" < a."at" OR (b."at" = a."at" AND b.position < a.position))
                      AND abs(epoch(b.due) - epoch(a.due)) < 30 * 86400)
        GROUP BY a.case_id),
f AS (
  SELECT o.case_id, o.customer, o.opened_at, c.*, coalesce(rb.before_first, 0) AS before_first,
         coalesce(ontime.on_time, 0) AS on_time, coalesce(cap.violations, 0) AS cap_violations,
         c.last_state IN ('resolved', 'closed') AS is_resolved,
         epoch(c.first_response) - epoch(o.opened_at) AS frt,
         CASE WHEN c.last_state IN ('resolved', 'closed') THEN epoch(c.last_resolved) - epoch(o.opened_at) END AS rt,
         epoch((SELECT t FROM t)) - epoch(o.opened_at) AS age,
         CASE coalesce(c.priority, 'normal') WHEN 'urgent' THEN 3600 WHEN 'high' THEN 14400
              WHEN 'normal' THEN 86400 ELSE 259200 END AS resp_target,
         CASE coalesce(c.priority, 'normal') WHEN 'urgent' THEN 86400 WHEN 'high' THEN 259200
              WHEN 'normal' THEN 604800 ELSE 1209600 END AS res_target
  FROM o JOIN c USING (case_id)
  LEFT JOIN rb USING (case_id) LEFT JOIN ontime USING (case_id) LEFT JOIN cap USING (case_id)
),
rep AS (SELECT a.case_id FROM f a WHERE a.topic IS NOT NULL AND EXISTS (
          SELECT 1 FROM f b WHERE b.customer = a.customer AND b.topic = a.topic
          AND b.opened_at < a.opened_at AND epoch(a.opened_at) - epoch(b.opened_at) <= 30 * 86400)),
sla AS (SELECT *,
          CASE WHEN frt IS NOT NULL THEN (CASE WHEN frt <= resp_target THEN 'met' ELSE 'breached' END)
               WHEN age > resp_target THEN 'breached' ELSE 'pending' END AS rp,
          CASE WHEN rt IS NOT NULL THEN (CASE WHEN rt <= res_target THEN 'met' ELSE 'breached' END)
               WHEN age > res_target THEN 'breached' ELSE 'pending' END AS sp
        FROM f)
SELECT
  count(*) AS cases_opened,
  count(*) FILTER (WHERE is_resolved) AS cases_resolved,
  count(*) FILTER (WHERE is_resolved) / count(*) AS resolution_rate,
  quantile_disc(frt, 0.5) AS first_response_median_s,
  quantile_disc(frt, 0.9) AS first_response_p90_s,
  avg(rt) AS resolution_mean_s,
  quantile_disc(rt, 0.5) AS resolution_median_s,
  count(*) FILTER (WHERE is_resolved AND NOT escalated AND NOT reopened AND agents <= 1 AND before_first <= 1)
    / count(*) FILTER (WHERE is_resolved) AS fcr_rate,
  count(*) FILTER (WHERE escalated) / count(*) AS escalation_rate,
  count(*) FILTER (WHERE reopened) / count(*) FILTER (WHERE resolutions > 0) AS reopen_rate,
  count(*) FILTER (WHERE rp = 'met' AND sp = 'met') AS sla_met,
  count(*) FILTER (WHERE rp = 'breached' OR sp = 'breached') AS sla_breached,
  count(*) FILTER (WHERE category = 'complaint') AS complaints,
  count(*) FILTER (WHERE category = 'complaint' AND rt <= 15 * 86400) AS complaints_within,
  count(*) FILTER (WHERE category = 'complaint' AND (rt > 15 * 86400 OR (rt IS NULL AND age > 15 * 86400))) AS complaints_overdue,
  sum(surveys) AS csat_responses,
  sum(score_sum) / sum(surveys) AS csat_mean,
  count(*) FILTER (WHERE is_resolved AND surveys > 0) / count(*) FILTER (WHERE is_resolved) AS survey_response_rate,
  (SELECT count(*) FROM rep) / count(*) AS repeat_rate,
  sum(fu_scheduled) AS fu_scheduled, sum(fu_completed) AS fu_completed,
  sum(on_time) / sum(fu_completed) AS fu_on_time_rate,
  sum(cap_violations) AS cap_violations
FROM sla
"""


def number(v):
    return float(v) if isinstance(v, decimal.Decimal) else v


def overall(r):
    """The FULL query's row as report's `overall`, with the figures it has."""
    r = {k: number(v) for k, v in r.items()}
    return {
        "cases_opened": r["cases_opened"], "cases_resolved": r["cases_resolved"],
        "resolution_rate": r["resolution_rate"],
        "first_response": {"median_s": r["first_response_median_s"], "p90_s": r["first_response_p90_s"]},
        "resolution_time": {"mean_s": r["resolution_mean_s"], "median_s": r["resolution_median_s"]},
        "fcr_rate": r["fcr_rate"], "escalation_rate": r["escalation_rate"], "reopen_rate": r["reopen_rate"],
        "sla": {"met": r["sla_met"], "breached": r["sla_breached"]},
        "complaints": {"count": r["complaints"], "within_deadline": r["complaints_within"],
                       "overdue": r["complaints_overdue"]},
        "csat": {"responses": r["csat_responses"], "mean_score": r["csat_mean"]},
        "survey_response_rate": r["survey_response_rate"], "repeat_rate": r["repeat_rate"],
        "follow_up": {"scheduled": r["fu_scheduled"], "completed": r["fu_completed"],
                      "on_time_rate": r["fu_on_time_rate"], "cap_violations": r["cap_violations"]},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--simple", action="store_true")
    a = ap.parse_args()
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    cur = con.execute((SIMPLE if a.simple else FULL).format(path=a.events))
    row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    elapsed = time.perf_counter() - start
    if a.simple:
        print(json.dumps({k: number(v) for k, v in row.items()}))
    else:
        json.dump({"overall": overall(row)}, sys.stdout, indent=1, sort_keys=True)
        print()
    if a.time:
        print(f"duckdb_seconds {elapsed:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
