"""The Fanvue token lifecycle of one connection (F5): the only code that reads or writes tokens.

- Refresh when less than TOKEN_REFRESH_MARGIN_S (default 5 min) remain, or once after a 401.
- Single-flight across threads and processes through the connection's refresh lease in Postgres;
  a caller that finds the lease busy waits and re-reads instead of refreshing.
- The rotated pair is persisted (compare-and-swap on token_version) before the new access token is
  returned to anyone.
- `invalid_grant` re-reads the row inside the same SQL call: only when nobody rotated meanwhile does
  the connection become `needs_reconnect`, with a dated reason.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lib.config import Settings, settings
from lib.crypto import Cipher, DecryptionError, token_cipher
from lib.db import Conflict, Database
from lib.timeutil import maybe_utc

log = logging.getLogger("fanvue_sync.tokens")

ACCESS = "fanvue-access-token"
REFRESH = "fanvue-refresh-token"
BUSY_WAIT_S = 25.0


class TokenError(Exception):
    """The connection cannot give a usable token; `reason` says why, `reconnect` says what to do."""

    def __init__(self, message: str, *, needs_reconnect: bool = False) -> None:
        super().__init__(message)
        self.needs_reconnect = needs_reconnect


def worker_id(prefix: str = "w") -> str:
    """A name for this process/thread, used as lease owner (visible in diagnostics)."""
    return f"{prefix}:{socket.gethostname()[:20]}:{os.getpid()}:{threading.get_ident() % 100000}:{secrets.token_hex(3)}"


@dataclass
class RefreshResult:
    refreshed: bool
    status: str
    expires_at: datetime | None
    token_version: int


class ConnectionTokens:
    """A TokenProvider (see lib.fanvue.client) backed by one fanvue_connections row."""

    def __init__(
        self,
        db: Database,
        connection_id: str,
        *,
        owner: str | None = None,
        config: Settings | None = None,
        cipher: Cipher | None = None,
        http: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.connection_id = connection_id
        # Unique per instance: sibling threads of one worker must not share the refresh lease.
        self.owner = f"{owner or worker_id('refresh')}/{secrets.token_hex(3)}"
        self.config = config or settings()
        self.cipher = cipher or token_cipher()
        self._http = http
        self._sleep = sleep
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires_at: datetime | None = None
        self._version: int | None = None
        self.refreshes = 0

    # -- TokenProvider
    def access_token(self) -> str:
        with self._lock:
            if self._access and self._fresh(self._expires_at):
                return self._access
            return self._obtain(force=False)

    def refresh_after_unauthorized(self, rejected: str) -> str:
        with self._lock:
            if self._access and rejected != self._access and self._fresh(self._expires_at):
                return self._access  # another thread already replaced the rejected token
            return self._obtain(force=True)

    # -- explicit refresh (endpoint and cron)
    def refresh(self, force: bool = False, seen_version: int | None = None) -> RefreshResult:
        """Refreshes if due, or when forced; with seen_version, forced only while that version is current."""
        with self._lock:
            before = self.refreshes
            if seen_version is not None:
                self._version = seen_version
            self._obtain(force=force)
            return RefreshResult(
                refreshed=self.refreshes > before,
                status="active",
                expires_at=self._expires_at,
                token_version=self._version or 0,
            )

    # -- internals
    def _fresh(self, expires_at: datetime | None) -> bool:
        if expires_at is None:
            return False
        return (expires_at - datetime.now(UTC)).total_seconds() > self.config.token_refresh_margin_s

    def _remember(self, connection: dict[str, Any]) -> str:
        try:
            access = self.cipher.decrypt(connection["access_token_enc"], ACCESS)
        except (DecryptionError, TypeError, KeyError):
            raise TokenError("stored access token cannot be decrypted (wrong TOKEN_ENCRYPTION_KEY?)") from None
        self._access = access
        self._expires_at = maybe_utc(connection.get("expires_at"))
        self._version = int(connection.get("token_version") or 0)
        return access

    def _obtain(self, force: bool) -> str:
        seen = self._version if force else None
        deadline = time.monotonic() + BUSY_WAIT_S
        while True:
            claim = self.db.call(
                "fanvue_claim_token_refresh",
                connection_id=self.connection_id,
                owner=self.owner,
                lease_seconds=30,
                margin_seconds=self.config.token_refresh_margin_s,
                force=force,
                seen_version=seen,
            )
            outcome, connection = claim["outcome"], claim["connection"]
            if outcome == "fresh":
                return self._remember(connection)
            if outcome == "inactive":
                reason = connection.get("status_reason") or connection.get("status")
                raise TokenError(f"connection needs to be reconnected: {reason}", needs_reconnect=True)
            if outcome == "busy":
                if time.monotonic() > deadline:
                    raise TokenError("another worker has been refreshing this connection for too long")
                self._sleep(0.2 + secrets.randbelow(200) / 1000)
                continue
            return self._rotate(connection)

    def _rotate(self, connection: dict[str, Any]) -> str:
        from lib.fanvue import oauth
        from lib.fanvue.errors import InvalidGrant, OAuthError, OAuthOutcomeUnknown

        version = int(connection.get("token_version") or 0)
        try:
            refresh_token = self.cipher.decrypt(connection["refresh_token_enc"], REFRESH)
        except (DecryptionError, TypeError, KeyError):
            self.db.call(
                "fanvue_fail_token_refresh",
                connection_id=self.connection_id,
                owner=self.owner,
                expected_version=version,
                error="stored refresh token cannot be decrypted",
                invalid_grant=False,
            )
            raise TokenError("stored refresh token cannot be decrypted (wrong TOKEN_ENCRYPTION_KEY?)") from None
        client_id, client_secret = self.config.fanvue_client_id, self.config.fanvue_client_secret
        if not client_id or not client_secret:
            self.db.call(
                "fanvue_fail_token_refresh",
                connection_id=self.connection_id,
                owner=self.owner,
                expected_version=version,
                error="FANVUE_CLIENT_ID/FANVUE_CLIENT_SECRET not set",
                invalid_grant=False,
            )
            raise TokenError("FANVUE_CLIENT_ID and FANVUE_CLIENT_SECRET must be set to refresh tokens")
        try:
            tokens = oauth.refresh(
                self._http_client(), self.config.fanvue_auth_base, client_id, client_secret, refresh_token
            )
        except (InvalidGrant, OAuthOutcomeUnknown) as exc:
            # A lost answer is treated like invalid_grant: the old refresh token may already be spent,
            # and presenting it again would make Fanvue revoke the whole grant.
            when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            detail = (
                (getattr(exc, "description", None) or "invalid_grant")
                if isinstance(exc, InvalidGrant)
                else "the refresh answer was lost, so the rotated token is unknown"
            )
            result = self.db.call(
                "fanvue_fail_token_refresh",
                connection_id=self.connection_id,
                owner=self.owner,
                expected_version=version,
                error=f"refresh token rejected by Fanvue at {when}: {detail}",
                invalid_grant=True,
            )
            if result["needs_reconnect"]:
                raise TokenError(
                    f"refresh token rejected by Fanvue at {when} ({detail}); reconnect", needs_reconnect=True
                ) from None
            return self._remember(result["connection"])  # a sibling rotated meanwhile: use its token
        except OAuthError as exc:
            self.db.call(
                "fanvue_fail_token_refresh",
                connection_id=self.connection_id,
                owner=self.owner,
                expected_version=version,
                error=f"token refresh failed: {exc}",
                invalid_grant=False,
            )
            raise TokenError(f"token refresh failed: {exc}") from None
        access_enc = self.cipher.encrypt(tokens.access_token, ACCESS)
        refresh_enc = self.cipher.encrypt(tokens.refresh_token, REFRESH) if tokens.refresh_token else None
        try:
            stored = self.db.call(
                "fanvue_store_token_refresh",
                connection_id=self.connection_id,
                owner=self.owner,
                expected_version=version,
                access_enc=access_enc,
                refresh_enc=refresh_enc,
                key_id=self.cipher.current.kid,
                expires_at=tokens.expires_at,
                scopes=scopes_array(tokens.scope),
            )
        except Conflict:
            raise TokenError("token changed while refreshing; the rotated pair could not be stored") from None
        self.refreshes += 1
        self._access = tokens.access_token
        self._expires_at = maybe_utc(stored.get("expires_at"))
        self._version = int(stored.get("token_version") or version + 1)
        return tokens.access_token

    def _http_client(self) -> Any:
        if self._http is None:
            import httpx

            self._http = httpx.Client(timeout=15.0)
        return self._http


def scopes_array(scope: str | None) -> Any:
    """A grant's space-separated OAuth `scope` as the text[] the connection row stores (None if absent)."""
    from lib.db.transport import TextArray

    return TextArray(scope.split()) if scope else None


def encrypt_token_pair(cipher: Cipher, access: str, refresh: str | None) -> tuple[str, str | None]:
    return cipher.encrypt(access, ACCESS), (cipher.encrypt(refresh, REFRESH) if refresh else None)
