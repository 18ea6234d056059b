"""The agency overview: every model of the caller's agency from one SQL call, as JSON or plain text.

The database returns facts (fanvue_agency_overview); this module judges them (status, problems,
freshness, discrepant models first) so JSON, text and HTML say the same thing.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from lib.config import Settings
from lib.db import Database
from lib.money import usd
from lib.timeutil import maybe_utc

# Problem code -> (severity, label). Severity 3 is broken, 2 needs attention, 1 notice, 0 info.
PROBLEMS: dict[str, tuple[int, str]] = {
    "needs_reconnect": (3, "needs reconnect"),
    "not_connected": (3, "not connected"),
    "ledger_mismatch": (3, "stored total differs from ledger"),
    "failing": (2, "sync failing"),
    "stale": (2, "stale"),
    "incident": (2, "open incident"),
    "fanvue_differs": (1, "Fanvue total differs"),
    "backfilling": (1, "backfilling"),
}
STATUS_LABEL = {**{code: label for code, (_, label) in PROBLEMS.items()}, "ok": "healthy", "syncing": "syncing"}
DISCREPANT_SEVERITY = 2


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    s = int(max(0, seconds))
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 172800:
        return f"{s // 3600} h ago"
    return f"{s // 86400} days ago"


def build_overview(db: Database, agency_id: str, *, config: Settings, base_url: str) -> dict[str, Any]:
    started = time.monotonic()
    facts = db.call("fanvue_agency_overview", agency_id=agency_id)
    now = maybe_utc(facts["now"]) or datetime.now(UTC)
    by_model, agency_incidents = split_incidents(facts.get("incidents") or [])
    first = date.fromisoformat(str(facts["trend_start"]))
    days = [(first + timedelta(days=i)).isoformat() for i in range(int(facts["days"]))]
    models = [
        _judge(m, now, config, base_url, agency_id, by_model.get(str(m["id"]), []), days) for m in facts["models"]
    ]
    models.sort(key=lambda m: (-m["severity"], m["name"].lower(), m["id"]))
    discrepant = [m for m in models if m["severity"] >= DISCREPANT_SEVERITY]

    def count(code: str) -> int:
        return sum(1 for m in models if code in m["problems"])

    worst = max((m["severity"] for m in models), default=0)
    return {
        "agency": facts.get("agency"),
        "summary": {
            "status": "broken" if worst >= 3 else "degraded" if worst >= 2 or agency_incidents else "healthy",
            "models_total": len(models),
            "models_ok": sum(1 for m in models if m["severity"] == 0),
            "discrepant": len(discrepant),
            "needs_reconnect": count("needs_reconnect"),
            "not_connected": count("not_connected"),
            "ledger_mismatch": count("ledger_mismatch"),
            "stale": count("stale"),
            "failing": count("failing"),
            "backfilling": count("backfilling"),
            "open_incidents": sum(len(m["incidents"]) for m in models) + len(agency_incidents),
            "stored_total_cents": sum(m["revenue"]["stored_cents"] for m in models),
            "ledger_total_cents": sum(m["revenue"]["ledger_cents"] for m in models),
        },
        "discrepant_models": [
            {"id": m["id"], "name": m["name"], "status": m["status"], "problems": m["problems"]} for m in discrepant
        ],
        "incidents": agency_incidents,
        "last_cron_run": facts.get("last_cron_run"),
        "trend": {"days": facts["days"], "start": facts["trend_start"], "end": facts["trend_end"]},
        "models": models,
        "generated_at": facts["now"],
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }


def split_incidents(incidents: list[Any]) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Open incidents (fanvue_open_incidents): per model when they name one, else agency-wide."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    agency: list[dict[str, Any]] = []
    for item in incidents if isinstance(incidents, list) else []:
        if not isinstance(item, dict):
            continue
        model_id = item.get("model_id")
        if model_id:
            by_model.setdefault(str(model_id), []).append(item)
        else:
            agency.append(item)
    return by_model, agency


def incident_text(item: dict[str, Any]) -> str:
    """An open incident (fanvue_open_incidents) as the alert channel words it, with its start."""
    from lib.alerts.messages import summary

    since = str(item.get("opened_at") or "")[:16].replace("T", " ")
    return f"{summary(item)} (since {since})" if since else summary(item)


def _judge(
    m: dict[str, Any],
    now: datetime,
    config: Settings,
    base_url: str,
    agency_id: str,
    incidents: list[dict[str, Any]],
    days: list[str],
) -> dict[str, Any]:
    connection, sync, fanvue = m.get("connection"), m["sync"], m.get("fanvue")
    problems: list[str] = []
    reasons: list[str] = []
    if connection is None:
        problems.append("not_connected")
        reasons.append("no Fanvue connection")
    elif connection["status"] != "active":
        problems.append("needs_reconnect")
        reasons.append(f"connection {connection['status']}: {connection.get('status_reason') or 'no reason recorded'}")
    stored, ledger = int(m["stored_cents"]), int(m["ledger_cents"])
    if stored != ledger or int(m["stored_count"]) != int(m["ledger_count"]):
        problems.append("ledger_mismatch")
        reasons.append(f"stored {usd(stored)} but the ledger sums to {usd(ledger)}")
    if int(sync.get("consecutive_failures") or 0) > 0 or sync.get("last_outcome") == "failed":
        problems.append("failing")
        reasons.append(f"last sync failed: {sync.get('last_error') or sync.get('last_outcome')}")
    success = maybe_utc(sync.get("last_success_at"))
    age = (now - success).total_seconds() if success else None
    overdue = connection is not None and (age is None or age > config.cron_overdue_s)
    if overdue and "needs_reconnect" not in problems:
        problems.append("stale")
        reasons.append(f"last successful sync {ago(age)}")
    if incidents:
        problems.append("incident")
        reasons.extend(incident_text(i) for i in incidents)
    fanvue_cents = fanvue["account_total_cents"] if fanvue else None
    if fanvue and fanvue.get("status") == "fail":  # a difference the data we hold does not explain
        problems.append("fanvue_differs")
        reasons.append(f"{fanvue['explanation']} ({str(fanvue['observed_at'])[:16]})")
    progress = sync.get("backfill_progress")
    backfill_pct = None
    if not sync.get("backfill_completed_at") and connection is not None:
        problems.append("backfilling")
        if progress:
            start, end, resume = (
                maybe_utc(progress.get("start")),
                maybe_utc(progress.get("end")),
                maybe_utc(progress.get("resume_end")),
            )
            if start and end and resume:
                backfill_pct = round(100 * (end - resume).total_seconds() / max(1.0, (end - start).total_seconds()))
        reasons.append("first backfill " + (f"{backfill_pct}% done" if backfill_pct is not None else "not started"))
    problems.sort(key=lambda p: -PROBLEMS[p][0])
    lease_expires = maybe_utc(sync.get("lease_expires_at"))
    leased = bool(sync.get("lease_owner")) and lease_expires is not None and lease_expires > now
    severity = PROBLEMS[problems[0]][0] if problems else 0
    status = problems[0] if problems else ("syncing" if leased else "ok")
    model_id = str(m["id"])
    reconnect = None
    if "needs_reconnect" in problems or "not_connected" in problems:
        query = {"agencyId": agency_id} if connection and connection.get("kind") == "agency" else {"modelId": model_id}
        reconnect = f"{base_url}/api/auth/fanvue/connect?{urlencode(query)}"
    return {
        "id": model_id,
        "name": m["name"],
        "fanvue_handle": m.get("fanvue_handle"),
        "status": status,
        "status_label": STATUS_LABEL[status],
        "severity": severity,
        "problems": problems,
        "reasons": reasons,
        "connection": None
        if connection is None
        else {
            "id": connection["id"],
            "kind": connection["kind"],
            "status": connection["status"],
            "status_reason": connection.get("status_reason"),
        },
        "revenue": {
            "stored_cents": stored,
            "ledger_cents": ledger,
            "fanvue_cents": fanvue_cents,
            "fanvue_observed_at": fanvue["observed_at"] if fanvue else None,
            "fanvue_source": fanvue["source"] if fanvue else None,
            "fanvue_status": fanvue["status"] if fanvue else None,
            "fanvue_explanation": fanvue["explanation"] if fanvue else None,
            "difference_cents": stored - ledger,
            "transaction_count": int(m["ledger_count"]),
            "ledger_method": "monthly_rollup",
        },
        "freshness": {
            "last_success_at": sync.get("last_success_at"),
            "age_s": None if age is None else int(age),
            "overdue": overdue,
            "watermark": sync.get("watermark"),
            "next_sync_at": sync.get("next_sync_at"),
            "last_outcome": sync.get("last_outcome"),
            "last_error": sync.get("last_error"),
        },
        "backfill": {
            "complete": sync.get("backfill_completed_at") is not None,
            "completed_at": sync.get("backfill_completed_at"),
            "progress_pct": backfill_pct,
        },
        "lease": {
            "held": leased,
            "kind": sync.get("lease_kind") if leased else None,
            "expires_at": sync.get("lease_expires_at") if leased else None,
        },
        "incidents": incidents,
        "trend_cents": [int((m.get("daily") or {}).get(day) or 0) for day in days],
        "links": {
            "diagnose": f"{base_url}/api/fanvue/diagnose-revenue?{urlencode({'modelId': model_id})}",
            "reconnect": reconnect,
        },
    }


def as_text(overview: dict[str, Any]) -> str:
    s = overview["summary"]
    agency = (overview.get("agency") or {}).get("name") or ""
    lines = [
        f"agency overview: {agency}",
        f"{s['status'].upper()}: {s['models_total']} models, {s['discrepant']} need attention "
        f"({s['needs_reconnect']} need reconnect, {s['not_connected']} not connected, "
        f"{s['ledger_mismatch']} stored != ledger, {s['stale']} stale, {s['failing']} failing), "
        f"{s['open_incidents']} open incidents",
        f"stored {usd(s['stored_total_cents'])}, ledger {usd(s['ledger_total_cents'])}",
        "",
    ]
    width = min(max([len(m["name"]) for m in overview["models"]] + [5]), 40)
    lines.append(f"{'model':<{width}}  {'status':<34}  {'stored':>14}  {'ledger':>14}  {'Fanvue':>14}  synced")
    for m in overview["models"]:
        r = m["revenue"]
        name = "".join(ch if ch.isprintable() else " " for ch in m["name"])
        lines.append(
            f"{name[:width]:<{width}}  {m['status_label']:<34}  {usd(r['stored_cents']):>14}  "
            f"{usd(r['ledger_cents']):>14}  {usd(r['fanvue_cents']):>14}  {ago(m['freshness']['age_s'])}"
        )
        for reason in m["reasons"] if m["severity"] >= 1 else []:
            lines.append(f"{'':<{width}}    - {reason}")
        if m["links"]["reconnect"]:
            lines.append(f"{'':<{width}}    reconnect: {m['links']['reconnect']}")
    for item in overview["incidents"]:
        lines.append(f"agency incident: {incident_text(item)}")
    return "\n".join(lines) + "\n"


def remember_fanvue_total(db: Database, report: dict[str, Any]) -> None:
    """Keeps the account total a probe just read, with the diagnosis's reconciliation of Fanvue's
    figures (pass if any figure is equal or explained, else warn if any is, else fail), so the
    overview can show it without calling Fanvue and flag only an unexplained difference."""
    fanvue = report.get("fanvue") or {}
    figures = list((fanvue.get("reconciliation") or {}).values())
    if fanvue.get("account_total_cents") is None or not figures:
        return
    best = min(figures, key=lambda f: ("pass", "warn", "fail").index(f["status"]))
    db.call(
        "fanvue_record_reported_total",
        model_id=report["model"]["id"],
        account_total_cents=int(fanvue["account_total_cents"]),
        ledger_gross_cents=int(report["revenue"]["ledger"]["gross_cents"]),
        source="probe",
        status=best["status"],
        explanation=best["explanation"],
    )
