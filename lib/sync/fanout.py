"""Scale-out on Vercel itself: when the due backlog is larger than one invocation can finish, the
cron invocation starts K more invocations of the sync function (authenticated with the cron secret,
fire-and-forget). Every invocation claims work through the same leases, so they never collide.
K is bounded by SYNC_FANOUT_MAX; rate limits stay per Fanvue bucket (per creator on /creators/ routes),
and the client's pacer keeps each bucket under its limit.
"""

from __future__ import annotations

import math
import threading

from lib.config import Settings
from lib.db import Database


def fanout_size(db: Database, config: Settings) -> int:
    if config.sync_fanout_max <= 0:
        return 0
    due = int(db.call("fanvue_due_count")["due"])
    needed = math.ceil(due / max(1, config.sync_models_per_invocation)) - 1
    return max(0, min(config.sync_fanout_max, needed))


def function_base_url(config: Settings) -> str:
    return config.function_base_url.rstrip("/")


def launch_workers(k: int, config: Settings, mode: str = "sync") -> list[int]:
    """Starts k worker invocations and returns without waiting for them to finish."""
    import httpx  # only a tick that fans out pays for it

    started: list[int] = []
    lock = threading.Lock()

    def fire(i: int) -> None:
        try:
            httpx.get(
                f"{function_base_url(config)}/api/cron/sync-transactions",
                params={"worker": str(i), "mode": mode},
                headers={"Authorization": f"Bearer {config.cron_secret}", "User-Agent": "fanvue-sync-fanout"},
                timeout=httpx.Timeout(5.0, read=1.0),
            )
        except httpx.ReadTimeout:
            pass  # the worker is running; we do not wait for it
        except httpx.HTTPError:
            return
        with lock:
            started.append(i)

    threads = [threading.Thread(target=fire, args=(i,), daemon=True) for i in range(1, k + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=6.0)
    return sorted(started)


def plan(db: Database, config: Settings, worker: int | None, mode: str) -> dict[str, object]:
    """Called by the primary cron invocation only (worker is None); workers never fan out further."""
    if worker is not None:
        return {"role": f"worker {worker}", "launched": []}
    k = fanout_size(db, config)
    return {"role": "primary", "launched": launch_workers(k, config, mode) if k else []}
