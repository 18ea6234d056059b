"""The text of one notification: what happened, to whom, since when, why, the diagnosis link and the
fix. Only names, ids, times and recorded reasons go in: never a token, secret or payload."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from lib.config import Settings
from lib.money import usd

TITLES = {
    "needs_reconnect": "Fanvue connection needs reconnecting",
    "sync_failing": "revenue sync keeps failing",
    "backfill_stalled": "history backfill has stopped progressing",
    "cron_overdue": "the scheduled sync (cron) is overdue",
    "reconcile_mismatch": "ledger differs from Fanvue's own totals",
}


def diagnose_link(config: Settings, model_id: str | None) -> str:
    base = config.function_base_url.rstrip("/") + "/api/fanvue/diagnose-revenue"
    return base + ("?" + urlencode({"modelId": model_id}) if model_id else "")


def _fix(kind: str, n: dict[str, Any], config: Settings) -> str:
    base = config.function_base_url.rstrip("/")
    d = n.get("detail") or {}
    if kind == "needs_reconnect":
        target = f"agencyId={_agency(n)}" if d.get("connection_kind") == "agency" else f"modelId={n.get('model_id')}"
        return (
            f"an owner or admin reconnects: GET {base}/api/auth/fanvue/connect?{target} and opens the "
            "returned authorization_url; the models keep their ledger and resume incrementally"
        )
    if kind == "sync_failing":
        return (
            f"read the diagnosis for the root cause, then POST {base}/api/fanvue/force-sync-revenue"
            f"?modelId={n.get('model_id')}"
        )
    if kind == "backfill_stalled":
        return (
            f"read the diagnosis (rate limits, Fanvue errors, lease), then POST "
            f"{base}/api/fanvue/force-sync-revenue?modelId={n.get('model_id')} to continue it"
        )
    if kind == "cron_overdue":
        return (
            "check Vercel > Cron Jobs (schedule in vercel.json; Hobby runs crons daily: set "
            "CRON_OVERDUE_S=90000) and that CRON_SECRET is set; run the cron by hand to catch up"
        )
    return (
        f"run a dry run, then a full re-sync: POST {base}/api/fanvue/force-sync-revenue"
        f"?modelId={n.get('model_id')}&full=true&dryRun=true"
    )


def _agency(n: dict[str, Any]) -> str:
    return str(n.get("agency_id") or "")


def _who(n: dict[str, Any]) -> str:
    d = n.get("detail") or {}
    if n["kind"] == "needs_reconnect":
        handle = f"@{d['handle']}" if d.get("handle") else f"connection {n.get('connection_id')}"
        models = ", ".join(str(m) for m in d.get("models") or []) or "no models"
        return f"{d.get('connection_kind', '')} connection {handle} of {d.get('agency')} (models: {models})"
    if n["kind"] == "cron_overdue":
        return "all models"
    return f"{d.get('model')} ({d.get('agency')}, model {n.get('model_id')})"


def _facts(n: dict[str, Any]) -> list[str]:
    d = n.get("detail") or {}
    kind = n["kind"]
    if kind == "needs_reconnect":
        return [f"status {d.get('status')} since {d.get('since')}", f"why: {d.get('reason') or 'not recorded'}"]
    if kind == "sync_failing":
        return [
            f"{d.get('failures')} consecutive failed runs (alert at {d.get('threshold')}), last at {d.get('since')}",
            f"why: {d.get('last_error') or 'not recorded'}",
            f"last success: {d.get('last_success_at') or 'never'}",
        ]
    if kind == "backfill_stalled":
        return [
            f"no new history stored since {d.get('last_progress_at') or 'the start'}; "
            f"last attempt {d.get('last_attempt_at')}",
            f"last error: {d.get('last_error') or 'none'}",
        ]
    if kind == "cron_overdue":
        return [f"last cron run started {d.get('last_cron_at') or 'never'}; overdue after {d.get('overdue_after_s')} s"]
    return [
        f"window {d.get('window_start')} .. {d.get('window_end')}: Fanvue {usd(d.get('fanvue_window_cents'))}, "
        f"ledger {usd(d.get('ledger_window_cents'))}",
        f"all time before the window end: Fanvue {usd(d.get('fanvue_total_cents'))}, "
        f"ledger {usd(d.get('ledger_total_cents'))}",
        "not explained by pending orders or by sales after the comparison time",
    ]


def summary(n: dict[str, Any]) -> str:
    """One line for a page: what happened and why, without the link and the fix."""
    return f"{TITLES.get(n['kind'], n['kind'])}: {'; '.join(_facts(n))}"


def render(n: dict[str, Any], config: Settings) -> str:
    """Slack-compatible `text` (plain URLs, so Discord's /slack endpoint shows the same)."""
    kind = n["kind"]
    title = TITLES.get(kind, kind)
    link = diagnose_link(config, n.get("model_id"))
    if n.get("phase") == "resolved":
        lines = [f"RECOVERED: {title} - {_who(n)}", f"open from {n.get('opened_at')} until {n.get('resolved_at')}"]
        if not n.get("open_notified"):
            lines += _facts(n)
        lines.append(f"diagnosis: {link}")
        return "\n".join(lines)
    return "\n".join([f"ALERT: {title} - {_who(n)}", *_facts(n), f"diagnosis: {link}", f"fix: {_fix(kind, n, config)}"])
