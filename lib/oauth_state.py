"""The OAuth `state` and the connect ticket: short-lived, encrypted and authenticated (AES-GCM).

The state carries the user, the target (model or agency), the kind, the PKCE verifier and the
SHA-256 of a random nonce kept in an HttpOnly cookie of the browser that started the flow, so only
that browser can finish it (login CSRF / account linking). Single use is recorded in the database.

A ticket is what a dashboard navigates the browser to: it names the user and the target for a
couple of minutes so the connect endpoint can set the cookie on a top-level navigation, which
browsers accept from any origin (a cookie on a cross-site fetch response is not).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from lib.config import ConfigError, settings

STATE_TTL_S = 600
TICKET_TTL_S = 120
STATE_PURPOSE = b"fanvue-oauth-state-v2"
TICKET_PURPOSE = b"fanvue-connect-ticket-v1"


class StateError(ValueError):
    """The state or ticket is expired, tampered with or malformed."""


@dataclass
class OAuthState:
    state_id: str
    user_id: str
    agency_id: str
    kind: str  # "creator" | "agency"
    model_id: str | None
    verifier: str
    binding: str  # sha256 hex of the browser nonce
    expires_at: int

    def cookie_name(self) -> str:
        return cookie_name(self.state_id)

    def bound_to(self, nonce: str | None) -> bool:
        """Constant-time check that the browser's nonce is the one sealed in this state."""
        if not nonce:
            return False
        return hmac.compare_digest(nonce_hash(nonce), self.binding)


@dataclass
class ConnectTicket:
    ticket_id: str
    user_id: str
    agency_id: str
    kind: str
    model_id: str | None
    login_hint: str | None
    expires_at: int


def cookie_name(state_id: str) -> str:
    """One cookie per flow, so two tabs connecting two models do not overwrite each other."""
    return "fanvue_oauth_" + state_id


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _key(purpose: bytes) -> bytes:
    config = settings()
    material = config.state_signing_key or config.token_encryption_key
    if not material:
        raise ConfigError("STATE_SIGNING_KEY or TOKEN_ENCRYPTION_KEY must be set for the OAuth flow")
    return hashlib.sha256(purpose + material.encode()).digest()


def _seal(purpose: bytes, data: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(_key(purpose)).encrypt(nonce, json.dumps(data).encode(), purpose)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def _open(purpose: bytes, text: str) -> dict[str, Any]:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not text or len(text) > 2048:
        raise StateError("missing or oversized value")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(AESGCM(_key(purpose)).decrypt(raw[:12], raw[12:], purpose))
    except (InvalidTag, ValueError, TypeError):
        raise StateError("invalid or tampered with") from None
    if not isinstance(data, dict):
        raise StateError("invalid or tampered with")
    return data


def seal(user_id: str, agency_id: str, kind: str, model_id: str | None, verifier: str) -> tuple[str, OAuthState, str]:
    """Returns (state text, state, browser nonce); the nonce goes into the cookie, its hash into the state."""
    browser_nonce = secrets.token_urlsafe(32)
    state = OAuthState(
        secrets.token_urlsafe(12),
        user_id,
        agency_id,
        kind,
        model_id,
        verifier,
        nonce_hash(browser_nonce),
        int(time.time()) + STATE_TTL_S,
    )
    return _seal(STATE_PURPOSE, state.__dict__), state, browser_nonce


def open_state(text: str) -> OAuthState:
    try:
        state = OAuthState(**_open(STATE_PURPOSE, text))
    except TypeError:
        raise StateError("state is invalid or was tampered with") from None
    except StateError:
        raise StateError("state is invalid or was tampered with") from None
    if state.expires_at < time.time():
        raise StateError("state expired; start the connection again")
    return state


def seal_ticket(user_id: str, agency_id: str, kind: str, model_id: str | None, login_hint: str | None) -> str:
    ticket = ConnectTicket(
        secrets.token_urlsafe(12), user_id, agency_id, kind, model_id, login_hint, int(time.time()) + TICKET_TTL_S
    )
    return _seal(TICKET_PURPOSE, ticket.__dict__)


def open_ticket(text: str) -> ConnectTicket:
    try:
        ticket = ConnectTicket(**_open(TICKET_PURPOSE, text))
    except (TypeError, StateError):
        raise StateError("ticket is invalid or was tampered with") from None
    if ticket.expires_at < time.time():
        raise StateError(f"ticket expired (valid {TICKET_TTL_S} s); ask the dashboard for a new one")
    return ticket
