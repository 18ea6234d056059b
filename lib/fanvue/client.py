"""FanvueClient: the read side of the Fanvue API we sync from, over one keep-alive httpx client.

What it takes care of, so callers cannot get it wrong:

* the literal ``Authorization: Bearer`` and ``X-Fanvue-API-Version`` headers on every call;
* the route: ``creator_uuid=None`` -> personal ``/insights/...``; otherwise
  ``/creators/{uuid}/insights/...`` (an agency token on the personal route silently returns the
  agency user's OWN data, so the caller decides explicitly);
* one request -> one typed page (walking a window is the sync engine's job, :mod:`lib.sync.paging`);
* pacing to the published rate limit (see :mod:`.ratelimit`), honouring ``Retry-After`` on 429;
* one refresh + retry on 401, bounded jittered backoff on 5xx and dropped connections;
* a caller deadline: no wait is started that would pass it (:class:`DeadlineExceeded`).

Failures are raised as :mod:`.errors` classes; a failed call never looks like an empty result.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from .errors import (
    DeadlineExceeded,
    FanvueAuthError,
    FanvueBadRequest,
    FanvueBadResponse,
    FanvueError,
    FanvueForbidden,
    FanvueNotFound,
    FanvueRateLimited,
    FanvueUnavailable,
    mask_secrets,
)
from .lines import iso_utc
from .models import (
    CREATORS,
    Account,
    Creator,
    EarningsPage,
    FanvueUser,
    Line,
    SpendingPage,
    parse_lines,
)
from .ratelimit import Pacer, parse_retry_after, shared_pacer

__all__ = [
    "API_VERSION",
    "FanvueClient",
    "ProbeResult",
    "ResponseMeta",
    "TokenProvider",
    "iso_utc",
]

log = logging.getLogger(__name__)

API_VERSION = "2025-06-26"
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class TokenProvider(Protocol):
    """Where the client gets bearer tokens. Storage, locking and rotation are the provider's job."""

    def access_token(self) -> str:
        """A valid access token that is not about to expire."""
        ...

    def refresh_after_unauthorized(self, rejected: str) -> str:
        """Called once after a 401 with the token that was rejected; returns a fresh one.

        Single-flight is the provider's job: if another thread already replaced ``rejected``,
        return the replacement instead of refreshing again.
        """
        ...


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """Facts about the last HTTP exchange, for diagnostics (no bodies, no headers with secrets)."""

    method: str
    path: str
    status: int | None
    latency_ms: float
    rate_limit_limit: int | None
    rate_limit_remaining: int | None
    rate_limit_reset: int | None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One cheap ``GET /users/me``: is the API reachable, is our token and API version accepted?"""

    ok: bool
    status: int | None
    latency_ms: float | None
    version_accepted: bool | None  # None when the answer says nothing about it (e.g. 401)
    rate_limit_remaining: int | None
    user_uuid: str | None = None
    error: str | None = None


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(float(raw)) if raw is not None else None
    except ValueError:
        return None


def _server_detail(body: Any) -> str | None:
    """The short explanation Fanvue puts in an error body (``error``/``message``/``errors``)."""
    if not isinstance(body, dict):
        return None
    parts: list[str] = []
    for key in ("error", "message"):
        if isinstance(body.get(key), str):
            parts.append(body[key])
    errors = body.get("errors")
    if isinstance(errors, list):
        parts.extend(str(e) for e in errors[:5])
    return "; ".join(dict.fromkeys(parts)) or None


class FanvueClient:
    """Synchronous Fanvue API client for one connection (one token owner).

    ``owner_uuid`` is the UUID of the user the token belongs to; it keys the rate-limit buckets.
    ``deadline`` is a ``time.monotonic()`` value after which no new wait or request is started.
    Thread-safe: an agency sync may fan out over creators from several threads.
    """

    def __init__(
        self,
        tokens: TokenProvider,
        *,
        owner_uuid: str,
        api_base: str = "https://api.fanvue.com",
        api_version: str = API_VERSION,
        http: httpx.Client | None = None,
        timeout: float = 20.0,
        max_retries: int = 5,
        max_rate_limit_retries: int = 10,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Pacer | None = None,
    ) -> None:
        self._tokens = tokens
        self.owner_uuid = owner_uuid
        self.api_base = api_base.rstrip("/")
        self.api_version = api_version
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_rate_limit_retries = max_rate_limit_retries
        self.deadline = deadline
        self._sleep = sleep
        self.pacer = pacer if pacer is not None else shared_pacer()
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._rng = random.Random()
        self._lock = threading.Lock()
        self.requests_made = 0
        self.last_response_meta: ResponseMeta | None = None

    def __repr__(self) -> str:
        return f"FanvueClient(owner_uuid={self.owner_uuid!r}, api_base={self.api_base!r})"

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool if we created it (an injected client stays open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> FanvueClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints ------------------------------------------------------------------------------

    def me(self) -> FanvueUser:
        """``GET /users/me``: learn whose token this is (compare with a creator's uuid to pick routes)."""
        user: FanvueUser = self._parse_model(FanvueUser, "/users/me", self._get("/users/me"))
        return user

    def account(self, creator_uuid: str | None) -> Account:
        """All-time totals: ``/users/account`` (None) or ``/creators/{uuid}/account``."""
        path = "/users/account" if creator_uuid is None else f"{self._creator_path(creator_uuid)}/account"
        account: Account = self._parse_model(Account, path, self._get(path, creator_uuid=creator_uuid))
        return account

    def creators(self) -> Iterator[Creator]:
        """Every creator the agency manages: all pages of ``/creators`` at size 50 (the default 15
        has hidden creators from integrators before)."""
        page = 1
        while True:
            body = self._get("/creators", params={"page": page, "size": 50})
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise FanvueBadResponse("GET /creators: response has no data list", path="/creators")
            yield from self._validate(CREATORS, data, "/creators")
            pagination = body.get("pagination") or {}
            if not data or not pagination.get("hasMore"):
                return
            page += 1

    def earnings_page(
        self,
        creator_uuid: str | None,
        start: datetime,
        end: datetime,
        size: int = 50,
        *,
        cursor: str | None = None,
        sources: Sequence[str] | None = None,
    ) -> EarningsPage:
        """One request for invoice lines dated in ``[start, end)``, newest first.

        Walking a whole window (and what to do with lines sharing a timestamp) is the sync engine's
        job (:mod:`lib.sync.paging`); this is one request and its typed answer.
        """
        path = "/insights/earnings" if creator_uuid is None else f"{self._creator_path(creator_uuid)}/insights/earnings"
        items, raw, next_cursor = self._page(path, creator_uuid, start, end, size, cursor, sources, with_order=True)
        return EarningsPage(items=items, raw=raw, next_cursor=next_cursor)

    def spending_page(
        self,
        start: datetime,
        end: datetime,
        size: int = 50,
        *,
        cursor: str | None = None,
        sources: Sequence[str] | None = None,
    ) -> SpendingPage:
        """One request for refunds and chargebacks of the token owner (``/insights/spending``; no
        agency variant is published)."""
        items, raw, next_cursor = self._page(
            "/insights/spending", None, start, end, size, cursor, sources, with_order=False
        )
        return SpendingPage(items=items, raw=raw, next_cursor=next_cursor)

    def earnings_summary(
        self,
        creator_uuid: str | None,
        start: datetime | None = None,
        end: datetime | None = None,
        granularity: str = "day",
        timezone: str = "UTC",
    ) -> dict[str, Any]:
        """Fanvue's own aggregates (``totals.allTime`` etc.), returned as the raw JSON object."""
        base = "" if creator_uuid is None else self._creator_path(creator_uuid)
        path = f"{base}/insights/earnings/summary"
        params: dict[str, Any] = {"granularity": granularity, "timezone": timezone}
        if start is not None:
            params["startDate"] = iso_utc(start)
        if end is not None:
            params["endDate"] = iso_utc(end)
        body = self._get(path, params=params, creator_uuid=creator_uuid)
        if not isinstance(body, dict):
            raise FanvueBadResponse(f"GET {path}: response is not a JSON object", path=path)
        return body

    def probe(self) -> ProbeResult:
        """One ``GET /users/me`` without retries or refresh; reports instead of raising."""
        started = time.perf_counter()
        try:
            token = self._tokens.access_token()
            response = self._send_once("/users/me", None, token, self._bucket(None))
        except FanvueError as exc:  # deadline, local pacing
            return ProbeResult(False, None, None, None, None, error=exc.message)
        except httpx.HTTPError as exc:
            return ProbeResult(
                False, None, (time.perf_counter() - started) * 1000, None, None, error=type(exc).__name__
            )
        meta = self.last_response_meta
        status = response.status_code
        body = _safe_json(response)
        version_ok: bool | None = None
        if 200 <= status < 300:
            version_ok = True
        elif status == 410 or (status == 400 and "version" in (_server_detail(body) or "").lower()):
            version_ok = False
        uuid = body.get("uuid") if status == 200 and isinstance(body, dict) else None
        return ProbeResult(
            ok=200 <= status < 300,
            status=status,
            latency_ms=meta.latency_ms if meta else None,
            version_accepted=version_ok,
            rate_limit_remaining=meta.rate_limit_remaining if meta else None,
            user_uuid=uuid if isinstance(uuid, str) else None,
            error=None if 200 <= status < 300 else (_server_detail(body) or f"HTTP {status}"),
        )

    # -- one page ---------------------------------------------------------------------------------

    def _page(
        self,
        path: str,
        creator_uuid: str | None,
        start: datetime,
        end: datetime,
        size: int,
        cursor: str | None,
        sources: Sequence[str] | None,
        *,
        with_order: bool,
    ) -> tuple[list[Line], list[dict[str, Any]], str | None]:
        """GET one page of a date-windowed, cursor-paged endpoint: (items, raw dicts, nextCursor)."""
        if not 1 <= size <= 50:
            raise ValueError("size must be between 1 and 50")
        query: dict[str, Any] = {"startDate": iso_utc(start), "endDate": iso_utc(end), "size": size}
        if sources:
            query["source"] = ",".join(sources)
        if cursor:
            query["cursor"] = cursor
        body = self._get(path, params=query, creator_uuid=creator_uuid)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise FanvueBadResponse(f"GET {path}: response has no data list", path=path)
        next_cursor = body.get("nextCursor")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise FanvueBadResponse(f"GET {path}: nextCursor is not a string", path=path)
        try:
            items = parse_lines(data, with_order=with_order)
        except ValueError as exc:
            raise FanvueBadResponse(f"GET {path}: unexpected item shape: {exc}", path=path) from None
        return items, data, next_cursor or None

    @staticmethod
    def _validate(adapter: Any, data: list[dict[str, Any]], path: str) -> list[Any]:
        try:
            items: list[Any] = adapter.validate_python(data)
            return items
        except ValidationError as exc:
            raise FanvueBadResponse(f"GET {path}: unexpected item shape: {_brief(exc)}", path=path) from None

    @staticmethod
    def _parse_model(model: Any, path: str, body: Any) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise FanvueBadResponse(f"GET {path}: unexpected response shape: {_brief(exc)}", path=path) from None

    def _creator_path(self, creator_uuid: str) -> str:
        return "/creators/" + quote(creator_uuid, safe="")

    def _bucket(self, creator_uuid: str | None) -> str:
        """Bucket key as Fanvue keys it (the client id is the same for the whole process)."""
        return self.owner_uuid if creator_uuid is None else f"{self.owner_uuid}:{creator_uuid}"

    # -- the request loop -----------------------------------------------------------------------

    def _get(self, path: str, *, params: Mapping[str, Any] | None = None, creator_uuid: str | None = None) -> Any:
        """GET with pacing, 401 refresh-once, 5xx/transport backoff and 429 handling; returns JSON."""
        bucket = self._bucket(creator_uuid)
        token = self._tokens.access_token()
        refreshed = False
        failures = 0  # 5xx + transport + unreadable bodies
        throttles = 0
        while True:
            try:
                response = self._send_once(path, params, token, bucket)
            except httpx.HTTPError as exc:
                if not isinstance(exc, _RETRYABLE_TRANSPORT):
                    raise FanvueUnavailable(
                        f"GET {path}: {type(exc).__name__} (not retryable)", method="GET", path=path
                    ) from None
                failures += 1
                what = type(exc).__name__
                if failures > self.max_retries:
                    raise FanvueUnavailable(
                        f"GET {path}: {what} after {failures} attempts", method="GET", path=path
                    ) from None
                self._backoff(failures, path, what)
                continue

            status = response.status_code
            if 200 <= status < 300:
                body = _safe_json(response)
                if body is not None:
                    return body
                failures += 1
                if failures > self.max_retries:
                    raise FanvueUnavailable(f"GET {path}: unreadable JSON body", status=status, method="GET", path=path)
                self._backoff(failures, path, "unreadable body")
                continue

            detail = mask_secrets(_server_detail(_safe_json(response)) or "", token) or None
            if status == 401:
                if refreshed:
                    raise FanvueAuthError(
                        _msg(path, status, detail, "still unauthorized after refreshing the token"),
                        status=status,
                        method="GET",
                        path=path,
                        detail=detail,
                    )
                refreshed = True
                log.info("fanvue GET %s: 401, refreshing token once", path)
                token = self._tokens.refresh_after_unauthorized(token)
                continue
            if status == 429:
                throttles += 1
                retry_after = parse_retry_after(response.headers)
                if throttles > self.max_rate_limit_retries:
                    raise FanvueRateLimited(
                        _msg(path, status, detail, f"rate limited {throttles} times"),
                        retry_after=retry_after,
                        status=status,
                        method="GET",
                        path=path,
                        detail=detail,
                    )
                log.info("fanvue GET %s: 429, Retry-After %s", path, retry_after)
                if retry_after is None:  # the pacer waits for Retry-After; without it, back off
                    self._backoff(throttles, path, "429 without Retry-After")
                continue
            if status >= 500:
                failures += 1
                if failures > self.max_retries:
                    raise FanvueUnavailable(
                        _msg(path, status, detail, f"server error after {failures} attempts"),
                        status=status,
                        method="GET",
                        path=path,
                        detail=detail,
                    )
                self._backoff(failures, path, f"HTTP {status}", parse_retry_after(response.headers))
                continue
            raise _client_error(path, status, detail)

    def _send_once(self, path: str, params: Mapping[str, Any] | None, token: str, bucket: str) -> httpx.Response:
        """Wait for a rate-limit slot (within the deadline), send one request, record the outcome."""
        while True:
            wait = self.pacer.acquire(bucket)
            if wait <= 0:
                break
            self._wait(wait, path, "rate-limit pacing")
        try:
            timeout = self._request_timeout(path)
            headers = {
                "Authorization": f"Bearer {token}",
                "X-Fanvue-API-Version": self.api_version,
                "Accept": "application/json",
            }
            started = time.perf_counter()
            with self._lock:
                self.requests_made += 1
            response = self._http.get(self.api_base + path, params=params, headers=headers, timeout=timeout)
        except BaseException:
            self.pacer.release(bucket)
            raise
        latency = (time.perf_counter() - started) * 1000
        self.pacer.record(bucket, response.status_code, response.headers)
        h = response.headers
        self.last_response_meta = ResponseMeta(
            method="GET",
            path=path,
            status=response.status_code,
            latency_ms=round(latency, 2),
            rate_limit_limit=_int_or_none(h.get("x-ratelimit-limit")),
            rate_limit_remaining=_int_or_none(h.get("x-ratelimit-remaining")),
            rate_limit_reset=_int_or_none(h.get("x-ratelimit-reset")),
        )
        return response

    # -- time budget ----------------------------------------------------------------------------

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _request_timeout(self, path: str) -> float:
        remaining = self._remaining()
        if remaining is None:
            return self.timeout
        if remaining <= 0:
            raise DeadlineExceeded(
                f"GET {path}: deadline passed before sending", wait_s=0.0, remaining_s=remaining, path=path
            )
        return min(self.timeout, remaining)

    def _wait(self, seconds: float, path: str, why: str) -> None:
        remaining = self._remaining()
        if remaining is not None and seconds >= remaining:
            raise DeadlineExceeded(
                f"GET {path}: {why} needs {seconds:.2f}s but only {max(remaining, 0):.2f}s remain",
                wait_s=seconds,
                remaining_s=remaining,
                method="GET",
                path=path,
            )
        self._sleep(seconds)

    def _backoff(self, attempt: int, path: str, what: str, hint: float | None = None) -> None:
        """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**(attempt-1)))."""
        delay = self._rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)))
        if hint is not None:
            delay = max(delay, min(hint, BACKOFF_CAP_S))
        log.info("fanvue GET %s: %s, retry %d in %.2fs", path, what, attempt, delay)
        self._wait(delay, path, f"backoff after {what}")


def _safe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _msg(path: str, status: int, detail: str | None, what: str) -> str:
    return f"GET {path} -> {status}: {what}" + (f" ({detail})" if detail else "")


def _client_error(path: str, status: int, detail: str | None) -> FanvueError:
    kinds: dict[int, tuple[type[FanvueError], str]] = {
        400: (FanvueBadRequest, "bad request"),
        403: (FanvueForbidden, "forbidden (missing scope or not allowed)"),
        404: (FanvueNotFound, "not found"),
        410: (FanvueBadRequest, "API version sunset"),
    }
    cls, what = kinds.get(status, (FanvueError, "unexpected status"))
    return cls(_msg(path, status, detail, what), status=status, method="GET", path=path, detail=detail)


def _brief(exc: ValidationError) -> str:
    """First validation problem without the input value (which may hold fan data)."""
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "0 problem(s)"
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"])
    return f"{len(errors)} problem(s), first at {loc or '?'}: {first['msg']}"
