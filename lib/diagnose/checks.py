"""The checks: the origin debug checklist plus the ones our design adds, each pass/warn/fail with
its evidence and the fix, and the verdict (root cause + ordered fix plan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.config import Settings
from lib.diagnose.probe import ProbeReport
from lib.money import usd
from lib.timeutil import maybe_utc, parse_utc

# Most fundamental cause first: the verdict names the first failing check in this order.
PRIORITY = [
    "token_valid",
    "fanvue_responds",
    "cron_recent",
    "ledger_equals_stored",
    "no_lease_stuck",
    "backfill_complete",
    "no_duplicate_keys",
    "transactions_exist",
    "revenue_matches_fanvue",
    "data_returned",
]


@dataclass
class Check:
    id: str
    title: str
    status: str  # pass | warn | fail
    evidence: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "evidence": self.evidence, "fix": self.fix}


def _hm(value: Any) -> str:
    t = maybe_utc(value)
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "never"


def build_checks(
    facts: dict[str, Any],
    probe: ProbeReport | None,
    config: Settings,
    base_url: str,
    reconcile: dict[str, Any] | None = None,
) -> list[Check]:
    now = maybe_utc(facts["now"]) or datetime.now(UTC)
    skipped = None
    if probe is not None and not probe.attempted:  # the probe budget said no and nothing is cached
        skipped, probe = probe.note, None
    model, stored, ledger = facts["model"], facts["stored"], facts["ledger"]
    sync, connection = facts["sync"], facts.get("connection")
    model_id = model["id"]
    reconnect = (
        f"{base_url}/api/auth/fanvue/connect?agencyId={model['agency_id']}"
        if connection and connection.get("kind") == "agency"
        else f"{base_url}/api/auth/fanvue/connect?modelId={model_id}"
    )
    force_full = f"POST {base_url}/api/fanvue/force-sync-revenue?modelId={model_id}&full=true"
    checks: list[Check] = [
        Check(
            "data_returned",
            "diagnose endpoint returns data",
            "pass",
            "this report was built from the database" + (" and Fanvue" if probe else ""),
        )
    ]

    count = int(ledger.get("count") or 0)
    if count > 0:
        checks.append(
            Check(
                "transactions_exist",
                "transactions exist in the database",
                "pass",
                f"{count} earnings from {_hm(ledger.get('first_date'))} to {_hm(ledger.get('last_date'))}",
            )
        )
    elif probe and probe.account_total_cents:
        checks.append(
            Check(
                "transactions_exist",
                "transactions exist in the database",
                "fail",
                f"no transactions stored, Fanvue reports {usd(probe.account_total_cents)}",
                f"run {force_full}",
            )
        )
    else:
        checks.append(
            Check(
                "transactions_exist",
                "transactions exist in the database",
                "warn" if sync.get("backfill_completed_at") else "fail",
                "no transactions stored"
                + ("" if sync.get("backfill_completed_at") else " and the backfill has not completed"),
                None if sync.get("backfill_completed_at") else f"run {force_full}",
            )
        )

    if probe is None:
        checks.append(
            Check(
                "fanvue_responds",
                "Fanvue API responds with 200",
                "warn",
                f"not probed: {skipped}" if skipped else "not probed (probe=false)",
                "call again later to test Fanvue" if skipped else "call again without probe=false to test Fanvue",
            )
        )
    elif probe.token_endpoint_down:
        checks.append(
            Check(
                "fanvue_responds",
                "Fanvue API responds with 200",
                "fail",
                f"Fanvue's token endpoint failed while refreshing a due token: {probe.token_error}",
                "Fanvue is unreachable or failing; the cron retries on its own, nothing to do unless it lasts",
            )
        )
    elif probe.token_error:
        checks.append(
            Check(
                "fanvue_responds",
                "Fanvue API responds with 200",
                "warn",
                "not called: no usable token (see token_valid)",
                None,
            )
        )
    elif probe.status_code == 200:
        checks.append(
            Check(
                "fanvue_responds",
                "Fanvue API responds with 200",
                "pass",
                f"GET /users/me answered 200 in {probe.latency_ms} ms; rate limit remaining "
                f"{probe.rate_limit_remaining}" + (f" ({probe.note})" if probe.note else ""),
            )
        )
    else:
        what = f"HTTP {probe.status_code}" if probe.status_code else "no answer"
        fix = (
            "reconnect at " + reconnect
            if probe.status_code in (401, 403)
            else "the API version header was refused: update FANVUE_API_VERSION"
            if probe.api_version_accepted is False
            else "Fanvue is unreachable or failing; the cron retries on its own, nothing to do unless it lasts"
        )
        checks.append(
            Check(
                "fanvue_responds", "Fanvue API responds with 200", "fail", f"{what}: {probe.error or 'no detail'}", fix
            )
        )

    if not connection:
        checks.append(
            Check(
                "token_valid",
                "tokens are valid",
                "fail",
                "this model has no Fanvue connection",
                f"connect at {reconnect}",
            )
        )
    elif connection.get("status") != "active":
        checks.append(
            Check(
                "token_valid",
                "tokens are valid",
                "fail",
                f"connection is {connection.get('status')}: {connection.get('status_reason') or 'no reason recorded'}",
                f"reconnect at {reconnect}",
            )
        )
    elif probe and probe.token_endpoint_down:
        checks.append(
            Check(
                "token_valid",
                "tokens are valid",
                "warn",
                "the access token is due and could not be refreshed: Fanvue's token endpoint failed "
                "(see fanvue_responds); the next sync retries the refresh",
                None,
            )
        )
    elif probe and probe.token_error:
        checks.append(
            Check(
                "token_valid",
                "tokens are valid",
                "fail",
                probe.token_error,
                f"reconnect at {reconnect}"
                if probe.needs_reconnect
                else "retry; if it persists check FANVUE_CLIENT_ID/SECRET and TOKEN_ENCRYPTION_KEY",
            )
        )
    else:
        expires = maybe_utc(connection.get("expires_at"))
        left = int((expires - now).total_seconds()) if expires else None
        status = "pass" if left is None or left > 0 or probe else "warn"
        if probe and probe.token_refreshed:
            evidence = (
                "access token was due (expired or refused); refreshed now through the single-flight "
                f"lease, valid until {_hm(probe.token_expires_at)}"
            )
        else:
            evidence = (
                f"access token valid for {left} s more"
                if left and left > 0
                else "access token expired; it is refreshed (single-flight) on next use"
            ) + f"; last refresh {_hm(connection.get('last_refresh_at'))} ({connection.get('last_refresh_outcome')})"
        checks.append(
            Check(
                "token_valid",
                "tokens are valid",
                status,
                evidence,
                None if status == "pass" else f"POST {base_url}/api/auth/fanvue/refresh?modelId={model_id}",
            )
        )

    last_cron = facts.get("last_cron_run")
    cron_age = (now - parse_utc(last_cron["started_at"])).total_seconds() if last_cron else None
    success_age = (now - parse_utc(sync["last_success_at"])).total_seconds() if sync.get("last_success_at") else None
    if last_cron is None:
        checks.append(
            Check(
                "cron_recent",
                "the cron job ran recently",
                "fail",
                "no cron run recorded, ever",
                "declare the crons of vercel.json in production, set CRON_SECRET in Vercel, deploy",
            )
        )
    elif cron_age is not None and cron_age > config.cron_overdue_s:
        checks.append(
            Check(
                "cron_recent",
                "the cron job ran recently",
                "fail",
                f"last cron run {_hm(last_cron['started_at'])} ({int(cron_age // 60)} min ago, "
                f"status {last_cron['status']})",
                "check the Vercel cron logs and that CRON_SECRET matches; on Hobby crons run daily only",
            )
        )
    elif success_age is None or success_age > config.cron_overdue_s:
        checks.append(
            Check(
                "cron_recent",
                "the cron job ran recently",
                "fail",
                f"cron runs ({_hm(last_cron['started_at'])}) but this model last synced "
                f"{_hm(sync.get('last_success_at'))}: {sync.get('last_error') or sync.get('last_outcome') or 'no outcome'}",
                "fix the failing check above, then run " + force_full.replace("&full=true", ""),
            )
        )
    else:
        checks.append(
            Check(
                "cron_recent",
                "the cron job ran recently",
                "pass",
                f"last cron run {_hm(last_cron['started_at'])} ({last_cron['status']}); "
                f"this model synced {_hm(sync.get('last_success_at'))}",
            )
        )

    stored_tuple = (stored["gross_cents"], stored["net_cents"], stored["count"])
    ledger_tuple = (ledger["gross_cents"], ledger["net_cents"], ledger["count"])
    if stored_tuple == ledger_tuple:
        checks.append(
            Check(
                "ledger_equals_stored",
                "stored revenue_total equals the ledger",
                "pass",
                f"{usd(stored['gross_cents'])} stored = {usd(ledger['gross_cents'])} in the ledger "
                f"({ledger.get('method')})",
            )
        )
    else:
        checks.append(
            Check(
                "ledger_equals_stored",
                "stored revenue_total equals the ledger",
                "fail",
                f"stored {usd(stored['gross_cents'])} ({stored['count']} items) but the ledger sums to "
                f"{usd(ledger['gross_cents'])} ({ledger['count']} items)",
                f"run {force_full.replace('&full=true', '')} (it recomputes the totals from the ledger)",
            )
        )

    constraint = facts.get("dedupe_constraint")
    if constraint and constraint.get("valid"):
        checks.append(
            Check(
                "no_duplicate_keys",
                "no duplicate transactions",
                "pass",
                f"unique constraint {constraint['name']} enforces one row per dedupe key; "
                f"{facts.get('fallback_keyed', 0)} legacy items keyed without an order id",
            )
        )
    else:
        checks.append(
            Check(
                "no_duplicate_keys",
                "no duplicate transactions",
                "fail",
                "the unique constraint on (model_id, dedupe_key) is missing",
                "re-apply the migrations: supabase db push (or python -m lib.dev migrate)",
            )
        )

    progress = (sync.get("progress") or {}).get("earnings")
    if sync.get("backfill_completed_at"):
        checks.append(
            Check(
                "backfill_complete",
                "history is fully backfilled",
                "pass",
                f"complete since {_hm(sync['backfill_completed_at'])}; watermark {_hm(sync.get('watermark'))}",
            )
        )
    else:
        evidence = "the first backfill has not completed"
        if progress:
            start, end, resume = (
                parse_utc(progress["start"]),
                parse_utc(progress["end"]),
                parse_utc(progress["resume_end"]),
            )
            done = (end - resume).total_seconds() / max(1.0, (end - start).total_seconds())
            evidence += f": {done:.0%} of {start:%Y-%m-%d}..{end:%Y-%m-%d} stored, resuming at {_hm(resume)}"
        checks.append(
            Check(
                "backfill_complete",
                "history is fully backfilled",
                "fail",
                evidence,
                f"the cron continues it every run; to finish now run {force_full}",
            )
        )

    checks.append(_lease_check(sync, now, force_full))
    checks.append(_revenue_check(facts, probe, force_full, reconcile))
    return checks


def _lease_check(sync: dict[str, Any], now: datetime, force_full: str) -> Check:
    """What the lease means for this agency: who holds it by kind only, and when it frees."""
    title = "no sync lease is stuck"
    expires = maybe_utc(sync.get("lease_expires_at"))
    if not sync.get("lease_held"):
        return Check("no_lease_stuck", title, "pass", "no sync holds this model now")
    claimed, progress = _hm(sync.get("lease_claimed_at")), _hm(sync.get("lease_last_progress_at"))
    kind = sync.get("lease_kind") or "unknown"
    if expires and expires < now:
        return Check(
            "no_lease_stuck",
            title,
            "fail",
            f"a {kind} sync claimed this model at {claimed} and last reported at {progress}; its lease "
            f"expired at {_hm(expires)} without being released (the worker died)",
            "nothing to do: the next cron run takes the model over; or run "
            + force_full.replace("&full=true", "")
            + " now (an expired lease is taken over)",
        )
    silent_s = (now - (maybe_utc(sync.get("lease_last_progress_at")) or now)).total_seconds()
    if silent_s > 120:
        return Check(
            "no_lease_stuck",
            title,
            "warn",
            f"a {kind} sync claimed this model at {claimed} and has not reported since {progress}; "
            f"its lease expires at {_hm(expires)}, after which the next cron run or force-sync takes "
            "over (force-sync answers 409 until then)",
            f"wait until {_hm(expires)}; nothing else to do",
        )
    return Check(
        "no_lease_stuck",
        title,
        "pass",
        f"a {kind} sync holds this model until {_hm(expires)} (claimed {claimed}, last reported {progress})",
    )


def _revenue_check(
    facts: dict[str, Any], probe: ProbeReport | None, force_full: str, reconcile: dict[str, Any] | None
) -> Check:
    """Fanvue's totals against the ledger. A difference passes when data we hold explains it to the cent
    (pending items, refunds kept as rows, items after Fanvue's figure was read), warns when Fanvue has
    sales newer than our watermark, and fails only when nothing explains it."""
    title = "revenue matches Fanvue"
    if probe is None or probe.account_total_cents is None:
        why = probe.note or probe.error if probe else None
        return Check(
            "revenue_matches_fanvue",
            title,
            "warn",
            "Fanvue's totals were not read" + (f" ({why})" if why else ""),
            None if probe is None else "retry when Fanvue responds",
        )
    figures = [("Fanvue account total", probe.account_total_cents)]
    if probe.summary_all_time_gross_cents is not None:
        figures.append(("Fanvue summary all-time gross", probe.summary_all_time_gross_cents))
    results = [reconcile_figure(label, cents, facts, probe, reconcile) for label, cents in figures]
    status = (
        "fail" if any(r[0] == "fail" for r in results) else "warn" if any(r[0] == "warn" for r in results) else "pass"
    )
    evidence = "; ".join(r[1] for r in results)
    if probe.source == "cache":
        evidence += f" (Fanvue's figures read {probe.age_s} s ago)"
    fix = {
        "pass": None,
        "warn": "nothing to do, or run force-sync-revenue to catch up now",
        "fail": f"run {force_full}",
    }[status]
    return Check("revenue_matches_fanvue", title, status, evidence, fix)


def reconcile_figure(
    label: str, fanvue: int, facts: dict[str, Any], probe: ProbeReport, reconcile: dict[str, Any] | None
) -> tuple[str, str, dict[str, Any] | None]:
    """(status, sentence, the candidate that matched) for one Fanvue figure."""
    ledger = int(facts["ledger"]["gross_cents"])
    diff = fanvue - ledger
    candidates = (reconcile or {}).get("candidates") or [
        {"total_cents": ledger, "excludes_pending": False, "nets_refunds": False, "excludes_after": False}
    ]
    for cand in candidates:
        if int(cand["total_cents"]) == fanvue:
            if diff == 0:
                return "pass", f"{label} {usd(fanvue)} = ledger {usd(ledger)}", cand
            return (
                "pass",
                (
                    f"{label} {usd(fanvue)} vs ledger {usd(ledger)} (difference {usd(diff)}): "
                    f"explained by {_parts(cand, reconcile)}; {_reading(cand)}"
                ),
                cand,
            )
    ours_after = int((facts.get("after_watermark") or {}).get("gross_cents") or 0)
    theirs_after = probe.since_watermark_gross_cents
    same_watermark = probe.since_watermark_from is None or maybe_utc(probe.since_watermark_from) == maybe_utc(
        facts["sync"].get("watermark")
    )
    if theirs_after is not None and same_watermark:
        for cand in candidates:
            if fanvue - int(cand["total_cents"]) == theirs_after - ours_after != 0:
                extra = "" if cand["total_cents"] == ledger else f" after {_parts(cand, reconcile)}"
                return (
                    "warn",
                    (
                        f"{label} {usd(fanvue)} vs ledger {usd(ledger)} (difference {usd(diff)}): "
                        f"fully explained by sales newer than the watermark ({usd(theirs_after)} at "
                        f"Fanvue, {usd(ours_after)} stored){extra}: the next sync picks them up"
                    ),
                    cand,
                )
    pending = facts.get("pending") or {}
    held = [f"{pending['count']} pending items ({usd(pending.get('gross_cents'))})"] if pending.get("count") else []
    refunds = (reconcile or {}).get("refunds") or {}
    if refunds.get("count"):
        held.append(f"{refunds['count']} refunds/chargebacks ({usd(refunds.get('gross_cents'))})")
    return (
        "fail",
        (
            f"{label} {usd(fanvue)} vs ledger {usd(ledger)} (difference {usd(diff)}) is not explained "
            "by the data we hold" + (f" ({', '.join(held)} checked in every combination)" if held else "")
        ),
        None,
    )


def _parts(cand: dict[str, Any], reconcile: dict[str, Any] | None) -> str:
    parts = []
    if cand.get("excludes_pending") and cand["pending"]["count"]:
        parts.append(f"{cand['pending']['count']} pending items ({usd(cand['pending']['gross_cents'])}) not yet paid")
    if cand.get("nets_refunds") and cand["refunds"]["count"]:
        parts.append(
            f"{cand['refunds']['count']} refunds/chargebacks ({usd(cand['refunds']['gross_cents'])}) "
            "kept as separate rows"
        )
    if cand.get("excludes_after") and cand["after"]["count"]:
        parts.append(
            f"{cand['after']['count']} items ({usd(cand['after']['gross_cents'])}) dated after "
            f"Fanvue's figure was read ({_hm((reconcile or {}).get('as_of'))})"
        )
    return " and ".join(parts) or "nothing"


def _reading(cand: dict[str, Any]) -> str:
    return ("Fanvue counts paid items only" if cand.get("excludes_pending") else "Fanvue counts every item") + (
        " net of refunds" if cand.get("nets_refunds") else ""
    )


def verdict(checks: list[Check]) -> dict[str, Any]:
    by_id = {c.id: c for c in checks}
    failing = [by_id[i] for i in PRIORITY if i in by_id and by_id[i].status == "fail"]
    warning = [by_id[i] for i in PRIORITY if i in by_id and by_id[i].status == "warn"]
    plan = [c.fix for c in failing + warning if c.fix]
    plan = list(dict.fromkeys(plan))
    if failing:
        root = failing[0]
        return {
            "status": "broken",
            "root_cause": f"{root.title}: no. {root.evidence}",
            "failing": [c.id for c in failing],
            "fix_plan": plan,
        }
    if warning:
        return {
            "status": "degraded",
            "root_cause": f"{warning[0].title}: {warning[0].evidence}",
            "failing": [],
            "fix_plan": plan,
        }
    return {
        "status": "healthy",
        "root_cause": "none: revenue equals the ledger and Fanvue, and the sync is current",
        "failing": [],
        "fix_plan": [],
    }
