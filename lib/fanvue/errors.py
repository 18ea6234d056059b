"""Errors raised by the Fanvue client and OAuth helpers.

Every error carries a message that is safe to log and show to an operator: it names the request
(method and path, never the query or headers) and the server's own short explanation, and it never
contains an access token, refresh token, authorization code, code verifier or client secret.
Callers branch on the class (or ``status``); the message is for humans.
"""

from __future__ import annotations

__all__ = [
    "DeadlineExceeded",
    "FanvueAuthError",
    "FanvueBadRequest",
    "FanvueBadResponse",
    "FanvueError",
    "FanvueForbidden",
    "FanvueNotFound",
    "FanvueRateLimited",
    "FanvueUnavailable",
    "InvalidGrant",
    "OAuthError",
    "OAuthUnavailable",
    "mask_secrets",
]

_MAX_DETAIL = 300


def mask_secrets(text: str, *secrets: str | None) -> str:
    """Replace every occurrence of each known secret value in ``text`` with ``[redacted]`` (the
    pattern-based redaction of log lines is lib.safe_log.redact; this package imports nothing of lib).

    Belt and braces: messages are built from server text that should never echo a secret, but a
    misbehaving server (or proxy) might, and a leaked refresh token is a stolen connection.
    """
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return text


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "\u2026"


class FanvueError(Exception):
    """Base class: something went wrong talking to Fanvue.

    ``status`` is the HTTP status when there was a response (``None`` for transport problems and
    local decisions such as a passed deadline); ``detail`` is the server's own short explanation.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.message = _clip(message)
        self.status = status
        self.method = method
        self.path = path
        self.detail = _clip(detail) if detail else None
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class FanvueAuthError(FanvueError):
    """401 even after one refresh and retry: the connection needs re-authorisation (or the grant
    was revoked). Do not retry; mark the connection ``needs_reconnect``."""


class FanvueForbidden(FanvueError):
    """403: the token lacks a scope or the user may not do this. Re-consent with the right scopes."""


class FanvueNotFound(FanvueError):
    """404: e.g. "Creator not found or not assigned to team member" (wrong creator for this token, or
    the agency route used for the connected user itself: use the personal route then)."""


class FanvueBadRequest(FanvueError):
    """400 or 410: our request is wrong (validation, unsupported or sunset API version)."""


class FanvueBadResponse(FanvueError):
    """A 2xx whose body does not have the documented shape. Nothing from it should be stored."""


class FanvueUnavailable(FanvueError):
    """5xx, timeouts or dropped connections that outlasted the retry budget. Try again later."""


class FanvueRateLimited(FanvueError):
    """Still 429 after the 429 retry budget. ``retry_after`` is the server's last hint (seconds)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        method: str | None = None,
        path: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, status=status, method=method, path=path, detail=detail)
        self.retry_after = retry_after


class DeadlineExceeded(FanvueError):
    """The next wait (backoff, Retry-After or rate-limit pacing) would pass the caller's deadline.

    Raised *before* sleeping, so the caller still has ``remaining_s`` seconds to save progress.
    ``wait_s`` is how long we would have waited.
    """

    def __init__(
        self,
        message: str,
        *,
        wait_s: float,
        remaining_s: float,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.wait_s = wait_s
        self.remaining_s = remaining_s


class OAuthError(FanvueError):
    """The token endpoint refused or failed. ``error`` is the OAuth error code (e.g.
    ``invalid_client``), ``description`` the server's ``error_description`` (secrets redacted)."""

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, status=status, method="POST", path="/oauth2/token", detail=description)
        self.error = error
        self.description = self.detail


class InvalidGrant(OAuthError):
    """400 ``invalid_grant``: the code or refresh token is used, expired or revoked.

    For a refresh this usually means a sibling already rotated the token (re-read storage first)
    or the grant is dead (the user must reconnect). ``description`` is e.g.
    "The refresh token was already used."
    """

    def __init__(self, description: str | None, *, status: int | None = 400) -> None:
        desc = description or "invalid_grant"
        super().__init__(
            f"token endpoint rejected the grant (invalid_grant): {desc}",
            error="invalid_grant",
            description=desc,
            status=status,
        )


class OAuthOutcomeUnknown(OAuthError):
    """The token request was sent but its answer was lost (read timeout, dropped connection).

    For a refresh, Fanvue may have rotated the token already: the old refresh token must never be sent
    again (that reuse revokes the grant), so the caller treats this like invalid_grant.
    """


class OAuthUnavailable(OAuthError):
    """5xx, timeout or dropped connection at the token endpoint.

    Never retried automatically: for a refresh the server may have rotated the token before the
    answer was lost, and re-sending the old refresh token would then revoke the whole grant.
    """
