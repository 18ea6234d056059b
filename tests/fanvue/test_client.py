"""FanvueClient against the real sandbox over real sockets (no mocks of our code).

Every data test compares what the client streamed with the sandbox's ground truth, item by
item, so "fewer rows" or "a failed call that looked empty" cannot pass. Fault tests each get a
fresh sandbox so injected faults and expired tokens never leak between tests. Timing is never
asserted (speed lives in benchmarks/); rate-limit tests assert the sandbox's own counters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
from lib.fanvue import oauth
from lib.fanvue.client import FanvueClient, iso_utc
from lib.fanvue.errors import (
    DeadlineExceeded,
    FanvueAuthError,
    FanvueForbidden,
    FanvueNotFound,
    FanvueRateLimited,
    FanvueUnavailable,
    InvalidGrant,
)
from lib.fanvue.models import EARNING_ITEMS, EARNING_SOURCES, SPENDING_SOURCES, EarningItem, TokenSet
from lib.fanvue.ratelimit import Pacer
from lib.sync.paging import WalkedPage, earnings_fetch, spending_fetch, walk

SCOPES = "openid offline_access offline read:self read:insights read:creator"
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


def _end() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=5)


# --------------------------------------------------------------------------- helpers


class SandboxTokens:
    """A minimal TokenProvider holding one grant in memory; refreshes for real on a 401.

    Single-flight as the protocol asks: a thread that was rejected with a token somebody else
    already replaced gets the replacement instead of spending the refresh token again.
    """

    def __init__(self, sb: FanvueSandbox, tokens: TokenSet) -> None:
        self._sb = sb
        self._http = httpx.Client(timeout=10)
        self.tokens = tokens
        self.refreshes = 0
        self._lock = threading.Lock()

    def access_token(self) -> str:
        return self.tokens.access_token

    def refresh_after_unauthorized(self, rejected: str) -> str:
        with self._lock:
            if self.tokens.access_token != rejected:
                return self.tokens.access_token
            cfg = self._sb.config
            assert self.tokens.refresh_token
            self.tokens = oauth.refresh(
                self._http, self._sb.base_url or "", cfg.client_id, cfg.client_secret, self.tokens.refresh_token
            )
            self.refreshes += 1
            return self.tokens.access_token

    def close(self) -> None:
        self._http.close()


class FixedToken:
    """A provider that cannot refresh: its 'new' token is the same rejected one."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.refresh_calls = 0

    def access_token(self) -> str:
        return self.token

    def refresh_after_unauthorized(self, rejected: str) -> str:
        self.refresh_calls += 1
        return self.token


def grant(sb: FanvueSandbox, handle: str, scopes: str = SCOPES) -> SandboxTokens:
    return SandboxTokens(sb, TokenSet.from_token_response(sb.issue_grant(handle, scopes)))


def client_for(sb: FanvueSandbox, tokens: Any, owner: str, **kw: Any) -> FanvueClient:
    kw.setdefault("pacer", Pacer())
    return FanvueClient(tokens, owner_uuid=sb.creator(owner).uuid, api_base=sb.base_url or "", **kw)


def pages(
    client: FanvueClient, creator_uuid: str | None, start: datetime = EPOCH, end: datetime | None = None
) -> Iterator[WalkedPage]:
    """Every earnings line of [start, end), through the sync engine's walk (lib/sync/paging.py)."""
    return walk(earnings_fetch(client, creator_uuid), start, end or _end(), sources=EARNING_SOURCES)


