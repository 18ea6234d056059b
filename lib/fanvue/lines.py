"""The lines of Fanvue's insights pages as the sync reads them, checked straight from the JSON dicts.

Free of pydantic models so the cron path does not build them: a page of 50 lines is checked field by
field (:func:`parse_lines`) with the rules :class:`lib.fanvue.models.EarningItem` and
:class:`lib.fanvue.models.SpendingItem` apply to what we store; the dict itself is kept as the
ledger's raw column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EARNING_SOURCES",
    "SPENDING_SOURCES",
    "EarningsPage",
    "Line",
    "SpendingPage",
    "exact_cents",
    "iso_utc",
    "parse_lines",
]


def exact_cents(value: Any) -> int:
    """JSON numbers (``399`` or ``399.0``) -> int; anything fractional or non-numeric is an error."""
    if isinstance(value, bool):
        raise ValueError("amount must be a number of cents, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"amount {value!r} is not a whole number of cents")
    raise ValueError("amount must be a JSON number of cents")


#: Filter values of ``source`` on ``/insights/earnings`` (``EarningSource`` in Fanvue's OpenAPI document,
#: https://api.fanvue.com/openapi), without ``all``. Items may carry values added later; these are only
#: the ones a request may name.
EARNING_SOURCES: tuple[str, ...] = (
    "affiliate",
    "appStore",
    "checkoutLink",
    "mediaLink",
    "message",
    "post",
    "referral",
    "renewal",
    "subscription",
    "tip",
    "giveaway",
)
#: Filter values of ``source`` on ``/insights/spending`` (``SpendingType``), without ``all``.
SPENDING_SOURCES: tuple[str, ...] = ("refund", "chargeback")


@dataclass(frozen=True, slots=True)
class Line:
    """One earnings or spending line as the sync uses it, checked straight from the JSON dict.

    The page walk reads thousands of lines a second, so a page is not copied into pydantic models:
    :func:`parse_lines` applies the checks :class:`EarningItem`/:class:`SpendingItem` make on the
    fields we store (a date, integer cents, a source, strings or null elsewhere, a fan with a uuid)
    and keeps the dict itself as ``raw``."""

    date: datetime
    gross: int
    net: int
    source: str
    currency: str | None
    transaction_order_id: str | None
    transaction_order_status: str | None
    message_uuid: str | None
    post_uuid: str | None
    fan_uuid: str | None
    fan_handle: str | None


_UTC = UTC


def iso_utc(value: datetime) -> str:
    """``2024-01-15T00:00:00.000Z``: UTC with milliseconds, as Fanvue itself writes dates.

    Naive datetimes are refused: guessing a zone is how day boundaries silently shift.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware (use UTC)")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _date(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("date must be an ISO-8601 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_UTC)
    return parsed if parsed.tzinfo is _UTC else parsed.astimezone(_UTC)


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{key} must be a string or null")


def parse_lines(data: list[Any], *, with_order: bool) -> list[Line]:
    """Lines of one ``/insights/earnings`` (``with_order``) or ``/insights/spending`` page.

    Raises ValueError naming the item and field that breaks the contract."""
    lines: list[Line] = []
    for n, raw in enumerate(data):
        try:
            if not isinstance(raw, dict):
                raise ValueError("item is not an object")
            source = raw.get("source")
            if not isinstance(source, str):
                raise ValueError("source must be a string")
            user = raw.get("user")
            if user is None:
                fan_uuid = fan_handle = None
            elif isinstance(user, dict) and isinstance(user.get("uuid"), str):
                fan_uuid, fan_handle = user["uuid"], _text(user, "handle")
            else:
                raise ValueError("user must be an object with a uuid, or null")
            lines.append(
                Line(
                    date=_date(raw.get("date")),
                    gross=exact_cents(raw.get("gross")),
                    net=exact_cents(raw.get("net")),
                    source=source,
                    currency=_text(raw, "currency"),
                    transaction_order_id=_text(raw, "transactionOrderId") if with_order else None,
                    transaction_order_status=_text(raw, "transactionOrderStatus") if with_order else None,
                    message_uuid=_text(raw, "messageUuid"),
                    post_uuid=_text(raw, "postUuid"),
                    fan_uuid=fan_uuid,
                    fan_handle=fan_handle,
                )
            )
        except ValueError as exc:
            raise ValueError(f"item {n}: {exc}") from None
    return lines


@dataclass(frozen=True, slots=True)
class EarningsPage:
    """The answer to one ``/insights/earnings`` request: parsed ``items``, the matching ``raw`` dicts
    (for the ledger's raw column) and the server's ``next_cursor`` (``None`` on the last page)."""

    items: list[Line]
    raw: list[dict[str, Any]] = field(repr=False)
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SpendingPage:
    """Like :class:`EarningsPage`, for refund/chargeback lines."""

    items: list[Line]
    raw: list[dict[str, Any]] = field(repr=False)
    next_cursor: str | None
