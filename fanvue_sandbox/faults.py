"""Switchable fault injection: 5xx, random errors, slowness, dropped sockets, 429 storms,
token expiry mid-pagination. Faults sit in front of the API like a flaky gateway, so an
injected 5xx/drop/storm neither reaches the app nor consumes the rate-limit bucket.

By default a fault only hits Fanvue API routes (not /oauth2/*, never /_sandbox/*); a
`path_regex` (global, or inside one fault's dict) retargets it, e.g. "^/oauth2/token".

Shapes (JSON body of POST /_sandbox/faults, or kwargs of FanvueSandbox.set_faults):
    {"error_5xx": {"count": 3, "status": 503},          # next 3 matching requests
     "error_rate": {"p": 0.1, "seed": 1, "status": 500}, # random errors until cleared
     "slow_ms": 250,                                     # extra delay on every matching request
     "drop": {"count": 1},                               # close the socket, no response
     "rate_limit_storm": {"count": 5, "retry_after": 2}, # 429 regardless of the bucket
     "expire_tokens_after": 10,                          # requests 1..10 pass, then every
                                                         #   access token issued so far expires
     "revoke_grant": "ava",                              # handle or uuid; revokes its grants now
     "path_regex": "^/creators/"}                        # optional global target
Ints are accepted as shorthand for counts: {"error_5xx": 2, "drop": 1, "rate_limit_storm": 3}.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from typing import Any

FAULT_KEYS = frozenset(
    {
        "error_5xx",
        "error_rate",
        "slow_ms",
        "drop",
        "rate_limit_storm",
        "expire_tokens_after",
        "revoke_grant",
        "path_regex",
    }
)


@dataclass
class FaultDecision:
    delay_ms: int = 0
    kind: str | None = None  # "drop" | "error" | "storm"
    status: int = 0
    retry_after: int = 1
    expire_tokens: bool = False


def _count_dict(value: Any, name: str, extra: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a count or an object")
    if isinstance(value, int):
        value = {"count": value}
    if not isinstance(value, dict) or not isinstance(value.get("count", 0), int):
        raise ValueError(f"{name}: expected {{'count': n, ...}}")
    out = dict(extra)
    out.update(value)
    if out["count"] < 0:
        raise ValueError(f"{name}: count must be >= 0")
    return out


class Faults:
    """Current fault plan + counters of what was injected. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan: dict[str, Any] = {}
        self._rnd = random.Random(0)
        self._regex: dict[str, re.Pattern[str]] = {}
        self.injected: dict[str, int] = {
            k: 0
            for k in ("error_5xx", "error_rate", "slow", "drop", "rate_limit_storm", "tokens_expired", "grants_revoked")
        }

    def set(self, **faults: Any) -> dict[str, Any]:
        """Merge the given faults into the plan (revoke_grant is returned, not stored)."""
        unknown = set(faults) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault(s): {sorted(unknown)}; known: {sorted(FAULT_KEYS)}")
        plan: dict[str, Any] = {}
        for key, value in faults.items():
            if value is None:
                plan[key] = None
            elif key == "error_5xx":
                v = _count_dict(value, key, {"status": 503})
                if not 500 <= int(v["status"]) <= 599:
                    raise ValueError("error_5xx.status must be 5xx")
                plan[key] = v
            elif key == "error_rate":
                if not isinstance(value, dict) or not 0 <= float(value.get("p", -1)) <= 1:
                    raise ValueError("error_rate: expected {'p': 0..1, 'seed': int, 'status': 5xx}")
                plan[key] = {"status": 500, "seed": 0, **value}
            elif key == "slow_ms":
                ms = value.get("ms") if isinstance(value, dict) else value
                if not isinstance(ms, int) or ms < 0:
                    raise ValueError("slow_ms: expected a non-negative int (or {'ms': n})")
                plan[key] = {"ms": ms, **(value if isinstance(value, dict) else {})}
            elif key == "drop":
                plan[key] = _count_dict(value, key, {})
            elif key == "rate_limit_storm":
                v = _count_dict(value, key, {"retry_after": 1})
                if not isinstance(v["retry_after"], int) or v["retry_after"] < 1:
                    raise ValueError("rate_limit_storm.retry_after must be an int >= 1")
                plan[key] = v
            elif key == "expire_tokens_after":
                ms = value.get("count") if isinstance(value, dict) else value
                if not isinstance(ms, int) or ms < 0:
                    raise ValueError("expire_tokens_after: expected a non-negative int")
                plan[key] = {"count": ms, **(value if isinstance(value, dict) else {})}
            elif key == "path_regex":
                if not isinstance(value, str):
                    raise ValueError("path_regex must be a string")
                re.compile(value)
                plan[key] = value
            elif key == "revoke_grant" and not isinstance(value, str):
                raise ValueError("revoke_grant must be a handle or uuid")
        for v in plan.values():
            if isinstance(v, dict) and v.get("path_regex"):
                re.compile(v["path_regex"])
        with self._lock:
            for k, v in plan.items():
                if v is None:
                    self._plan.pop(k, None)
                else:
                    self._plan[k] = v
            if "error_rate" in plan and plan["error_rate"] is not None:
                self._rnd = random.Random(int(plan["error_rate"].get("seed", 0)))
            return self.active()

    def clear(self) -> None:
        with self._lock:
            self._plan = {}

    def active(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self._plan.items()}

    def count_revoked(self, n: int) -> None:
        with self._lock:
            self.injected["grants_revoked"] += n

    def _matches(self, spec: Any, path: str, is_api: bool) -> bool:
        rx = (spec.get("path_regex") if isinstance(spec, dict) else None) or self._plan.get("path_regex")
        if not rx:
            return is_api
        pat = self._regex.get(rx)
        if pat is None:
            pat = self._regex[rx] = re.compile(rx)
        return pat.search(path) is not None

    def decide(self, path: str, is_api: bool) -> FaultDecision | None:
        """What to do with this request; None when no fault is planned (the fast path)."""
        if not self._plan:
            return None
        with self._lock:
            plan = self._plan
            d = FaultDecision()
            hit = False
            slow = plan.get("slow_ms")
            if slow and slow["ms"] and self._matches(slow, path, is_api):
                d.delay_ms = slow["ms"]
                self.injected["slow"] += 1
                hit = True
            drop = plan.get("drop")
            err = plan.get("error_5xx")
            rate = plan.get("error_rate")
            storm = plan.get("rate_limit_storm")
            if drop and drop["count"] > 0 and self._matches(drop, path, is_api):
                drop["count"] -= 1
                self.injected["drop"] += 1
                d.kind = "drop"
            elif err and err["count"] > 0 and self._matches(err, path, is_api):
                err["count"] -= 1
                self.injected["error_5xx"] += 1
                d.kind, d.status = "error", int(err["status"])
            elif rate and self._matches(rate, path, is_api) and self._rnd.random() < float(rate["p"]):
                self.injected["error_rate"] += 1
                d.kind, d.status = "error", int(rate["status"])
            elif storm and storm["count"] > 0 and self._matches(storm, path, is_api):
                storm["count"] -= 1
                self.injected["rate_limit_storm"] += 1
                d.kind, d.retry_after = "storm", int(storm["retry_after"])
            if d.kind is None:
                exp = plan.get("expire_tokens_after")
                if exp is not None and self._matches(exp, path, is_api):
                    if exp["count"] <= 0:
                        d.expire_tokens = True
                        self.injected["tokens_expired"] += 1
                        del plan["expire_tokens_after"]
                    else:
                        exp["count"] -= 1
            return d if (hit or d.kind or d.expire_tokens) else None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"injected": dict(self.injected), "active": self.active()}
