"""The query parameters of every endpoint, as typed pydantic models (strict: unknown parameters are
refused). The api/ files declare which one they take; lib/endpoints receives it typed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Timestamps near the ends of Python's datetime range overflow when converted to UTC or shifted by
# a look-back; nothing this service handles predates Fanvue or lies centuries ahead.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp needs a timezone, e.g. 2026-01-01T00:00:00Z")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("timestamp is out of range (1970-01-01 to 9000-01-01 UTC)") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("timestamp is out of range (1970-01-01 to 9000-01-01 UTC)")
    return utc


UtcDateTime = Annotated[datetime, AfterValidator(_aware_utc)]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class StrictQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=True, defer_build=True)


class ModelQuery(StrictQuery):
    model_id: UUID | None = Field(default=None, alias="modelId")
    model_name: ModelName | None = Field(default=None, alias="modelName")


class CronQuery(StrictQuery):
    mode: Literal["sync", "reconcile"] = "sync"
    worker: int | None = Field(default=None, ge=0, le=64)


class DiagnoseQuery(ModelQuery):
    probe: bool = True
    format: Literal["json", "text", "html"] | None = None


class ForceSyncQuery(ModelQuery):
    full: bool = False
    since: UtcDateTime | None = None
    dry_run: bool = Field(default=False, alias="dryRun")


class RefreshQuery(StrictQuery):
    connection_id: UUID | None = Field(default=None, alias="connectionId")
    model_id: UUID | None = Field(default=None, alias="modelId")
    force: bool = False


class ConnectQuery(StrictQuery):
    model_id: UUID | None = Field(default=None, alias="modelId")
    agency_id: UUID | None = Field(default=None, alias="agencyId")
    redirect: bool = False
    login_hint: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    ticket: str | None = Field(default=None, min_length=16, max_length=2048, pattern=r"^[A-Za-z0-9_-]+$")


class CallbackQuery(StrictQuery):
    code: str | None = Field(default=None, max_length=2048)
    state: str | None = Field(default=None, max_length=2048)
    scope: str | None = Field(default=None, max_length=2048)
    error: str | None = Field(default=None, max_length=200)
    error_description: str | None = Field(default=None, max_length=1000)
