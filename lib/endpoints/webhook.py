"""POST /api/webhooks/fanvue: verify the signature, record the delivery once, mark the creator due,
then sync the creator right away within a short budget (lib.freshness).

Order matters: the secret must be configured (503, fail closed), the signature must verify over the
raw body (401) before the body is even parsed (400), and only then is anything written, in one SQL
call that records the event and marks the models due atomically. The webhook itself never writes
revenue: the immediate sync reads the sale from Fanvue like every other sync.
"""

from __future__ import annotations

import logging
from typing import Any

from lib.config import settings
from lib.db import get_database
from lib.http.errors import ApiError
from lib.http.response import Response, json_response
from lib.http.shell import Request
from lib.webhooks import (
    SIGNATURE_HEADER,
    WebhookError,
    event_time,
    guess_event_type,
    parse_payload,
    recipient_uuid,
    verify,
)

log = logging.getLogger("fanvue_sync.webhooks")


def _refuse(exc: WebhookError) -> ApiError:
    headers = {"WWW-Authenticate": 'Signature realm="fanvue-webhook"'} if exc.status == 401 else None
    return ApiError(exc.status, exc.code, exc.message, headers=headers)


def receive_webhook(request: Request[Any]) -> Response:
    secret = settings().fanvue_webhook_secret
    values = request.headers.get_all(SIGNATURE_HEADER) if hasattr(request.headers, "get_all") else None
    try:
        if secret and values and len(values) > 1:
            raise WebhookError(401, "malformed_signature", f"{SIGNATURE_HEADER} sent more than once")
        delivery = verify(secret, request.headers.get(SIGNATURE_HEADER), request.body)
        payload = parse_payload(request.body)
    except WebhookError as exc:
        if exc.status == 401:
            log.warning("webhook refused: %s", exc.code)
        raise _refuse(exc) from None
    recipient = recipient_uuid(payload)
    event_type = guess_event_type(payload)
    result = get_database().call(
        "fanvue_record_webhook",
        signature_t=delivery.t,
        delivery_hash=delivery.delivery_hash,
        recipient_uuid=recipient,
        event_type=event_type,
        payload=payload,
    )
    marked = len(result.get("model_ids") or [])
    if result.get("duplicate"):
        log.info(
            "webhook %s replayed (event %s); already processed", delivery.delivery_hash[:12], result.get("event_id")
        )
        return json_response({"received": True, "duplicate": True, "event_id": result.get("event_id")})
    log.info(
        "webhook %s recorded as event %s (%s): %d model(s) marked due",
        delivery.delivery_hash[:12],
        result.get("event_id"),
        event_type,
        marked,
    )
    from lib.alerts.hooks import quick_check
    from lib.freshness import sync_after_webhook

    config = settings()
    db = get_database()
    syncs = sync_after_webhook(
        db, config, [str(m) for m in result.get("model_ids") or []], event_time(payload, delivery.t)
    )
    quick_check(db, config, "webhook")
    return json_response(
        {
            "received": True,
            "duplicate": False,
            "event_id": result.get("event_id"),
            "event_type": event_type,
            "models_marked": marked,
            "synced": any(s["synced"] for s in syncs),
            "syncs": syncs,
        }
    )
