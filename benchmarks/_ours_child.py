"""Our side of the full-sync benchmark, run in a child process (the app's virtualenv) so its peak
RSS is its own. Prints one result line (see _common.RESULT_PREFIX).

    sync       run_sync (the cron path) over the one due model: full history into Postgres
    fetch      fetch-only baseline: our FanvueClient reading every page of the same window, no DB
    fetch-raw  transport ceiling: httpx + json following nextCursor, no validation, no DB
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import API_VERSION, child_report


class StaticTokens:
    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refresh_after_unauthorized(self, rejected: str) -> str:
        raise RuntimeError("static token rejected")


class RssTrace:
    """BENCH_RSS_TRACE=1: samples this process's RSS every 5 ms; keeps the max of every second."""

    def __init__(self) -> None:
        import threading

        self.page = os.sysconf("SC_PAGE_SIZE")
        self.started = time.perf_counter()
        self.per_second: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with open("/proc/self/statm") as f:
            while not self.stop.wait(0.005):
                f.seek(0)
                rss = int(f.read().split()[1]) * self.page / 2**20
                sec = int(time.perf_counter() - self.started)
                if rss > self.per_second.get(sec, 0):
                    self.per_second[sec] = rss

    def report(self) -> list[tuple[int, float]]:
        self.stop.set()
        self.thread.join()
        return sorted((k, round(v, 1)) for k, v in self.per_second.items())


def run_sync_mode(args: argparse.Namespace) -> dict:
    from lib.config import settings
    from lib.db.postgres import PostgresDatabase
    from lib.sync.engine import SyncOptions
    from lib.sync.runner import run_sync

    config = settings()
    trace = RssTrace() if os.environ.get("BENCH_RSS_TRACE") else None
    db = PostgresDatabase(config.database_url, max_connections=max(4, config.sync_concurrency * 2))
    started, cpu0 = time.perf_counter(), time.process_time()
    summary = run_sync(db, kind=args.kind, config=config, options=SyncOptions(), max_models=args.max_models or None)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    db.close()
    data = summary.as_json()
    extra = {"rss_per_second": trace.report()} if trace else {}
    return {
        **extra,
        "side": "ours",
        "elapsed_s": round(elapsed, 3),
        "work_cpu_s": round(cpu, 3),
        "status": data["status"],
        "totals": data["totals"],
        "outcomes": data["outcomes"],
        "db_calls": db.calls,
        "pages": sum(m.pages for m in summary.models),
        "models": [
            {
                "name": m.name,
                "outcome": m.outcome,
                "fetched": m.fetched,
                "requests": m.requests,
                "pages": m.pages,
                "duration_s": round(m.duration_s, 3),
            }
            for m in summary.models
        ],
        "errors": [m.error for m in summary.models if m.error][:3],
    }


def run_fetch_mode(args: argparse.Namespace) -> dict:
    from lib.fanvue.client import FanvueClient

    start = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    end = datetime.now(UTC)
    client = FanvueClient(StaticTokens(args.token), owner_uuid=args.owner, api_base=args.base)
    items = pages = 0
    from lib.fanvue.models import EARNING_SOURCES
    from lib.sync.paging import earnings_fetch, walk

    started, cpu0 = time.perf_counter(), time.process_time()
    for page in walk(earnings_fetch(client, args.creator), start, end, sources=EARNING_SOURCES):
        items += len(page.items)
        pages += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    client.close()
    return {
        "side": "fetch",
        "elapsed_s": round(elapsed, 3),
        "work_cpu_s": round(cpu, 3),
        "items": items,
        "pages": pages,
        "requests": client.requests_made,
    }


def run_fetch_raw_mode(args: argparse.Namespace) -> dict:
    import httpx

    headers = {"Authorization": f"Bearer {args.token}", "X-Fanvue-API-Version": API_VERSION}
    path = f"/creators/{args.creator}/insights/earnings"
    items = pages = 0
    started = time.perf_counter()
    with httpx.Client(base_url=args.base, headers=headers) as http:
        cursor = None
        while True:
            params = {"size": 50, "startDate": args.start}
            if cursor:
                params["cursor"] = cursor
            body = http.get(path, params=params).json()
            items += len(body["data"])
            pages += 1
            cursor = body.get("nextCursor")
            if not cursor:
                break
    elapsed = time.perf_counter() - started
    return {"side": "fetch-raw", "elapsed_s": round(elapsed, 3), "items": items, "pages": pages}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["sync", "fetch", "fetch-raw"])
    p.add_argument("--max-models", type=int, default=1, help="models to sync (0 = all due)")
    p.add_argument("--kind", default="cli", choices=["cli", "cron", "reconcile"], help="run kind (sync mode)")
    p.add_argument("--base", help="sandbox base URL (fetch modes)")
    p.add_argument("--token", help="bearer token (fetch modes)")
    p.add_argument("--owner", help="token owner uuid (fetch: rate-limit bucket key)")
    p.add_argument("--creator", help="creator uuid (fetch modes)")
    p.add_argument("--start", default="2019-01-01T00:00:00.000Z", help="window start (fetch modes)")
    a = p.parse_args()
    t0 = time.perf_counter()
    out = {"sync": run_sync_mode, "fetch": run_fetch_mode, "fetch-raw": run_fetch_raw_mode}[a.mode](a)
    out["process_s"] = round(time.perf_counter() - t0, 3)
    out["pid"] = os.getpid()
    child_report(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
