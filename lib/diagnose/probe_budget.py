"""How a diagnosis gets Fanvue's answer without starving the sync of the creator's rate limit.

A live probe spends about five requests of a 200-per-60 s bucket that the sync needs. So: a recent
answer is read from the database (the only state serverless instances share), at most
`DIAGNOSE_PROBES_PER_MIN` live probes per connection run in any minute, and no live probe runs while
a sync holds the model. Whenever the answer is not live the report says why and how old it is.
"""

from __future__ import annotations

from typing import Any

from lib.config import Settings
from lib.db import Database
from lib.diagnose.probe import ProbeReport, probe
from lib.timeutil import parse_utc

PROBE_WINDOW_S = 60


def obtain(db: Database, facts: dict[str, Any], config: Settings) -> ProbeReport:
    """A live probe when the budget allows it, else the cached answer (or none), saying why."""
    connection, model = facts.get("connection"), facts["model"]
    if not connection:
        return probe(db, facts, config)  # reports "no Fanvue connection" without a request
    key = {"model_id": model["id"], "connection_id": connection["id"]}
    cached = db.call("fanvue_probe_cache_get", **key)
    ttl = config.diagnose_probe_cache_s
    if cached and int(cached.get("age_s") or 0) < ttl:
        report = ProbeReport.from_cache(cached)
        report.note = (
            f"Fanvue's answer from {report.age_s} s ago (answers are kept {ttl} s so repeated "
            "diagnoses do not spend the creator's rate limit)"
        )
        return report
    reason = _why_not_live(db, facts, config, str(connection["id"]))
    if reason is not None:
        if cached:
            report = ProbeReport.from_cache(cached)
            report.note = f"{reason}; showing Fanvue's answer from {report.age_s} s ago"
            return report
        return ProbeReport(attempted=False, note=reason)
    report = probe(db, facts, config)
    if report.complete:
        db.call("fanvue_probe_cache_put", **key, result=report.cache_json())
    return report


def _why_not_live(db: Database, facts: dict[str, Any], config: Settings, connection_id: str) -> str | None:
    sync = facts["sync"]
    expires = sync.get("lease_expires_at")
    now = parse_utc(facts["now"])
    if sync.get("lease_held") and expires and parse_utc(expires) > now:
        return (
            f"live probe skipped: a sync ({sync.get('lease_kind') or 'unknown kind'}) holds this model until "
            f"{_hm(expires)} and needs the creator's rate limit"
        )
    if config.diagnose_probes_per_min > 0:
        taken = db.call(
            "fanvue_throttle_take",
            key=f"probe:{connection_id}",
            limit=config.diagnose_probes_per_min,
            window_s=PROBE_WINDOW_S,
        )
        if not taken["allowed"]:
            return (
                f"live probe skipped: {taken['limit']} live probes of this connection in the last "
                f"{PROBE_WINDOW_S} s (DIAGNOSE_PROBES_PER_MIN); the next is possible in "
                f"{taken['retry_after_s']} s"
            )
    return None


def _hm(value: Any) -> str:
    return parse_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
