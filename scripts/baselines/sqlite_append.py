"""SQLite baseline for docs/performance.md: durable appends of events into a
table with a unique index on (stream, version), WAL, synchronous=FULL, on the
same disk as `caseledger bench --dir DIR`.

    python3 scripts/baselines/sqlite_append.py DIR [EVENTS_PER_TX_RUN]

Prints events/s with one transaction per event and with 1,000 events per
transaction (the batched rate the bulk-import target compares with). Uses
only Python's standard library. Not run by CI.
"""
import os
import statistics
import sqlite3
import sys
import time

ROW = ("0192f5c4-7d1e-7c3a-9a61-3f0c2b1d4e5f", "responded", "2026-03-02T09:15:00Z",
       "agent-17", '{"customer_id":"C-1001","channel":"phone","tier":"vip"}' * 2)


def run(path, events, per_tx):
    if os.path.exists(path):
        os.remove(path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, version INTEGER,"
                " type TEXT, at TEXT, actor TEXT, data TEXT)")
    con.execute("CREATE UNIQUE INDEX by_stream ON events (stream, version)")
    start = time.perf_counter()
    for first in range(0, events, per_tx):
        con.execute("BEGIN")
        for i in range(first, min(first + per_tx, events)):
            con.execute("INSERT INTO events (stream, version, type, at, actor, data) VALUES (?,?,?,?,?,?)",
                        (f"{i % 140000}", i // 140000 + 1) + ROW[1:])
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return events / elapsed


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "sqlite-baseline.db")
    single = statistics.median(run(path, 1000, 1) for _ in range(3))
    batched = statistics.median(run(path, 200_000, 1000) for _ in range(3))
    print(f"sqlite {sqlite3.sqlite_version}: 1 event per transaction: {single:,.0f} events/s")
    print(f"sqlite {sqlite3.sqlite_version}: 1,000 events per transaction: {batched:,.0f} events/s")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


if __name__ == "__main__":
    main()
