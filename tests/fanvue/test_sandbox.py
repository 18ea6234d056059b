"""The Fanvue sandbox over real sockets: OAuth, versions, errors, pagination vs ground truth,
rate limits, every fault kind, the clock, added sales, the control surface and a 1M-item
creator. No mocks: every assertion is about bytes that crossed a socket (or the sandbox's
own ground truth / counters)."""

from __future__ import annotations

import base64
import collections
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
from fanvue_sandbox.cli import main as cli_main
from fanvue_sandbox.ratelimit import RateLimiter
from fanvue_sandbox.testkit import api_headers, authorize, basic_auth, oauth_login, pkce_pair, token_request

VERSION = {"X-Fanvue-API-Version": "2025-06-26"}
ALL = "openid offline_access offline read:self read:insights read:creator"
REDIRECT = "http://127.0.0.1:3000/api/auth/fanvue/callback"


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def small_config(**kw: Any) -> SandboxConfig:
    """A quick world with the demo's shape (agency manages ava/bella/cleo, dora personal)."""
    base: dict[str, Any] = dict(
        seed=3,
        creators=[
            CreatorSpec(handle="ava", items=700, history_days=400),
            CreatorSpec(handle="bella", items=150, history_days=90),
            CreatorSpec(handle="cleo", items=80, history_days=60, fanless_share=0.2),
            CreatorSpec(handle="dora", items=40, history_days=30),
        ],
        agency_manages=["ava", "bella", "cleo"],
    )
    base.update(kw)
    return SandboxConfig(**base)


@pytest.fixture(scope="module")
def demo() -> Iterator[FanvueSandbox]:
    """Read-only demo world (legacy rows on, so identical same-ms pairs exist)."""
    with FanvueSandbox(SandboxConfig.demo(legacy_items_without_order_id=True, rate_limit=1_000_000)) as sb:
        yield sb


@pytest.fixture()
def sb() -> Iterator[FanvueSandbox]:
    """A private small world for tests that mutate state (faults, clock, sales, grants)."""
    with FanvueSandbox(small_config()) as s:
        yield s


def client(sb: FanvueSandbox, handle: str, scopes: str = ALL) -> httpx.Client:
    tok = sb.issue_grant(handle, scopes)
    return httpx.Client(base_url=sb.base_url or "", headers=api_headers(tok["access_token"]), timeout=10)


def truth(sb: FanvueSandbox, handle: str, part: str = "earnings") -> dict[str, Any]:
    return sb.ground_truth(creator=handle)[sb.creator(handle).uuid][part]


def canon(item: dict[str, Any]) -> str:
    """Item identity for multiset comparison; the mutable order status is compared separately."""
    return json.dumps({k: v for k, v in item.items() if k != "transactionOrderStatus"}, sort_keys=True)


# --------------------------------------------------------------------------- pagers used by the tests


def pull_overlap(http: httpx.Client, path: str, size: int, **filters: str) -> list[dict[str, Any]]:
    """A correct client: next page = same query with endDate = last date + 1 ms (re-reads the
    boundary millisecond), keeping for every millisecond the most complete view seen."""
    groups: dict[str, list[dict[str, Any]]] = {}
    order: list[str] = []
    upper = filters.pop("endDate", None)
    while True:
        params: dict[str, Any] = {"size": size, **filters}
        if upper:
            params["endDate"] = upper
        r = http.get(path, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        page_groups: dict[str, list[dict[str, Any]]] = {}
        for it in body["data"]:
            page_groups.setdefault(it["date"], []).append(it)
        for d, lst in page_groups.items():
            if d not in groups:
                order.append(d)
            if len(lst) >= len(groups.get(d, [])):
                groups[d] = lst
        if body["nextCursor"] is None:
            return [it for d in order for it in groups[d]]
        nxt = iso(ms(body["data"][-1]["date"]) + 1)
        assert nxt != upper, "no progress: a tie group larger than the page"
        upper = nxt


def pull_cursor(http: httpx.Client, path: str, size: int, **filters: str) -> list[dict[str, Any]]:
    """A naive client: follows nextCursor verbatim."""
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100_000):
        params: dict[str, Any] = {"size": size, **filters}
        if cursor:
            params["cursor"] = cursor
        r = http.get(path, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["data"]
        cursor = body["nextCursor"]
        if cursor is None:
            return out
    raise AssertionError("pagination did not end")


# =========================================================================== OAuth


def test_full_oauth_flow_issues_a_jwt_for_the_hinted_user(sb: FanvueSandbox) -> None:
    cfg = sb.config
    tok = oauth_login(
        sb.base_url or "",
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        redirect_uri=REDIRECT,
        login_hint="bella",
        scope=ALL,
    )
    assert tok["token_type"] == "bearer" and tok["expires_in"] == 3600
    assert tok["refresh_token"].startswith("ory_rt_") and tok["id_token"].count(".") == 2
    assert tok["scope"] == ALL
    claims = sb.oauth.verify_jwt(tok["access_token"])
    assert claims is not None and claims["sub"] == sb.creator("bella").uuid
    assert claims["exp"] - claims["iat"] == 3600
    with httpx.Client(base_url=sb.base_url or "", headers=api_headers(tok["access_token"])) as http:
        assert http.get("/users/me").json()["handle"] == "bella"
    # login_hint=agency consents as the agency admin; no hint = the first creator
    for hint, handle in (("agency", "agency"), (None, "ava")):
        verifier, challenge = pkce_pair()
        with httpx.Client(base_url=sb.base_url or "") as http:
            _, cb = authorize(
                http,
                client_id=cfg.client_id,
                redirect_uri=REDIRECT,
                scope="read:self",
                login_hint=hint,
                challenge=challenge,
            )
            t = token_request(
                http,
                {
                    "grant_type": "authorization_code",
                    "code": cb["code"],
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                },
                client_id=cfg.client_id,
                client_secret=cfg.client_secret,
            ).json()
            assert "refresh_token" not in t and "id_token" not in t  # no offline / openid asked
            assert sb.oauth.verify_jwt(t["access_token"])["sub"] == sb.creator(handle).uuid


def test_authorize_requires_s256_pkce_state_and_exact_redirect(sb: FanvueSandbox) -> None:
    cfg = sb.config
    _, challenge = pkce_pair()
    with httpx.Client(base_url=sb.base_url or "") as http:
        for chal, method in ((None, None), (None, "S256"), (challenge, None), (challenge, "plain")):
            r, cb = authorize(
                http,
                client_id=cfg.client_id,
                redirect_uri=REDIRECT,
                scope=ALL,
                login_hint="ava",
                challenge=chal,
                method=method,
            )
            assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT + "?")
            assert cb["error"] == "invalid_request" and cb["state"] == "state-1234567890" and "code" not in cb
        r, cb = authorize(
            http,
            client_id=cfg.client_id,
            redirect_uri=REDIRECT,
            scope=ALL,
            login_hint="ava",
            challenge=challenge,
            state="short",
        )
        assert cb["error"] == "invalid_state"
        r, cb = authorize(
            http,
            client_id=cfg.client_id,
            redirect_uri=REDIRECT,
            scope="read:everything",
            login_hint="ava",
            challenge=challenge,
        )
        assert cb["error"] == "invalid_scope"
        r, cb = authorize(
            http, client_id=cfg.client_id, redirect_uri=REDIRECT, scope=ALL, login_hint="nobody", challenge=challenge
        )
        assert cb["error"] == "access_denied"
        # redirect_uri must match exactly (trailing slash, other port) -> error page, never a redirect
        for uri in (REDIRECT + "/", REDIRECT.replace("3000", "3001"), REDIRECT + "?x=1"):
            r, _ = authorize(
                http, client_id=cfg.client_id, redirect_uri=uri, scope=ALL, login_hint="ava", challenge=challenge
            )
            assert r.status_code == 400 and "location" not in r.headers
        r, _ = authorize(
            http, client_id="someone-else", redirect_uri=REDIRECT, scope=ALL, login_hint="ava", challenge=challenge
        )
        assert r.status_code == 400 and "does not exist" in r.text
        # response_mode=form_post answers an auto-submitting form instead of a redirect
        r, _ = authorize(
            http,
            client_id=cfg.client_id,
            redirect_uri=REDIRECT,
            scope=ALL,
            login_hint="ava",
            challenge=challenge,
            extra={"response_mode": "form_post"},
        )
        assert r.status_code == 200 and 'name="code"' in r.text and f'action="{REDIRECT}"' in r.text


