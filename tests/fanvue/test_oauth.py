"""OAuth helpers against the sandbox's authorization server over real HTTP.

The wire is inspected with httpx event hooks (what actually left the process), not by
replacing any of our code.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fanvue_sandbox import FanvueSandbox, SandboxConfig
from lib.fanvue import oauth
from lib.fanvue.client import FanvueClient
from lib.fanvue.errors import InvalidGrant, OAuthError, OAuthUnavailable
from lib.fanvue.models import TokenSet
from lib.fanvue.ratelimit import Pacer

SCOPES = ["openid", "offline_access", "offline", "read:self", "read:insights"]


@pytest.fixture()
def sb() -> Iterator[FanvueSandbox]:
    sandbox = FanvueSandbox(SandboxConfig.demo())
    sandbox.start(port=0)
    yield sandbox
    sandbox.stop()


class Wire:
    """Records the token-endpoint requests an httpx client really sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        request.read()
        self.requests.append(request)

    def form(self, i: int = -1) -> dict[str, list[str]]:
        return parse_qs(self.requests[i].content.decode())


@pytest.fixture()
def wire() -> Wire:
    return Wire()


@pytest.fixture()
def http(wire: Wire) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, event_hooks={"request": [wire]}) as client:
        yield client


def authorize(sb: FanvueSandbox, http: httpx.Client, login_hint: str, pkce: oauth.PkcePair) -> tuple[str, str]:
    """Run the browser leg: follow the authorize URL to the redirect and return (code, state)."""
    cfg = sb.config
    state = oauth.new_state()
    url = oauth.build_authorize_url(
        sb.base_url or "", cfg.client_id, cfg.redirect_uris[0], SCOPES, state, pkce.challenge, login_hint=login_hint
    )
    response = http.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == cfg.redirect_uris[0]
    params = parse_qs(location.query)
    assert "error" not in params, params
    return params["code"][0], params["state"][0]


def connect(sb: FanvueSandbox, http: httpx.Client, login_hint: str = "dora") -> TokenSet:
    pkce = oauth.new_pkce()
    code, _ = authorize(sb, http, login_hint, pkce)
    cfg = sb.config
    return oauth.exchange_code(
        http, sb.base_url or "", cfg.client_id, cfg.client_secret, code, cfg.redirect_uris[0], pkce.verifier
    )


def refresh(sb: FanvueSandbox, http: httpx.Client, refresh_token: str | None) -> TokenSet:
    assert refresh_token
    cfg = sb.config
    return oauth.refresh(http, sb.base_url or "", cfg.client_id, cfg.client_secret, refresh_token)


def whoami(sb: FanvueSandbox, token: str) -> Any:
    """``GET /users/me`` with a token; returns the probe (never raises)."""

    class Static:
        def access_token(self) -> str:
            return token

        def refresh_after_unauthorized(self, rejected: str) -> str:
            return rejected

    with FanvueClient(Static(), owner_uuid="probe", api_base=sb.base_url or "", pacer=Pacer()) as client:
        return client.probe()


# --------------------------------------------------------------------------- PKCE and the authorize URL


