#!/usr/bin/env python3
"""Cost by data shape: times caseledger's commands on the histories of
scripts/shapes.py at n, 2n, 4n... events and prints each command's median
CPU time (user + system), wall time and peak RSS, and its growth ratio per
doubling (a bit over 2 is n log n; 4 is quadratic). docs/performance.md,
"Cost by data shape".

    scripts/shapes-bench.py --bin target/release/caseledger --shape bigcase \\
        --sizes 12500,25000,50000 [--runs 3] [--dir /tmp/shapes] [--zone +14:00]

Every command runs as a cold process under /usr/bin/time. The store of
each size is built once by the first `import` run (later runs import into
fresh directories). `history` and `follow-ups plan` need the case id and
the day that the shapes make (case 00000001-..., 2026-03-06).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BIG_CASE = "00000001-0000-4000-8000-000000000000"


def timed(cmd, stdout=subprocess.DEVNULL):
    """(wall s, cpu s, peak KiB) of one cold run; fails loudly."""
    r = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M"] + cmd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    wall, user, sys_, peak = r.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user) + float(sys_), int(peak)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--shape", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/shapes-bench")
    ap.add_argument("--zone", default="Z")
    ap.add_argument("--time-zone", default=None, help="--time-zone for report/cases/plan")
    ap.add_argument("--only", default=None, help="comma-separated command names")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    tz = ["--time-zone", a.time_zone] if a.time_zone else []
    results = {}
    for n in sizes:
        d = os.path.join(a.dir, f"{a.shape}-{n}{a.zone.replace(':', '')}")
        os.makedirs(d, exist_ok=True)
        src = os.path.join(d, "events.jsonl")
        if not os.path.exists(src):
            with open(src, "w") as f:
                subprocess.run(
                    [sys.executable, os.path.join(HERE, "shapes.py"), a.shape, str(n), "--zone", a.zone],
                    stdout=f,
                    check=True,
                )
        store = os.path.join(d, "store")
        b = a.bin
        commands = {
            "import": None,
            "verify": [b, "--store", store, "verify"],
            "report-t1": [b, "--store", store, "report", "--format", "json", "--threads", "1"] + tz,
            "report-t2": [b, "--store", store, "report", "--format", "json", "--threads", "2"] + tz,
            "report-html": [b, "--store", store, "report", "--format", "html"] + tz,
            "cases": [b, "--store", store, "cases", "--format", "json"] + tz,
            "history": [b, "--store", store, "history", BIG_CASE],
            "export": [b, "--store", store, "export"],
            "plan": [b, "--store", store, "follow-ups", "plan", "--on", "2026-03-06", "--format", "json"] + tz,
        }
        if a.only:
            keep = set(a.only.split(",")) | {"import"}
            commands = {k: v for k, v in commands.items() if k in keep}
        for name, cmd in commands.items():
            runs = []
            for r in range(a.runs):
                if name == "import":
                    target = store if r == 0 else store + "-again"
                    shutil.rmtree(target, ignore_errors=True)
                    runs.append(timed([b, "--store", target, "import", src]))
                    shutil.rmtree(store + "-again", ignore_errors=True)
                else:
                    runs.append(timed(cmd))
            results[(name, n)] = tuple(statistics.median(x[i] for x in runs) for i in range(3))
            print(f"{name} n={n}: {results[(name, n)]}", file=sys.stderr)
    names = list(dict.fromkeys(k[0] for k in results))
    print(f"shape {a.shape}, zone {a.zone}, time zone {a.time_zone or 'UTC'}, medians of {a.runs}")
    print("command      " + "".join(f"{n:>22}" for n in sizes) + "   CPU ratio per doubling")
    for name in names:
        cells, ratios = [], []
        prev = None
        for n in sizes:
            wall, cpu, peak = results[(name, n)]
            cells.append(f"{cpu:6.2f}s {wall:6.2f}s {peak // 1024:4d}M")
            if prev is not None and prev > 0:
                ratios.append(f"{cpu / prev:.2f}")
            prev = cpu
        print(f"{name:12} " + "".join(f"{c:>22}" for c in cells) + "   " + " ".join(ratios))


main()