def test_token_endpoint_accepts_basic_auth_only(sb: FanvueSandbox) -> None:
    cfg = sb.config
    verifier, challenge = pkce_pair()
    with httpx.Client(base_url=sb.base_url or "") as http:
        _, cb = authorize(
            http, client_id=cfg.client_id, redirect_uri=REDIRECT, scope=ALL, login_hint="ava", challenge=challenge
        )
        form = {
            "grant_type": "authorization_code",
            "code": cb["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": cfg.client_id,
        }
        r = token_request(
            http,
            {**form, "client_secret": cfg.client_secret},
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            basic=False,
        )
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        assert "client_secret_post" in r.json()["error_description"]
        r = token_request(http, form, client_id=cfg.client_id, client_secret="wrong")
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        r = token_request(http, form, client_id=cfg.client_id, client_secret="", basic=False)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        r = http.post("/oauth2/token", json=form, headers=basic_auth(cfg.client_id, cfg.client_secret))
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = token_request(
            http, {**form, "grant_type": "password"}, client_id=cfg.client_id, client_secret=cfg.client_secret
        )
        assert r.json()["error"] == "unsupported_grant_type"
        # the code survived the failed attempts and still works once with Basic
        r = token_request(http, form, client_id=cfg.client_id, client_secret=cfg.client_secret)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


def test_codes_are_one_time_short_lived_and_bound() -> None:
    cfg = small_config(redirect_uris=[REDIRECT, "http://localhost:3000/cb"], extra_clients={"other": "o-secret"})
    with FanvueSandbox(cfg) as sb, httpx.Client(base_url=sb.base_url or "") as http:

        def new_code(redirect: str = REDIRECT) -> tuple[str, str]:
            verifier, challenge = pkce_pair()
            _, cb = authorize(
                http, client_id=cfg.client_id, redirect_uri=redirect, scope=ALL, login_hint="ava", challenge=challenge
            )
            return cb["code"], verifier

        def exchange(
            code: str,
            verifier: str,
            redirect: str = REDIRECT,
            cid: str = cfg.client_id,
            secret: str = cfg.client_secret,
        ) -> httpx.Response:
            return token_request(
                http,
                {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier},
                client_id=cid,
                client_secret=secret,
            )

        code, verifier = new_code()
        assert exchange(code, pkce_pair()[0]).json()["error"] == "invalid_grant"  # wrong verifier
        assert exchange(code, verifier, redirect="http://localhost:3000/cb").json()["error"] == "invalid_grant"
        assert exchange(code, verifier, cid="other", secret="o-secret").json()["error"] == "invalid_grant"
        first = exchange(code, verifier)
        assert first.status_code == 200
        replay = exchange(code, verifier)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        # a replayed code revokes what it produced
        me = http.get("/users/me", headers=api_headers(first.json()["access_token"]))
        assert me.status_code == 401
        code, verifier = new_code()
        sb.advance_clock(61)
        assert exchange(code, verifier).json()["error"] == "invalid_grant"
        assert exchange("made-up", verifier).json()["error"] == "invalid_grant"


def test_refresh_rotation_and_reuse_revokes_the_whole_grant(sb: FanvueSandbox) -> None:
    cfg = sb.config
    t0 = sb.issue_grant("ava", ALL)
    with httpx.Client(base_url=sb.base_url or "") as http:

        def refresh(rt: str, **extra: str) -> httpx.Response:
            return token_request(
                http,
                {"grant_type": "refresh_token", "refresh_token": rt, **extra},
                client_id=cfg.client_id,
                client_secret=cfg.client_secret,
            )

        def me(at: str) -> int:
            return http.get("/users/me", headers=api_headers(at)).status_code

        r1 = refresh(t0["refresh_token"])
        assert r1.status_code == 200
        t1 = r1.json()
        assert t1["refresh_token"] != t0["refresh_token"] and t1["access_token"] != t0["access_token"]
        assert me(t1["access_token"]) == 200
        assert me(t0["access_token"]) == 401  # fosite revokes the previous access token on refresh
        assert refresh(t1["refresh_token"], scope="read:self read:admin").json()["error"] == "invalid_scope"
        t2 = refresh(t1["refresh_token"], scope="read:self").json()  # narrowing is fine
        assert t2["scope"] == "read:self"
        # replaying an already-used refresh token: invalid_grant AND the whole family dies
        reuse = refresh(t1["refresh_token"])
        assert reuse.status_code == 400
        assert reuse.json() == {"error": "invalid_grant", "error_description": "The refresh token was already used."}
        assert me(t2["access_token"]) == 401
        assert refresh(t2["refresh_token"]).json()["error"] == "invalid_grant"
        assert refresh("ory_rt_unknown").json()["error"] == "invalid_grant"
    stats = sb.stats()
    assert stats["refreshes"] == 2 and stats["refresh_token_reuses"] == 1 and stats["grants_revoked"] == 1
    [g] = [g for g in stats["grants"].values() if g["user"] == "ava"]
    assert g["rotations"] == 2 and g["revoked"] and g["revoked_reason"] == "refresh token reused"


def test_access_and_refresh_token_expiry_follow_the_sandbox_clock() -> None:
    with (
        FanvueSandbox(small_config(token_ttl_s=600, refresh_ttl_s=3000)) as sb,
        httpx.Client(base_url=sb.base_url or "") as http,
    ):
        t = sb.issue_grant("dora", ALL)
        assert t["expires_in"] == 600
        assert http.get("/users/me", headers=api_headers(t["access_token"])).status_code == 200
        sb.advance_clock(601)
        r = http.get("/users/me", headers=api_headers(t["access_token"]))
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
        r = token_request(
            http,
            {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]},
            client_id=sb.config.client_id,
            client_secret=sb.config.client_secret,
        )
        assert r.status_code == 200
        sb.advance_clock(3001)
        r = token_request(
            http,
            {"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"]},
            client_id=sb.config.client_id,
            client_secret=sb.config.client_secret,
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_revoke_endpoint_kills_the_grant(sb: FanvueSandbox) -> None:
    t = sb.issue_grant("dora", ALL)
    with httpx.Client(base_url=sb.base_url or "") as http:
        r = http.post(
            "/oauth2/revoke",
            data={"token": t["refresh_token"]},
            headers=basic_auth(sb.config.client_id, sb.config.client_secret),
        )
        assert r.status_code == 200
        assert http.get("/users/me", headers=api_headers(t["access_token"])).status_code == 401
        assert http.get("/.well-known/openid-configuration").json()["code_challenge_methods_supported"] == ["S256"]