def pull(
    client: FanvueClient, creator_uuid: str | None, start: datetime = EPOCH, end: datetime | None = None
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for page in pages(client, creator_uuid, start, end):
        assert len(page.items) == len(page.raw)
        rows.extend(page.raw)
    return rows


def truth(sb: FanvueSandbox, handle: str, part: str = "earnings") -> dict[str, Any]:
    """The sandbox's ground truth for one user: {"count", "gross", "net", "items" (newest first)}."""
    return sb.ground_truth(include_items=True, creator=handle)[sb.creator(handle).uuid][part]


def assert_same_ledger(rows: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    """Deduped by transactionOrderId (as the ledger's upsert does) the pull equals the ground truth.

    The walk re-reads each page's oldest millisecond on the next page, so a few lines come twice."""
    by_id: dict[str, dict[str, Any]] = {}
    for r in rows:
        assert by_id.setdefault(r["transactionOrderId"], r) == r  # a repeat is the same line
    want = {r["transactionOrderId"]: r for r in expected["items"]}
    assert set(by_id) == set(want)
    assert sum(r["gross"] for r in by_id.values()) == expected["gross"]
    assert sum(r["net"] for r in by_id.values()) == expected["net"]
    assert list(by_id.values()) == expected["items"]  # same lines, same order (newest first), same content
    assert len(rows) <= expected["count"] * 1.1


@pytest.fixture(scope="module")
def demo() -> Iterator[FanvueSandbox]:
    """Read-only demo world; the rate limit is raised so repeated full pulls never wait."""
    sb = FanvueSandbox(SandboxConfig.demo(rate_limit=100_000))
    sb.start(port=0)
    yield sb
    sb.stop()


@pytest.fixture()
def fresh() -> Iterator[FanvueSandbox]:
    """A private demo world for tests that inject faults or expire tokens."""
    sb = FanvueSandbox(SandboxConfig.demo(rate_limit=100_000))
    sb.start(port=0)
    yield sb
    sb.stop()


# --------------------------------------------------------------------------- models and pacing (no HTTP)


def _item(**over: Any) -> dict[str, Any]:
    base = {
        "date": "2025-06-24T21:23:44.070Z",
        "gross": 399,
        "net": 319,
        "currency": None,
        "source": "subscription",
        "transactionOrderId": "FV-1",
        "transactionOrderStatus": "pendingBalance",
        "user": None,
    }
    base.update(over)
    return base


def test_amounts_are_exact_integer_cents() -> None:
    item = EarningItem.model_validate(_item(gross=399.0, net=-0.0))
    assert (item.gross, item.net) == (399, 0) and isinstance(item.gross, int)
    for bad in (399.5, "399", True, None):
        with pytest.raises(ValidationError):
            EarningItem.model_validate(_item(gross=bad))


def test_items_tolerate_new_values_and_missing_optional_fields() -> None:
    [item] = EARNING_ITEMS.validate_python(
        [
            {
                "date": "2025-06-24T23:23:44.070+02:00",
                "gross": 100,
                "net": 80,
                "source": "liveStream",
                "transactionOrderStatus": "someFutureStatus",
                "brandNewField": {"x": 1},
                "user": {"uuid": "u-1", "handle": "fan"},
            }
        ]
    )
    assert item.source == "liveStream" and item.transaction_order_status == "someFutureStatus"
    assert item.transaction_order_id is None and item.currency is None
    assert item.date == datetime(2025, 6, 24, 21, 23, 44, 70000, tzinfo=UTC)
    assert item.user is not None and item.user.display_name is None


def test_iso_utc_is_full_timestamp_with_millis_and_z() -> None:
    cet = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2024, 10, 20, 1, 0, 0, 123999, tzinfo=cet)) == "2024-10-20T00:00:00.123Z"
    with pytest.raises(ValueError):
        iso_utc(datetime(2024, 1, 1))


def test_pacer_shares_one_budget_between_threads() -> None:
    now = [1_800_000_000.0]
    pacer = Pacer(clock=lambda: now[0], jitter_s=0)
    assert pacer.acquire("u") == 0.0
    pacer.record(
        "u", 200, {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "9", "x-ratelimit-reset": str(int(now[0]) + 60)}
    )
    granted: list[int] = []

    def worker() -> None:
        for _ in range(5):
            if pacer.acquire("u") == 0.0:
                granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 9  # exactly what the server said was left, across 8 threads
    wait = pacer.acquire("u")
    assert 60 - 1 < wait <= 60 + pacer.margin_s
    now[0] += 61
    assert pacer.acquire("u") == 0.0  # refilled at reset


