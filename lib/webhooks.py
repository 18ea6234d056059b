"""Fanvue webhook deliveries: signature verification, replay identity and payload reading.

`X-Fanvue-Signature: t=<unix seconds>,v0=<hex>` where v0 = hex(HMAC-SHA256(secret, "<t>.<raw body>"))
(https://api.fanvue.com/docs/webhooks/webhooks-overview). We verify over the raw bytes, in constant time, within a 5-minute window,
and only then parse the body. A delivery is identified by sha256("<t>.<raw body>"), so the same
signed delivery is processed once however often it is replayed.

Payloads are flat, without an event id or type: the type is guessed from the fields, and the
delivery is only a trigger for a sync (webhooks never write revenue: the sync reads the sale from
/insights/earnings).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.timeutil import parse_utc

SIGNATURE_HEADER = "X-Fanvue-Signature"
TOLERANCE_S = 300
MAX_DEPTH = 32

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_T = re.compile(r"^[0-9]{1,12}$")
_TYPE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


class WebhookError(ValueError):
    """A delivery we refuse. `status` and `code` are what the endpoint answers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VerifiedDelivery:
    t: int
    delivery_hash: str


def sign(secret: str, body: bytes, t: int | None = None) -> str:
    """The header value Fanvue would send for `body` at time `t` (tests and local tools)."""
    t = int(time.time()) if t is None else int(t)
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v0={digest}"


def parse_signature(header: str | None) -> tuple[str, list[str]]:
    """(t as sent, [v0 signatures]) or a 401 WebhookError. Several v0 values are allowed (rotation)."""
    if not header or not header.strip():
        raise WebhookError(401, "missing_signature", f"send {SIGNATURE_HEADER}: t=<unix seconds>,v0=<hex>")
    if len(header) > 1024:
        raise WebhookError(401, "malformed_signature", f"{SIGNATURE_HEADER} is too long")
    t: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookError(401, "malformed_signature", f"{SIGNATURE_HEADER} must be t=<unix seconds>,v0=<hex>")
        name, value = name.strip(), value.strip()
        if name == "t":
            if t is not None or not _T.match(value):
                raise WebhookError(401, "malformed_signature", "the signature timestamp t is not valid")
            t = value
        elif name == "v0" and _HEX64.match(value):
            signatures.append(value.lower())
        # other schemes (v1, ...) are ignored, as a verifier of a versioned scheme should
    if t is None or not signatures:
        raise WebhookError(401, "malformed_signature", f"{SIGNATURE_HEADER} needs t= and a 64-hex-digit v0=")
    return t, signatures


def verify(
    secret: str | None, header: str | None, body: bytes, now: float | None = None, tolerance_s: int = TOLERANCE_S
) -> VerifiedDelivery:
    """Checks the signature of one delivery; raises WebhookError (503 unset secret, 401 otherwise)."""
    if not secret:
        raise WebhookError(
            503, "webhook_not_configured", "FANVUE_WEBHOOK_SECRET is not set; webhook deliveries are refused"
        )
    t_text, signatures = parse_signature(header)
    t = int(t_text)
    now = time.time() if now is None else now
    if t < now - tolerance_s:
        raise WebhookError(401, "stale_signature", f"the signature is older than {tolerance_s} s")
    if t > now + tolerance_s:
        raise WebhookError(401, "stale_signature", f"the signature is dated more than {tolerance_s} s ahead")
    signed = t_text.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookError(401, "invalid_signature", "the signature does not match the body")
    return VerifiedDelivery(t=t, delivery_hash=hashlib.sha256(signed).hexdigest())


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_payload(body: bytes) -> dict[str, Any]:
    """The JSON object of a verified delivery, made safe for jsonb (no NUL, no lone surrogate)."""
    try:
        text = body.decode("utf-8")
        payload = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookError(400, "malformed_body", "the webhook body is not valid UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, "invalid_payload", "the webhook body must be a JSON object")
    cleaned: dict[str, Any] = _clean(payload, 0)
    return cleaned


def _clean_text(value: str) -> str:
    value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800-style escapes: jsonb refuses them
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _clean(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WebhookError(400, "invalid_payload", f"the webhook body is nested deeper than {MAX_DEPTH}")
    if isinstance(value, dict):
        return {_clean_text(str(k)): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise WebhookError(400, "invalid_payload", "the webhook body holds a number out of range")
    return value


def recipient_uuid(payload: dict[str, Any]) -> str | None:
    """The creator the event is for (`recipientUuid`), canonical, or None."""
    value = payload.get("recipientUuid")
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def guess_event_type(payload: dict[str, Any]) -> str:
    """Best guess of the event (the documented payloads carry no type: https://api.fanvue.com/docs/webhooks/webhooks-overview)."""
    for field in ("type", "event", "eventType"):
        value = payload.get(field)
        if isinstance(value, str) and _TYPE.match(value):
            return value
    keys = set(payload)
    if "price" in keys and ("context" in keys or "senderUuid" in keys):
        return "tip.received"
    if "price" in keys and ("routeUuid" in keys or "postUuid" in keys):
        return "purchase.received"
    if "price" in keys:
        return "subscriber.new"
    if keys & {"messageUuid", "message", "text"}:
        return "message.received"
    if "sender" in keys:
        return "follower.new"
    return "unknown"


def event_time(payload: dict[str, Any], signature_t: int) -> datetime:
    """When the event happened: the payload's `timestamp` (ISO 8601, or unix seconds or milliseconds),
    never later than the signature (Fanvue signs after the event); else the end of the signed second."""
    signed = datetime.fromtimestamp(signature_t + 1, UTC)
    value = payload.get("timestamp")
    parsed: datetime | None = None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            seconds = value / 1000 if value > 1e11 else value
            parsed = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(value, str) and 0 < len(value) <= 40:
            parsed = parse_utc(value.strip())
    except (ValueError, OverflowError, OSError):
        parsed = None
    if parsed is None or parsed > signed or parsed < signed - timedelta(days=30):
        return signed
    return parsed.astimezone(UTC)
