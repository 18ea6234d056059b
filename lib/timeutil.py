"""Time rules shared by every module: parse what SQL and Fanvue send, write what Fanvue accepts.

All datetimes inside the product are timezone-aware UTC; naive input is read as UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def parse_utc(value: datetime | str) -> datetime:
    """A `datetime` or an ISO 8601 string (with `Z` or an offset) as an aware UTC datetime."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def maybe_utc(value: Any) -> datetime | None:
    """`parse_utc` for optional values: None or an empty string is None."""
    return parse_utc(value) if value else None


def iso_ms(value: datetime) -> str:
    """`2026-01-02T03:04:05.678Z`: the millisecond UTC form Fanvue's date filters and items use."""
    utc = parse_utc(value)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