def test_pacer_waits_out_retry_after() -> None:
    now = [1_800_000_000.0]
    pacer = Pacer(clock=lambda: now[0], jitter_s=0)
    pacer.acquire("u")
    pacer.record("u", 429, {"retry-after": "3", "x-ratelimit-remaining": "0"})
    assert pacer.acquire("u") == pytest.approx(3 + pacer.margin_s)
    # a late success from before the 429 does not cancel the wait
    pacer.record(
        "u",
        200,
        {"x-ratelimit-limit": "200", "x-ratelimit-remaining": "150", "x-ratelimit-reset": str(int(now[0]) + 60)},
    )
    assert pacer.acquire("u") == pytest.approx(3 + pacer.margin_s)
    now[0] += 3.3
    assert pacer.acquire("u") == 0.0


# --------------------------------------------------------------------------- complete history


def test_one_request_is_one_typed_page(demo: FanvueSandbox) -> None:
    ava = demo.creator("ava")
    expected = truth(demo, "ava")["items"]
    with client_for(demo, grant(demo, "agency"), "agency") as client:
        first = client.earnings_page(ava.uuid, EPOCH, _end(), 50)
        second = client.earnings_page(ava.uuid, EPOCH, _end(), 50, cursor=first.next_cursor)
        tips = client.earnings_page(ava.uuid, EPOCH, _end(), 20, sources=["tip"])
        assert client.requests_made == 3
    assert first.raw == expected[:50] and [i.transaction_order_id for i in first.items] == [
        r["transactionOrderId"] for r in expected[:50]
    ]
    assert first.next_cursor and second.raw and second.raw[0]["date"] <= first.raw[-1]["date"]
    assert len(tips.items) == 20 and {i.source for i in tips.items} == {"tip"}
    with pytest.raises(ValueError):
        client.earnings_page(ava.uuid, EPOCH, _end(), 51)


# --------------------------------------------------------------------------- routes


def test_personal_route_with_a_creator_token(demo: FanvueSandbox) -> None:
    with client_for(demo, grant(demo, "dora"), "dora") as client:
        assert client.me().uuid == demo.creator("dora").uuid
        expected = truth(demo, "dora")
        assert_same_ledger(pull(client, None), expected)
        spending = [r for p in walk(spending_fetch(client), EPOCH, _end(), sources=SPENDING_SOURCES) for r in p.raw]
        refunds = truth(demo, "dora", "spending")
        assert len(refunds["items"]) < 50 and spending == refunds["items"]  # one page: nothing re-read
        assert sum(r["gross"] for r in spending) == refunds["gross"] < 0
        # published: the gross of PAID invoices, i.e. without the items still pendingBalance
        assert client.account(None).earnings_total == _paid(expected)


def test_agency_token_personal_vs_agency_routes(demo: FanvueSandbox) -> None:
    agency, ava = demo.agency_user, demo.creator("ava")
    with client_for(demo, grant(demo, "agency"), "agency") as client:
        first = next(pages(client, ava.uuid))
        assert first.raw == truth(demo, "ava")["items"][:50]
        # The personal route with an agency token is the agency user's OWN data, not a creator's.
        own = pull(client, None)
        assert own == truth(demo, "agency")["items"]
        assert not {r["transactionOrderId"] for r in own} & {r["transactionOrderId"] for r in first.raw}
        # The agency route for the connected account itself is refused.
        with pytest.raises(FanvueNotFound) as exc:
            client.earnings_page(agency.uuid, EPOCH, _end())
        assert exc.value.status == 404 and "not assigned to team member" in str(exc.value)
        with pytest.raises(FanvueNotFound):
            client.account(demo.creator("dora").uuid)  # personal-only creator, not managed


