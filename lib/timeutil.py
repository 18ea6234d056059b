"""How every module reads a time from SQL rows, JSON or a setting (Fanvue's own date format lives
in lib/fanvue/lines.py).

All datetimes inside the product are timezone-aware UTC; naive input is read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_utc(value: datetime | str) -> datetime:
    """A `datetime` or an ISO 8601 string (with `Z` or an offset) as an aware UTC datetime."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def maybe_utc(value: Any) -> datetime | None:
    """`parse_utc` for optional values: None or an empty string is None."""
    return parse_utc(value) if value else None
