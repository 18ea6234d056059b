"""Redaction for anything that may reach a log line or an error message (tokens never leave)."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWTs
    re.compile(r"ory_[a-z]{2}_[A-Za-z0-9_.-]+"),  # Ory tokens
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)((?:access|refresh|id)_token|client_secret|code_verifier|code|secret|password|apikey|ticket"
        r"|fanvue_oauth_[A-Za-z0-9_-]+)"
        r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
    re.compile(r"v1:[A-Za-z0-9_-]+:[A-Za-z0-9+/=_-]{16,}"),  # our ciphertexts
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


_installed = False
_install_lock = threading.Lock()


def install_redaction() -> None:
    """Redacts every log record of the process when it is created, before any handler (Vercel's,
    a test's, a library's) formats it: a handler-level filter would only cover handlers that exist
    when it is attached, and a logger-level one only records logged on that exact logger.
    Idempotent; the message is rendered once and its arguments dropped."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:
                return record
            record.msg, record.args = redact(message), ()
            if record.exc_info and record.exc_info[1] is not None:
                # tracebacks carry exception messages: render them once, redacted
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
