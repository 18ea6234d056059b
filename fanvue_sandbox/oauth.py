"""The sandbox authorization server, modelled on Fanvue's (Ory Hydra / fosite) behaviour.

- /oauth2/auth: authorization code + mandatory PKCE S256, exact redirect_uri match,
  Ory's >= 8 character `state` rule; consents immediately for the user named by
  `login_hint` (a handle; default the first creator) - no browser needed.
- /oauth2/token: client_secret_basic only (a secret in the body -> 401 invalid_client);
  authorization_code (one-time, 60 s, bound to client + redirect_uri + challenge) and
  refresh_token with rotation. Presenting a used refresh token answers
  `invalid_grant` / "The refresh token was already used." and revokes the whole grant
  (every access and refresh token of that consent), as Ory does.
- Like fosite, a successful refresh also revokes the grant's previous access tokens
  (config `revoke_access_on_refresh`), so a stale worker gets a 401 instead of silently
  running on an old token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

from .config import GrantSpec, SandboxConfig
from .timeutil import SandboxClock
from .wire import Request, Response, dumps, json_response
from .world import World

_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
_INVALID_GRANT = (
    "The provided authorization grant (e.g., authorization code, resource owner credentials) "
    "or refresh token is invalid, expired, revoked, does not match the redirection URI used "
    "in the authorization request, or was issued to another client."
)
_INVALID_CLIENT = (
    "Client authentication failed (e.g., unknown client, no client authentication included, "
    "or unsupported authentication method)."
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """S256 code challenge of a verifier (exported for tests/clients)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass
class Grant:
    id: str
    user_uuid: str
    handle: str
    client_id: str
    scopes: tuple[str, ...]
    created_ms: int
    nonce: str | None = None
    revoked: bool = False
    revoked_reason: str | None = None
    rotations: int = 0
    access_tokens: list[str] = field(default_factory=list)
    refresh_tokens: list[str] = field(default_factory=list)


@dataclass
class AccessToken:
    token: str
    grant_id: str
    user_uuid: str
    client_id: str
    scopes: frozenset[str]
    exp_ms: int
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    grant_id: str
    client_id: str
    exp_ms: int | None
    used: bool = False
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    user_uuid: str
    exp_ms: int
    nonce: str | None
    used: bool = False
    grant_id: str | None = None


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> Response:
        return json_response(self.status, {"error": self.error, "error_description": self.description}, _NO_STORE)


