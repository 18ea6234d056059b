"""Backfill of 20 agency creators under the published rate limit, next to the rate-limit bound.

One agency connection manages `--creators` creators of `--items` items each. The sandbox enforces
Fanvue's published limit (200 requests per 60 s per bucket; an agency's /creators/{uuid}/... calls
are keyed client:user:creator, so every creator has its own bucket) and adds `--latency-ms` to
every response. One run_sync (SYNC_CONCURRENCY = number of creators) backfills everything in a
child process; the sandbox counts every request and every 429.

The bound (the fastest any client could legally go): a creator of N items needs at least
P = ceil(N / 50) page requests (size is capped at 50), and each page needs the previous one's
answer (cursor or narrowed endDate), so requests of one creator are serial, each >= latency. Its
bucket holds L = 200 and refills to full W = 60 s after its first request, so with k = ceil(P / L)
windows the last P - (k-1)*L requests cannot start before (k-1)*W:

    bound = max over creators of  (k-1)*W + (P - (k-1)*L) * latency     (and >= P * latency)

The brief's coarser bound, ceil(P / L) * W, is printed too.

    .venv/bin/python benchmarks/rate_limited_backfill.py --creators 20 --items 15000
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    OURS_PY,
    Postgres,
    app_env,
    busy_other_cpu,
    connect_agency,
    machine_note,
    own_cpu_s,
    run_child,
    save_results,
    sql_exec,
    sql_one,
    table,
)

DB_NAME = "bench_ratelimit"
PAGE = 50


def bound_s(pages: int, limit: int, window_s: float, latency_s: float) -> float:
    k = max(1, math.ceil(pages / limit))
    return max((k - 1) * window_s + (pages - (k - 1) * limit) * latency_s, pages * latency_s)


def _record_requests(sb: Any) -> dict[str, list[float]]:
    """Wraps the sandbox dispatcher to note the arrival time of every creator-route request."""
    import time as _time

    seen: dict[str, list[float]] = {}
    original = sb.app.handle

    def handle(req: Any) -> Any:
        path = req.path
        if path.startswith("/creators/"):
            seen.setdefault(path.split("/")[2].lower(), []).append(_time.time())
        return original(req)

    sb.app.handle = handle
    return seen


def phases(times: list[float], limit: int, t0: float) -> dict[str, float]:
    """First window's requests, the wait for the refill, and the requests after it (seconds from t0)."""
    times = sorted(times)
    out = {"first": times[0] - t0, "last_in_window_1": times[min(limit, len(times)) - 1] - t0, "last": times[-1] - t0}
    if len(times) > limit:
        out["first_after_refill"] = times[limit] - t0
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--creators", type=int, default=20)
    p.add_argument("--items", type=int, default=15000, help="items per creator (15000 -> 300 pages -> 2 windows)")
    p.add_argument("--limit", type=int, default=200, help="requests per bucket per window (published: 200)")
    p.add_argument("--window", type=float, default=60.0, help="bucket window in seconds (published: 60)")
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=0, help="SYNC_CONCURRENCY (default: one per creator)")
    p.add_argument("--sql", action="append", default=[], help="an extra SQL file applied after the migrations")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--name", default="rate_limited_backfill")
    a = p.parse_args(argv)

    from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
    from lib.crypto import new_key_text

    handles = [f"r{i:02d}" for i in range(1, a.creators + 1)]
    cfg = SandboxConfig(
        seed=a.seed,
        creators=[CreatorSpec(handle=h, items=a.items, history_days=730) for h in handles],
        agency_manages=handles,
        rate_limit=a.limit,
        rate_window_s=a.window,
        latency_ms=a.latency_ms,
        token_ttl_s=6 * 3600,
    )
    before = machine_note()
    other_cpu = busy_other_cpu()
    pg = Postgres()
    sb = FanvueSandbox(cfg)
    timeline = _record_requests(sb)
    sb.start()
    key = new_key_text("bench")
    concurrency = a.concurrency or a.creators
    try:
        url = pg.fresh_database(DB_NAME)
        for path in a.sql:
            sql_exec(url, Path(path).read_text())
        agency = connect_agency(url, sb, handles, key)
        env = app_env(
            url,
            sb.base_url,
            key,
            cfg,
            sync_concurrency=concurrency,
            sync_max_duration_s=900,
            sync_safety_margin_s=30,
            sync_interval_s=900,
        )
        stats_before = sb.stats()
        cpu_sb, cpu_pg = own_cpu_s(), pg.cpu_s()
        child = run_child(
            [str(OURS_PY), "benchmarks/_ours_child.py", "sync", "--max-models", "0"], env=env, timeout=1800
        )
        cpu_sb, cpu_pg = own_cpu_s() - cpu_sb, pg.cpu_s() - cpu_pg
        stats = sb.stats()
        if not child.ok:
            print(child.stderr_tail, file=sys.stderr)
            return 1
        res = child.result
        truth = sb.ground_truth(include_items=False)
        ledger = dict(
            sql_one(
                url,
                "select coalesce(jsonb_object_agg(m.fanvue_handle, c.n), '{}'::jsonb) from models m"
                " join (select model_id, count(*) n from fanvue_transactions group by 1) c"
                " on c.model_id = m.id",
            )
        )
    finally:
        sb.stop()
        pg.drop_database(DB_NAME)

    buckets = stats["rate_limit"]["buckets"]
    rows = []
    worst_bound = worst_coarse = 0.0
    total_429 = sum(b["rejected_429"] for b in buckets.values())
    per_model = {m["name"]: m for m in res["models"]}
    mismatched = []
    for h in handles:
        uuid = agency.creator_uuids[h]
        bucket = next((b for k, b in buckets.items() if k.endswith(":" + uuid.lower())), {})
        n = truth[uuid]["earnings"]["count"]
        pages_min = math.ceil(n / PAGE)
        b = bound_s(pages_min, a.limit, a.window, a.latency_ms / 1000)
        coarse = math.ceil(pages_min / a.limit) * a.window
        worst_bound, worst_coarse = max(worst_bound, b), max(worst_coarse, coarse)
        m = per_model.get(h, {})
        if ledger.get(h) != n:
            mismatched.append(h)
        rows.append(
            [
                h,
                n,
                ledger.get(h, 0),
                pages_min,
                bucket.get("requests", 0),
                bucket.get("rejected_429", 0),
                bucket.get("max_accepted_in_fixed_window", 0),
                m.get("duration_s"),
                round(b, 1),
            ]
        )
    wall = float(res["elapsed_s"])
    t0 = min(min(v) for v in timeline.values())
    ph = [phases(v, a.limit, t0) for v in timeline.values()]
    refill = [x["first_after_refill"] for x in ph if "first_after_refill" in x]
    timing = {
        "window_1_done_s (max over creators)": max(x["last_in_window_1"] for x in ph),
        "first request after refill (min..max)": f"{min(refill):.1f}..{max(refill):.1f}" if refill else "-",
        "last request (max)": max(x["last"] for x in ph),
    }
    after = machine_note()
    print(
        table(["creator", "items", "stored", "min pages", "requests", "429s", "max/window", "sync s", "bound s"], rows)
    )
    print()
    summary = [
        ["wall time (run_sync)", f"{wall:.1f} s"],
        *[[k, f"{v:.1f} s" if isinstance(v, float) else v] for k, v in timing.items()],
        ["rate-limit bound (derived)", f"{worst_bound:.1f} s"],
        ["wall / bound", f"{wall / worst_bound:.3f}x (target <= 1.1x)"],
        ["coarse bound ceil(P/200)*60", f"{worst_coarse:.0f} s ({wall / worst_coarse:.2f}x)"],
        ["requests rejected with 429", total_429],
        ["Fanvue requests (all)", stats["requests"]["total"] - stats_before["requests"]["total"]],
        ["outcomes", res["outcomes"]],
        ["ledger == ground truth", "yes" if not mismatched else f"NO: {mismatched}"],
        ["CPU s client / sandbox / postgres", f"{res.get('cpu_s')} / {cpu_sb:.1f} / {cpu_pg:.1f}"],
        ["sandbox share of the CPU used", _share(cpu_sb, res.get("cpu_s"), cpu_sb, cpu_pg)],
        [
            "CPU used / machine capacity over the run",
            _share(float(res.get("cpu_s") or 0) + cpu_sb + cpu_pg, (os.cpu_count() or 1) * wall),
        ],
        ["child process wall / peak RSS", f"{child.wall_s:.1f} s / {child.peak_rss_mb:.0f} MB"],
        [
            "settings",
            f"{a.creators} creators x {a.items} items, limit {a.limit}/{a.window:.0f}s, "
            f"latency {a.latency_ms} ms, SYNC_CONCURRENCY {concurrency}"
            + (f", extra SQL {[Path(x).name for x in a.sql]}" if a.sql else ""),
        ],
        [
            "machine",
            f"{after['cores']} cores, load before {before['load']} after {after['load']}, "
            f"other processes' CPU at start {other_cpu}%",
        ],
    ]
    print(table(["", "value"], summary))
    save_results(
        a.name,
        {
            "machine_before": before,
            "machine_after": after,
            "wall_s": wall,
            "bound_s": worst_bound,
            "coarse_bound_s": worst_coarse,
            "rejected_429": total_429,
            "rows": rows,
            "child": res,
            "sandbox_rate_limit": stats["rate_limit"],
            "mismatched": mismatched,
            "timing": {
                "window_1_done_s": round(timing["window_1_done_s (max over creators)"], 1),
                "last_request_s": round(timing["last request (max)"], 1),
            },
            "cpu": f"{res.get('cpu_s')}/{cpu_sb:.1f}/{cpu_pg:.1f}",
            "settings": vars(a),
        },
    )
    return 0 if total_429 == 0 and not mismatched else 1


def _share(part: float, *whole: float | None) -> str:
    """part / sum(whole) as a percentage: how much of the CPU the sandbox (not us) used."""
    total = sum(float(w or 0) for w in whole)
    return f"{part / total:.0%}" if total else "-"


if __name__ == "__main__":
    raise SystemExit(main())
