"""Fresh revenue within seconds of a sale: a short incremental sync inside the webhook invocation.

After a verified delivery has been recorded (which already marked the creator's models due), each
model is synced at once under the same lease as every other sync (the force-sync entry point), over
the recent window the event concerns only: from the event time minus WEBHOOK_SYNC_MARGIN_S, or from
the watermark when that is older (so the watermark advances), but never earlier than the watermark
minus the lookback. It never runs a first backfill (that is the cron's job) and it skips a model
already synced past the event (bursts coalesce). When another sync holds the lease it waits within
the budget, then re-checks; when the budget ends the model simply stays due for the cron.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from lib.config import Settings
from lib.db import Database
from lib.safe_log import describe_exception
from lib.sync.engine import SyncOptions
from lib.sync.runner import force_sync
from lib.sync.work import LeaseHeld
from lib.timeutil import maybe_utc

log = logging.getLogger("fanvue_sync.freshness")

LEASE_POLL_S = 0.1
MIN_SYNC_S = 0.5  # below this much budget a sync could not finish a request; leave the model due


def sync_window_start(event_at: datetime, watermark: datetime, config: Settings) -> datetime:
    """Start of the incremental window for one event (see the module docstring)."""
    start = min(event_at - timedelta(seconds=config.webhook_sync_margin_s), watermark)
    return max(start, watermark - timedelta(days=config.sync_lookback_days))


def sync_after_webhook(
    db: Database, config: Settings, model_ids: list[str], event_at: datetime
) -> list[dict[str, Any]]:
    """Syncs each model the event marked due, within WEBHOOK_SYNC_BUDGET_S. Never raises."""
    if not model_ids or config.webhook_sync_budget_s <= 0:
        return [_skip(m, "disabled") for m in model_ids]
    deadline = time.monotonic() + config.webhook_sync_budget_s
    out: list[dict[str, Any]] = []
    for model_id in model_ids:
        try:
            out.append(_sync_model(db, config, str(model_id), event_at, deadline))
        except Exception as exc:
            log.error("webhook sync of %s failed: %s", model_id, describe_exception(exc))
            out.append(_skip(str(model_id), "error"))
    return out


def _target(db: Database, model_id: str) -> dict[str, Any] | None:
    rows = db.call("fanvue_webhook_targets", model_id=model_id)
    return rows[0] if rows else None


def _sync_model(db: Database, config: Settings, model_id: str, event_at: datetime, deadline: float) -> dict[str, Any]:
    while True:
        target = _target(db, model_id)
        if target is None:
            return _skip(model_id, "model_gone")
        if target.get("connection_status") != "active":
            return _skip(model_id, "needs_reconnect")
        watermark = maybe_utc(target.get("watermark"))
        if watermark is None or not target.get("backfill_completed_at"):
            return _skip(model_id, "backfill_pending")
        if watermark > event_at:
            return _skip(model_id, "already_synced")
        remaining = deadline - time.monotonic()
        if remaining < MIN_SYNC_S + LEASE_POLL_S:
            return _skip(model_id, "lease_held" if target.get("lease_held") else "budget_ended")
        if target.get("lease_held"):
            time.sleep(LEASE_POLL_S)
            continue
        since = sync_window_start(event_at, watermark, config)
        outcome = force_sync(db, str(model_id), options=SyncOptions(since=since), config=config, budget_s=remaining)
        if isinstance(outcome, LeaseHeld):  # taken between our look and our acquire: wait like any holder
            continue
        result, run_id = outcome.result, outcome.run_id
        reason = {"ok": "synced", "partial": "budget_ended"}.get(result.outcome, "failed")
        return {
            "model_id": model_id,
            "synced": result.outcome == "ok",
            "reason": reason,
            "run_id": run_id,
            "since": since.isoformat(),
            "requests": result.requests,
            "inserted": result.inserted,
            "revenue_after_cents": result.revenue_after_cents,
            "duration_s": round(result.duration_s, 3),
        }


def _skip(model_id: str, reason: str) -> dict[str, Any]:
    return {"model_id": str(model_id), "synced": False, "reason": reason}
