"""force-sync-revenue: one model, now, under the same lease as the cron."""
from __future__ import annotations

from datetime import datetime, timezone

from lib.access import resolve_model
from lib.config import settings
from lib.db import get_database
from lib.http.errors import ApiError, conflict
from lib.http.response import Response, json_response
from lib.http.shell import Request
from lib.sync.engine import SyncOptions
from lib.sync.runner import force_sync


def force_sync_endpoint(request: Request) -> Response:
    q = request.query
    if q.full and q.since:
        raise ApiError(422, "invalid_parameter", "give full=true or since=..., not both")
    if q.since and q.since > datetime.now(timezone.utc):
        raise ApiError(422, "invalid_parameter", "since is in the future")
    db = get_database()
    model = resolve_model(db, request.principal, str(q.model_id) if q.model_id else None, q.model_name)
    options = SyncOptions(full=q.full, since=q.since, dry_run=q.dry_run)
    state, outcome = force_sync(db, model, options=options)
    from lib.alerts.hooks import quick_check

    quick_check(db, settings(), "force")
    if state == "busy":
        raise conflict("sync_in_progress", "a sync of this model is running; try again when it ends",
                       holder=outcome.get("holder"), lease_kind=outcome.get("lease_kind"),
                       lease_expires_at=outcome.get("lease_expires_at"))
    result, run_id = outcome
    body = {
        "model": {"id": model["id"], "name": model["name"]},
        "run_id": run_id,
        "outcome": result.outcome,
        "dry_run": q.dry_run,
        "items": {"fetched": result.fetched, "inserted": result.inserted, "updated": result.updated,
                  "unchanged": result.unchanged},
        "revenue": {"before_cents": result.revenue_before_cents, "after_cents": result.revenue_after_cents,
                    "before": _dollars(result.revenue_before_cents), "after": _dollars(result.revenue_after_cents)},
        "window": {"start": result.window_start, "end": result.window_end, "watermark": result.watermark},
        "requests": result.requests,
        "duration_s": round(result.duration_s, 3),
        "error": None,
    }
    if result.outcome == "partial":
        body["message"] = "time budget reached; progress is saved and the cron continues the backfill"
        body["error"] = {"code": "time_budget_reached", "message": result.error or body["message"]}
        return json_response(body, status=202)
    if result.outcome == "failed":
        status = 409 if result.needs_reconnect else 502
        body["error"] = {"code": "needs_reconnect" if result.needs_reconnect else "fanvue_sync_failed",
                         "message": result.error or "sync failed"}
        return json_response(body, status=status)
    return json_response(body)


def _dollars(cents):
    return None if cents is None else f"{cents / 100:.2f}"
