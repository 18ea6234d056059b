"""One cron tick over `--models` models that are already synced, with nothing new at Fanvue.

Setup: one agency connection managing `--models` sandbox creators (`--items` each, the published
rate limit, `--latency-ms` per response), backfilled completely. Then two ticks, each a fresh child
process running run_sync(kind="cron") exactly as the cron endpoint does:

  all due      every model's next_sync_at moved to now (the sync interval has passed) - the normal
               15-minute tick: each model re-reads its lookback window and finds nothing new
  none due     the tick right after: nothing is due, nothing should be fetched

Reported per tick: wall time of run_sync, Fanvue requests (sandbox counters), database calls made
by our code (PostgresDatabase.calls), transactions committed (pg_stat_database.xact_commit delta)
and top-level statements executed (pg_stat_statements).

    .venv/bin/python benchmarks/cron_tick.py --models 500
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    OURS_PY,
    ROOT,
    Postgres,
    app_env,
    busy_other_cpu,
    connect_agency,
    machine_note,
    run_child,
    save_results,
    sql_exec,
    sql_one,
    table,
)

DB_NAME = "bench_cron"


def db_counters(url: str) -> dict[str, int]:
    commits = sql_one(
        url, "select xact_commit + xact_rollback from pg_stat_database where datname = current_database()"
    )
    return {"xacts": int(commits)}


def statements(url: str) -> tuple[int, list[tuple[int, str]]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) from pg_stat_statements"
            " where toplevel and dbid = (select oid from pg_database where datname = current_database())"
            " and query not ilike '%pg_stat_statements%' and query not ilike '%pg_stat_database%'"
            " order by calls desc"
        ).fetchall()
    return sum(r[0] for r in rows), [(r[0], r[1]) for r in rows[:8]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=500)
    p.add_argument("--items", type=int, default=200, help="items per creator (over the last year)")
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument(
        "--concurrency",
        default="4",
        help="SYNC_CONCURRENCY of the tick; a list (4,8,16) runs an all-due tick per value, alternating",
    )
    p.add_argument("--rounds", type=int, default=1, help="how many times to run the list of concurrencies")
    p.add_argument(
        "--base-root",
        type=Path,
        help="another checkout: every all-due tick is also run with its lib/, "
        "right after ours (same database, same models)",
    )
    p.add_argument("--sql", action="append", default=[], help="an extra SQL file applied after the migrations")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--name", default="cron_tick")
    a = p.parse_args(argv)

    from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
    from lib.crypto import new_key_text

    handles = [f"m{i:04d}" for i in range(1, a.models + 1)]
    cfg = SandboxConfig(
        seed=a.seed,
        creators=[CreatorSpec(handle=h, items=a.items, history_days=365) for h in handles],
        agency_manages=handles,
        rate_limit=200,
        rate_window_s=60.0,
        latency_ms=a.latency_ms,
        token_ttl_s=6 * 3600,
    )
    before = machine_note()
    other_cpu = busy_other_cpu()
    pg = Postgres()
    sb = FanvueSandbox(cfg)
    sb.start()
    key = new_key_text("bench")
    results: list[dict[str, Any]] = []
    try:
        url = pg.fresh_database(DB_NAME)
        for path in a.sql:
            sql_exec(url, Path(path).read_text())
        connect_agency(url, sb, handles, key)
        # backfill everything (setup, not measured)
        t = time.perf_counter()
        setup_env = app_env(
            url, sb.base_url, key, cfg, sync_concurrency=16, sync_max_duration_s=900, sync_safety_margin_s=30
        )
        for _ in range(5):
            child = run_child([str(OURS_PY), "benchmarks/_ours_child.py", "sync", "--max-models", "0"], env=setup_env)
            done = sql_one(url, "select count(*) from fanvue_sync_state where backfill_completed_at is not null")
            if done >= a.models:
                break
        print(
            f"setup: {done}/{a.models} models backfilled in {time.perf_counter() - t:.1f}s "
            f"({sql_one(url, 'select count(*) from fanvue_transactions'):,} rows)"
        )
        if done < a.models:
            print(child.stderr_tail, file=sys.stderr)
            return 1
        concurrencies = [int(c) for c in str(a.concurrency).split(",")]
        roots = [("ours", ROOT)] + ([("base", a.base_root)] if a.base_root else [])
        ticks = [
            (f"all due, K={k}, {side}", k, root) for _ in range(a.rounds) for k in concurrencies for side, root in roots
        ]
        ticks.append((f"none due, K={concurrencies[0]}, ours", concurrencies[0], ROOT))
        for label, k, root in ticks:
            env = app_env(url, sb.base_url, key, cfg, sync_concurrency=k)
            if label.startswith("all due"):
                sql_exec(url, "update fanvue_sync_state set next_sync_at = now() - interval '1 second'")
            sql_exec(url, "select pg_stat_statements_reset()")
            time.sleep(0.6)  # pg_stat_database is refreshed by the stats collector
            c0, r0 = db_counters(url), sb.stats()["requests"]["total"]
            child = run_child(
                [str(OURS_PY), "benchmarks/_ours_child.py", "sync", "--max-models", "0", "--kind", "cron"],
                env=env,
                cwd=root,
            )
            if not child.ok:
                print(child.stderr_tail, file=sys.stderr)
                return 1
            time.sleep(0.6)
            c1, r1 = db_counters(url), sb.stats()["requests"]["total"]
            stmt_total, top = statements(url)
            res = child.result
            models = len(res["models"])
            floor = models * a.latency_ms / 1000 / k
            results.append(
                {
                    "tick": label,
                    "concurrency": k,
                    "wall_s": res["elapsed_s"],
                    "floor_s": round(floor, 2),
                    "vs_floor": round(res["elapsed_s"] / floor, 2) if floor else None,
                    "db_calls_per_model": round(res["db_calls"] / models, 2) if models else None,
                    "cpu_s": res.get("cpu_s"),
                    "process_s": round(child.wall_s, 2),
                    "models_synced": len(res["models"]),
                    "outcomes": res["outcomes"],
                    "fanvue_requests": r1 - r0,
                    "db_calls": res["db_calls"],
                    "xacts": c1["xacts"] - c0["xacts"],
                    "statements": stmt_total,
                    "top_statements": top,
                    "fetched": res["totals"]["fetched"],
                    "inserted": res["totals"]["inserted"],
                    "updated": res["totals"]["updated"],
                    "peak_rss_mb": round(child.peak_rss_mb, 1),
                }
            )
    finally:
        sb.stop()
        pg.drop_database(DB_NAME)
    after = machine_note()
    print(
        table(
            [
                "tick",
                "wall s",
                "floor s",
                "vs floor",
                "DB calls/model",
                "CPU s",
                "process s",
                "models",
                "outcomes",
                "Fanvue requests",
                "DB calls",
                "transactions",
                "statements",
                "fetched",
                "inserted",
                "updated",
                "peak RSS MB",
            ],
            [
                [
                    r["tick"],
                    float(r["wall_s"]),
                    r["floor_s"],
                    r["vs_floor"],
                    r["db_calls_per_model"],
                    r["cpu_s"],
                    r["process_s"],
                    r["models_synced"],
                    r["outcomes"],
                    r["fanvue_requests"],
                    r["db_calls"],
                    r["xacts"],
                    r["statements"],
                    r["fetched"],
                    r["inserted"],
                    r["updated"],
                    r["peak_rss_mb"],
                ]
                for r in results
            ],
        )
    )
    for r in results:
        print(f"\ntop statements ({r['tick']}):")
        for calls, q in r["top_statements"]:
            print(f"  {calls:>6}  {q}")
    print(
        f"\n{a.models} models x {a.items} items, latency {a.latency_ms} ms; floor = models x latency / K "
        f"(one request per model, K at a time); "
        f"machine {after['cores']} cores, load before {before['load']} after {after['load']}, "
        f"other processes' CPU at start {other_cpu}%"
    )
    save_results(a.name, {"machine_before": before, "machine_after": after, "results": results, "settings": vars(a)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
