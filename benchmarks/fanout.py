"""Scale-out demo: 1,000 sandbox creators behind one agency connection, one cron tick through the
local function server, the primary invocation fanning out to K worker invocations.

    python benchmarks/fanout.py [--creators 1000] [--items 20] [--k 0 2 4 8]

For each K: a fresh database, the agency connected through the real OAuth flow, every creator due;
then one GET /api/cron/sync-transactions (as Vercel would send it). Reports wall time until every
creator has synced, how many invocations did work, whether any creator was synced twice in the tick
(lease collision) and whether the ledger equals the sandbox's ground truth.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg


def one_tick(creators: int, items: int, k: int) -> dict:
    from devstack.embedded import start_embedded
    from devstack.migrate import migrate
    from fanvue_sandbox import CreatorSpec, SandboxConfig
    from lib.config import reset_settings
    from tests.e2e.conftest import start_stack
    from tests.e2e.helpers import mismatches
    from tests.factories import make_agency

    server = start_embedded(Path(__file__).resolve().parent / ".work" / "pg")
    name = f"fanout_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = server.get_uri(name)
    migrate(url)
    handles = [f"c{i:04d}" for i in range(creators)]
    config = SandboxConfig.demo(
        creators=[CreatorSpec(handle=h, items=items, history_days=60) for h in handles],
        agency_manages=handles,
        rate_window_s=60.0,
    )
    gen = start_stack(url, config)
    stack = next(gen)
    try:
        per_invocation = max(1, -(-creators // (k + 1)))
        os.environ.update(
            SYNC_FANOUT_MAX=str(k),
            SYNC_MODELS_PER_INVOCATION=str(per_invocation),
            SYNC_CONCURRENCY="8",
            SYNC_MAX_DURATION_S="300",
            SYNC_SAFETY_MARGIN_S="20",
        )
        reset_settings()
        with psycopg.connect(url, autocommit=True) as sql:
            world = make_agency(sql, "Fan-out agency")
            stack.connect(world.admin_id, agency_id=world.agency_id, login_hint="agency")
            started = time.monotonic()
            primary = stack.cron()
            while True:
                done = sql.execute(
                    "select count(*) from fanvue_sync_state where last_success_at is not null"
                ).fetchone()[0]
                if done >= creators or time.monotonic() - started > 900:
                    break
                time.sleep(0.2)
            wall = time.monotonic() - started
            time.sleep(1.0)
            per_model = sql.execute("select model_id, count(*) from sync_run_models group by model_id").fetchall()
            runs = sql.execute("select count(*) from sync_runs where kind = 'cron'").fetchone()[0]
            lease_lost = sql.execute("select count(*) from sync_run_models where error like 'lease lost%'").fetchone()[
                0
            ]
            problems = mismatches(stack.sandbox, sql)
        return {
            "k": k,
            "creators": creators,
            "synced": done,
            "wall_s": round(wall, 2),
            "invocations": runs,
            "launched": len(primary["fanout"]["launched"]),
            "synced_twice": sum(1 for _, n in per_model if n > 1),
            "lease_lost": lease_lost,
            "mismatches": len(problems),
            "rate_limited_429": _rejected(stack.sandbox.stats()),
        }
    finally:
        for key in (
            "SYNC_FANOUT_MAX",
            "SYNC_MODELS_PER_INVOCATION",
            "SYNC_CONCURRENCY",
            "SYNC_MAX_DURATION_S",
            "SYNC_SAFETY_MARGIN_S",
        ):
            os.environ.pop(key, None)
        try:
            next(gen)
        except StopIteration:
            pass


def _rejected(stats: dict) -> int:
    return sum(b.get("rejected_429", 0) for b in stats.get("rate_limit", {}).get("buckets", {}).values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creators", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--k", type=int, nargs="+", default=[0, 2, 4, 8])
    args = parser.parse_args()
    print(
        f"{'K':>3} {'creators':>8} {'synced':>6} {'wall s':>7} {'invocations':>11} {'twice':>5} "
        f"{'lease lost':>10} {'mismatch':>8} {'429':>4}"
    )
    for k in args.k:
        r = one_tick(args.creators, args.items, k)
        print(
            f"{r['k']:>3} {r['creators']:>8} {r['synced']:>6} {r['wall_s']:>7} {r['invocations']:>11} "
            f"{r['synced_twice']:>5} {r['lease_lost']:>10} {r['mismatches']:>8} {r['rate_limited_429']:>4}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
