"""Full-history sync of N items: ours vs dlt's rest_api source, plus our fetch-only baseline.

One Fanvue sandbox (no latency, rate limit out of reach) serves one creator per size from this
process; every side runs in its own child process, so peak RSS is per side; the sides alternate
(the order rotates every repeat); each side loads into a freshly created and migrated database of
the same embedded Postgres (dlt into schema dlt_bench of it).

Sides:
  ours       run_sync of the one due model (the cron path: claim, fetch thread + storing thread,
             fanvue_ingest_page, release) - full history, window [2019-01-01, now)
  dlt        dlt 1.31 rest_api_source: cursor paginator nextCursor/cursor, incremental
             startDate/endDate on "date", bearer auth, X-Fanvue-API-Version header,
             write_disposition=merge on transactionOrderId (benchmarks/.work/venv-dlt)
  fetch      our FanvueClient under the sync engine's walk (lib/sync/paging.py) reading every page of
             the same window, nothing stored
  fetch-raw  httpx + json following nextCursor only (the transport ceiling), nothing stored
  base       `ours` from another checkout (--base-root: its lib/ and its migrations), to measure a
             change side by side with the version before it

items/s = N / time inside the child from the first request to the last row committed (imports and
interpreter start excluded; the process wall time is reported too). Rows are counted in the
database afterwards and compared with the sandbox's ground truth.

    .venv/bin/python benchmarks/full_sync.py --sizes 10000,100000,1000000 --repeats 1
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    AGENCY_SCOPES,
    DLT_PY,
    OURS_PY,
    ROOT,
    WORK,
    Postgres,
    app_env,
    busy_other_cpu,
    connect_agency,
    machine_note,
    own_cpu_s,
    run_child,
    save_results,
    sql_one,
    table,
)

SIDES = ("ours", "dlt", "fetch", "fetch-raw", "base")
DB_NAME = "bench_full"
FLOOR = "2019-01-01T00:00:00.000Z"


def parse_sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        mult = 1
        if part.endswith("k"):
            mult, part = 1000, part[:-1]
        elif part.endswith("m"):
            mult, part = 1_000_000, part[:-1]
        out.append(int(float(part) * mult))
    return out


def handle_for(n: int) -> str:
    return f"c{n}"


def make_sandbox(sizes: list[int], seed: int) -> Any:
    from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig

    creators = [CreatorSpec(handle=handle_for(n), items=n, history_days=1500) for n in sizes]
    cfg = SandboxConfig(
        seed=seed,
        creators=creators,
        agency_manages=[c.handle for c in creators],
        rate_limit=10**9,
        rate_window_s=60.0,
        latency_ms=0,
        token_ttl_s=6 * 3600,
    )
    sb = FanvueSandbox(cfg)
    sb.start()
    return sb


def run_side(side: str, n: int, sb: Any, pg: Postgres, key_text: str, base_root: Path | None = None) -> dict[str, Any]:
    handle = handle_for(n)
    creator = sb.creator(handle)
    truth = sb.ground_truth(include_items=False, creator=creator.uuid)[creator.uuid]["earnings"]
    requests_before = sb.stats()["requests"]["total"]
    row: dict[str, Any] = {"side": side, "n": n, "truth_count": truth["count"]}
    cpu = _CpuMeter(pg)
    if side in ("ours", "base"):
        root = base_root if side == "base" else ROOT
        url = pg.fresh_database(DB_NAME, root if side == "base" else None)
        agency = connect_agency(url, sb, [handle], key_text)
        env = app_env(
            url,
            sb.base_url,
            key_text,
            sb.config,
            sync_concurrency=1,
            sync_max_duration_s=900,
            sync_safety_margin_s=30,
            sync_history_floor=FLOOR,
            sync_interval_s=900,
        )
        cpu.start()
        child = run_child([str(OURS_PY), "benchmarks/_ours_child.py", "sync"], env=env, cwd=root)
        cpu.stop()
        model = agency.models[handle]
        count, distinct, gross = sql_one(
            url,
            "select count(*), count(distinct dedupe_key), coalesce(sum(gross_cents),0)"
            " from fanvue_transactions where model_id = %s",
            (model,),
        )
        row.update(rows=count, distinct=distinct, gross_ok=int(gross) == truth["gross"])
    elif side == "dlt":
        url = pg.fresh_database(DB_NAME)
        token = sb.issue_grant("agency", AGENCY_SCOPES)["access_token"]
        pipelines = WORK / "dlt-pipelines"
        shutil.rmtree(pipelines, ignore_errors=True)
        env = {"RUNTIME__DLTHUB_TELEMETRY": "false", "PATH": "/usr/bin:/bin", "HOME": str(WORK)}
        cpu.start()
        child = run_child(
            [
                str(DLT_PY),
                "benchmarks/_dlt_child.py",
                "--base",
                sb.base_url,
                "--token",
                token,
                "--creator",
                creator.uuid,
                "--db",
                url,
                "--dataset",
                "dlt_bench",
                "--dir",
                str(pipelines),
                "--initial",
                FLOOR,
            ],
            env=env,
        )
        cpu.stop()
        if child.ok:
            count, distinct, gross = sql_one(
                url,
                "select count(*), count(distinct transaction_order_id), coalesce(sum(gross),0) from dlt_bench.earnings",
            )
            row.update(rows=count, distinct=distinct, gross_ok=int(gross) == truth["gross"])
    else:
        token = sb.issue_grant("agency", AGENCY_SCOPES)["access_token"]
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        cpu.start()
        child = run_child(
            [
                str(OURS_PY),
                "benchmarks/_ours_child.py",
                side,
                "--base",
                sb.base_url,
                "--token",
                token,
                "--owner",
                sb.agency_user.uuid,
                "--creator",
                creator.uuid,
                "--start",
                FLOOR,
            ],
            env=env,
        )
        cpu.stop()
        row.update(rows=child.result.get("items"), distinct=None, gross_ok=None)
    res = child.result
    row["requests"] = sb.stats()["requests"]["total"] - requests_before
    row["ok"] = child.ok
    if not child.ok:
        row["error"] = child.stderr_tail[-1500:]
        return row
    elapsed = float(res["elapsed_s"])
    row.update(
        elapsed_s=elapsed,
        process_s=round(child.wall_s, 2),
        items_per_s=n / elapsed,
        peak_rss_mb=round(child.peak_rss_mb, 1),
        vm_hwm_mb=res.get("vm_hwm_mb"),
        rss_series=child.rss_series,
        cpu_client_s=res.get("cpu_s"),
        cpu_sandbox_s=round(cpu.sandbox, 2),
        cpu_postgres_s=round(cpu.postgres, 2),
        detail=res,
    )
    return row


class _CpuMeter:
    """CPU seconds spent by the sandbox (this process) and by Postgres while one child runs."""

    def __init__(self, pg: Postgres) -> None:
        self.pg = pg
        self.sandbox = self.postgres = 0.0

    def start(self) -> None:
        self._own, self._pg = own_cpu_s(), self.pg.cpu_s()

    def stop(self) -> None:
        self.sandbox = own_cpu_s() - self._own
        self.postgres = self.pg.cpu_s() - self._pg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10k,100k", help="comma list of N (10k, 100k, 1M, ...); default 10k,100k")
    p.add_argument("--sides", default="ours,dlt,fetch,fetch-raw", help=f"comma list of {', '.join(SIDES)}")
    p.add_argument("--repeats", type=int, default=1, help="alternations per size (order rotates each repeat)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--base-root", type=Path, help="another checkout for the `base` side")
    p.add_argument("--name", default="full_sync", help="results file benchmarks/.work/results/<name>.json")
    a = p.parse_args(argv)
    sizes = parse_sizes(a.sizes)
    sides = [s.strip() for s in a.sides.split(",") if s.strip()]
    for s in sides:
        if s not in SIDES:
            p.error(f"unknown side {s!r}")
    if "dlt" in sides and not DLT_PY.exists():
        p.error(
            f"{DLT_PY} missing: python3 -m venv benchmarks/.work/venv-dlt && "
            "benchmarks/.work/venv-dlt/bin/pip install -r requirements-bench.txt"
        )

    from lib.crypto import new_key_text

    before = machine_note()
    other_cpu = busy_other_cpu()
    pg = Postgres()
    sb = make_sandbox(sizes, a.seed)
    key_text = new_key_text("bench")
    rows: list[dict[str, Any]] = []
    try:
        for n in sizes:
            for rep in range(a.repeats):
                order = sides[rep % len(sides) :] + sides[: rep % len(sides)]
                for side in order:
                    t = time.perf_counter()
                    row = run_side(side, n, sb, pg, key_text, a.base_root)
                    row["repeat"] = rep
                    rows.append(row)
                    status = "ok" if row["ok"] else "FAILED"
                    print(
                        f"  n={n:>9,} {side:<9} {status} {row.get('items_per_s', 0):>9,.0f} items/s "
                        f"rss {row.get('peak_rss_mb', 0):6.1f} MB rows {row.get('rows')} "
                        f"({time.perf_counter() - t:.1f}s)",
                        flush=True,
                    )
                    if not row["ok"]:
                        print(row.get("error", ""), file=sys.stderr)
    finally:
        sb.stop()
        pg.drop_database(DB_NAME)
    after = machine_note()
    print()
    print(
        f"machine: {after['cores']} cores, Python {after['python']}; load before {before['load']}, "
        f"after {after['load']}; other processes' CPU at start {other_cpu}%"
    )
    print(report(rows, sizes, sides))
    save_results(a.name, {"machine_before": before, "machine_after": after, "other_cpu_pct": other_cpu, "rows": rows})
    return 0 if all(r["ok"] for r in rows) else 1


def best(rows: list[dict[str, Any]], side: str, n: int) -> dict[str, Any] | None:
    """Median-by-rate run of (side, n) (the middle one of the repeats)."""
    got = sorted((r for r in rows if r["side"] == side and r["n"] == n and r["ok"]), key=lambda r: r["items_per_s"])
    return got[len(got) // 2] if got else None


def report(rows: list[dict[str, Any]], sizes: list[int], sides: list[str]) -> str:
    out = []
    for n in sizes:
        fetch = best(rows, "fetch", n)
        dlt = best(rows, "dlt", n)
        for side in sides:
            r = best(rows, side, n)
            if r is None:
                out.append([f"{n:,}", side, "FAILED", "", "", "", "", "", "", "", "", ""])
                continue
            vs_dlt = f"{r['items_per_s'] / dlt['items_per_s']:.1f}x" if dlt and side != "dlt" else ""
            vs_fetch = f"{r['items_per_s'] / fetch['items_per_s']:.2f}x" if fetch and side != "fetch" else ""
            loaded = (
                "" if r.get("distinct") is None and side.startswith("fetch") else f"{r['rows']:,}/{r['truth_count']:,}"
            )
            cpu = f"{r['cpu_client_s']:.1f}/{r['cpu_sandbox_s']:.1f}/{r['cpu_postgres_s']:.1f}"
            work_cpu = (r.get("detail") or {}).get("work_cpu_s") or r["cpu_client_s"]  # without imports
            per_item = f"{work_cpu / n * 1e6:.1f} / {r['cpu_postgres_s'] / n * 1e6:.1f}"
            out.append(
                [
                    f"{n:,}",
                    side,
                    r["items_per_s"],
                    r["elapsed_s"],
                    r["process_s"],
                    r["peak_rss_mb"],
                    r["requests"],
                    loaded if not side.startswith("fetch") else f"{r['rows']:,} read",
                    vs_dlt,
                    vs_fetch,
                    cpu,
                    per_item,
                ]
            )
    return table(
        [
            "N",
            "side",
            "items/s",
            "sync s",
            "process s",
            "peak RSS MB",
            "requests",
            "rows/truth",
            "vs dlt",
            "vs fetch",
            "CPU s client/sandbox/pg",
            "CPU us/item client (sync only) / pg",
        ],
        out,
    )


if __name__ == "__main__":
    raise SystemExit(main())
