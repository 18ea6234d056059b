"""force-sync-revenue: one model, now, under the same lease as the cron."""

from __future__ import annotations

from datetime import UTC, datetime

from lib.config import settings
from lib.db import Database, get_database
from lib.http.access import resolve_model
from lib.http.errors import ApiError, conflict
from lib.http.params import ForceSyncQuery
from lib.http.response import Response, json_response
from lib.http.shell import Request
from lib.money import decimal_str
from lib.sync.engine import SyncOptions
from lib.sync.runner import force_sync
from lib.sync.work import LeaseHeld


def force_sync_endpoint(request: Request[ForceSyncQuery]) -> Response:
    q = request.query
    if q.full and q.since:
        raise ApiError(422, "invalid_parameter", "give full=true or since=..., not both")
    if q.since and q.since > datetime.now(UTC):
        raise ApiError(422, "invalid_parameter", "since is in the future")
    db = get_database()
    model = resolve_model(db, request.caller, str(q.model_id) if q.model_id else None, q.model_name)
    options = SyncOptions(full=q.full, since=q.since, dry_run=q.dry_run)
    throttle = _claim_full_sync(db, str(model["id"]), q.dry_run) if q.full else None
    try:
        outcome = force_sync(db, str(model["id"]), options=options)
    except BaseException:
        if throttle:
            db.call("fanvue_throttle_give_back", key=throttle)
        raise
    if throttle and (isinstance(outcome, LeaseHeld) or outcome.result.outcome not in ("ok", "dry_run")):
        db.call("fanvue_throttle_give_back", key=throttle)  # nothing completed: a retry must not wait
    from lib.alerts.hooks import quick_check

    quick_check(db, settings(), "force")
    if isinstance(outcome, LeaseHeld):
        raise conflict(
            "sync_in_progress",
            f"a {outcome.lease_kind or 'sync'} sync holds this model until {outcome.lease_expires_at}; "
            "try again when it ends (a worker that died frees the model when its lease expires)",
            lease_kind=outcome.lease_kind,
            lease_expires_at=outcome.lease_expires_at,
        )
    result, run_id = outcome.result, outcome.run_id
    body = {
        "model": {"id": model["id"], "name": model["name"]},
        "run_id": run_id,
        "outcome": result.outcome,
        "dry_run": q.dry_run,
        "items": {
            "fetched": result.fetched,
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
        "revenue": {
            "before_cents": result.revenue_before_cents,
            "after_cents": result.revenue_after_cents,
            "before": decimal_str(result.revenue_before_cents),
            "after": decimal_str(result.revenue_after_cents),
        },
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
        body["error"] = {
            "code": "needs_reconnect" if result.needs_reconnect else "fanvue_sync_failed",
            "message": result.error or "sync failed",
        }
        return json_response(body, status=status)
    return json_response(body)


def _claim_full_sync(db: Database, model_id: str, dry_run: bool) -> str | None:
    """A full re-read costs one Fanvue request per 50 items of history: at most one per
    FORCE_SYNC_FULL_MIN_INTERVAL_S per model (dry runs counted apart, so a dry run may precede one)."""
    interval = settings().force_sync_full_min_interval_s
    if interval <= 0:
        return None
    key = f"full-sync:{model_id}:{'dry' if dry_run else 'write'}"
    taken = db.call("fanvue_throttle_take", key=key, limit=1, window_s=interval)
    if not taken["allowed"]:
        retry = int(taken["retry_after_s"])
        raise ApiError(
            429,
            "full_sync_too_soon",
            f"a full{' dry-run' if dry_run else ''} sync of this model completed less than {interval} s "
            f"ago (FORCE_SYNC_FULL_MIN_INTERVAL_S): retry in {retry} s, or call without full=true "
            "for an incremental sync",
            details={"retry_after_s": retry},
            headers={"Retry-After": str(retry)},
        )
    return key
