"""Runtime stand-ins for the fixes the benchmarks propose, so each can be measured before the lead
applies it to lib/ (the benchmarks never edit lib/ or supabase/). Selected with BENCH_PATCHES
(comma list) in a child process; SQL counterparts live in benchmarks/proposed/*.sql.

  json   lib/db/postgres.py PostgresDatabase.call: pass dict/list arguments to Jsonb with a
         json.dumps that has a `default=` hook for datetime/UUID (C encoder, compact separators)
         instead of copying every row through the recursive pure-Python to_json_value first.
  switch lib/sync/runner.py run_sync (process start of a sync): sys.setswitchinterval(0.0005) so the
         fetch thread, which gives up the GIL 3-4 times per page for socket I/O, is not held off for
         up to 5 ms each time by the storing thread's pure-Python work (GIL convoy).
  tokens lib/sync/runner.py run_sync/make_client: one ConnectionTokens per connection for the whole run
         (a dict guarded by a lock, handed to make_client) instead of a new one per model, so the
         models of one agency connection share the access token read: one
         fanvue_claim_token_refresh per connection and run instead of one per model.
  finish lib/sync/runner.py finish_model + work_loop: one call of fanvue_finish_model
         (benchmarks/proposed/finish_and_claim.sql) records the outcome, releases the lease and claims
         the worker's next model, instead of record_run_model + release_model + claim_models.
         Stand-in: intercepts the three calls per thread (needs the SQL file applied).
  batch  lib/sync/engine.py ModelSync._sync_window: when the queue runs dry before MIN_BATCH_ROWS (500)
         rows are collected, keep waiting for pages up to MAX_BATCH_WAIT_S (1 s) after the batch's
         first page instead of storing at once. With latency or the rate limit the fetcher is slower
         than the store, so today every page (50 rows) becomes its own fanvue_ingest_page
         transaction (6,240 calls for 6,140 pages in the 20-creator backfill).
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


FAST_DUMPS = partial(json.dumps, default=_json_default, separators=(",", ":"))


def apply(names: str | None = None) -> list[str]:
    names = names if names is not None else os.environ.get("BENCH_PATCHES", "")
    applied = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        if name == "json":
            import lib.db.postgres as pgmod
            from psycopg.types.json import set_json_dumps

            set_json_dumps(FAST_DUMPS)
            pgmod.to_json_value = lambda value: value  # type: ignore[assignment]
        elif name == "tokens":
            import threading

            import lib.sync.runner as runner
            from lib.tokens import ConnectionTokens

            cache: dict[str, Any] = {}
            lock = threading.Lock()

            def make_client(db: Any, work: Any, *, worker: str, config: Any, deadline: float,
                            http: Any = None) -> Any:
                from lib.fanvue.client import FanvueClient

                key = str(work["connection_id"])
                with lock:
                    tokens = cache.get(key)
                    if tokens is None:
                        tokens = cache[key] = ConnectionTokens(db, key, owner=worker, config=config)
                return FanvueClient(tokens, owner_uuid=str(work["connection_user_uuid"]),
                                    api_base=config.fanvue_api_base, api_version=config.fanvue_api_version,
                                    http=http, deadline=deadline)

            runner.make_client = make_client  # type: ignore[assignment]
        elif name == "finish":
            import threading

            import lib.db.postgres as pgmod

            original_call = pgmod.PostgresDatabase.call
            local = threading.local()

            def call(db: Any, function: str, **args: Any) -> Any:
                if function == "fanvue_claim_models" and args.get("limit") == 1:
                    local.claim_args = args
                    stashed = getattr(local, "next", None)
                    if stashed is not None:
                        local.next = None
                        return stashed
                elif function == "fanvue_record_run_model":
                    local.record = args
                    return {"deferred": True}
                elif function == "fanvue_release_model" and getattr(local, "record", None):
                    rec, local.record = local.record, None
                    claim = getattr(local, "claim_args", None) or {}
                    out = original_call(db, "fanvue_finish_model", run_id=rec["run_id"], model_id=args["model_id"],
                                        worker=args["worker"], outcome=args["outcome"], stats=rec["stats"],
                                        error=args.get("error"), next_sync_seconds=args.get("next_sync_seconds", 900),
                                        claim_next=bool(claim), lease_seconds=claim.get("lease_seconds", 300),
                                        kind=claim.get("kind", "cron"),
                                        not_attempted_since=claim.get("not_attempted_since"))
                    local.next = out["next"] if claim else None
                    return {"released": out["released"]}
                return original_call(db, function, **args)

            pgmod.PostgresDatabase.call = call  # type: ignore[method-assign]
        elif name == "batch":
            import lib.sync.engine as engine

            engine.ModelSync._sync_window = _sync_window_batched  # type: ignore[method-assign]
        elif name == "switch":
            import sys

            sys.setswitchinterval(0.0005)
        else:
            raise ValueError(f"unknown patch {name!r}")
        applied.append(name)
    return applied


MIN_BATCH_ROWS = 500
MAX_BATCH_WAIT_S = 1.0


def _sync_window_batched(self: Any, window: Any, fetch: Any, to_rows: Any) -> None:
    """lib.sync.engine.ModelSync._sync_window with the `batch` change (marked CHANGED)."""
    import queue
    import threading
    import time

    from lib.sync.engine import MAX_BATCH_ROWS, _Stop, walk_window

    result = self.result
    if window.stream == "earnings":
        result.window_start = min(result.window_start or window.start, window.start)
        result.window_end = max(result.window_end or window.end, window.end)
    pages: "queue.Queue[Any]" = queue.Queue(maxsize=16)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in walk_window(fetch, window, to_rows, stop):
                pages.put(item)
                if stop.is_set():
                    return
        except _Stop:
            return
        except BaseException as exc:  # noqa: BLE001
            pages.put(exc)

    fetcher = threading.Thread(target=produce, name=f"fetch-{result.model_id[:8]}", daemon=True)
    fetcher.start()
    try:
        done = False
        while not done:
            batch_rows: list = []
            resume_end = None
            last = False
            item = pages.get()
            first_at = time.monotonic()  # CHANGED
            while True:
                if isinstance(item, BaseException):
                    if batch_rows or resume_end:
                        self._store(window, batch_rows, resume_end, False)
                    raise item
                rows, page_resume, is_last = item
                batch_rows.extend(rows)
                result.fetched += len(rows)
                result.pages += 1
                resume_end = page_resume or resume_end
                if is_last:
                    last = True
                    break
                if len(batch_rows) >= MAX_BATCH_ROWS:
                    break
                try:
                    item = pages.get_nowait()
                except queue.Empty:
                    # CHANGED: a small batch waits a little for more pages instead of its own transaction
                    wait = first_at + MAX_BATCH_WAIT_S - time.monotonic()
                    if len(batch_rows) >= MIN_BATCH_ROWS or wait <= 0 or time.monotonic() >= self.deadline:
                        break
                    try:
                        item = pages.get(timeout=wait)
                    except queue.Empty:
                        break
            self._store(window, batch_rows, resume_end, last)
            done = last
    finally:
        stop.set()
        while fetcher.is_alive():
            try:
                pages.get(timeout=0.05)
            except queue.Empty:
                pass
        fetcher.join(timeout=1)