class OAuthServer:
    """Authorization server state (codes, grants, tokens) + its HTTP handlers."""

    def __init__(self, cfg: SandboxConfig, clock: SandboxClock, world: World, issuer: Callable[[], str]) -> None:
        self.cfg = cfg
        self.clock = clock
        self.world = world
        self._issuer = issuer
        self._secret = secrets.token_bytes(32)
        self._lock = threading.RLock()
        self.clients: dict[str, str] = {cfg.client_id: cfg.client_secret, **cfg.extra_clients}
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.counters: dict[str, int] = {
            k: 0
            for k in (
                "authorizations",
                "codes_exchanged",
                "code_reuses",
                "tokens_issued",
                "refreshes",
                "refresh_token_reuses",
                "grants_revoked",
                "token_errors",
            )
        }
        for spec in cfg.grants:
            self.install_grant(spec)

    # ------------------------------------------------------------------ helpers
    def _jwt(self, claims: dict[str, Any]) -> str:
        header = b64url(dumps({"alg": "HS256", "kid": "sandbox-hs256", "typ": "JWT"}))
        payload = b64url(dumps(claims))
        signing = f"{header}.{payload}".encode("ascii")
        return f"{header}.{payload}.{b64url(hmac.new(self._secret, signing, hashlib.sha256).digest())}"

    def verify_jwt(self, token: str) -> dict[str, Any] | None:
        """Signature check of a sandbox-issued JWT (tests use it; the API looks tokens up)."""
        try:
            header, payload, sig = token.split(".")
            good = b64url(hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(good, sig):
                return None
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, json.JSONDecodeError):
            return None

    def _revoke_grant(self, grant: Grant, reason: str) -> None:
        if grant.revoked:
            return
        grant.revoked = True
        grant.revoked_reason = reason
        self.counters["grants_revoked"] += 1
        for t in grant.access_tokens:
            self.access[t].revoked = True
        for t in grant.refresh_tokens:
            self.refresh[t].revoked = True

    def _issue(self, grant: Grant, scopes: tuple[str, ...]) -> dict[str, Any]:
        now = self.clock.now_ms()
        ttl_ms = self.cfg.token_ttl_s * 1000
        iat = now // 1000
        claims = {
            "aud": [],
            "client_id": grant.client_id,
            "exp": (now + ttl_ms) // 1000,
            "ext": {},
            "iat": iat,
            "iss": self._issuer() + "/",
            "jti": str(uuidlib.uuid4()),
            "nbf": iat,
            "scp": list(scopes),
            "sub": grant.user_uuid,
        }
        at = self._jwt(claims)
        self.access[at] = AccessToken(at, grant.id, grant.user_uuid, grant.client_id, frozenset(scopes), now + ttl_ms)
        grant.access_tokens.append(at)
        out: dict[str, Any] = {
            "access_token": at,
            "expires_in": self.cfg.token_ttl_s,
            "scope": " ".join(scopes),
            "token_type": "bearer",
        }
        if "offline" in grant.scopes or "offline_access" in grant.scopes:
            rt = "ory_rt_" + secrets.token_urlsafe(32)
            exp = None if self.cfg.refresh_ttl_s is None else now + self.cfg.refresh_ttl_s * 1000
            self.refresh[rt] = RefreshToken(rt, grant.id, grant.client_id, exp)
            grant.refresh_tokens.append(rt)
            out["refresh_token"] = rt
        if "openid" in scopes:
            idc = {
                "aud": [grant.client_id],
                "auth_time": grant.created_ms // 1000,
                "exp": (now + ttl_ms) // 1000,
                "iat": iat,
                "iss": self._issuer() + "/",
                "jti": str(uuidlib.uuid4()),
                "rat": grant.created_ms // 1000,
                "sid": grant.id,
                "sub": grant.user_uuid,
            }
            if grant.nonce:
                idc["nonce"] = grant.nonce
            out["id_token"] = self._jwt(idc)
        self.counters["tokens_issued"] += 1
        return out

    def _new_grant(self, user_uuid: str, client_id: str, scopes: tuple[str, ...], nonce: str | None) -> Grant:
        user = self.world.by_uuid[user_uuid]
        g = Grant(
            id=str(uuidlib.uuid4()),
            user_uuid=user_uuid,
            handle=user.handle,
            client_id=client_id,
            scopes=scopes,
            created_ms=self.clock.now_ms(),
            nonce=nonce,
        )
        self.grants[g.id] = g
        return g

    # ------------------------------------------------------------------ API-side
    def authenticate(self, token: str) -> AccessToken | None:
        """Valid (known, unrevoked, unexpired) access token record, else None."""
        rec = self.access.get(token)
        if rec is None or rec.revoked or self.clock.now_ms() >= rec.exp_ms:
            return None
        return rec

    def expire_all_access_tokens(self) -> int:
        """Fault `expire_tokens_after`: every access token issued so far expires now."""
        now = self.clock.now_ms()
        with self._lock:
            n = 0
            for rec in self.access.values():
                if rec.exp_ms > now:
                    rec.exp_ms = now
                    n += 1
            return n

    def revoke_user(self, handle_or_uuid: str, reason: str = "revoked by sandbox") -> int:
        """Revoke every live grant of a user (fault `revoke_grant`); returns how many."""
        user = self.world.find(handle_or_uuid)
        if user is None:
            raise KeyError(f"unknown sandbox user {handle_or_uuid!r}")
        with self._lock:
            live = [g for g in self.grants.values() if g.user_uuid == user.uuid and not g.revoked]
            for g in live:
                self._revoke_grant(g, reason)
            return len(live)

    def issue_grant(self, login_hint: str, scopes: str, client_id: str | None = None) -> dict[str, Any]:
        """Test shortcut: the token response a completed authorization-code flow would give."""
        user = self.world.find(login_hint)
        if user is None:
            raise KeyError(f"unknown sandbox user {login_hint!r}")
        scope_t = tuple(s for s in scopes.split() if s)
        bad = [s for s in scope_t if s not in self.cfg.client_scopes]
        if bad:
            raise ValueError(f"scopes not allowed for the client: {bad}")
        with self._lock:
            grant = self._new_grant(user.uuid, client_id or self.cfg.client_id, scope_t, None)
            self.counters["authorizations"] += 1
            return self._issue(grant, scope_t)

    def install_grant(self, spec: GrantSpec) -> Grant:
        """A grant whose tokens were issued before the sandbox started (see GrantSpec)."""
        user = self.world.find(spec.handle)
        if user is None:
            raise KeyError(f"unknown sandbox user {spec.handle!r}")
        scopes = tuple(s for s in spec.scopes.split() if s)
        with self._lock:
            if spec.access_token in self.access or spec.refresh_token in self.refresh:
                raise ValueError("a token of this grant is already installed")
            g = Grant(
                id=str(uuidlib.uuid4()),
                user_uuid=user.uuid,
                handle=user.handle,
                client_id=self.cfg.client_id,
                scopes=scopes,
                created_ms=spec.created_ms,
                revoked=spec.revoked_reason is not None,
                revoked_reason=spec.revoked_reason,
                access_tokens=[spec.access_token],
                refresh_tokens=[spec.refresh_token],
            )
            self.grants[g.id] = g
            self.access[spec.access_token] = AccessToken(
                spec.access_token, g.id, user.uuid, g.client_id, frozenset(scopes), spec.access_expires_ms, g.revoked
            )
            self.refresh[spec.refresh_token] = RefreshToken(
                spec.refresh_token, g.id, g.client_id, None, revoked=g.revoked
            )
            return g

    # ------------------------------------------------------------------ /oauth2/auth
    def authorize(self, req: Request) -> Response:
        q = {k: v[0] for k, v in req.query.items()}
        client_id = q.get("client_id", "")
        if client_id not in self.clients:
            return _error_page(400, "invalid_client", "The requested OAuth 2.0 Client does not exist.")
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in self.cfg.redirect_uris:
            return _error_page(
                400,
                "invalid_request",
                "The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's "
                "pre-registered redirect urls.",
            )
        state = q.get("state", "")
        form_post = q.get("response_mode") == "form_post"

        def back(params: dict[str, str]) -> Response:
            if state:
                params["state"] = state
            if form_post:
                fields = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                    for k, v in params.items()
                )
                page = (
                    f'<html><body onload="document.forms[0].submit()"><form method="post" '
                    f'action="{html.escape(redirect_uri)}">{fields}</form></body></html>'
                )
                return Response(200, page.encode(), [("Cache-Control", "no-store")], "text/html; charset=utf-8")
            sep = "&" if "?" in redirect_uri else "?"
            return Response(302, b"", [("Location", redirect_uri + sep + urlencode(params))], "text/plain")

        def fail(error: str, desc: str) -> Response:
            return back({"error": error, "error_description": desc})

        if q.get("response_type") != "code":
            return fail(
                "unsupported_response_type",
                "The authorization server does not support obtaining a token using this method.",
            )
        if len(state) < 8:
            return fail(
                "invalid_state",
                "The state is missing or does not have enough characters and is "
                "therefore considered too weak. Request parameter 'state' must be at "
                "least be 8 characters long to ensure sufficient entropy.",
            )
        challenge = q.get("code_challenge", "")
        method = q.get("code_challenge_method", "")
        if not challenge:
            return fail(
                "invalid_request",
                "The request is missing a required parameter. Clients must include "
                "a code_challenge when performing the authorize code flow, but it is "
                "missing.",
            )
        if method != "S256":
            return fail(
                "invalid_request",
                "The request is missing a required parameter. Clients must use "
                "code_challenge_method=S256, plain is not allowed.",
            )
        if not _CHALLENGE_RE.match(challenge):
            return fail("invalid_request", "The code_challenge is not a base64url-encoded SHA-256 hash.")
        scopes = tuple(s for s in q.get("scope", "").split() if s)
        for s in scopes:
            if s not in self.cfg.client_scopes:
                return fail(
                    "invalid_scope",
                    f"The requested scope is invalid, unknown, or malformed. The OAuth "
                    f"2.0 Client is not allowed to request scope '{s}'.",
                )
        hint = q.get("login_hint") or (self.world.creators[0].handle if self.world.creators else "")
        user = self.world.find(hint)
        if user is None:
            return fail(
                "access_denied",
                f"The resource owner or authorization server denied the request. Unknown sandbox user '{hint}'.",
            )
        code = "ory_ac_" + secrets.token_urlsafe(32)
        with self._lock:
            self.codes[code] = AuthCode(
                code,
                client_id,
                redirect_uri,
                challenge,
                scopes,
                user.uuid,
                self.clock.now_ms() + self.cfg.auth_code_ttl_s * 1000,
                q.get("nonce"),
            )
            self.counters["authorizations"] += 1
        return back({"code": code, "scope": " ".join(scopes)})

    # ------------------------------------------------------------------ /oauth2/token
    def _client_auth(self, req: Request, form: dict[str, str]) -> str:
        methods = self.cfg.client_auth_methods
        auth = req.headers.get("authorization", "")
        if "client_secret" in form and "client_secret_post" not in methods:
            raise OAuthError(
                401,
                "invalid_client",
                _INVALID_CLIENT + " The OAuth 2.0 Client supports client authentication method "
                "'client_secret_basic', but method 'client_secret_post' was requested. You must "
                "configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept "
                "'client_secret_post'.",
            )
        if auth[:6].lower() == "basic ":
            if "client_secret_basic" not in methods:
                raise OAuthError(401, "invalid_client", _INVALID_CLIENT)
            try:
                raw = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
                cid, _, secret = raw.partition(":")
                cid, secret = unquote_plus(cid), unquote_plus(secret)
            except (ValueError, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client", _INVALID_CLIENT) from None
        elif "client_secret" in form:
            cid, secret = form.get("client_id", ""), form["client_secret"]
        else:
            raise OAuthError(401, "invalid_client", _INVALID_CLIENT)
        expected = self.clients.get(cid)
        if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
            raise OAuthError(401, "invalid_client", _INVALID_CLIENT)
        if form.get("client_id") and form["client_id"] != cid:
            raise OAuthError(
                401, "invalid_client", _INVALID_CLIENT + " client_id does not match the authenticated client."
            )
        return cid

    def token(self, req: Request) -> Response:
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if ctype != "application/x-www-form-urlencoded":
                raise OAuthError(
                    400,
                    "invalid_request",
                    "The request is missing a required parameter, includes "
                    "an invalid parameter value, includes a parameter more "
                    "than once, or is otherwise malformed. The POST body can "
                    "not be empty and must be form-urlencoded.",
                )
            form = req.form()
            with self._lock:
                client = self._client_auth(req, form)
                gt = form.get("grant_type", "")
                if gt == "authorization_code":
                    return json_response(200, self._exchange(form, client), _NO_STORE)
                if gt == "refresh_token":
                    return json_response(200, self._refresh(form, client), _NO_STORE)
                raise OAuthError(
                    400,
                    "unsupported_grant_type",
                    "The authorization grant type is not supported by the authorization server.",
                )
        except OAuthError as e:
            with self._lock:
                self.counters["token_errors"] += 1
            return e.response()

    def _exchange(self, form: dict[str, str], client: str) -> dict[str, Any]:
        rec = self.codes.get(form.get("code", ""))
        if rec is None:
            raise OAuthError(400, "invalid_grant", _INVALID_GRANT)
        if rec.used:
            # RFC 6749 4.1.2: a replayed code revokes what it produced
            self.counters["code_reuses"] += 1
            if rec.grant_id and rec.grant_id in self.grants:
                self._revoke_grant(self.grants[rec.grant_id], "authorization code reused")
            raise OAuthError(400, "invalid_grant", _INVALID_GRANT + " The authorization code has already been used.")
        if rec.client_id != client:
            raise OAuthError(
                400,
                "invalid_grant",
                _INVALID_GRANT + " The OAuth 2.0 Client ID from this "
                "request does not match the one from the "
                "authorize request.",
            )
        if self.clock.now_ms() >= rec.exp_ms:
            raise OAuthError(400, "invalid_grant", _INVALID_GRANT + " The authorization code has expired.")
        if form.get("redirect_uri", "") != rec.redirect_uri:
            raise OAuthError(
                400,
                "invalid_grant",
                _INVALID_GRANT + ' The "redirect_uri" from this request does '
                "not match the one from the authorize request.",
            )
        verifier = form.get("code_verifier", "")
        if not _VERIFIER_RE.match(verifier):
            raise OAuthError(
                400, "invalid_grant", _INVALID_GRANT + " The PKCE code verifier must be at least 43 characters."
            )
        if not hmac.compare_digest(pkce_challenge(verifier), rec.challenge):
            raise OAuthError(
                400, "invalid_grant", _INVALID_GRANT + " The PKCE code challenge did not match the code verifier."
            )
        rec.used = True
        grant = self._new_grant(rec.user_uuid, client, rec.scopes, rec.nonce)
        rec.grant_id = grant.id
        self.counters["codes_exchanged"] += 1
        return self._issue(grant, rec.scopes)

    def _refresh(self, form: dict[str, str], client: str) -> dict[str, Any]:
        rec = self.refresh.get(form.get("refresh_token", ""))
        if rec is None or rec.client_id != client:
            raise OAuthError(400, "invalid_grant", _INVALID_GRANT)
        grant = self.grants[rec.grant_id]
        if rec.used:
            self.counters["refresh_token_reuses"] += 1
            self._revoke_grant(grant, "refresh token reused")
            raise OAuthError(400, "invalid_grant", "The refresh token was already used.")
        if rec.revoked or grant.revoked:
            raise OAuthError(400, "invalid_grant", _INVALID_GRANT + " The refresh token has been revoked.")
        if rec.exp_ms is not None and self.clock.now_ms() >= rec.exp_ms:
            raise OAuthError(400, "invalid_grant", _INVALID_GRANT + " The refresh token expired.")
        scopes = grant.scopes
        if form.get("scope"):
            asked = tuple(s for s in form["scope"].split() if s)
            wider = [s for s in asked if s not in grant.scopes]
            if wider:
                raise OAuthError(
                    400,
                    "invalid_scope",
                    f"The requested scope is invalid, unknown, or malformed. "
                    f"The requested scope '{wider[0]}' was not originally "
                    f"granted.",
                )
            scopes = asked
        rec.used = True
        grant.rotations += 1
        self.counters["refreshes"] += 1
        if self.cfg.revoke_access_on_refresh:
            for t in grant.access_tokens:
                self.access[t].revoked = True
        return self._issue(grant, scopes)

    # ------------------------------------------------------------------ /oauth2/revoke
    def revoke(self, req: Request) -> Response:
        """RFC 7009 (seen in third-party code only): refresh token -> whole grant; access -> itself."""
        form = req.form()
        try:
            with self._lock:
                client = self._client_auth(req, form)
                tok = form.get("token", "")
                if tok in self.refresh and self.refresh[tok].client_id == client:
                    self._revoke_grant(self.grants[self.refresh[tok].grant_id], "revoked by client")
                elif tok in self.access and self.access[tok].client_id == client:
                    self.access[tok].revoked = True
        except OAuthError as e:
            return e.response()
        return Response(200, b"", list(_NO_STORE))

    def discovery(self) -> Response:
        iss = self._issuer()
        return json_response(
            200,
            {
                "issuer": iss + "/",
                "authorization_endpoint": iss + "/oauth2/auth",
                "token_endpoint": iss + "/oauth2/token",
                "revocation_endpoint": iss + "/oauth2/revoke",
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "form_post"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": list(self.cfg.client_auth_methods),
                "scopes_supported": list(self.cfg.client_scopes),
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["HS256"],
            },
        )

    # ------------------------------------------------------------------ stats
    def stats(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = dict(self.counters)
            out["grants"] = {
                g.id: {
                    "user": g.handle,
                    "user_uuid": g.user_uuid,
                    "client_id": g.client_id,
                    "scope": " ".join(g.scopes),
                    "rotations": g.rotations,
                    "revoked": g.revoked,
                    "revoked_reason": g.revoked_reason,
                }
                for g in self.grants.values()
            }
            return out


def _error_page(status: int, error: str, desc: str) -> Response:
    page = (
        f"<html><head><title>{html.escape(error)}</title></head><body><h1>{html.escape(error)}</h1>"
        f"<p>{html.escape(desc)}</p></body></html>"
    )
    return Response(status, page.encode(), [("Cache-Control", "no-store")], "text/html; charset=utf-8")