def test_accounts_and_summary_reconcile_with_the_ledger(demo: FanvueSandbox) -> None:
    ava = demo.creator("ava")
    with client_for(demo, grant(demo, "agency"), "agency") as client:
        account = client.account(ava.uuid)
        summary = client.earnings_summary(ava.uuid, None, None)
    expected = truth(demo, "ava")
    assert account.uuid == ava.uuid and account.status == "active"
    assert account.earnings_total == _paid(expected) < expected["gross"]
    assert summary["totals"]["allTime"] == {"gross": expected["gross"], "net": expected["net"]}


def test_creators_lists_every_page() -> None:
    specs = [CreatorSpec(handle=f"c{i:02d}", items=3, history_days=30) for i in range(57)]
    cfg = SandboxConfig(creators=specs, agency_manages=[s.handle for s in specs])
    with FanvueSandbox(cfg) as sb:
        with client_for(sb, grant(sb, "agency"), "agency") as client:
            handles = [c.handle for c in client.creators()]
            assert client.requests_made == 2
    assert sorted(handles) == [s.handle for s in specs]


def test_missing_scope_is_forbidden(demo: FanvueSandbox) -> None:
    with client_for(demo, grant(demo, "dora", "openid offline read:self"), "dora") as client:
        with pytest.raises(FanvueForbidden) as exc:
            client.earnings_page(None, EPOCH, _end())
    assert exc.value.status == 403 and "read:insights" in str(exc.value)


def test_probe_reports_instead_of_raising(demo: FanvueSandbox) -> None:
    tokens = grant(demo, "dora")
    with client_for(demo, tokens, "dora") as client:
        ok = client.probe()
    assert ok.ok and ok.status == 200 and ok.version_accepted is True
    assert ok.user_uuid == demo.creator("dora").uuid and ok.rate_limit_remaining is not None
    with client_for(demo, tokens, "dora", api_version="2019-01-01") as client:
        old = client.probe()
    assert (old.ok, old.status, old.version_accepted) == (False, 400, False)
    with client_for(demo, FixedToken("not-a-token"), "dora") as client:
        unauth = client.probe()
    assert (unauth.ok, unauth.status, unauth.version_accepted) == (False, 401, None)
    with FanvueClient(tokens, owner_uuid="x", api_base="http://127.0.0.1:9", pacer=Pacer()) as client:
        down = client.probe()
    assert not down.ok and down.status is None and down.error


# --------------------------------------------------------------------------- rate limits


def test_paced_backfill_never_exceeds_the_limit_across_threads() -> None:
    """limit 20 / 2 s, three threads sharing one creator bucket: zero 429s, complete data."""
    cfg = SandboxConfig(
        creators=[CreatorSpec(handle="erin", items=2400, history_days=90)],
        rate_limit=20,
        rate_window_s=2.0,
        tie_share=0.05,
    )
    with FanvueSandbox(cfg) as sb:
        expected = truth(sb, "erin")
        tokens = grant(sb, "erin")
        pacer = Pacer()
        cuts = [
            EPOCH,
            *(datetime.fromisoformat(expected["items"][i]["date"].replace("Z", "+00:00")) for i in (1600, 800)),
            _end(),
        ]
        results: dict[int, list[dict[str, Any]]] = {}
        errors: list[BaseException] = []

        def run(k: int) -> None:
            try:
                with client_for(sb, tokens, "erin", pacer=pacer) as client:
                    results[k] = pull_window(client, cuts[k], cuts[k + 1])
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        rows = results[2] + results[1] + results[0]
        assert_same_ledger(rows, expected)
        bucket = sb.stats()["rate_limit"]["buckets"][f"{sb.config.client_id}:{sb.creator('erin').uuid}"]
    assert bucket["rejected_429"] == 0
    assert bucket["max_accepted_in_fixed_window"] <= 20
    assert bucket["accepted"] > 2 * 20  # it really had to wait for refills


