"""Client-side pacing for Fanvue's rate limit, shared by every client in the process.

Fanvue publishes a token bucket of 200 requests per 60 s, refilled to full at ``X-RateLimit-Reset``
(unix seconds), keyed by ``client:user`` and, on ``/creators/{uuid}/...`` routes, by
``client:user:creator``. Every response reports ``X-RateLimit-Limit/-Remaining/-Reset``; a 429 adds
``Retry-After`` (seconds). Hitting the limit costs a wasted round trip and a penalty wait, so we pace
*before* sending: each bucket keeps the last known remaining count and reset time, every send
reserves one slot locally (so threads sharing a bucket cannot overshoot between responses), and
when no slot is left the caller is told how long to wait for the refill.

The pacer only computes waits; the caller sleeps, so it can check its own deadline first.
Bucket keys are chosen by the client: ``"<user_uuid>"`` or ``"<user_uuid>:<creator_uuid>"``.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["BucketState", "Pacer", "parse_retry_after", "shared_pacer"]

# A reset value below this is a delta in seconds, not a unix timestamp (defensive: some servers
# send "seconds until reset" in X-RateLimit-Reset).
_EPOCH_FLOOR = 1_000_000_000


@dataclass(slots=True)
class BucketState:
    """What we believe about one server-side bucket right now."""

    limit: int | None = None
    remaining: int | None = None  # server's last report minus our sends since (never above it)
    reset_at: float | None = None  # unix seconds when the server refills the bucket
    blocked_until: float | None = None  # set by a 429's Retry-After; only time clears it
    in_flight: int = 0
    sent: int = 0  # total reservations, for diagnostics
    throttled: int = 0  # 429s seen


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw.strip()))
    except ValueError:
        return None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds (Fanvue sends integer seconds; HTTP-dates are not expected)."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return max(0.0, value)


class Pacer:
    """Thread-safe registry of per-bucket state, updated from response headers.

    ``reserve``: slots to leave untouched for other processes (default 0).
    ``margin_s``: extra wait after the advertised reset, covering clock skew and whole-second
    rounding of ``X-RateLimit-Reset``. ``jitter_s``: random spread so waiting threads do not all
    fire in the same millisecond.
    """

    def __init__(
        self,
        *,
        reserve: int = 0,
        margin_s: float = 0.25,
        jitter_s: float = 0.1,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.reserve = reserve
        self.margin_s = margin_s
        self.jitter_s = jitter_s
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._buckets: dict[str, BucketState] = {}

    # -- the two calls a client makes around every request -------------------------------------

    def acquire(self, key: str) -> float:
        """Reserve one request slot in ``key``'s bucket.

        Returns 0.0 when the slot is reserved (send now, then call :meth:`record` or
        :meth:`release` exactly once), or the number of seconds to wait before asking again.
        """
        with self._lock:
            b = self._buckets.setdefault(key, BucketState())
            now = self._clock()
            if b.blocked_until is not None:
                if now < b.blocked_until + self.margin_s:
                    return b.blocked_until + self.margin_s - now + self._rng() * self.jitter_s
                b.blocked_until = None
            if b.reset_at is not None and now >= b.reset_at + self.margin_s:
                # The server has refilled the bucket; we learn the new reset from the next answer.
                b.remaining = b.limit
                b.reset_at = None
            if b.remaining is not None and b.remaining <= self.reserve:
                if b.reset_at is None:
                    # Exhausted with no known reset (headers missing): wait for a response to tell us,
                    # or, with nothing in flight, allow one probe so we cannot stall forever.
                    if b.in_flight > 0:
                        return 0.05
                else:
                    return max(0.0, b.reset_at + self.margin_s - now) + self._rng() * self.jitter_s
            if b.remaining is not None:
                b.remaining -= 1
            b.in_flight += 1
            b.sent += 1
            return 0.0

    def record(self, key: str, status: int, headers: Mapping[str, str]) -> None:
        """Release the slot taken by :meth:`acquire` and learn from the response's headers."""
        with self._lock:
            b = self._buckets.setdefault(key, BucketState())
            b.in_flight = max(0, b.in_flight - 1)
            now = self._clock()
            limit = _int_header(headers, "x-ratelimit-limit")
            remaining = _int_header(headers, "x-ratelimit-remaining")
            reset = _int_header(headers, "x-ratelimit-reset")
            reset_at: float | None = None
            if reset is not None:
                reset_at = float(reset) if reset >= _EPOCH_FLOOR else now + reset
            if limit is not None:
                b.limit = limit
            if status == 429:
                # Retry-After is the server's word for this rejection; the reset header and our
                # older belief are fallbacks only (a gateway 429 can be shorter than the window).
                b.throttled += 1
                retry_after = parse_retry_after(headers)
                if retry_after is not None:
                    until = now + retry_after
                elif reset_at is not None and reset_at > now:
                    until = reset_at
                elif b.reset_at is not None and b.reset_at > now:
                    until = b.reset_at
                else:
                    until = now + 1.0
                b.remaining = 0
                b.reset_at = until
                b.blocked_until = max(until, b.blocked_until or 0.0)
                return
            if remaining is None or status == 401 or status >= 500:
                # A 401 may be answered before the principal is known (an anonymous bucket's
                # numbers), and a gateway 5xx never saw the bucket: neither describes ours.
                return
            if reset_at is not None and reset_at + self.margin_s <= now:
                return  # a late answer about a window that has already been refilled
            # Other requests may still be in flight; assume the server has not counted them yet.
            observed = max(0, remaining - b.in_flight)
            new_window = reset_at is not None and (b.reset_at is None or reset_at > b.reset_at + 0.5)
            if new_window or b.remaining is None:
                b.remaining = observed
            else:
                b.remaining = min(b.remaining, observed)
            if reset_at is not None and (new_window or b.reset_at is None):
                b.reset_at = reset_at

    def release(self, key: str) -> None:
        """Release a slot whose request got no response (the server may still have counted it)."""
        with self._lock:
            b = self._buckets.get(key)
            if b is not None:
                b.in_flight = max(0, b.in_flight - 1)

    # -- inspection -----------------------------------------------------------------------------

    def snapshot(self, key: str) -> BucketState | None:
        """A copy of the bucket's state (for diagnostics and tests)."""
        with self._lock:
            b = self._buckets.get(key)
            return None if b is None else dataclasses.replace(b)

    def clear(self) -> None:
        """Forget every bucket (tests, or after switching API hosts)."""
        with self._lock:
            self._buckets.clear()


_SHARED = Pacer()


def shared_pacer() -> Pacer:
    """The process-wide pacer every :class:`FanvueClient` uses unless given its own."""
    return _SHARED
