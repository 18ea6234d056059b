"""The live half of a diagnosis: can we reach Fanvue with this connection, and what does Fanvue say?

Short timeouts, no retries, and the token comes from the normal lifecycle (a refresh, if one is due,
is single-flight with the cron's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.config import Settings
from lib.db import Database
from lib.fanvue.routes import creator_route
from lib.safe_log import redact
from lib.timeutil import parse_utc


@dataclass
class ProbeReport:
    attempted: bool
    reachable: bool = False
    status_code: int | None = None
    latency_ms: float | None = None
    api_version_accepted: bool | None = None
    rate_limit_remaining: int | None = None
    error: str | None = None
    token_error: str | None = None
    token_endpoint_down: bool = False  # the refresh failed because Fanvue's token endpoint failed
    needs_reconnect: bool = False
    token_refreshed: bool = False
    token_expires_at: datetime | None = None
    account_total_cents: int | None = None
    summary_all_time_gross_cents: int | None = None
    summary_all_time_net_cents: int | None = None
    since_watermark_gross_cents: int | None = None
    since_watermark_from: str | None = None  # the watermark the range total was read from
    daily: list[dict[str, Any]] = field(default_factory=list)
    probed_at: datetime | None = None  # when Fanvue's figures were read (their "as of")
    requests: int = 0  # Fanvue requests this probe spent
    source: str = "live"  # live | cache
    age_s: int | None = None  # age of a cached result
    note: str | None = None  # why the answer is cached or incomplete

    #: what a cached copy keeps: Fanvue's answer, never a token or anything about our token lifecycle
    CACHED_FIELDS = (
        "reachable",
        "status_code",
        "latency_ms",
        "api_version_accepted",
        "rate_limit_remaining",
        "account_total_cents",
        "summary_all_time_gross_cents",
        "summary_all_time_net_cents",
        "since_watermark_gross_cents",
        "since_watermark_from",
        "daily",
    )

    @property
    def complete(self) -> bool:
        """Fanvue answered and every total was read: worth caching."""
        return (
            self.status_code == 200
            and self.token_error is None
            and self.account_total_cents is not None
            and self.summary_all_time_gross_cents is not None
        )

    def cache_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.CACHED_FIELDS}

    @classmethod
    def from_cache(cls, cached: dict[str, Any]) -> ProbeReport:
        result = cached.get("result") or {}
        report = cls(attempted=True)
        for key in cls.CACHED_FIELDS:
            if key != "daily":
                setattr(report, key, result.get(key))
        report.daily = list(result.get("daily") or [])
        report.probed_at = parse_utc(cached["probed_at"])
        report.source, report.age_s = "cache", int(cached.get("age_s") or 0)
        return report


def probe(db: Database, facts: dict[str, Any], config: Settings) -> ProbeReport:
    from lib.fanvue.client import FanvueClient
    from lib.fanvue.errors import FanvueError
    from lib.tokens import ConnectionTokens, TokenError

    connection = facts.get("connection")
    model = facts["model"]
    report = ProbeReport(attempted=True)
    if not connection:
        report.error = "no Fanvue connection"
        return report
    tokens = ConnectionTokens(db, connection["id"], config=config)
    deadline = time.monotonic() + config.diagnose_probe_timeout_s * 3
    client = FanvueClient(
        tokens,
        owner_uuid=str(connection["fanvue_user_uuid"]),
        api_base=config.fanvue_api_base,
        api_version=config.fanvue_api_version,
        timeout=config.diagnose_probe_timeout_s,
        max_retries=0,
        max_rate_limit_retries=0,
        deadline=deadline,
    )
    try:
        try:
            tokens.access_token()
        except TokenError as exc:
            _token_failed(report, exc)
            _note_refresh(report, tokens)
            return report
        result = client.probe()
        if result.status == 401:
            # The token the database calls valid was refused: one refresh through the lifecycle
            # (single-flight with the cron), then one retry, exactly like a sync would do.
            try:
                tokens.refresh_after_unauthorized(tokens.access_token())
            except TokenError as exc:
                _token_failed(report, exc)
                report.status_code = result.status
                report.reachable = True
                _note_refresh(report, tokens)
                return report
            result = client.probe()
        _note_refresh(report, tokens)
        report.reachable = result.status is not None
        report.status_code = result.status
        report.latency_ms = round(result.latency_ms, 1) if result.latency_ms is not None else None
        report.api_version_accepted = result.version_accepted
        report.rate_limit_remaining = result.rate_limit_remaining
        report.error = redact(result.error) if result.error else None
        if not result.ok:
            return report
        if _low(report, client, config):
            return report
        creator = creator_route(
            connection.get("kind"), connection.get("fanvue_user_uuid"), model.get("fanvue_user_uuid")
        )
        try:
            report.probed_at = datetime.now(UTC)
            account = client.account(creator)
            report.account_total_cents = _cents(account.account.earnings.total)
            if _low(report, client, config):
                return report
            summary = client.earnings_summary(creator)
            all_time = (summary.get("totals") or {}).get("allTime") or {}
            report.summary_all_time_gross_cents = _cents(all_time.get("gross"))
            report.summary_all_time_net_cents = _cents(all_time.get("net"))
            watermark = facts["sync"].get("watermark")
            if watermark and not _low(report, client, config):
                since = client.earnings_summary(creator, start=parse_utc(watermark))
                # totals.allTime ignores the date range; the range total is the sum of the breakdown.
                report.since_watermark_gross_cents = _range_gross(since)
                report.since_watermark_from = str(watermark)
            if _low(report, client, config):
                return report
            now = datetime.now(UTC)
            daily = client.earnings_summary(
                creator,
                start=(now - timedelta(days=90)).replace(hour=0, minute=0, second=0, microsecond=0),
                granularity="day",
            )
            report.daily = [
                {"day": str(p.get("periodStart", ""))[:10], "gross_cents": _cents(p.get("gross"))}
                for p in daily.get("overTime") or []
            ]
        except FanvueError as exc:
            report.error = redact(f"Fanvue totals unavailable: {exc}")
    finally:
        report.requests = client.requests_made
        client.close()
    return report


def _low(report: ProbeReport, client: Any, config: Settings) -> bool:
    """True when the bucket Fanvue last reported is down to the sync's reserve: stop probing."""
    meta = client.last_response_meta
    remaining = meta.rate_limit_remaining if meta else None
    if remaining is None or remaining >= config.diagnose_probe_min_remaining:
        return False
    report.rate_limit_remaining = remaining
    report.note = (
        f"stopped reading Fanvue's totals: only {remaining} requests are left in this rate-limit "
        f"bucket (below DIAGNOSE_PROBE_MIN_REMAINING={config.diagnose_probe_min_remaining}); "
        "they are left to the sync"
    )
    return True


