"""Shared pydantic pieces for query parameters (strict: unknown parameters are refused)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
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
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=True)


class ModelQuery(StrictQuery):
    model_id: UUID | None = Field(default=None, alias="modelId")
    model_name: ModelName | None = Field(default=None, alias="modelName")
