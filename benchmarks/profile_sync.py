"""Where our full sync spends its time: py-spy (per thread, sampled) on the child running run_sync,
CPU seconds of client / sandbox / Postgres, and the top statements by time (pg_stat_statements).

Needs py-spy from requirements-bench.txt (benchmarks/.work/venv-dlt/bin/py-spy). --sql applies an extra
SQL file after the migrations, so a changed function can be profiled the same way.

    .venv/bin/python benchmarks/profile_sync.py --items 100000
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import full_sync
from _common import DLT_PY, OURS_PY, WORK, Postgres, app_env, connect_agency, own_cpu_s, run_child, sql_exec

DB = "bench_profile"


def summarize(raw: Path, min_share: float, width: int = 100) -> None:
    totals: Counter[str] = Counter()
    inclusive: Counter[tuple[str, str]] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread, n = frames[0], int(count)
        name = thread.split(": ", 1)[-1] if ": " in thread else "main"
        totals[name] += n
        seen = set()
        for frame in frames[1:]:
            if frame not in seen:
                seen.add(frame)
                inclusive[(name, frame)] += n
    for thread, total in totals.most_common():
        print(f"== thread {thread}: {total} samples (on CPU or in a syscall)")
        for (t, frame), n in inclusive.most_common():
            if t == thread and n >= total * min_share:
                print(f"   {100 * n / total:5.1f}%  {frame[:width]}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--min-share", type=float, default=0.05, help="hide frames below this share of a thread")
    p.add_argument("--sql", action="append", default=[], help="SQL file applied after the migrations")
    a = p.parse_args(argv)
    spy = DLT_PY.parent / "py-spy"
    if not spy.exists():
        p.error(f"{spy} missing: install requirements-bench.txt into benchmarks/.work/venv-dlt")

    from lib.crypto import new_key_text

    pg = Postgres()
    sb = full_sync.make_sandbox([a.items], 7)
    key = new_key_text("bench")
    out = WORK / "profile_sync.raw"
    try:
        url = pg.fresh_database(DB)
        for path in a.sql:
            sql_exec(url, Path(path).read_text())
        connect_agency(url, sb, [full_sync.handle_for(a.items)], key)
        env = app_env(
            url,
            sb.base_url,
            key,
            sb.config,
            sync_concurrency=1,
            sync_max_duration_s=900,
            sync_safety_margin_s=30,
            sync_history_floor=full_sync.FLOOR,
        )
        sql_exec(url, "select pg_stat_statements_reset()")
        c_sb, c_pg = own_cpu_s(), pg.cpu_s()
        child = run_child(
            [
                str(spy),
                "record",
                "-r",
                str(a.rate),
                "--threads",
                "-f",
                "raw",
                "-o",
                str(out),
                "--",
                str(OURS_PY),
                "benchmarks/_ours_child.py",
                "sync",
            ],
            env=env,
        )
        c_sb, c_pg = own_cpu_s() - c_sb, pg.cpu_s() - c_pg
        res = child.result
        print(
            f"run_sync: {res.get('elapsed_s')} s for {a.items:,} items "
            f"({a.items / float(res.get('elapsed_s', 1)):,.0f} items/s, under py-spy), db calls {res.get('db_calls')}"
        )
        print(f"CPU seconds: client {res.get('cpu_s')}, sandbox {c_sb:.1f}, postgres {c_pg:.1f}\n")
        summarize(out, a.min_share)
        import psycopg

        print("\ntop statements by total time (pg_stat_statements, nested included):")
        with psycopg.connect(url, autocommit=True) as conn:
            for calls, total, mean, q in conn.execute(
                "select calls, total_exec_time, mean_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 90)"
                " from pg_stat_statements where dbid = (select oid from pg_database where datname = %s)"
                " order by total_exec_time desc limit 10",
                (DB,),
            ):
                print(f"  {calls:>7} calls {total / 1000:7.2f} s total {mean:8.2f} ms mean  {q}")
    finally:
        sb.stop()
        pg.drop_database(DB)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
