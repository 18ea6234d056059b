"""The cron tick: sync due models, or the daily reconcile pass over the last RECONCILE_DAYS."""

from __future__ import annotations

from lib.config import settings
from lib.http.response import Response, json_response
from lib.sync.engine import SyncOptions
from lib.sync.runner import run_sync


def run_cron(mode: str, worker: int | None) -> Response:
    from lib.db import get_database
    from lib.sync.fanout import plan

    config = settings()
    fanout = plan(get_database(), config, worker, mode) if mode == "sync" else {"role": "primary", "launched": []}
    if mode == "reconcile":
        # A different alignment than the 15-minute runs: midnight-aligned start, page size 47.
        summary = run_sync(
            kind="reconcile", config=config, options=SyncOptions(reconcile_days=config.reconcile_days, page_size=47)
        )
    else:
        summary = run_sync(kind="cron", config=config, options=SyncOptions(), refresh_tokens=worker is None)
    from lib.alerts.hooks import after_cron

    alerts = after_cron(get_database(), config, summary, mode) if worker is None else None
    # A failed model is data, not a server error: the body's status and per-model outcomes say so.
    return json_response(dict(summary.as_json(), fanout=fanout, alerts=alerts))