# =========================================================================== versions, auth, errors


def test_version_header_rules() -> None:
    cfg = small_config(
        sunset_versions={"2024-01-01": "2025-06-26T00:00:00.000Z"},
        deprecated_versions={"2025-01-01": "Wed, 01 Jul 2026 00:00:00 GMT"},
    )
    with FanvueSandbox(cfg) as sb:
        auth = {"Authorization": "Bearer " + sb.issue_grant("ava", ALL)["access_token"]}
        with httpx.Client(base_url=sb.base_url or "", headers=auth) as http:
            r = http.get("/users/me")
            assert r.status_code == 400
            assert r.json() == {"error": "Unsupported API version", "message": "API version '' is not supported"}
            r = http.get("/users/me", headers={"X-Fanvue-API-Version": "2030-01-01"})
            assert r.json() == {
                "error": "Unsupported API version",
                "message": "API version '2030-01-01' is not supported",
            }
            r = http.get("/users/me", headers={"X-Fanvue-API-Version": "2024-01-01"})
            assert r.status_code == 410 and r.json() == {
                "error": "API version no longer supported",
                "message": "API version '2024-01-01' was sunset on 2025-06-26T00:00:00.000Z",
                "nextVersion": "2025-06-26",
            }
            r = http.get("/users/me", headers={"X-Fanvue-API-Version": "2025-01-01"})
            assert r.status_code == 200 and r.headers["sunset"] == "Wed, 01 Jul 2026 00:00:00 GMT"
            assert r.headers["deprecation"] and r.headers["x-fanvue-api-next-version"] == "2025-06-26"
            assert http.get("/users/me", headers=VERSION).status_code == 200
    with FanvueSandbox(small_config(enforce_version=False)) as sb:
        auth = {"Authorization": "Bearer " + sb.issue_grant("ava", ALL)["access_token"]}
        assert httpx.get(sb.base_url + "/users/me", headers=auth).status_code == 200  # type: ignore[operator]


