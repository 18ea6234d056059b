"""Prints the markdown results section of benchmarks/README.md from the last results
(benchmarks/.work/results/<name>.json written by each benchmark).

    .venv/bin/python benchmarks/report.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, table


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine(d: dict[str, Any]) -> str:
    b, a = d["machine_before"], d["machine_after"]
    extra = f", other processes' CPU at start {d['other_cpu_pct']}%" if "other_cpu_pct" in d else ""
    return f"{a['date']}, {a['cores']} cores, Python {a['python']}, load {b['load']} -> {a['load']}{extra}"


def full_sync(d: dict[str, Any]) -> str:
    import full_sync as fs

    rows = d["rows"]
    sizes = sorted({r["n"] for r in rows})
    sides = list(dict.fromkeys(r["side"] for r in rows))
    return fs.report(rows, sizes, sides)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full-sync", default="full_sync")
    a = p.parse_args(argv)
    d = load(a.full_sync)
    if d:
        print(f"### Full sync ({machine(d)})\n")
        print(full_sync(d))
        print()
    d = load(a.full_sync)
    if d:
        sizes = sorted({r["n"] for r in d["rows"]})
        sides = list(dict.fromkeys(r["side"] for r in d["rows"]))
        out = []
        for side in sides:
            peaks = {r["n"]: r.get("peak_rss_mb") for r in d["rows"] if r["side"] == side and r["ok"]}
            lo, hi = peaks.get(sizes[0]), peaks.get(sizes[-1])
            out.append([side, *[peaks.get(n) for n in sizes], f"{hi / lo:.2f}x" if lo and hi else ""])
        print("### Peak RSS per side (same run as the full sync)\n")
        print(table(["side", *[f"MB @ {n:,}" for n in sizes], f"{sizes[-1]:,} / {sizes[0]:,}"], out))
        print()
    rows = []
    for name in ("rate_limited_backfill",):
        d = load(name)
        if d:
            rows.append(
                [
                    name,
                    machine(d),
                    d["wall_s"],
                    d["bound_s"],
                    f"{d['wall_s'] / d['bound_s']:.3f}x",
                    d["coarse_bound_s"],
                    d["rejected_429"],
                    d.get("timing", {}).get("window_1_done_s"),
                    d.get("timing", {}).get("last_request_s"),
                    d.get("cpu"),
                ]
            )
    if rows:
        print("### Rate-limited backfill\n")
        print(
            table(
                [
                    "run",
                    "machine",
                    "wall s",
                    "bound s",
                    "wall / bound",
                    "coarse bound s",
                    "429s",
                    "window 1 done s",
                    "last request s",
                    "CPU s client/sandbox/pg",
                ],
                rows,
            )
        )
        print()
    rows = []
    for name in ("cron_tick",):
        d = load(name)
        if d:
            rows += [
                [
                    name,
                    r["tick"],
                    float(r["wall_s"]),
                    r["models_synced"],
                    r["fanvue_requests"],
                    r["db_calls"],
                    r["xacts"],
                    r["statements"],
                    machine(d),
                ]
                for r in d["results"]
            ]
    if rows:
        print("### Cron tick\n")
        print(
            table(
                [
                    "run",
                    "tick",
                    "wall s",
                    "models",
                    "Fanvue requests",
                    "DB calls",
                    "transactions",
                    "statements",
                    "machine",
                ],
                rows,
            )
        )
        print()
    d = load("cold_start")
    if d:
        print(f"### Cold start ({machine(d)})\n")
        print(table(["file", "request", "answer", "median ms", "min ms", "over `pass` ms"], d["rows"]))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
