"""Redaction for anything that may reach a log line or an error message (tokens never leave)."""
from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWTs
    re.compile(r"ory_[a-z]{2}_[A-Za-z0-9_.-]+"),                              # Ory tokens
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:access|refresh|id)_token|client_secret|code_verifier|code|secret|password|apikey)"
               r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
    re.compile(r"v1:[A-Za-z0-9_-]+:[A-Za-z0-9+/=_-]{16,}"),                   # our ciphertexts
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: f"{m.group(1)} [redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


def describe_exception(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")[:500]


class RedactingFilter(logging.Filter):
    """Attach to handlers so even a careless log call cannot print a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001
            return True
        record.msg = redact(message)
        record.args = ()
        return True
