"""Shared pydantic pieces for query parameters (strict: unknown parameters are refused)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp needs a timezone, e.g. 2026-01-01T00:00:00Z")
    return value.astimezone(timezone.utc)


UtcDateTime = Annotated[datetime, AfterValidator(_aware_utc)]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class StrictQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=True)


class ModelQuery(StrictQuery):
    model_id: Optional[UUID] = Field(default=None, alias="modelId")
    model_name: Optional[ModelName] = Field(default=None, alias="modelName")
