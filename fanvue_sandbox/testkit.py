"""Helpers for tests that drive the sandbox over real HTTP (PKCE + the authorize/token
round trip), so each test does not re-implement the OAuth dance. Uses httpx, which the
project already depends on; imported only by tests, never by the sandbox itself."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from .oauth import pkce_challenge

API_VERSION_HEADER = {"X-Fanvue-API-Version": "2025-06-26"}


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as the Fanvue guide prescribes (32 random bytes, base64url)."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return verifier, pkce_challenge(verifier)


def basic_auth(client_id: str, client_secret: str) -> dict[str, str]:
    raw = f"{client_id}:{client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def authorize(
    http: httpx.Client,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    login_hint: str | None,
    challenge: str | None,
    state: str = "state-1234567890",
    method: str | None = "S256",
    extra: dict[str, str] | None = None,
) -> tuple[httpx.Response, dict[str, str]]:
    """GET /oauth2/auth without following the redirect; returns (response, callback params)."""
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    if login_hint is not None:
        params["login_hint"] = login_hint
    params.update(extra or {})
    r = http.get("/oauth2/auth", params=params, follow_redirects=False)
    cb: dict[str, str] = {}
    if r.status_code == 302:
        cb = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    return r, cb


def token_request(
    http: httpx.Client, form: dict[str, str], *, client_id: str, client_secret: str, basic: bool = True
) -> httpx.Response:
    headers = basic_auth(client_id, client_secret) if basic else {}
    return http.post("/oauth2/token", data=form, headers=headers)


def oauth_login(
    base_url: str, *, client_id: str, client_secret: str, redirect_uri: str, login_hint: str, scope: str
) -> dict[str, Any]:
    """Full authorization-code + PKCE flow over HTTP; returns the token response."""
    verifier, challenge = pkce_pair()
    with httpx.Client(base_url=base_url) as http:
        r, cb = authorize(
            http,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            login_hint=login_hint,
            challenge=challenge,
        )
        if "code" not in cb:
            raise RuntimeError(f"authorize failed: {r.status_code} {cb or r.text}")
        t = token_request(
            http,
            {
                "grant_type": "authorization_code",
                "code": cb["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": client_id,
            },
            client_id=client_id,
            client_secret=client_secret,
        )
        t.raise_for_status()
        return t.json()


def api_headers(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", **API_VERSION_HEADER}