def test_pkce_pair_is_rfc7636_s256() -> None:
    # RFC 7636 appendix B
    assert oauth.pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    pairs = [oauth.new_pkce() for _ in range(20)]
    assert len({p.verifier for p in pairs}) == 20
    for p in pairs:
        assert len(p.verifier) == 43 and "=" not in p.verifier
        assert set(p.verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert p.challenge == oauth.pkce_challenge(p.verifier) and p.method == "S256"
        assert p.verifier not in repr(p)


def test_authorize_url_carries_every_required_parameter() -> None:
    url = oauth.build_authorize_url(
        "https://auth.fanvue.com/", "cid", "https://app.example/cb", SCOPES, "state-123456", "chal", login_hint="ava"
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://auth.fanvue.com/oauth2/auth"
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "https://app.example/cb",
        "scope": " ".join(SCOPES),
        "state": "state-123456",
        "code_challenge": "chal",
        "code_challenge_method": "S256",
        "login_hint": "ava",
    }


# --------------------------------------------------------------------------- code exchange


def test_code_exchange_with_pkce_and_basic_auth(sb: FanvueSandbox, http: httpx.Client, wire: Wire) -> None:
    pkce = oauth.new_pkce()
    code, _state = authorize(sb, http, "ava", pkce)
    cfg = sb.config
    tokens = oauth.exchange_code(
        http, sb.base_url or "", cfg.client_id, cfg.client_secret, code, cfg.redirect_uris[0], pkce.verifier
    )
    assert tokens.refresh_token and tokens.token_type.lower() == "bearer"
    assert {"read:insights", "offline_access"} <= tokens.scopes
    assert not tokens.expires_within(3000)
    assert whoami(sb, tokens.access_token).user_uuid == sb.creator("ava").uuid

    sent = wire.requests[-1]
    form = wire.form()
    assert sent.url.path == "/oauth2/token"
    assert {k: v[0] for k, v in form.items()} == {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": cfg.redirect_uris[0],
        "code_verifier": pkce.verifier,
        "client_id": cfg.client_id,
    }
    assert "client_secret" not in form  # client_secret_post is refused by Fanvue
    scheme, _, blob = sent.headers["authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(blob).decode() == f"{cfg.client_id}:{cfg.client_secret}"

    with pytest.raises(InvalidGrant):  # codes are one-time
        oauth.exchange_code(
            http, sb.base_url or "", cfg.client_id, cfg.client_secret, code, cfg.redirect_uris[0], pkce.verifier
        )


def test_code_exchange_with_the_wrong_verifier_is_invalid_grant(sb: FanvueSandbox, http: httpx.Client) -> None:
    pkce = oauth.new_pkce()
    code, _ = authorize(sb, http, "dora", pkce)
    cfg = sb.config
    with pytest.raises(InvalidGrant) as exc:
        oauth.exchange_code(
            http,
            sb.base_url or "",
            cfg.client_id,
            cfg.client_secret,
            code,
            cfg.redirect_uris[0],
            oauth.new_pkce().verifier,
        )
    assert exc.value.status == 400 and "PKCE" in (exc.value.description or "")
    assert code not in str(exc.value)


# --------------------------------------------------------------------------- refresh rotation


def test_two_rotations_in_a_row_then_reuse_kills_the_grant(sb: FanvueSandbox, http: httpx.Client, wire: Wire) -> None:
    t0 = connect(sb, http)
    t1 = refresh(sb, http, t0.refresh_token)
    form = wire.form()
    assert {k: v[0] for k, v in form.items()} == {
        "grant_type": "refresh_token",
        "refresh_token": t0.refresh_token,
        "client_id": sb.config.client_id,
    }  # never a scope: widening on refresh is a 400
    t2 = refresh(sb, http, t1.refresh_token)
    tokens = {t.refresh_token for t in (t0, t1, t2)} | {t.access_token for t in (t0, t1, t2)}
    assert len(tokens) == 6  # every rotation hands out a new pair
    assert whoami(sb, t2.access_token).ok
    assert whoami(sb, t1.access_token).status == 401  # rotated-away access tokens stop working

    with pytest.raises(InvalidGrant) as exc:
        refresh(sb, http, t0.refresh_token)  # replay of a spent refresh token
    assert exc.value.description == "The refresh token was already used."
    assert t0.refresh_token not in str(exc.value) and t0.refresh_token not in repr(exc.value)
    # Reuse detection revokes the whole grant: even the newest pair is dead now.
    assert whoami(sb, t2.access_token).status == 401
    with pytest.raises(InvalidGrant):
        refresh(sb, http, t2.refresh_token)
    assert sb.stats()["refresh_token_reuses"] == 1


def test_token_endpoint_errors_are_typed_and_secret_free(sb: FanvueSandbox, http: httpx.Client) -> None:
    t0 = connect(sb, http)
    cfg = sb.config
    with pytest.raises(OAuthError) as exc:
        oauth.refresh(http, sb.base_url or "", cfg.client_id, "not-the-secret", t0.refresh_token or "")
    assert not isinstance(exc.value, InvalidGrant)
    assert (exc.value.status, exc.value.error) == (401, "invalid_client")
    assert "not-the-secret" not in str(exc.value) and (t0.refresh_token or "") not in str(exc.value)
    # The failed attempt did not spend the refresh token.
    assert refresh(sb, http, t0.refresh_token).access_token

    with pytest.raises(OAuthUnavailable) as down:
        oauth.refresh(http, "http://127.0.0.1:9", cfg.client_id, cfg.client_secret, "ory_rt_secret-value")
    assert down.value.status is None and "secret-value" not in str(down.value)
    assert cfg.client_secret not in str(down.value)


def test_token_set_hides_tokens_but_keeps_them_for_storage() -> None:
    ts = TokenSet.from_token_response(
        {
            "access_token": "eyJ.secret-access",
            "refresh_token": "ory_rt_secret",
            "expires_in": 3600,
            "token_type": "bearer",
            "scope": "openid read:self",
        }
    )
    for text in (repr(ts), str(ts)):
        assert "secret-access" not in text and "ory_rt_secret" not in text
    assert ts.model_dump()["refresh_token"] == "ory_rt_secret"
    assert ts.expires_within(3700) and not ts.expires_within(3500)
    with pytest.raises(ValueError) as exc:
        TokenSet.from_token_response({"refresh_token": "ory_rt_secret", "expires_in": 3600})
    assert "ory_rt_secret" not in str(exc.value)
