"""Posting claimed notifications. A claim (FOR UPDATE SKIP LOCKED plus a short claim lease) keeps
overlapping invocations from posting the same notification twice; a failed post stays pending with
its error and the next run retries it. The URL is a secret: it never appears in an error or a log."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from lib.alerts.messages import render
from lib.config import Settings
from lib.db import Database

log = logging.getLogger("fanvue_sync.alerts")


def post(url: str, text: str, timeout_s: float) -> str | None:
    """Posts `{"text": ...}`; returns None on a 2xx, else a short error without the URL."""
    try:
        response = httpx.post(url, json={"text": text}, timeout=timeout_s, headers={"User-Agent": "fanvue-sync-alerts"})
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: the alert webhook did not answer"
    if 200 <= response.status_code < 300:
        return None
    return f"the alert webhook answered HTTP {response.status_code}"


def deliver_pending(db: Database, config: Settings, worker: str, limit: int = 20) -> dict[str, Any]:
    """Posts every claimable notification once. Without ALERT_WEBHOOK_URL nothing is claimed: the
    incidents stay pending (and visible) until a channel is configured."""
    report: dict[str, Any] = {"posted": 0, "failed": 0, "errors": []}
    url = config.alert_webhook_url
    if not url:
        report["channel"] = "unset"
        return report
    for n in db.call(
        "fanvue_claim_notifications", worker=worker, limit=limit, claim_seconds=int(config.alert_timeout_s) + 30
    ):
        error = post(url, render(n, config), config.alert_timeout_s)
        db.call("fanvue_finish_notification", id=n["id"], worker=worker, phase=n["phase"], error=error)
        if error is None:
            report["posted"] += 1
            log.info("alert posted: %s %s (%s)", n["kind"], n["subject"], n["phase"])
        else:
            report["failed"] += 1
            report["errors"].append({"incident_id": n["id"], "kind": n["kind"], "error": error})
            log.warning("alert not delivered, kept for the next run: %s %s: %s", n["kind"], n["subject"], error)
    return report