def pull_window(client: FanvueClient, start: datetime, end: datetime) -> list[dict[str, Any]]:
    return pull(client, None, start, end)


def test_429_storm_is_honoured(fresh: FanvueSandbox) -> None:
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        time.sleep(s)

    bella = fresh.creator("bella")
    with client_for(fresh, grant(fresh, "agency"), "agency", sleep=sleep) as client:
        rows = []
        for n, page in enumerate(pages(client, bella.uuid)):
            rows.extend(page.raw)
            if n == 2:
                fresh.set_faults(rate_limit_storm={"count": 2, "retry_after": 1})
    assert_same_ledger(rows, truth(fresh, "bella"))
    stats = fresh.stats()
    assert stats["faults"]["injected"]["rate_limit_storm"] == 2
    # waited Retry-After (+ pacing margin) each time, and no longer: not the bucket's 60 s window
    assert 2 * 1.0 <= sum(sleeps) <= 2 * (1.0 + 0.25 + 0.1) + 0.01
    assert all(b["rejected_429"] == 0 for b in stats["rate_limit"]["buckets"].values())


def test_429_beyond_budget_raises_rate_limited(fresh: FanvueSandbox) -> None:
    fresh.set_faults(rate_limit_storm={"count": 5, "retry_after": 1})
    with client_for(fresh, grant(fresh, "dora"), "dora", max_rate_limit_retries=1) as client:
        with pytest.raises(FanvueRateLimited) as exc:
            client.me()
        assert client.requests_made == 2
    assert exc.value.status == 429 and exc.value.retry_after == 1


# --------------------------------------------------------------------------- 5xx, drops, tokens, deadline


def test_5xx_bursts_and_dropped_connections_are_survived(fresh: FanvueSandbox) -> None:
    ava = fresh.creator("ava")
    with client_for(fresh, grant(fresh, "agency"), "agency", sleep=time.sleep) as client:
        rows = []
        for n, page in enumerate(pages(client, ava.uuid)):
            rows.extend(page.raw)
            if n == 3:
                fresh.set_faults(error_5xx={"count": 3, "status": 503})
            if n == 20:
                fresh.set_faults(drop={"count": 2})
            if n == 40:
                fresh.set_faults(error_5xx={"count": 2, "status": 500}, drop={"count": 1})
        extra = client.requests_made - (fresh.stats()["requests"]["by_route"]["GET /creators/{id}/insights/earnings"])
    assert_same_ledger(rows, truth(fresh, "ava"))
    injected = fresh.stats()["faults"]["injected"]
    assert (injected["error_5xx"], injected["drop"]) == (5, 3)
    assert extra == 8  # every fault cost exactly one retried request


def test_5xx_beyond_budget_raises_unavailable(fresh: FanvueSandbox) -> None:
    fresh.set_faults(error_5xx={"count": 10, "status": 502})
    with client_for(fresh, grant(fresh, "dora"), "dora", max_retries=2) as client:
        with pytest.raises(FanvueUnavailable) as exc:
            client.me()
        assert client.requests_made == 3
    assert exc.value.status == 502 and "/users/me" in str(exc.value)


def test_token_expiry_mid_pagination_costs_exactly_one_refresh(fresh: FanvueSandbox) -> None:
    ava = fresh.creator("ava")
    tokens = grant(fresh, "agency")
    fresh.set_faults(expire_tokens_after=10)
    with client_for(fresh, tokens, "agency") as client:
        rows = pull(client, ava.uuid)
    assert_same_ledger(rows, truth(fresh, "ava"))
    assert tokens.refreshes == 1
    stats = fresh.stats()
    assert stats["refreshes"] == 1 and stats["faults"]["injected"]["tokens_expired"] == 1
    assert stats["requests"]["by_status"].get("401") == 1


