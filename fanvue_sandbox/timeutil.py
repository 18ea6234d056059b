"""Sandbox clock and the date formats Fanvue uses (UTC ISO-8601 with milliseconds and `Z`).

The clock is wall time plus an offset that only `advance_clock` moves, so tests can
expire tokens and age orders from pending to available without sleeping, while item
dates stay anchored to real wall time (never in the future).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_ONE_MS = timedelta(milliseconds=1)
_day_prefix: dict[int, str] = {}


class SandboxClock:
    """Wall clock + a forward offset (seconds) set by advance_clock."""

    def __init__(self) -> None:
        self._offset_ms = 0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset_ms += round(seconds * 1000)

    @property
    def offset_ms(self) -> int:
        return self._offset_ms

    def now_ms(self) -> int:
        """Sandbox time: used for token/code expiry and order status."""
        return wall_ms() + self._offset_ms

    def now_s(self) -> float:
        return time.time() + self._offset_ms / 1000.0


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


_HM = ["%02d:%02d:" % (m // 60, m % 60) for m in range(1440)]
_SS = ["%02d." % s for s in range(60)]
_MSZ = ["%03dZ" % m for m in range(1000)]


def iso_ms(ms: int) -> str:
    """Unix ms -> '2025-06-24T21:23:44.070Z' (hot path: cached day prefix + lookup tables)."""
    d, rem = divmod(ms, DAY_MS)
    prefix = _day_prefix.get(d)
    if prefix is None:
        prefix = (EPOCH + timedelta(days=d)).strftime("%Y-%m-%dT")
        if len(_day_prefix) > 50_000:
            _day_prefix.clear()
        _day_prefix[d] = prefix
    s, msr = divmod(rem, 1000)
    m, s = divmod(s, 60)
    return prefix + _HM[m] + _SS[s] + _MSZ[msr]


def parse_iso(value: str) -> int:
    """ISO-8601 date-time (Z, offset, or naive=UTC; date-only = midnight UTC) -> unix ms.

    Raises ValueError on garbage. Sub-millisecond digits are truncated.
    """
    v = value.strip()
    if not v or len(v) > 64:
        raise ValueError("empty or too long")
    if v.endswith(("z", "Z")):
        v = v[:-1] + "+00:00"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // _ONE_MS