def test_401_403_404_400_bodies(demo: FanvueSandbox) -> None:
    base = demo.base_url or ""
    ava, dora, agency = demo.creator("ava"), demo.creator("dora"), demo.agency_user
    good = demo.issue_grant("agency", ALL)["access_token"]
    for auth in (None, "Bearer nope", "bearer " + good, "Token " + good, "Bearer"):
        h = dict(VERSION, **({"Authorization": auth} if auth else {}))
        r = httpx.get(base + "/users/me", headers=h)
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
        assert "x-ratelimit-limit" in r.headers
    with client(demo, "agency", "read:self") as http:
        r = http.get(f"/creators/{ava.uuid}/insights/earnings")
        assert r.status_code == 403 and "read:creator" in r.json()["error"]
        assert http.get("/insights/earnings").status_code == 403
    with client(demo, "agency") as http:
        not_assigned = {"message": "Creator not found or not assigned to team member"}
        for target in (dora.uuid, agency.uuid, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"):
            for suffix in ("/insights/earnings", "/insights/earnings/summary", "/account"):
                r = http.get(f"/creators/{target}{suffix}")
                assert (r.status_code, r.json()) == (404, not_assigned)
        r = http.get("/creators/not-a-uuid/insights/earnings")
        assert r.status_code == 400 and "creatorUserUuid" in r.json()["message"]
        for params, needle in (
            ({"size": 0}, "size"),
            ({"size": 51}, "size"),
            ({"size": "x"}, "size"),
            ({"size": 2.5}, "size"),
            ({"startDate": "yesterday"}, "startDate"),
            ({"endDate": "2024-13-01T00:00:00Z"}, "endDate"),
            ({"source": "tip,liveStream"}, "source"),
            ({"cursor": "%%%"}, "cursor"),
            ({"startDate": "2025-02-01T00:00:00Z", "endDate": "2025-01-01T00:00:00Z"}, "startDate"),
        ):
            r = http.get(f"/creators/{ava.uuid}/insights/earnings", params=params)
            assert r.status_code == 400, params
            errors = r.json()["errors"]
            assert isinstance(errors, list) and any(needle in e for e in errors), (params, errors)
        assert http.get("/creators", params={"size": 51}).status_code == 400
        assert http.get("/creators", params={"page": 0}).status_code == 400
        r = http.get(f"/creators/{ava.uuid}/insights/earnings/summary", params={"timezone": "Mars/Base"})
        assert r.status_code == 400 and "timezone" in r.json()["errors"][0]
        assert http.get("/insights/spending", params={"source": "tip"}).status_code == 400
    with client(demo, "ava") as http:  # a creator token has no team: agency routes are 404, list empty
        r = http.get(f"/creators/{ava.uuid}/insights/earnings")
        assert r.status_code == 404
        assert http.get("/creators").json() == {"data": [], "pagination": {"page": 1, "size": 0, "hasMore": False}}
        assert http.get("/agencies/earnings").status_code == 501
        assert http.get("/nope").status_code == 404


# =========================================================================== data endpoints


@pytest.mark.parametrize("size", [50, 20])
def test_overlap_rereading_client_gets_every_item_exactly(demo: FanvueSandbox, size: int) -> None:
    ava = demo.creator("ava")
    expected = truth(demo, "ava")
    with client(demo, "agency") as http:
        got = pull_overlap(http, f"/creators/{ava.uuid}/insights/earnings", size)
        naive = pull_cursor(http, f"/creators/{ava.uuid}/insights/earnings", size)
    assert len(got) == expected["count"] > 5000
    assert collections.Counter(map(canon, got)) == collections.Counter(map(canon, expected["items"]))
    assert [i["date"] for i in got] == [i["date"] for i in expected["items"]]  # newest first
    assert sum(i["gross"] for i in got) == expected["gross"] and sum(i["net"] for i in got) == expected["net"]
    # the date-keyed cursor skips tie members that straddle a page boundary
    assert len(naive) < expected["count"]
    assert not collections.Counter(map(canon, naive)) - collections.Counter(map(canon, expected["items"]))
    # legacy rows: no order id, and some are byte-identical same-millisecond twins
    legacy = [i for i in got if "transactionOrderId" not in i]
    assert legacy and all("transactionOrderStatus" not in i for i in legacy)
    twins = [c for c, n in collections.Counter(map(canon, legacy)).items() if n > 1]
    assert twins


def test_data_shapes_sources_ties_and_fanless_items(demo: FanvueSandbox) -> None:
    items = truth(demo, "ava")["items"]
    sources = collections.Counter(i["source"] for i in items)
    assert set(sources) >= {
        "subscription",
        "renewal",
        "message",
        "post",
        "tip",
        "referral",
        "affiliate",
        "mediaLink",
        "checkoutLink",
        "appStore",
        "giveaway",
        "liveStream",
    }
    assert 0 < sources["liveStream"] < len(items) * 0.02
    for i in items:
        assert i["date"].endswith("Z") and len(i["date"]) == 24 and ms(i["date"]) <= time.time() * 1000
        assert isinstance(i["gross"], int) and isinstance(i["net"], int) and 0 <= i["net"] <= i["gross"]
        assert ("messageUuid" in i) == (i["source"] == "message") and ("postUuid" in i) == (i["source"] == "post")
        assert (i["user"] is None) == (i["source"] in ("referral", "affiliate"))
    assert {i["currency"] for i in items} == {None, "BRL", "EUR", "GBP"}
    assert any(i["gross"] == i["net"] for i in items) and any(i["net"] < i["gross"] for i in items)
    ids = [i["transactionOrderId"] for i in items if "transactionOrderId" in i]
    assert len(ids) == len(set(ids))
    sizes = collections.Counter(collections.Counter(i["date"] for i in items).values())
    assert set(sizes) <= {1, 2, 3, 4, 5} and sum(n for s, n in sizes.items() if s > 1) >= 20
    # deliberate ties straddle the first page boundaries for sizes 20 and 50
    dates = [i["date"] for i in items]
    assert dates[19] == dates[20] and dates[49] == dates[50] and dates[99] == dates[100]
    cleo = truth(demo, "cleo")["items"]
    assert sum(i["user"] is None for i in cleo) > len(cleo) * 0.05
    fan = next(i["user"] for i in items if i["user"])
    assert set(fan) == {"uuid", "handle", "displayName", "nickname", "isTopSpender", "avatarUrl", "registeredAt"}
    ava = demo.creator("ava")
    assert ms(ava["registeredAt"]) < ms(items[-1]["date"])


def test_cursor_is_base64url_date_json_and_tie_modes() -> None:
    with FanvueSandbox(small_config(cursor_tie_mode="repeat")) as sb:
        ava = sb.creator("ava")
        expected = truth(sb, "ava")
        with client(sb, "agency") as http:
            r = http.get(f"/creators/{ava.uuid}/insights/earnings", params={"size": 50}).json()
            cur = r["nextCursor"]
            assert "=" not in cur
            assert json.loads(base64.urlsafe_b64decode(cur + "=" * (-len(cur) % 4))) == {"date": r["data"][-1]["date"]}
            naive = pull_cursor(http, f"/creators/{ava.uuid}/insights/earnings", 50)
        # "repeat" (date <= cursor): every page re-sends the boundary ms; dedupe gives everything
        by_id = {i["transactionOrderId"]: i for i in naive}
        assert len(naive) > expected["count"] and len(by_id) == expected["count"]


def test_window_filters_are_start_inclusive_end_exclusive_with_offsets(demo: FanvueSandbox) -> None:
    bella = demo.creator("bella")
    items = truth(demo, "bella")["items"]
    t_hi, t_lo = items[10]["date"], items[260]["date"]
    want = [canon(i) for i in items if t_lo <= i["date"] < t_hi]
    with client(demo, "agency") as http:
        path = f"/creators/{bella.uuid}/insights/earnings"
        got = pull_overlap(http, path, 50, startDate=t_lo, endDate=t_hi)
        assert [canon(i) for i in got] == want
        assert all(i["date"] != t_hi for i in got) and got[-1]["date"] == t_lo
        # the same instants written with a +02:00 offset select the same rows
        off = timezone(timedelta(hours=2))
        lo2 = datetime.fromtimestamp(ms(t_lo) / 1000, off).isoformat(timespec="milliseconds")
        hi2 = datetime.fromtimestamp(ms(t_hi) / 1000, off).isoformat(timespec="milliseconds")
        assert [canon(i) for i in pull_overlap(http, path, 50, startDate=lo2, endDate=hi2)] == want
        got = pull_overlap(http, path, 50, source="tip,message")
        assert sorted(map(canon, got)) == sorted(canon(i) for i in items if i["source"] in ("tip", "message"))
        assert len(pull_overlap(http, path, 50, source="all")) == len(items)
        r = http.get(path).json()
        assert len(r["data"]) == 20  # default size


def test_personal_routes_spending_and_the_agency_users_own_items(demo: FanvueSandbox) -> None:
    with client(demo, "dora") as http:
        got = pull_overlap(http, "/insights/earnings", 50)
        assert sorted(map(canon, got)) == sorted(map(canon, truth(demo, "dora")["items"]))
        spend = pull_cursor(http, "/insights/spending", 50)
        sp = truth(demo, "dora", "spending")
        assert spend == sp["items"] and sum(i["gross"] for i in spend) == sp["gross"] < 0
    with client(demo, "ava") as http:
        spend = pull_cursor(http, "/insights/spending", 7)
        assert len(spend) == truth(demo, "ava", "spending")["count"] > 10
        assert {i["source"] for i in spend} == {"refund", "chargeback"}
        assert all(i["gross"] < 0 and i["net"] < 0 and "transactionOrderId" not in i for i in spend)
        assert {i["source"] for i in pull_cursor(http, "/insights/spending", 50, source="chargeback")} == {"chargeback"}
    with client(demo, "agency") as http:
        own = pull_cursor(http, "/insights/earnings", 50)
        assert own == truth(demo, "agency")["items"] and 0 < len(own) < 20
        assert all(i["user"] is None for i in own)
        assert http.get("/insights/spending").json() == {"data": [], "nextCursor": None}


def test_users_creators_and_accounts(demo: FanvueSandbox) -> None:
    with client(demo, "agency") as http:
        me = http.get("/users/me").json()
        assert me["uuid"] == demo.agency_user.uuid and me["isCreator"] is False and "account" not in me
        r = http.get("/creators", params={"size": 2}).json()
        assert [c["handle"] for c in r["data"]] == ["ava", "bella"] and r["pagination"] == {
            "page": 1,
            "size": 2,
            "hasMore": True,
        }
        r = http.get("/creators", params={"size": 2, "page": 2}).json()
        assert [c["handle"] for c in r["data"]] == ["cleo"] and r["pagination"] == {
            "page": 2,
            "size": 1,
            "hasMore": False,
        }
        assert len(http.get("/creators").json()["data"]) == 3
        for handle in ("ava", "bella", "cleo"):
            acc = http.get(f"/creators/{demo.creator(handle).uuid}/account").json()
            t = truth(demo, handle)
            assert acc["handle"] == handle and acc["account"]["status"] == "active"
            # published: the sum of PAID invoices, so pending items are not in it yet
            paid = sum(i["gross"] for i in t["items"] if i.get("transactionOrderStatus") != "pendingBalance")
            assert acc["account"]["earnings"]["total"] == paid < t["gross"]
            avail = sum(i["net"] for i in t["items"] if i.get("transactionOrderStatus") == "availableForPayout")
            assert 0 <= acc["account"]["earnings"]["availableBalance"] <= avail
    with client(demo, "dora") as http:
        acc = http.get("/users/account").json()
        assert acc["uuid"] == demo.creator("dora").uuid
        dora = truth(demo, "dora")
        assert acc["account"]["earnings"]["total"] == sum(
            i["gross"] for i in dora["items"] if i["transactionOrderStatus"] == "availableForPayout"
        )


def test_account_total_can_be_configured_to_count_every_item() -> None:
    """The other reading of `account.earnings.total` (every item, pending included), on request."""
    cfg = SandboxConfig.demo(account_total="all", prefetch=False)
    sb = FanvueSandbox(cfg)
    sb.start(host="127.0.0.1", port=0)
    try:
        with client(sb, "dora") as http:
            assert http.get("/users/account").json()["account"]["earnings"]["total"] == truth(sb, "dora")["gross"]
    finally:
        sb.stop()
    with pytest.raises(ValueError, match="account_total"):
        SandboxConfig.demo(account_total="net")


def test_summary_is_consistent_with_the_items(demo: FanvueSandbox) -> None:
    ava = demo.creator("ava")
    t = truth(demo, "ava")
    items = t["items"]
    start, end = "2025-01-01T00:00:00.000Z", "2025-07-01T00:00:00.000Z"
    in_range = [i for i in items if start <= i["date"] < end]
    with client(demo, "agency") as http:
        path = f"/creators/{ava.uuid}/insights/earnings/summary"
        s = http.get(path, params={"startDate": start, "endDate": end}).json()
        assert s["totals"]["allTime"] == {"gross": t["gross"], "net": t["net"]}
        assert sum(v["gross"] for v in s["breakdownBySource"].values()) == sum(i["gross"] for i in in_range)
        assert sum(p["gross"] for p in s["overTime"]) == sum(i["gross"] for i in in_range)
        assert len(s["overTime"]) == 181 and s["overTime"][0]["periodStart"] == start
        tips = sum(i["gross"] for i in in_range if i["source"] == "tip")
        assert s["breakdownBySource"]["tips"]["gross"] == s["earningsByType"]["tips"]["gross"] == tips
        assert set(s["averageByDayOfWeek"]) == {str(d) for d in range(1, 8)}
        assert set(s["averageByHourOfDay"]) == {str(h) for h in range(24)}
        assert s["period"] == {"startDate": start, "endDate": end, "granularity": "day", "timezone": "UTC"}
        w = http.get(
            path, params={"startDate": start, "endDate": end, "granularity": "week", "timezone": "Europe/London"}
        ).json()
        assert w["overTime"][0]["periodStart"] == "2024-12-30T00:00:00.000+00:00"  # a Monday
        assert w["overTime"][20]["periodStart"].endswith("+01:00")  # BST
        assert sum(p["gross"] for p in w["overTime"]) == sum(i["gross"] for i in in_range)
        now = datetime.now(UTC)
        month = f"{now.year:04d}-{now.month:02d}"
        assert s["totals"]["thisMonth"]["gross"] == sum(i["gross"] for i in items if i["date"].startswith(month))
    with client(demo, "dora") as http:
        s = http.get("/insights/earnings/summary").json()
        assert s["totals"]["allTime"]["gross"] == truth(demo, "dora")["gross"]
        assert s["period"]["startDate"] is None


# =========================================================================== rate limits


def test_rate_limit_headers_429_and_separate_creator_buckets() -> None:
    with FanvueSandbox(small_config(rate_limit=5, rate_window_s=30)) as sb:
        ava = sb.creator("ava")
        with client(sb, "agency") as http:
            seen = []
            for _ in range(5):
                r = http.get("/users/me")
                assert r.status_code == 200
                seen.append(int(r.headers["x-ratelimit-remaining"]))
                assert r.headers["x-ratelimit-limit"] == "5"
                assert 0 < int(r.headers["x-ratelimit-reset"]) - time.time() <= 31
            assert seen == [4, 3, 2, 1, 0]
            r = http.get("/insights/earnings")  # same principal bucket
            assert r.status_code == 429 and r.json() == {"error": "Too many requests"}
            assert int(r.headers["retry-after"]) >= 1 and r.headers["x-ratelimit-remaining"] == "0"
            # /creators/{id}/... has its own bucket per creator
            for _ in range(5):
                assert http.get(f"/creators/{ava.uuid}/insights/earnings").status_code == 200
            assert http.get(f"/creators/{ava.uuid}/account").status_code == 429
            assert http.get(f"/creators/{sb.creator('bella').uuid}/account").status_code == 200
            assert 25 <= int(r.headers["retry-after"]) <= 30
        buckets = sb.stats()["rate_limit"]["buckets"]
        key = f"{sb.config.client_id}:{sb.agency_user.uuid}"
        assert buckets[key]["rejected_429"] == 1 and buckets[key]["requests"] == 6
        assert buckets[key]["max_accepted_in_fixed_window"] == 5
        assert buckets[key]["max_accepted_in_rolling_window"] >= 5
        assert buckets[f"{key}:{ava.uuid}"]["rejected_429"] == 1


def test_bucket_refills_to_full_each_window_and_tracks_rolling_maximum() -> None:
    rl = RateLimiter(limit=3, window_s=10)
    t = 1_000.0
    assert [rl.hit("k", t + s).allowed for s in (0, 9, 9.4)] == [True, True, True]
    d = rl.hit("k", t + 9.5)
    assert not d.allowed and d.retry_after == 1 and d.reset_unix == 1010 and d.remaining == 0
    assert [rl.hit("k", t + 10 + i * 0.1).allowed for i in range(4)] == [True, True, True, False]
    st = rl.stats()["buckets"]["k"]
    # the refill lets up to 2 x limit - 1 requests into one rolling window; never more than limit per window
    assert st == {
        "requests": 8,
        "accepted": 6,
        "rejected_429": 2,
        "max_accepted_in_rolling_window": 5,
        "max_accepted_in_fixed_window": 3,
    }


# =========================================================================== faults


def test_each_fault_kind(sb: FanvueSandbox) -> None:
    with client(sb, "ava") as http:
        sb.set_faults(error_5xx={"count": 2, "status": 503})
        assert [http.get("/users/me").status_code for _ in range(3)] == [503, 503, 200]
        sb.set_faults(error_rate={"p": 1.0, "seed": 1, "status": 502})
        assert http.get("/users/me").status_code == 502
        sb.set_faults(error_rate={"p": 0.5, "seed": 7})
        codes = [http.get("/users/me").status_code for _ in range(40)]
        assert 5 < codes.count(500) < 35 and codes.count(200) == 40 - codes.count(500)
        sb.clear_faults()
        sb.set_faults(slow_ms=150)
        t = time.monotonic()
        assert http.get("/users/me").status_code == 200 and time.monotonic() - t >= 0.15
        sb.clear_faults()
        sb.set_faults(drop={"count": 1})
        with pytest.raises(httpx.TransportError):
            http.get("/users/me")
        assert http.get("/users/me").status_code == 200
        sb.set_faults(rate_limit_storm={"count": 2, "retry_after": 3})
        r = http.get("/users/me")
        assert r.status_code == 429 and r.headers["retry-after"] == "3" and r.json() == {"error": "Too many requests"}
        assert http.get("/users/me").status_code == 429 and http.get("/users/me").status_code == 200
        # path_regex narrows a fault to matching routes
        sb.set_faults(error_5xx={"count": 5, "status": 500}, path_regex="^/insights/")
        assert http.get("/users/me").status_code == 200
        assert http.get("/insights/earnings").status_code == 500
        sb.clear_faults()
        sb.set_latency(60)
        t = time.monotonic()
        http.get("/users/me")
        assert time.monotonic() - t >= 0.06
        sb.set_latency(0)
    injected = sb.stats()["faults"]["injected"]
    assert injected["error_5xx"] == 3 and injected["drop"] == 1 and injected["rate_limit_storm"] == 2
    assert injected["error_rate"] >= 6 and injected["slow"] == 1
    with pytest.raises(ValueError):
        sb.set_faults(explode=True)


def test_token_expiry_and_grant_revocation_faults(sb: FanvueSandbox) -> None:
    t = sb.issue_grant("ava", ALL)
    ava = sb.creator("ava")
    path = f"/creators/{ava.uuid}/insights/earnings"
    with client(sb, "agency") as http:
        sb.set_faults(expire_tokens_after=2)
        r1 = http.get(path, params={"size": 5})
        r2 = http.get(path, params={"size": 5, "cursor": r1.json()["nextCursor"]})
        assert (r1.status_code, r2.status_code) == (200, 200)
        assert http.get(path, params={"size": 5, "cursor": r2.json()["nextCursor"]}).status_code == 401
    with httpx.Client(base_url=sb.base_url or "") as http:
        assert http.get("/users/me", headers=api_headers(t["access_token"])).status_code == 401  # all tokens
        r = token_request(
            http,
            {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]},
            client_id=sb.config.client_id,
            client_secret=sb.config.client_secret,
        )
        t2 = r.json()
        assert http.get("/users/me", headers=api_headers(t2["access_token"])).status_code == 200
        sb.set_faults(revoke_grant="ava")
        assert http.get("/users/me", headers=api_headers(t2["access_token"])).status_code == 401
        r = token_request(
            http,
            {"grant_type": "refresh_token", "refresh_token": t2["refresh_token"]},
            client_id=sb.config.client_id,
            client_secret=sb.config.client_secret,
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    injected = sb.stats()["faults"]["injected"]
    assert injected["tokens_expired"] == 1 and injected["grants_revoked"] == 1


def test_faults_can_target_the_token_endpoint(sb: FanvueSandbox) -> None:
    t = sb.issue_grant("ava", ALL)
    sb.set_faults(error_5xx={"count": 1, "status": 503, "path_regex": "^/oauth2/token$"})
    with httpx.Client(base_url=sb.base_url or "") as http:
        form = {"grant_type": "refresh_token", "refresh_token": t["refresh_token"]}
        assert (
            token_request(http, form, client_id=sb.config.client_id, client_secret=sb.config.client_secret).status_code
            == 503
        )
        assert http.get("/users/me", headers=api_headers(t["access_token"])).status_code == 200
        assert (
            token_request(http, form, client_id=sb.config.client_id, client_secret=sb.config.client_secret).status_code
            == 200
        )


# =========================================================================== clock, sales, control surface


def test_clock_moves_orders_from_pending_to_available(sb: FanvueSandbox) -> None:
    with client(sb, "ava") as http:
        page = http.get("/insights/earnings", params={"size": 50}).json()["data"]
        pending = [i for i in page if i["transactionOrderStatus"] == "pendingBalance"]
        assert pending and all(time.time() - ms(i["date"]) / 1000 < 7 * 86400 for i in pending)
        balance = http.get("/users/account").json()["account"]["earnings"]["availableBalance"]
        sb.advance_clock(8 * 86400)
        assert http.get("/insights/earnings").status_code == 401  # the 1 h token expired too
    with client(sb, "ava") as http:
        page2 = http.get("/insights/earnings", params={"size": 50}).json()["data"]
    assert [canon(i) for i in page2] == [canon(i) for i in page]
    assert all(i["transactionOrderStatus"] == "availableForPayout" for i in page2)
    assert balance >= 0


def test_add_sales_appear_newest_first_and_in_ground_truth(sb: FanvueSandbox) -> None:
    before = truth(sb, "bella")["count"]
    added = sb.add_sales("bella", 3)
    assert len(added) == 3 and all(a["creatorUuid"] == sb.creator("bella").uuid for a in added)
    assert all(ms(a["date"]) <= time.time() * 1000 for a in added)
    t = truth(sb, "bella")
    assert t["count"] == before + 3
    with client(sb, "agency") as http:
        top = http.get(f"/creators/{sb.creator('bella').uuid}/insights/earnings", params={"size": 3}).json()["data"]
    assert top == [{k: v for k, v in a.items() if k != "creatorUuid"} for a in reversed(added)]
    assert all(i["transactionOrderStatus"] == "pendingBalance" for i in top)
    spread = sb.add_sales(None, 20)
    assert (
        len(spread) == 20
        and sum(truth(sb, h)["count"] for h in ("ava", "bella", "cleo", "dora")) == 700 + 150 + 80 + 40 + 23
    )


def test_background_sales() -> None:
    with FanvueSandbox(small_config(new_sales_per_minute=1200)) as sb:
        time.sleep(0.8)
        assert sb.stats()["sales_added"] >= 5


def test_control_surface_over_http(sb: FanvueSandbox) -> None:
    base = sb.base_url or ""
    with httpx.Client(base_url=base + "/_sandbox") as c:
        gt = c.get("/ground-truth", params={"creator": sb.creator("dora").uuid, "items": "false"}).json()
        assert list(gt) == [sb.creator("dora").uuid] and "items" not in gt[sb.creator("dora").uuid]["earnings"]
        assert gt[sb.creator("dora").uuid]["earnings"]["count"] == 40
        assert c.post("/faults", json={"error_5xx": {"count": 1, "status": 500}}).json()["active"]["error_5xx"]
        assert c.delete("/faults").json() == {"active": {}}
        assert c.post("/faults", json={"bogus": 1}).status_code == 400
        assert c.post("/latency", json={"ms": 5}).json() == {"ms": 5}
        assert c.post("/clock", json={"advance_seconds": 10}).json()["offset_seconds"] == 10
        r = c.post("/sales", json={"creator": "dora", "count": 2}).json()
        assert r["added"] == 2 and len(r["items"]) == 2
        tok = c.post("/grant", json={"login_hint": "dora", "scope": "read:self"}).json()
        assert tok["token_type"] == "bearer"
        stats = c.get("/stats").json()
        assert stats["items"]["dora"] == 42 and stats["latency_ms"] == 5
        info = c.get("/info").json()
        assert info["client_id"] == "sandbox-client" and {u["handle"] for u in info["users"]} >= {"agency", "dora"}
        assert c.get("/nope").status_code == 404


def test_cli_serves_until_stopped(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANVUE_CLIENT_ID", "my-app")
    monkeypatch.setenv("FANVUE_REDIRECT_URIS", "http://localhost:5173/cb, http://127.0.0.1:5173/cb")
    ready, stop = threading.Event(), threading.Event()
    rc: list[int] = []
    th = threading.Thread(
        target=lambda: rc.append(cli_main(["--port", "0", "--seed", "5", "--rate-limit", "50"], ready=ready, stop=stop))
    )
    th.start()
    assert ready.wait(10)
    out = capsys.readouterr().out
    base = out.split("listening on ")[1].split()[0]
    assert "FANVUE_CLIENT_ID=my-app" in out and "http://localhost:5173/cb" in out and "agency" in out
    info = httpx.get(base + "/_sandbox/info").json()
    assert info["client_id"] == "my-app" and info["redirect_uris"][1] == "http://127.0.0.1:5173/cb"
    stop.set()
    th.join(10)
    assert rc == [0]


def test_same_seed_same_world() -> None:
    a = FanvueSandbox(small_config(anchor_ms=1_780_000_000_000, legacy_items_without_order_id=True))
    b = FanvueSandbox(small_config(anchor_ms=1_780_000_000_000, legacy_items_without_order_id=True))
    c = FanvueSandbox(small_config(anchor_ms=1_780_000_000_000, seed=4))
    assert a.ground_truth() == b.ground_truth()
    assert a.ground_truth(False) != c.ground_truth(False)


def test_concurrent_clients_and_stop_cuts_keepalive() -> None:
    sb = FanvueSandbox(small_config())
    sb.start()
    ava = sb.creator("ava")
    results: list[int] = []
    with client(sb, "agency") as http:

        def worker() -> None:
            results.append(len(pull_overlap(http, f"/creators/{ava.uuid}/insights/earnings", 50)))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert results == [700] * 4
        sb.stop()
        with pytest.raises(httpx.TransportError):
            http.get("/users/me")


# =========================================================================== scale


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_million_item_creator_starts_fast_and_small() -> None:
    rss0 = _rss_mb()
    t0 = time.monotonic()
    cfg = SandboxConfig(
        seed=7, creators=[CreatorSpec(handle="big", items=1_000_000, history_days=1500)], agency_manages=["big"]
    )
    with FanvueSandbox(cfg) as sb:
        startup = time.monotonic() - t0
        rss_start = _rss_mb() - rss0
        big = sb.creator("big")
        with client(sb, "agency") as http:
            path = f"/creators/{big.uuid}/insights/earnings"
            cursor, t1 = None, time.monotonic()
            for _ in range(20):
                body = http.get(path, params={"size": 50, **({"cursor": cursor} if cursor else {})}).json()
                assert len(body["data"]) == 50
                cursor = body["nextCursor"]
            pages = 20 / (time.monotonic() - t1)
            old = http.get(path, params={"size": 50, "endDate": "2023-01-01T00:00:00Z"}).json()["data"]
            assert old and all(i["date"] < "2023-01-01" for i in old)
        t2 = time.monotonic()
        gt = sb.ground_truth(include_items=False, creator="big")[big.uuid]["earnings"]
        aggregate_s = time.monotonic() - t2
        rss_all = _rss_mb() - rss0
    print(
        f"\n1M creator: startup {startup:.2f}s, RSS +{rss_start:.0f} MB after start, +{rss_all:.0f} MB after "
        f"aggregates ({aggregate_s:.2f}s), {pages:.0f} pages/s in-process"
    )
    assert gt["count"] == 1_000_000 and gt["gross"] > 0
    assert startup < 15 and rss_all < 100
