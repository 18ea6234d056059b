"""The calls other functions make. Each evaluates incidents from the database and posts what is
pending; none of them ever raises, so an alert failure can never break a sync (the failure is
returned, logged and kept on the incident)."""

from __future__ import annotations

import logging
import time
from typing import Any

from lib.alerts.delivery import deliver_pending
from lib.config import Settings
from lib.db import Database
from lib.safe_log import describe_exception

log = logging.getLogger("fanvue_sync.alerts")

STATE_KINDS = ["needs_reconnect", "sync_failing", "backfill_stalled", "cron_overdue"]


def evaluate(
    db: Database, config: Settings, kinds: list[str], reconcile: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    from lib.db.transport import TextArray

    result: dict[str, Any] = db.call(
        "fanvue_evaluate_incidents",
        kinds=TextArray(kinds),
        failure_runs=config.alert_failure_runs,
        cron_overdue_seconds=config.cron_overdue_s,
        backfill_stall_seconds=config.alert_backfill_stall_s,
        reconcile=reconcile,
    )
    return result


def quick_check(db: Database, config: Settings, who: str) -> dict[str, Any]:
    """One cheap call from any function (webhook, force-sync, diagnose): is the cron overdue? Posts
    only when something is pending."""
    from lib.tokens import worker_id

    try:
        result = evaluate(db, config, ["cron_overdue"])
        if result.get("pending"):
            result.update(deliver_pending(db, config, worker_id(f"alerts-{who}")))
        return result
    except Exception as exc:
        log.error("alert check failed: %s", describe_exception(exc))
        return {"error": describe_exception(exc)}


def after_cron(db: Database, config: Settings, summary: Any, mode: str) -> dict[str, Any]:
    """After a cron or reconcile run: every state incident, the reconcile comparison, delivery; the
    outcome is added to the run's recorded summary (run history)."""
    from lib.tokens import worker_id

    worker = worker_id(f"alerts-{mode}")
    out: dict[str, Any] = {}
    try:
        kinds = list(STATE_KINDS)
        entries = None
        if mode == "reconcile":
            from lib.alerts.reconcile import compare_models

            deadline = time.monotonic() + max(5.0, config.sync_budget_s - summary.duration_s)
            entries, errors = compare_models(db, config, summary.models, deadline, worker)
            kinds.append("reconcile_mismatch")
            out["reconcile"] = {
                "compared": len(entries),
                "unexplained": sum(e["unexplained"] for e in entries),
                "errors": errors,
            }
        out.update(evaluate(db, config, kinds, entries))
        out.update(deliver_pending(db, config, worker))
    except Exception as exc:
        log.error("alerts after the %s run failed: %s", mode, describe_exception(exc))
        out["error"] = describe_exception(exc)
    try:
        db.call("fanvue_note_run_alerts", run_id=summary.run_id, alerts=out)
    except Exception as exc:
        log.error("could not record the alert outcome: %s", describe_exception(exc))
    return out