def test_a_second_401_is_an_auth_error(fresh: FanvueSandbox) -> None:
    provider = FixedToken("expired-or-garbage")
    with client_for(fresh, provider, "dora") as client:
        with pytest.raises(FanvueAuthError) as exc:
            client.account(None)
        assert client.requests_made == 2 and provider.refresh_calls == 1
    assert exc.value.status == 401 and "expired-or-garbage" not in str(exc.value)


def test_revoked_grant_surfaces_invalid_grant(fresh: FanvueSandbox) -> None:
    tokens = grant(fresh, "dora")
    with client_for(fresh, tokens, "dora") as client:
        walked = pages(client, None)
        next(walked)
        fresh.set_faults(revoke_grant="dora")
        with pytest.raises(InvalidGrant):
            next(walked)


def test_deadline_is_never_passed_by_a_wait(fresh: FanvueSandbox) -> None:
    sleeps: list[float] = []
    fresh.set_faults(rate_limit_storm={"count": 1, "retry_after": 30})
    started = time.monotonic()
    with client_for(fresh, grant(fresh, "dora"), "dora", deadline=started + 2.0, sleep=sleeps.append) as client:
        with pytest.raises(DeadlineExceeded) as exc:
            client.me()
    assert sleeps == []  # refused before sleeping
    assert exc.value.wait_s >= 30 and 0 < exc.value.remaining_s <= 2.0
    with client_for(fresh, grant(fresh, "dora"), "dora", deadline=time.monotonic() - 1) as client:
        with pytest.raises(DeadlineExceeded):
            client.me()
        assert client.requests_made == 0


def _me_with(sb: FanvueSandbox, provider: Any) -> None:
    with client_for(sb, provider, "dora") as client:
        client.me()


def test_no_secret_reaches_errors_reprs_or_logs(fresh: FanvueSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = grant(fresh, "dora")
    first = tokens.tokens
    secrets = [first.access_token, first.refresh_token or "", fresh.config.client_secret]
    texts: list[str] = [repr(first), str(first), repr(tokens.tokens)]
    fresh.set_faults(expire_tokens_after=0)
    with client_for(fresh, tokens, "dora") as client:
        texts.append(repr(client))
        client.me()  # 401 -> refresh -> retry
        secrets += [tokens.tokens.access_token, tokens.tokens.refresh_token or ""]
        texts += [repr(tokens.tokens), repr(client.last_response_meta)]
    http = httpx.Client(timeout=5)
    failures: list[BaseException] = []
    for call in (
        lambda: oauth.refresh(
            http, fresh.base_url or "", "sandbox-client", fresh.config.client_secret, first.refresh_token or ""
        ),  # reuse -> invalid_grant, grant revoked
        lambda: oauth.refresh(
            http,
            fresh.base_url or "",
            "sandbox-client",
            "wrong-" + fresh.config.client_secret,
            tokens.tokens.refresh_token or "",
        ),
        lambda: oauth.refresh(
            http, "http://127.0.0.1:9", "sandbox-client", fresh.config.client_secret, tokens.tokens.refresh_token or ""
        ),
        lambda: _me_with(fresh, FixedToken(tokens.tokens.access_token)),
    ):
        with pytest.raises(Exception) as exc:
            call()
        failures.append(exc.value)
    http.close()
    pkce = oauth.new_pkce()
    secrets.append(pkce.verifier)
    texts += [repr(pkce), str(pkce)]
    texts += [str(e) for e in failures] + [repr(e) for e in failures]
    texts += [str(getattr(e, "description", "")) for e in failures]
    texts.append(caplog.text)
    blob = "\n".join(texts)
    for secret in filter(None, secrets):
        assert secret not in blob
    assert "already used" in blob  # the errors did say something useful


def _paid(expected: dict) -> int:
    return sum(i["gross"] for i in expected["items"] if i.get("transactionOrderStatus") != "pendingBalance")
