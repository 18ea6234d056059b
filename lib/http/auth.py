"""Who may call what: Supabase dashboard JWTs and the Vercel cron secret.

JWT rules (python-jose pitfalls): the algorithm comes from OUR key, never from the
token header; HMAC secrets and public keys live on separate code paths; one-element `algorithms`
lists; `exp`, `aud == "authenticated"`, `iss`, `sub` and `role` checked; `exp`/`nbf`/`iat` must be
finite numbers; every failure while reading a token (a JWKError, or python-jose's TypeError or
OverflowError on a list, null or 1e400 claim) is a 401, never a 500. The JWKS is cached ~10 minutes and refetched, at most
every 30 s, when a token names an unknown `kid`.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
import uuid
from collections.abc import Mapping
from email.message import Message
from typing import Any

from lib.config import settings
from lib.http.errors import ApiError, forbidden, unauthorized
from lib.http.principal import Principal

# What a request's headers are: the http.server Message, or a plain mapping in tests and tools.
Headers = Message | Mapping[str, str]

JWKS_TTL_S = 600.0
JWKS_MIN_REFETCH_S = 30.0
IAT_SKEW_S = 30.0  # python-jose checks exp and nbf but not an `iat` in the future
_ASYMMETRIC = {"EC": "ES256", "RSA": "RS256"}


class JwksCache:
    """Thread-safe JWKS cache (Fluid compute shares module globals across request threads).

    Keys are kept ~10 minutes; an unknown `kid` or an expired cache causes a refetch, but never more
    than one attempt (successful or not) per JWKS_MIN_REFETCH_S, so a flood of tokens with made-up
    key ids, or a JWKS endpoint that is down, cannot turn every request into an outbound fetch.
    When a fetch fails the keys we had are kept.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = float("-inf")  # last successful fetch
        self._attempted_at = float("-inf")  # last attempt, successful or not
        self._url: str | None = None
        self.fetches = 0
        self.attempts = 0

    def key_for(self, url: str, kid: object) -> dict[str, Any] | None:
        """`kid` comes from an untrusted token header: anything but a string or None finds no key."""
        if kid is not None and not isinstance(kid, str):
            return None
        now = time.monotonic()
        with self._lock:
            if url != self._url:  # another project's JWKS: nothing cached applies
                self._keys, self._url = {}, url
                self._fetched_at = self._attempted_at = float("-inf")
            stale = now - self._fetched_at > JWKS_TTL_S
            unknown = kid is not None and kid not in self._keys
            if (stale or unknown) and now - self._attempted_at > JWKS_MIN_REFETCH_S:
                self._refetch(url, now)
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            return self._keys.get(kid) if kid is not None else None

    def _refetch(self, url: str, now: float) -> None:
        import httpx

        self._attempted_at = now
        self.attempts += 1
        try:
            response = httpx.get(url, timeout=5.0)
            response.raise_for_status()
            keys = response.json().get("keys", [])
            if not isinstance(keys, list):
                raise ValueError("JWKS keys is not a list")
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            return  # rate-limited by _attempted_at; keep the keys we had
        self._keys = {str(k.get("kid", f"_{i}")): k for i, k in enumerate(keys) if isinstance(k, dict)}
        self._fetched_at = now
        self.fetches += 1

    def clear(self) -> None:
        with self._lock:
            self._keys, self._url = {}, None
            self._fetched_at = self._attempted_at = float("-inf")
            self.fetches = self.attempts = 0


JWKS = JwksCache()


