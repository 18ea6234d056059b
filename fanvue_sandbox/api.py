"""The Fanvue API subset: users, creators, account views, earnings (+summary), spending.

Request pipeline (same for every route): bearer lookup -> rate limit (consumed only by an
authenticated principal) -> X-Fanvue-API-Version -> 401 -> 403 scope -> path/query
validation -> handler. Every response carries X-RateLimit-* headers.

Earnings pagination (the behaviour a sync client must survive): newest first, and the
opaque cursor is base64url('{"date":"<date of the last item on the page>"}') with no
tiebreaker - exactly the shape of Fanvue's published example. With the default
`cursor_tie_mode="skip"` the next page is `date < cursor` (the natural keyset query), so
items that share the boundary millisecond with the last item of a page and did not fit
on it are SKIPPED by a client that only follows nextCursor. We chose "skip" because a
`<=` implementation would repeat the last row of every page, which integrators would
have noticed; strict `<` only misbehaves on ties, which is the failure the docs warn of.
A client that re-reads the boundary (e.g. next request with endDate = lastDate + 1 ms,
or re-querying [lastDate, lastDate + 1 ms)) and dedupes gets every item, as long as no
tie group is larger than the page size (sandbox tie groups are 2..5 items).
`cursor_tie_mode="repeat"` switches to `date <= cursor` (duplicates instead of gaps).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .config import SandboxConfig
from .data import EARNING_SOURCE_ENUM, KNOWN_SOURCES, SPENDING_SOURCE_ENUM
from .oauth import AccessToken, OAuthServer
from .people import SandboxUser
from .prefetch import Prefetcher
from .ratelimit import RateLimiter
from .summary import earnings_summary
from .timeutil import DAY_MS, SandboxClock, iso_ms, parse_iso
from .wire import Request, Response, dumps, json_response
from .world import World

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NOT_ASSIGNED = "Creator not found or not assigned to team member"
_SOURCE_CODES = {name: code for code, name in enumerate(KNOWN_SOURCES)}
_SPEND_CODES = {"refund": 0, "chargeback": 1}
#: documented Fanvue routes the sandbox does not implement (answer 501, not a fake 404)
_UNIMPLEMENTED = (
    "/agencies/earnings",
    "/insights/earnings/percentile",
    "/insights/subscribers",
    "/insights/top-spenders",
)


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.status, self.body = status, body


def encode_cursor(date_ms: int) -> str:
    raw = json.dumps({"date": iso_ms(date_ms)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> int:
    """Cursor -> date ms; ValueError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        obj = json.loads(raw)
        return parse_iso(obj["date"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError("bad cursor") from e


class _Route:
    __slots__ = ("creator_scoped", "handler", "name", "scopes")

    def __init__(
        self, name: str, scopes: tuple[str, ...], handler: Callable[..., Response], creator_scoped: bool
    ) -> None:
        self.name, self.scopes, self.handler, self.creator_scoped = name, scopes, handler, creator_scoped


class FanvueApi:
    """Routes + handlers for the API host."""

    def __init__(
        self,
        cfg: SandboxConfig,
        clock: SandboxClock,
        world: World,
        oauth: OAuthServer,
        limiter: RateLimiter,
        prefetcher: Prefetcher | None = None,
    ) -> None:
        self.cfg, self.clock, self.world, self.oauth, self.limiter = cfg, clock, world, oauth, limiter
        self.prefetcher = prefetcher
        self._static: dict[str, _Route] = {
            "/users/me": _Route("GET /users/me", ("read:self",), self._me, False),
            "/users/account": _Route("GET /users/account", ("read:self",), self._account_self, False),
            "/creators": _Route("GET /creators", ("read:creator",), self._creators, False),
            "/insights/earnings": _Route("GET /insights/earnings", ("read:insights",), self._earnings_self, False),
            "/insights/earnings/summary": _Route(
                "GET /insights/earnings/summary", ("read:insights",), self._summary_self, False
            ),
            "/insights/spending": _Route("GET /insights/spending", ("read:insights",), self._spending, False),
        }
        self._creator_routes: dict[str, _Route] = {
            "account": _Route("GET /creators/{id}/account", ("read:creator",), self._account_creator, True),
            "insights/earnings": _Route(
                "GET /creators/{id}/insights/earnings", ("read:creator", "read:insights"), self._earnings_creator, True
            ),
            "insights/earnings/summary": _Route(
                "GET /creators/{id}/insights/earnings/summary",
                ("read:creator", "read:insights"),
                self._summary_creator,
                True,
            ),
        }

    # ------------------------------------------------------------------ routing
    def match(self, path: str) -> tuple[_Route, str | None] | None:
        """(route, creator path segment) for an implemented API path, else None."""
        r = self._static.get(path)
        if r is not None:
            return r, None
        if path.startswith("/creators/"):
            seg, _, rest = path[10:].partition("/")
            r = self._creator_routes.get(rest)
            if r is not None and seg:
                return r, seg
        return None

    def is_api_path(self, path: str) -> bool:
        return (
            path in self._static
            or path.startswith("/creators/")
            or path.startswith("/insights/")
            or path.startswith("/agencies/")
            or path.startswith("/users/")
        )

    def handle(self, req: Request) -> Response:
        m = self.match(req.path) if req.method == "GET" else None
        if m is None:
            if req.method == "GET" and (
                req.path in _UNIMPLEMENTED
                or (
                    req.path.startswith("/creators/")
                    and req.path.endswith(("/insights/subscribers", "/insights/top-spenders"))
                )
            ):
                return json_response(501, {"error": "Not implemented in the Fanvue sandbox"})
            return json_response(
                404, {"message": f"Cannot {req.method} {req.path}", "error": "Not Found", "statusCode": 404}
            )
        route, seg = m
        # 1. principal + rate limit
        auth = req.headers.get("authorization", "")
        rec: AccessToken | None = None
        if auth[:7] == "Bearer " or (not self.cfg.bearer_case_sensitive and auth[:7].lower() == "bearer "):
            rec = self.oauth.authenticate(auth[7:].strip())
        if rec is not None:
            key = f"{rec.client_id}:{rec.user_uuid}"
            if route.creator_scoped and seg:
                key += ":" + seg.lower()
            rl = self.limiter.hit(key)
            if not rl.allowed:
                return json_response(429, {"error": "Too many requests"}, rl.headers())
        else:
            rl = self.limiter.peek(f"ip:{req.client_ip}")
        headers = rl.headers()
        # 2. version
        if self.cfg.enforce_version:
            v = req.headers.get("x-fanvue-api-version")
            if v is None or v not in self.cfg.api_versions:
                if v is not None and v in self.cfg.sunset_versions:
                    return json_response(
                        410,
                        {
                            "error": "API version no longer supported",
                            "message": f"API version '{v}' was sunset on {self.cfg.sunset_versions[v]}",
                            "nextVersion": self.cfg.api_versions[-1],
                        },
                        headers,
                    )
                if v is None or v not in self.cfg.deprecated_versions:
                    return json_response(
                        400,
                        {"error": "Unsupported API version", "message": f"API version '{v or ''}' is not supported"},
                        headers,
                    )
            if v in self.cfg.deprecated_versions:
                headers = [
                    *headers,
                    ("Deprecation", "true"),
                    ("Sunset", self.cfg.deprecated_versions[v]),
                    ("X-Fanvue-API-Next-Version", self.cfg.api_versions[-1]),
                ]
        # 3. authentication, scopes
        if rec is None:
            return json_response(401, {"error": "Unauthorized"}, headers)
        missing = [s for s in route.scopes if s not in rec.scopes]
        if missing:
            return json_response(403, {"error": f"Forbidden: missing required scope(s): {' '.join(missing)}"}, headers)
        user = self.world.by_uuid[rec.user_uuid]
        try:
            if route.creator_scoped:
                resp = route.handler(req, user, self._managed_creator(user, seg or ""))
            else:
                resp = route.handler(req, user)
        except ApiError as e:
            return json_response(e.status, e.body, headers)
        resp.headers.extend(headers)
        return resp

    def _managed_creator(self, caller: SandboxUser, seg: str) -> SandboxUser:
        if not _UUID_RE.match(seg):
            raise ApiError(400, {"message": f"Invalid UUID format for parameter 'creatorUserUuid': '{seg}'"})
        target = self.world.by_uuid.get(seg.lower())
        if target is None or not caller.is_agency or target.uuid not in caller.managed:
            raise ApiError(404, {"message": NOT_ASSIGNED})
        return target

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _int_param(req: Request, name: str, default: int, lo: int, hi: int | None, errors: list[str]) -> int:
        raw = req.q1(name)
        if raw is None or raw == "":
            return default
        try:
            val = float(raw)
        except ValueError:
            errors.append(f"{name} must be a number conforming to the specified constraints")
            return default
        if val != val or val in (float("inf"), float("-inf")) or val != int(val):
            errors.append(f"{name} must be an integer number")
            return default
        if val < lo:
            errors.append(f"{name} must not be less than {lo}")
        if hi is not None and val > hi:
            errors.append(f"{name} must not be greater than {hi}")
        return int(val)

    @staticmethod
    def _date_param(req: Request, name: str, errors: list[str]) -> int | None:
        raw = req.q1(name)
        if raw is None or raw == "":
            return None
        try:
            return parse_iso(raw)
        except (ValueError, OverflowError):
            errors.append(f"{name} must be a valid ISO 8601 date string")
            return None

    @staticmethod
    def _sources(
        req: Request, allowed: tuple[str, ...], codes: dict[str, int], errors: list[str]
    ) -> frozenset[int] | None:
        vals = [s.strip() for raw in req.query.get("source", []) for s in raw.split(",") if s.strip()]
        if not vals:
            return None
        bad = [s for s in vals if s not in allowed]
        if bad:
            errors.append(f"each value in source must be one of the following values: {', '.join(allowed)}")
            return None
        if "all" in vals:
            return None
        return frozenset(codes[s] for s in vals)

    def _window(self, req: Request, errors: list[str]) -> tuple[int | None, int | None]:
        start = self._date_param(req, "startDate", errors)
        end = self._date_param(req, "endDate", errors)
        if start is not None and end is not None and start > end:
            errors.append("startDate must be before endDate")
        return start, end

    def _page_bounds(self, req: Request, end: int | None, errors: list[str]) -> tuple[int | None, bool]:
        """Upper bound of the next page from endDate + cursor (see module doc for tie rules)."""
        cursor = req.q1("cursor")
        if not cursor:
            return end, False
        try:
            c = decode_cursor(cursor)
        except ValueError:
            errors.append("cursor must be a valid pagination cursor")
            return end, False
        if self.cfg.cursor_tie_mode == "repeat":
            if end is not None and end <= c:
                return end, False
            return c, True
        return (c if end is None else min(c, end)), False

    # ------------------------------------------------------------------ handlers
    def _me(self, req: Request, user: SandboxUser) -> Response:
        return json_response(200, user.me())

    def _account(self, user: SandboxUser) -> dict[str, Any]:
        led = self.world.earnings[user.uuid]
        _, gross, net = led.columns()
        n = min(len(gross), len(led.ts))
        now = self.clock.now_ms()
        pend = int(self.cfg.pending_days * DAY_MS)
        # payouts run on the 1st of every month at 09:00 UTC and pay everything available then
        dt = datetime.fromtimestamp(now / 1000, tz=UTC)
        payout = datetime(dt.year, dt.month, 1, 9, tzinfo=UTC)
        if payout.timestamp() * 1000 > now:
            payout = datetime(dt.year - (dt.month == 1), 12 if dt.month == 1 else dt.month - 1, 1, 9, tzinfo=UTC)
        payout_ms = int(payout.timestamp() * 1000)
        paid_hi = led.index_range(None, payout_ms - pend + 1)[1]
        avail_hi = min(n, led.index_range(None, now - pend + 1)[1])
        last_payout = iso_ms(payout_ms) if paid_hi > 0 else None
        # published: "sum of paid earning invoices"; items dated after the pending cut are not paid yet
        total_hi = (
            n
            if self.cfg.account_total == "all"
            else min(n, led.index_range(None, self.world.pending_before(now) + 1)[1])
        )
        available = sum(net[min(paid_hi, avail_hi) : avail_hi])
        out = user.profile()
        out["account"] = {
            "status": user.status,
            "earnings": {"total": sum(gross[:total_hi]), "availableBalance": available, "lastPayoutAt": last_payout},
            "fans": {"followers": user.followers, "subscribers": user.subscribers},
        }
        return out

    def _account_self(self, req: Request, user: SandboxUser) -> Response:
        return json_response(200, self._account(user))

    def _account_creator(self, req: Request, user: SandboxUser, target: SandboxUser) -> Response:
        return json_response(200, self._account(target))

    def _creators(self, req: Request, user: SandboxUser) -> Response:
        errors: list[str] = []
        page = self._int_param(req, "page", 1, 1, None, errors)
        size = self._int_param(req, "size", 15, 1, 50, errors)
        if errors:
            raise ApiError(400, {"errors": errors})
        managed = [self.world.by_uuid[u] for u in user.managed] if user.is_agency else []
        rows = managed[(page - 1) * size : page * size]
        return json_response(
            200,
            {
                "data": [u.creator_row() for u in rows],
                "pagination": {"page": page, "size": len(rows), "hasMore": page * size < len(managed)},
            },
        )

    def _earnings(self, req: Request, owner: SandboxUser) -> Response:
        errors: list[str] = []
        start, end = self._window(req, errors)
        codes = self._sources(req, EARNING_SOURCE_ENUM, _SOURCE_CODES, errors)
        size = self._int_param(req, "size", 20, 1, 50, errors)
        hi, inclusive = self._page_bounds(req, end, errors)
        if errors:
            raise ApiError(400, {"errors": errors})
        led = self.world.earnings[owner.uuid]
        idx, more = led.select(start, hi, size, codes, inclusive)
        cut = self.world.pending_before(self.clock.now_ms())
        body = ['{"data":[', led.items_json(idx, cut), '],"nextCursor":']
        body.append('"' + encode_cursor(led.ts[idx[-1]]) + '"}' if (more and idx) else "null}")
        if more and idx and codes is None and self.prefetcher is not None:
            # the next page of either paging style: below the cursor, or re-read from the boundary
            self.prefetcher.submit(led, idx[-1] + 4, idx[-1] - size - 6)
        return Response(200, "".join(body).encode("utf-8"))

    def _earnings_self(self, req: Request, user: SandboxUser) -> Response:
        return self._earnings(req, user)

    def _earnings_creator(self, req: Request, user: SandboxUser, target: SandboxUser) -> Response:
        return self._earnings(req, target)

    def _spending(self, req: Request, user: SandboxUser) -> Response:
        errors: list[str] = []
        start, end = self._window(req, errors)
        kinds = self._sources(req, SPENDING_SOURCE_ENUM, _SPEND_CODES, errors)
        size = self._int_param(req, "size", 20, 1, 50, errors)
        hi, inclusive = self._page_bounds(req, end, errors)
        if errors:
            raise ApiError(400, {"errors": errors})
        sp = self.world.spending[user.uuid]
        idx, more = sp.select(start, hi, size, kinds, inclusive)
        body = ['{"data":[', ",".join(sp.item_json(i) for i in idx), '],"nextCursor":']
        body.append('"' + encode_cursor(sp.ts[idx[-1]]) + '"}' if (more and idx) else "null}")
        return Response(200, "".join(body).encode("utf-8"))

    def _summary(self, req: Request, owner: SandboxUser) -> Response:
        errors: list[str] = []
        start, end = self._window(req, errors)
        gran = req.q1("granularity") or "day"
        if gran not in ("day", "week"):
            errors.append("granularity must be one of the following values: day, week")
        tz_name = req.q1("timezone") or "UTC"
        tz: ZoneInfo | timezone = UTC
        if tz_name != "UTC":
            try:
                tz = ZoneInfo(tz_name)
            except (ValueError, KeyError, OSError):
                errors.append("timezone must be a valid IANA timezone")
        if errors:
            raise ApiError(400, {"errors": errors})
        body = earnings_summary(
            self.world.earnings[owner.uuid],
            now_ms=self.clock.now_ms(),
            floor_ms=owner.registered_at_ms,
            start_ms=start,
            end_ms=end,
            granularity=gran,
            tz_name=tz_name,
            tz=tz,
        )
        return Response(200, dumps(body))

    def _summary_self(self, req: Request, user: SandboxUser) -> Response:
        return self._summary(req, user)

    def _summary_creator(self, req: Request, user: SandboxUser, target: SandboxUser) -> Response:
        return self._summary(req, target)
