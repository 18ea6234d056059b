"""Fanvue's rate limit: a token bucket of `limit` requests refilled to full every window.

Keys follow the docs: `clientId:userUuid`, and `clientId:userUuid:creatorUuid` for any
/creators/{creatorUserUuid}/... route. Runs on wall-clock time (not the sandbox clock) so
X-RateLimit-Reset is a real unix time a client can sleep until.

Besides enforcing, it records per bucket the most requests ACCEPTED in any rolling window
of `window_s`, which is the number a test checks to prove a client stayed within budget.
Note: because the bucket refills in one go, a client may legally reach up to 2 x limit - 1 in
a rolling window that spans a refill; `max_accepted_in_fixed_window` is always <= limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_unix: int
    retry_after: int

    def headers(self) -> list[tuple[str, str]]:
        h = [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(self.reset_unix)),
        ]
        if not self.allowed:
            h.append(("Retry-After", str(self.retry_after)))
        return h


@dataclass
class _Bucket:
    reset_at: float = 0.0
    used: int = 0
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    max_fixed: int = 0
    max_rolling: int = 0
    recent: deque = field(default_factory=deque)


class RateLimiter:
    """Thread-safe fixed-refill token buckets keyed by string."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> RateDecision:
        """Consume one request from `key`'s bucket (or reject it with Retry-After)."""
        t = time.time() if now is None else now
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = _Bucket()
            if t >= b.reset_at:
                b.reset_at = t + self.window_s
                b.used = 0
            b.requests += 1
            reset_unix = math.ceil(b.reset_at)
            if b.used >= self.limit:
                b.rejected += 1
                return RateDecision(False, self.limit, 0, reset_unix, max(1, math.ceil(b.reset_at - t)))
            b.used += 1
            b.accepted += 1
            b.max_fixed = max(b.max_fixed, b.used)
            rq = b.recent
            rq.append(t)
            edge = t - self.window_s
            while rq and rq[0] <= edge:
                rq.popleft()
            if len(rq) > b.max_rolling:
                b.max_rolling = len(rq)
            return RateDecision(True, self.limit, self.limit - b.used, reset_unix, 0)

    def peek(self, key: str) -> RateDecision:
        """Headers for a response that did not consume (e.g. an injected 429 storm)."""
        t = time.time()
        with self._lock:
            b = self._buckets.get(key)
            if b is None or t >= b.reset_at:
                return RateDecision(True, self.limit, self.limit, math.ceil(t + self.window_s), 0)
            return RateDecision(True, self.limit, self.limit - b.used, math.ceil(b.reset_at), 0)

    def configure(self, limit: int | None = None, window_s: float | None = None) -> None:
        with self._lock:
            if limit is not None:
                self.limit = limit
            if window_s is not None:
                self.window_s = window_s

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "limit": self.limit,
                "window_s": self.window_s,
                "buckets": {
                    k: {
                        "requests": b.requests,
                        "accepted": b.accepted,
                        "rejected_429": b.rejected,
                        "max_accepted_in_rolling_window": b.max_rolling,
                        "max_accepted_in_fixed_window": b.max_fixed,
                    }
                    for k, b in self._buckets.items()
                },
            }
