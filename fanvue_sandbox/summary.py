"""GET /insights/earnings/summary: aggregates computed from the very same ledger columns
that the item endpoint renders, so a client can reconcile summary vs items exactly.

Choices where the spec is silent (documented for the client author):
- `totals.allTime` ignores the date range; everything else uses [startDate, endDate).
- `overTime` lists every bucket (zeros included) from the period start (startDate, else the
  first item in range; never before the creator registered) to the period end (endDate,
  else now), in the requested timezone; week buckets start on Monday.
- `averageByDayOfWeek[w]` = gross on weekday w / number of weekday-w days in the period;
  `averageByHourOfDay[h]` = gross in local hour h / number of days in the period (rounded cents).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .data import KNOWN_SOURCES, EarningsLedger
from .timeutil import DAY_MS, EPOCH, HOUR_MS, iso_ms

_BREAKDOWN_KEY = {
    "subscription": "subs",
    "renewal": "renewals",
    "message": "messages",
    "post": "posts",
    "tip": "tips",
    "referral": "referrals",
}
_TYPE_KEYS = ("renewals", "messages", "tips", "subs")


class _Offsets:
    """UTC-offset lookup (ms) per UTC hour, cached: zone rules are hour-granular in practice."""

    def __init__(self, tz: ZoneInfo | timezone) -> None:
        self.tz = tz
        self.fixed = 0 if tz is UTC else None
        self._cache: dict[int, int] = {}

    def at(self, ms: int) -> int:
        if self.fixed is not None:
            return self.fixed
        h = ms // HOUR_MS
        off = self._cache.get(h)
        if off is None:
            dt = datetime.fromtimestamp(h * 3600, tz=self.tz)
            off = int(dt.utcoffset().total_seconds() * 1000)  # type: ignore[union-attr]
            self._cache[h] = off
        return off


def _local_midnight_ms(day: int, tz: ZoneInfo | timezone) -> tuple[int, str]:
    d = (EPOCH + timedelta(days=day)).date()
    dt = datetime(d.year, d.month, d.day, tzinfo=tz)
    if tz is UTC:
        return day * DAY_MS, iso_ms(day * DAY_MS)
    ms = int(dt.timestamp() * 1000)
    return ms, dt.isoformat(timespec="milliseconds")


def _month_bounds(now_ms: int, tz: ZoneInfo | timezone) -> tuple[int, int, int]:
    """(previous month start, this month start, next month start) in unix ms for zone tz."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=tz)
    y, m = now.year, now.month
    py, pm = (y - 1, 12) if m == 1 else (y, m - 1)
    ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)

    def start(yy: int, mm: int) -> int:
        return int(datetime(yy, mm, 1, tzinfo=tz).timestamp() * 1000)

    return start(py, pm), start(y, m), start(ny, nm)


def _pct(cur: int, prev: int) -> float | None:
    if prev == 0:
        return None
    return round((cur - prev) / prev * 100, 2)


def earnings_summary(
    ledger: EarningsLedger,
    *,
    now_ms: int,
    floor_ms: int,
    start_ms: int | None,
    end_ms: int | None,
    granularity: str,
    tz_name: str,
    tz: ZoneInfo | timezone,
) -> dict[str, Any]:
    src, gross, net = ledger.columns()
    ts = ledger.ts
    n = min(len(gross), len(ts))
    offs = _Offsets(tz)

    def range_sum(lo_ms: int, hi_ms: int) -> tuple[int, int]:
        lo, hi = ledger.index_range(lo_ms, hi_ms)
        hi = min(hi, n)
        return sum(gross[lo:hi]), sum(net[lo:hi])

    prev_start, this_start, next_start = _month_bounds(now_ms, tz)
    tm_g, tm_n = range_sum(this_start, next_start)
    pm_g, pm_n = range_sum(prev_start, this_start)

    lo, hi = ledger.index_range(start_ms, end_ms)
    hi = min(hi, n)
    by_code_g = [0] * (len(KNOWN_SOURCES) + 1)
    by_code_n = [0] * (len(KNOWN_SOURCES) + 1)
    buckets: dict[int, list[int]] = {}
    dow = [0] * 8
    hours = [0] * 24
    week = granularity == "week"
    for i in range(lo, hi):
        t = ts[i]
        g = gross[i]
        nn = net[i]
        c = src[i]
        by_code_g[c] += g
        by_code_n[c] += nn
        local = t + offs.at(t)
        day = local // DAY_MS
        wd = (day + 3) % 7 + 1
        key = day - (wd - 1) if week else day
        b = buckets.get(key)
        if b is None:
            buckets[key] = [g, nn]
        else:
            b[0] += g
            b[1] += nn
        dow[wd] += g
        hours[(local // HOUR_MS) % 24] += g

    breakdown = {
        k: {"gross": 0, "net": 0} for k in ("subs", "messages", "posts", "tips", "referrals", "renewals", "other")
    }
    for code, name in enumerate(ledger.source_names):
        key = _BREAKDOWN_KEY.get(name, "other")
        breakdown[key]["gross"] += by_code_g[code]
        breakdown[key]["net"] += by_code_n[code]

    # period used for bucket listing and averages
    p_start = start_ms if start_ms is not None else (ts[lo] if hi > lo else None)
    p_end = min(end_ms, now_ms) if end_ms is not None else now_ms
    over_time: list[dict[str, Any]] = []
    dow_days = [0] * 8
    n_days = 0
    if p_start is not None:
        p_start = max(p_start, floor_ms)
        if p_end > p_start:
            d0 = (p_start + offs.at(p_start)) // DAY_MS
            last = p_end - 1
            d1 = (last + offs.at(last)) // DAY_MS
            n_days = d1 - d0 + 1
            for d in range(d0, d1 + 1):
                dow_days[(d + 3) % 7 + 1] += 1
            step = 7 if week else 1
            k0 = d0 - ((d0 + 3) % 7) if week else d0
            for key in range(k0, d1 + 1, step):
                _, label = _local_midnight_ms(key, tz)
                g, nn = buckets.get(key, (0, 0))
                over_time.append({"periodStart": label, "gross": g, "net": nn})

    return {
        "totals": {
            "allTime": {"gross": sum(gross[:n]), "net": sum(net[:n])},
            "thisMonth": {
                "gross": tm_g,
                "net": tm_n,
                "previousMonthGross": pm_g,
                "previousMonthNet": pm_n,
                "grossChangePercentage": _pct(tm_g, pm_g),
                "netChangePercentage": _pct(tm_n, pm_n),
            },
        },
        "breakdownBySource": breakdown,
        "earningsByType": {k: dict(breakdown[k]) for k in _TYPE_KEYS},
        "overTime": over_time,
        "averageByDayOfWeek": {str(w): (round(dow[w] / dow_days[w]) if dow_days[w] else 0) for w in range(1, 8)},
        "averageByHourOfDay": {str(h): (round(hours[h] / n_days) if n_days else 0) for h in range(24)},
        "period": {
            "startDate": iso_ms(start_ms) if start_ms is not None else None,
            "endDate": iso_ms(end_ms) if end_ms is not None else None,
            "granularity": granularity,
            "timezone": tz_name,
        },
    }
