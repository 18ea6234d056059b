"""Builds the diagnose-revenue report: one SQL call for the facts, the optional probe, the checks."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from lib.config import Settings
from lib.db import Database
from lib.diagnose.checks import build_checks, reconcile_figure, verdict
from lib.diagnose.legacy import legacy_report
from lib.diagnose.probe import ProbeReport
from lib.diagnose.probe_budget import obtain
from lib.money import decimal_str
from lib.timeutil import parse_utc


def build_report(db: Database, model_id: str, *, probe: bool, config: Settings, base_url: str) -> dict[str, Any]:
    started = time.monotonic()
    facts = db.call("fanvue_diagnosis_facts", model_id=model_id)
    report_probe: ProbeReport | None = obtain(db, facts, config) if probe else None
    reconcile = None
    if report_probe is not None and report_probe.account_total_cents is not None:
        as_of = report_probe.probed_at or datetime.now(UTC)
        reconcile = db.call("fanvue_reconcile_candidates", model_id=model_id, as_of=as_of.isoformat())
    checks = build_checks(facts, report_probe, config, base_url, reconcile)
    model, stored, ledger, sync = facts["model"], facts["stored"], facts["ledger"], facts["sync"]
    connection = facts.get("connection") or {}
    now = parse_utc(facts["now"])
    expires = connection.get("expires_at")
    if report_probe is not None and report_probe.token_refreshed and report_probe.token_expires_at:
        expires = report_probe.token_expires_at.isoformat()  # the probe just refreshed it
    seconds_left = int((parse_utc(expires) - now).total_seconds()) if expires else None
    last_cron = facts.get("last_cron_run")
    success = sync.get("last_success_at")
    body = {
        "model": {
            "id": model["id"],
            "name": model["name"],
            "fanvue_user_uuid": model["fanvue_user_uuid"],
            "fanvue_handle": model.get("fanvue_handle"),
            "connection_kind": connection.get("kind"),
        },
        "revenue": {
            "stored": {
                "revenue_total": decimal_str(stored["gross_cents"]),
                "gross_cents": stored["gross_cents"],
                "net_cents": stored["net_cents"],
                "refund_cents": stored["refund_cents"],
                "count": stored["count"],
                "updated_at": stored.get("revenue_updated_at"),
            },
            "ledger": {
                "gross": decimal_str(ledger["gross_cents"]),
                "gross_cents": ledger["gross_cents"],
                "net_cents": ledger["net_cents"],
                "refund_cents": ledger["refund_cents"],
                "count": ledger["count"],
                "refund_count": ledger["refund_count"],
                "method": ledger.get("method"),
            },
            "discrepancy_cents": stored["gross_cents"] - ledger["gross_cents"],
            "by_source": facts.get("by_source", []),
            "transaction_count": ledger["count"],
            "first_transaction_at": ledger.get("first_date"),
            "last_transaction_at": ledger.get("last_date"),
            "pending": facts.get("pending"),
        },
        "connection": None
        if not connection
        else {
            "id": connection["id"],
            "kind": connection["kind"],
            "status": connection["status"],
            "status_reason": connection.get("status_reason"),
            "expires_at": expires,
            "seconds_left": seconds_left,
            "last_refresh_at": connection.get("last_refresh_at"),
            "last_refresh_outcome": connection.get("last_refresh_outcome"),
            "last_error": connection.get("last_error"),
            "last_error_at": connection.get("last_error_at"),
            "scopes": connection.get("scopes"),
            "refreshed_by_probe": bool(report_probe and report_probe.token_refreshed),
        },
        "sync": {
            "watermark": sync.get("watermark"),
            "history_start": sync.get("history_start"),
            "backfill_complete": sync.get("backfill_completed_at") is not None,
            "backfill_completed_at": sync.get("backfill_completed_at"),
            "backfill_progress": (sync.get("progress") or {}).get("earnings"),
            "last_success_at": success,
            "last_attempt_at": sync.get("last_attempt_at"),
            "last_outcome": sync.get("last_outcome"),
            "last_error": sync.get("last_error"),
            "last_error_at": sync.get("last_error_at"),
            "next_sync_at": sync.get("next_sync_at"),
            "lease": {
                "held": bool(sync.get("lease_held")),
                "kind": sync.get("lease_kind"),
                "claimed_at": sync.get("lease_claimed_at"),
                "last_progress_at": sync.get("lease_last_progress_at"),
                "expires_at": sync.get("lease_expires_at"),
            },
            "last_cron_run": last_cron,
            "cron_overdue_for_model": success is None
            or (now - parse_utc(success)).total_seconds() > config.cron_overdue_s,
            "recent_runs": facts.get("recent_runs", []),
        },
        "fanvue": None if report_probe is None else _fanvue_block(report_probe, facts, reconcile),
        "checks": [c.as_json() for c in checks],
        "verdict": verdict(checks),
        "daily": _daily(facts.get("daily", []), report_probe),
        "legacy": legacy_report(db, model_id),
        "generated_at": facts["now"],
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return body


def _fanvue_block(p: ProbeReport, facts: dict[str, Any], reconcile: dict[str, Any] | None) -> dict[str, Any]:
    gross = facts["ledger"]["gross_cents"]
    figures = {}
    for key, label, cents in (
        ("account_total", "Fanvue account total", p.account_total_cents),
        ("summary_all_time", "Fanvue summary all-time gross", p.summary_all_time_gross_cents),
    ):
        if cents is not None:
            status, evidence, cand = reconcile_figure(label, cents, facts, p, reconcile)
            figures[key] = {
                "fanvue_cents": cents,
                "ledger_cents": gross,
                "difference_cents": cents - gross,
                "status": status,
                "explanation": evidence,
                "matched": cand,
            }
    return {
        "source": p.source,
        "probed_at": p.probed_at.isoformat() if p.probed_at else None,
        "age_s": p.age_s,
        "note": p.note,
        "requests": p.requests,
        "reachable": p.reachable,
        "status_code": p.status_code,
        "latency_ms": p.latency_ms,
        "api_version_accepted": p.api_version_accepted,
        "rate_limit_remaining": p.rate_limit_remaining,
        "error": p.error,
        "account_total_cents": p.account_total_cents,
        "summary_all_time_gross_cents": p.summary_all_time_gross_cents,
        "summary_all_time_net_cents": p.summary_all_time_net_cents,
        "since_watermark_gross_cents": p.since_watermark_gross_cents,
        "difference_cents": None if p.account_total_cents is None else p.account_total_cents - gross,
        "reconciliation": figures,
    }


def _daily(ledger_days: list[dict[str, Any]], p: ProbeReport | None) -> list[dict[str, Any]]:
    fanvue = {d["day"]: d["gross_cents"] for d in (p.daily if p else [])}
    days = {
        str(d["day"]): {"day": str(d["day"]), "ledger_cents": d["gross_cents"], "fanvue_cents": None}
        for d in ledger_days
    }
    for day, cents in fanvue.items():
        days.setdefault(day, {"day": day, "ledger_cents": 0, "fanvue_cents": None})["fanvue_cents"] = cents
    return [days[k] for k in sorted(days)]
