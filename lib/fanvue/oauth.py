"""Raw OAuth 2.0 calls to Fanvue's authorization server (Ory-style ``/oauth2/auth`` + ``/oauth2/token``).

No storage and no locking here: the caller owns single-flight refresh and atomic persistence of
the rotated pair. Two Fanvue facts shape this module:

* PKCE (S256) is mandatory, and the client authenticates with HTTP Basic (``client_secret_basic``);
  posting the secret in the form body is known to fail.
* Refresh tokens rotate and are single-use; presenting a used one answers ``invalid_grant``
  ("The refresh token was already used.") and is believed to revoke the whole grant. Therefore a
  refresh is never retried automatically and never sends a ``scope``.

No message raised from here contains a token, code, verifier or the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from .errors import InvalidGrant, OAuthError, OAuthOutcomeUnknown, OAuthUnavailable, mask_secrets
from .models import TokenSet

__all__ = [
    "SYSTEM_SCOPES",
    "InvalidGrant",
    "OAuthError",
    "OAuthUnavailable",
    "PkcePair",
    "build_authorize_url",
    "exchange_code",
    "new_pkce",
    "new_state",
    "pkce_challenge",
    "refresh",
]

# Scopes Fanvue needs before it issues a refresh token; prepend them to the app's configured scopes
# (which must match the developer-area selection exactly).
SYSTEM_SCOPES = ("openid", "offline_access", "offline")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """S256 challenge: base64url(SHA-256(verifier)) without padding."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class PkcePair:
    """A PKCE verifier (secret until the code is exchanged; hidden from repr) and its challenge."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def new_pkce() -> PkcePair:
    """32 random bytes -> 43-char base64url verifier (RFC 7636 allows 43..128)."""
    verifier = _b64url(secrets.token_bytes(32))
    return PkcePair(verifier=verifier, challenge=pkce_challenge(verifier))


def new_state() -> str:
    """An unguessable ``state`` value binding the callback to the browser session."""
    return _b64url(secrets.token_bytes(24))


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def build_authorize_url(
    auth_base: str,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str] | str,
    state: str,
    challenge: str,
    login_hint: str | None = None,
) -> str:
    """The URL to send the browser to. ``scopes`` must match the app's configured scopes exactly
    (plus the system scopes); ``redirect_uri`` must match a registered one byte for byte."""
    scope = scopes if isinstance(scopes, str) else " ".join(scopes)
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    return _join(auth_base, "/oauth2/auth") + "?" + urlencode(params)


def exchange_code(
    http: httpx.Client,
    auth_base: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> TokenSet:
    """Trade a one-time authorization code for tokens (``authorization_code`` grant with PKCE)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    return _token_request(http, auth_base, client_id, client_secret, form, (code, verifier))


def refresh(
    http: httpx.Client,
    auth_base: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
) -> TokenSet:
    """Rotate a refresh token. The returned TokenSet holds the NEW refresh token: persist it before
    using the new access token, because the old one is now spent. Never retried here."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
    }
    return _token_request(http, auth_base, client_id, client_secret, form, (refresh_token,))


def _token_request(
    http: httpx.Client,
    auth_base: str,
    client_id: str,
    client_secret: str,
    form: dict[str, str],
    secrets_in_play: tuple[str, ...],
) -> TokenSet:
    hidden = (client_secret, *secrets_in_play)
    try:
        response = http.post(
            _join(auth_base, "/oauth2/token"),
            data=form,
            headers={"Accept": "application/json", "Authorization": _basic(client_id, client_secret)},
        )
    except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        # Sent and being processed, answer lost: the server may have rotated the refresh token, so the
        # old one must not be presented again. (A connection dropped without any answer is treated as
        # not processed - the usual case for a proxy or load balancer reset - and stays retryable.)
        raise OAuthOutcomeUnknown(
            mask_secrets(f"token endpoint answer lost: {type(exc).__name__}", *hidden),
            error="outcome_unknown",
        ) from None
    except httpx.HTTPError as exc:
        # Never sent (connect error/timeout, pool timeout): nothing happened at Fanvue, safe to retry.
        # The message of an httpx transport error names the host, never the body; redact anyway.
        raise OAuthUnavailable(
            mask_secrets(f"token endpoint unreachable: {type(exc).__name__}: {exc}", *hidden),
            error="transport_error",
        ) from None
    body = _json_or_none(response)
    if response.status_code >= 400:
        raise _error_from(response.status_code, body, hidden)
    if not isinstance(body, dict):
        raise OAuthError(
            f"token endpoint answered {response.status_code} without a JSON object",
            error="invalid_response",
            status=response.status_code,
        )
    try:
        return TokenSet.from_token_response(body)
    except ValueError as exc:
        raise OAuthError(
            f"malformed token response: {exc}", error="invalid_response", status=response.status_code
        ) from None


def _basic(client_id: str, client_secret: str) -> str:
    """``client_secret_basic`` per RFC 6749 2.3.1: each part form-encoded, then base64.

    A no-op for the usual alphanumeric credentials; for a secret with ``+``, ``%`` or ``:`` it is
    what Ory (which url-decodes both parts) expects.
    """
    raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_from(status: int, body: Any, hidden: tuple[str, ...]) -> OAuthError:
    error = description = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), str) else None
        desc = body.get("error_description")
        description = mask_secrets(desc, *hidden) if isinstance(desc, str) else None
    if error == "invalid_grant":
        return InvalidGrant(description, status=status)
    if status >= 500:
        return OAuthUnavailable(
            f"token endpoint failed with {status}" + (f": {description}" if description else ""),
            error=error or "server_error",
            description=description,
            status=status,
        )
    label = error or "error"
    return OAuthError(
        f"token endpoint refused ({status} {label})" + (f": {description}" if description else ""),
        error=error,
        description=description,
        status=status,
    )
