"""Authenticated encryption of Fanvue tokens at rest and of OAuth `state` (AES-256-GCM).

TOKEN_ENCRYPTION_KEY holds one or more keys, newest first: `kid1:<base64 32 bytes>,kid0:<...>`
(a bare base64 key gets a kid derived from its hash). Ciphertexts are `v1:<kid>:<base64(nonce|ct)>`,
so old keys keep decrypting after a rotation until `python -m lib.dev rotate-key` re-encrypts.
The associated data binds a ciphertext to its purpose (an access token cannot pose as a refresh token).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from lib.config import ConfigError


class DecryptionError(ValueError):
    """A ciphertext is malformed, tampered with, or under a key we do not hold."""


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))


@dataclass(frozen=True)
class Key:
    kid: str
    secret: bytes


def parse_keyring(value: str | None) -> list[Key]:
    if not value:
        raise ConfigError("TOKEN_ENCRYPTION_KEY is not set (generate one: python -m lib.dev new-key)")
    keys: list[Key] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, material = part.partition(":")
        if not sep:
            kid, material = "", part
        try:
            secret = _b64decode(material)
        except (ValueError, TypeError):
            raise ConfigError("TOKEN_ENCRYPTION_KEY: a key is not valid base64") from None
        if len(secret) != 32:
            raise ConfigError("TOKEN_ENCRYPTION_KEY: each key must be 32 bytes (base64 of 32 random bytes)")
        if not kid:
            kid = "k" + hashlib.sha256(secret).hexdigest()[:8]
        keys.append(Key(kid, secret))
    if not keys:
        raise ConfigError("TOKEN_ENCRYPTION_KEY is empty")
    return keys


def new_key_text(kid: str | None = None) -> str:
    secret = os.urandom(32)
    kid = kid or "k" + hashlib.sha256(secret).hexdigest()[:8]
    return f"{kid}:{base64.urlsafe_b64encode(secret).decode().rstrip('=')}"


class Cipher:
    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise ConfigError("no encryption key")
        self._keys = {k.kid: k for k in keys}
        self.current = keys[0]

    @classmethod
    def from_setting(cls, value: str | None) -> Cipher:
        return cls(parse_keyring(value))

    def encrypt(self, plaintext: str, purpose: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        sealed = AESGCM(self.current.secret).encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"v1:{self.current.kid}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, ciphertext: str, purpose: str) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            version, kid, body = ciphertext.split(":", 2)
        except (ValueError, AttributeError):
            raise DecryptionError("malformed ciphertext") from None
        key = self._keys.get(kid)
        if version != "v1" or key is None:
            raise DecryptionError(
                f"ciphertext under unknown key id {kid!r}" if version == "v1" else "unknown ciphertext version"
            )
        try:
            raw = _b64decode(body)
            return AESGCM(key.secret).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except (InvalidTag, ValueError):
            raise DecryptionError("ciphertext failed authentication") from None

    def key_id_of(self, ciphertext: str) -> str | None:
        parts = ciphertext.split(":", 2) if ciphertext else []
        return parts[1] if len(parts) == 3 else None


def token_cipher() -> Cipher:
    from lib.config import settings

    return Cipher.from_setting(settings().token_encryption_key)
