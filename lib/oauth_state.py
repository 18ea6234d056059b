"""The OAuth `state`: short-lived, encrypted and authenticated (AES-GCM), single-use.

It carries the user, the target (model or agency), the kind and the PKCE verifier, so the callback
needs no server session or cookie. Single use is enforced by recording its id in the database.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Optional

from lib.config import ConfigError, settings

STATE_TTL_S = 600
PURPOSE = b"fanvue-oauth-state-v1"


class StateError(ValueError):
    """The state is expired, tampered with or malformed."""


@dataclass
class OAuthState:
    state_id: str
    user_id: str
    agency_id: str
    kind: str  # "creator" | "agency"
    model_id: Optional[str]
    verifier: str
    expires_at: int


def _key() -> bytes:
    config = settings()
    material = config.state_signing_key or config.token_encryption_key
    if not material:
        raise ConfigError("STATE_SIGNING_KEY or TOKEN_ENCRYPTION_KEY must be set for the OAuth flow")
    return hashlib.sha256(PURPOSE + material.encode()).digest()


def seal(user_id: str, agency_id: str, kind: str, model_id: Optional[str], verifier: str) -> tuple[str, OAuthState]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    state = OAuthState(secrets.token_urlsafe(12), user_id, agency_id, kind, model_id, verifier,
                       int(time.time()) + STATE_TTL_S)
    nonce = os.urandom(12)
    sealed = AESGCM(_key()).encrypt(nonce, json.dumps(state.__dict__).encode(), PURPOSE)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("="), state


def open_state(text: str) -> OAuthState:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not text or len(text) > 2048:
        raise StateError("missing or oversized state")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(AESGCM(_key()).decrypt(raw[:12], raw[12:], PURPOSE))
        state = OAuthState(**data)
    except (InvalidTag, ValueError, TypeError):
        raise StateError("state is invalid or was tampered with") from None
    if state.expires_at < time.time():
        raise StateError("state expired; start the connection again")
    return state