def verify_dashboard_token(token: str) -> dict[str, Any]:
    """Returns the verified claims of a Supabase access token or raises a 401 ApiError."""
    from jose import jwt
    from jose.exceptions import JOSEError

    config = settings()
    issuer = config.jwt_issuer
    if not issuer or not (config.supabase_jwt_secret or config.jwks_url):
        raise ApiError(
            503,
            "auth_not_configured",
            "dashboard auth is not configured: set SUPABASE_URL (JWKS) or SUPABASE_JWT_SECRET",
        )
    try:
        header = jwt.get_unverified_header(token)
    except Exception:
        raise unauthorized("malformed bearer token") from None
    if not isinstance(header, dict):
        raise unauthorized("malformed bearer token")
    alg = header.get("alg")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise unauthorized("malformed bearer token")
    try:
        if alg == "HS256" and config.supabase_jwt_secret:
            claims = _decode(jwt, token, config.supabase_jwt_secret, "HS256", issuer)
        elif alg in ("ES256", "RS256") and config.jwks_url:
            key = JWKS.key_for(config.jwks_url, kid)
            if key is None:
                raise unauthorized("token signed with an unknown key")
            expected = _ASYMMETRIC.get(key.get("kty", ""))
            if expected is None or expected != alg:
                raise unauthorized("token algorithm does not match the signing key")
            claims = _decode(jwt, token, key, expected, issuer)
        else:
            raise unauthorized("token algorithm not accepted")
    except ApiError:
        raise
    except JOSEError:
        raise unauthorized("invalid or expired token") from None
    except Exception:
        raise unauthorized("token has malformed claims") from None
    if not isinstance(claims, dict):
        raise unauthorized("token has malformed claims")
    for name in ("exp", "nbf", "iat"):
        if name in claims and not _is_timestamp(claims[name]):
            raise unauthorized(f"token claim {name} is not a number of seconds")
    sub = claims.get("sub")
    try:
        # canonical form: Postgres refuses some spellings uuid.UUID accepts (urn:uuid:...)
        claims["sub"] = str(uuid.UUID(sub)) if isinstance(sub, str) and len(sub) <= 64 else None
    except ValueError:
        claims["sub"] = None
    if claims["sub"] is None:
        raise unauthorized("token has no valid subject")
    iat = claims.get("iat")
    if iat is not None and (not isinstance(iat, (int, float)) or iat > time.time() + IAT_SKEW_S):
        raise unauthorized("token is issued in the future")
    if claims.get("role") != "authenticated":
        raise unauthorized("token is not a signed-in user's token")
    return claims


def _is_timestamp(value: Any) -> bool:
    """A finite JSON number (not a boolean): what RFC 7519 calls a NumericDate."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _decode(jwt: Any, token: str, key: Any, algorithm: str, issuer: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[algorithm],
        audience="authenticated",
        issuer=issuer,
        options={"require_exp": True, "require_sub": True, "require_aud": True, "require_iss": True, "leeway": 0},
    )
    return claims


def cron_secret_matches(authorization: str | None) -> bool:
    """Constant-time check of `Authorization: Bearer $CRON_SECRET`; false when the secret is unset."""
    secret = settings().cron_secret
    if not secret or not authorization:
        return False
    return hmac.compare_digest(authorization.encode(), f"Bearer {secret}".encode())


def _bearer(headers: Headers) -> str | None:
    value = headers.get("Authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def user_principal(headers: Headers) -> Principal:
    token = _bearer(headers)
    if token is None:
        raise unauthorized("send Authorization: Bearer <Supabase access token>")
    claims = verify_dashboard_token(token)
    from lib.db import get_database

    profile = get_database().call("fanvue_get_profile", user_id=claims["sub"])
    if not profile or not profile.get("agency_id"):
        raise forbidden("this user has no agency profile")
    return Principal(kind="user", user_id=claims["sub"], agency_id=profile["agency_id"], role=profile["role"])


def authenticate(rule: str, headers: Headers) -> Principal | None:
    """Applies an endpoint's auth rule to the request headers."""
    if rule in ("none", "webhook"):
        return None
    if rule == "cron":
        if cron_secret_matches(headers.get("Authorization")):
            return Principal(kind="cron")
        if not settings().cron_secret:
            raise ApiError(503, "cron_not_configured", "CRON_SECRET is not set; cron calls are refused")
        raise unauthorized("cron calls need Authorization: Bearer $CRON_SECRET")
    if rule == "cron_or_admin" and cron_secret_matches(headers.get("Authorization")):
        return Principal(kind="cron")
    principal = user_principal(headers)
    if rule in ("admin", "cron_or_admin") and not principal.is_admin:
        raise forbidden("this action needs the owner or admin role of the agency")
    return principal
