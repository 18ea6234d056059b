"""Settings from the environment, validated once per process by pydantic.

Every knob has a default that works for the local stack, except secrets, which stay None and make
the code that needs them fail closed with a message naming the variable.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field, ValidationError, field_validator

# Query parameters hosted-Postgres integrations add to their URLs that libpq refuses
# (the Vercel x Supabase integration appends `supa=base-pooler.x`; Prisma-style URLs carry `pgbouncer`).
NON_LIBPQ_PARAMS = frozenset({"supa", "pgbouncer", "connection_limit", "pool_timeout", "schema"})


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable, never its value."""


class Settings(BaseModel):
    database_url: str | None = None
    postgres_url: str | None = None  # the Vercel x Supabase integration's pooled URL
    postgres_url_non_pooling: str | None = None  # ... and its direct URL (migrations)
    supabase_url: str | None = None
    supabase_service_role_key: str | None = None
    supabase_jwt_secret: str | None = None
    supabase_jwt_issuer: str | None = None
    supabase_jwks_url: str | None = None
    cron_secret: str | None = None
    token_encryption_key: str | None = None
    state_signing_key: str | None = None
    fanvue_webhook_secret: str | None = None

    fanvue_api_base: str = "https://api.fanvue.com"
    fanvue_auth_base: str = "https://auth.fanvue.com"
    fanvue_api_version: str = "2025-06-26"
    fanvue_client_id: str | None = None
    fanvue_client_secret: str | None = None
    fanvue_redirect_uri: str | None = None
    fanvue_scopes: str = "openid offline_access offline read:self read:insights"
    fanvue_agency_scopes: str = "openid offline_access offline read:self read:creator read:insights"

    public_base_url: str = "http://127.0.0.1:3000"
    allowed_origins: str | None = None  # comma-separated exact origins a browser dashboard runs on
    sync_max_duration_s: int = Field(default=300, ge=5, le=900)
    sync_safety_margin_s: int = Field(default=30, ge=1, le=300)
    sync_concurrency: int = Field(default=8, ge=1, le=64)
    sync_interval_s: int = Field(default=900, ge=0)
    sync_lookback_days: float = Field(default=3.0, ge=0)
    sync_history_floor: str = "2019-01-01T00:00:00Z"
    sync_fanout_max: int = Field(default=0, ge=0, le=64)
    sync_models_per_invocation: int = Field(default=40, ge=1, le=10000)
    vercel_url: str | None = None
    reconcile_days: int = Field(default=35, ge=1, le=3650)
    token_refresh_margin_s: int = Field(default=300, ge=0, le=3000)
    token_idle_refresh_s: int = Field(default=86400, ge=60)
    diagnose_probe_timeout_s: float = Field(default=5.0, gt=0, le=30)
    cron_overdue_s: int = Field(default=3600, ge=60)
    # Bounds on what spends a creator's Fanvue rate limit (200 requests/60 s) outside the sync.
    diagnose_probe_cache_s: int = Field(default=60, ge=0, le=3600)
    diagnose_probes_per_min: int = Field(default=3, ge=0, le=100)  # live probes per connection; 0 = no cap
    diagnose_probe_min_remaining: int = Field(default=40, ge=0, le=10000)
    refresh_force_min_interval_s: int = Field(default=60, ge=0, le=86400)
    force_sync_full_min_interval_s: int = Field(default=600, ge=0, le=86400)

    # Webhook freshness: a short incremental sync inside the webhook invocation (0 turns it off).
    webhook_sync_budget_s: float = Field(default=4.0, ge=0, le=25)
    webhook_sync_margin_s: int = Field(default=600, ge=0, le=86400)
    # Alerts: a Slack-compatible incoming webhook; incidents are kept (and shown) even when unset.
    alert_webhook_url: str | None = None
    alert_failure_runs: int = Field(default=3, ge=1, le=1000)
    alert_backfill_stall_s: int = Field(default=86400, ge=600)
    alert_timeout_s: float = Field(default=5.0, gt=0, le=30)

    @field_validator("allowed_origins")
    @classmethod
    def _exact_origins(cls, value: str | None) -> str | None:
        for origin in (o.strip() for o in (value or "").split(",")):
            if origin and _origin_of(origin) != origin:
                raise ValueError("each origin must be exact: scheme://host[:port], no path, no wildcard")
        return value

    @property
    def origin_allow_list(self) -> frozenset[str]:
        return frozenset(o.strip() for o in (self.allowed_origins or "").split(",") if o.strip())

    @property
    def effective_database_url(self) -> str | None:
        """DATABASE_URL, else the integration's pooled POSTGRES_URL (cleaned for libpq)."""
        url = self.database_url or self.postgres_url
        return libpq_url(url) if url else None

    @property
    def migration_database_url(self) -> str | None:
        """DATABASE_URL, else the direct POSTGRES_URL_NON_POOLING, else the pooled POSTGRES_URL."""
        url = self.database_url or self.postgres_url_non_pooling or self.postgres_url
        return libpq_url(url) if url else None

    @property
    def jwt_issuer(self) -> str | None:
        if self.supabase_jwt_issuer:
            return self.supabase_jwt_issuer
        if self.supabase_url:
            return self.supabase_url.rstrip("/") + "/auth/v1"
        return None

    @property
    def jwks_url(self) -> str | None:
        if self.supabase_jwks_url:
            return self.supabase_jwks_url
        if self.supabase_url:
            return self.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"
        return None

    @property
    def function_base_url(self) -> str:
        """Where this deployment's functions live (PUBLIC_BASE_URL, else Vercel's VERCEL_URL)."""
        if self.vercel_url and self.public_base_url == "http://127.0.0.1:3000":
            return "https://" + self.vercel_url
        return self.public_base_url

    @property
    def sync_budget_s(self) -> float:
        """Seconds of work one invocation may do: maxDuration minus a margin to finish cleanly."""
        return max(1.0, self.sync_max_duration_s - self.sync_safety_margin_s)


def _origin_of(text: str) -> str | None:
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "*" in text:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def libpq_url(url: str) -> str:
    """Drops the query parameters integrations add that libpq (psycopg) refuses; keeps the rest."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in NON_LIBPQ_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(kept)))


_lock = threading.Lock()
_cached: Settings | None = None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Reads every field from its upper-case environment variable (empty strings count as unset)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = env.get(name.upper())
        if raw is not None and raw != "":
            values[name] = raw
    try:
        return Settings(**values)
    except ValidationError as exc:
        names = sorted({str(err["loc"][0]).upper() for err in exc.errors()})
        raise ConfigError(f"invalid setting(s): {', '.join(names)}") from None


def settings() -> Settings:
    """The process-wide settings (cached; call reset_settings() after changing the environment)."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = load_settings()
        return _cached


def reset_settings() -> None:
    global _cached
    with _lock:
        _cached = None
