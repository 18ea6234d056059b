"""The work item: one leased model as the database hands it to a sync, parsed once where it enters Python.

The SQL side builds it in ``private.work_item`` (returned by ``fanvue_claim_models``,
``fanvue_acquire_model`` and ``fanvue_reset_history``); :meth:`WorkItem.from_row` is the only place
that reads its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lib.fanvue.routes import is_personal
from lib.timeutil import maybe_utc


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class PendingWindow:
    """A window a previous run started and did not finish: ``[start, end)``, stored down to ``resume_end``."""

    start: datetime
    end: datetime
    resume_end: datetime | None

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PendingWindow:
        start, end = maybe_utc(value["start"]), maybe_utc(value["end"])
        if start is None or end is None:
            raise ValueError("a pending window needs start and end")
        return cls(start, end, maybe_utc(value.get("resume_end")))


@dataclass(frozen=True, slots=True)
class WorkItem:
    """What a sync needs to know about one model, its connection and its sync state."""

    model_id: str
    name: str
    agency_id: str | None = None
    fanvue_user_uuid: str | None = None
    fanvue_handle: str | None = None
    connection_id: str | None = None
    connection_kind: str | None = None  # "creator" | "agency"
    connection_status: str | None = None
    connection_user_uuid: str | None = None
    history_start: datetime | None = None
    watermark: datetime | None = None
    spending_watermark: datetime | None = None
    backfill_completed_at: datetime | None = None
    progress: dict[str, PendingWindow] = field(default_factory=dict)  # by stream: "earnings" | "spending"
    lease_owner: str | None = None
    revenue_gross_cents: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WorkItem:
        progress = row.get("progress") or {}
        revenue = row.get("revenue_gross_cents")
        return cls(
            model_id=str(row["model_id"]),
            name=str(row.get("name") or ""),
            agency_id=_str(row.get("agency_id")),
            fanvue_user_uuid=_str(row.get("fanvue_user_uuid")),
            fanvue_handle=_str(row.get("fanvue_handle")),
            connection_id=_str(row.get("connection_id")),
            connection_kind=_str(row.get("connection_kind")),
            connection_status=_str(row.get("connection_status")),
            connection_user_uuid=_str(row.get("connection_user_uuid")),
            history_start=maybe_utc(row.get("history_start")),
            watermark=maybe_utc(row.get("watermark")),
            spending_watermark=maybe_utc(row.get("spending_watermark")),
            backfill_completed_at=maybe_utc(row.get("backfill_completed_at")),
            progress={stream: PendingWindow.from_json(w) for stream, w in progress.items() if w},
            lease_owner=_str(row.get("lease_owner")),
            revenue_gross_cents=None if revenue is None else int(revenue),
        )

    @property
    def personal(self) -> bool:
        """The token is the creator's own: the personal routes (and spending) apply to this model."""
        return is_personal(self.connection_kind, self.connection_user_uuid, self.fanvue_user_uuid)

    @property
    def syncable(self) -> bool:
        return bool(self.connection_id) and self.connection_status in (None, "active")


@dataclass(frozen=True, slots=True)
class LeaseHeld:
    """``fanvue_acquire_model`` found the model leased by someone else."""

    holder: str | None
    lease_kind: str | None
    lease_expires_at: str | None


def parse_acquired(row: Mapping[str, Any]) -> WorkItem | LeaseHeld:
    """The answer of ``fanvue_acquire_model``: the work item, or who holds the lease."""
    if row.get("acquired"):
        return WorkItem.from_row(row["work"])
    return LeaseHeld(_str(row.get("holder")), _str(row.get("lease_kind")), _str(row.get("lease_expires_at")))