def _token_failed(report: ProbeReport, exc: Exception) -> None:
    from lib.fanvue.errors import OAuthUnavailable

    report.token_error, report.needs_reconnect = redact(str(exc)), bool(getattr(exc, "needs_reconnect", False))
    report.error = report.token_error
    # TokenError is raised `from None` inside the lifecycle; the OAuth failure is still its context.
    report.token_endpoint_down = isinstance(exc.__context__, OAuthUnavailable)
    if report.token_endpoint_down:
        report.reachable = False


def _note_refresh(report: ProbeReport, tokens: Any) -> None:
    if tokens.refreshes:
        report.token_refreshed = True
        report.token_expires_at = getattr(tokens, "_expires_at", None)


def _range_gross(summary: dict[str, Any]) -> int | None:
    """Gross over the summary's [startDate, endDate): the source breakdown, else the chart series."""
    breakdown = summary.get("breakdownBySource")
    if isinstance(breakdown, dict) and breakdown:
        values = [_cents((v or {}).get("gross")) for v in breakdown.values() if isinstance(v, dict)]
        known = [v for v in values if v is not None]
        if values and len(known) == len(values):
            return sum(known)
    series = summary.get("overTime")
    if isinstance(series, list):
        values = [_cents((p or {}).get("gross")) for p in series]
        known = [v for v in values if v is not None]
        if len(known) == len(values):
            return sum(known)
    return None


def _cents(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return None
