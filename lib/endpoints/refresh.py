"""refresh: rotate a connection's token now (or only if near expiry), never returning a token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lib.config import settings
from lib.db import Database, get_database
from lib.http.access import resolve_connection
from lib.http.errors import ApiError
from lib.http.params import RefreshQuery
from lib.http.response import Response, json_response
from lib.http.shell import Request
from lib.timeutil import maybe_utc
from lib.tokens import ConnectionTokens, TokenError


def refresh_endpoint(request: Request[RefreshQuery]) -> Response:
    q = request.query
    db = get_database()
    connection = resolve_connection(
        db,
        request.caller,
        str(q.connection_id) if q.connection_id else None,
        str(q.model_id) if q.model_id else None,
    )
    throttle = _claim_forced_refresh(db, connection["id"]) if q.force else None
    tokens = ConnectionTokens(db, connection["id"])
    try:
        result = tokens.refresh(force=q.force)
    except TokenError as exc:
        if throttle:
            db.call("fanvue_throttle_give_back", key=throttle)  # nothing rotated: a retry must not wait
        current = db.call("fanvue_get_connection", connection_id=connection["id"])
        raise ApiError(
            409 if exc.needs_reconnect else 502,
            "needs_reconnect" if exc.needs_reconnect else "refresh_failed",
            str(exc),
            details={
                "connection_id": connection["id"],
                "status": current.get("status"),
                "reconnect_url": _reconnect_url(current) if exc.needs_reconnect else None,
            },
        ) from None
    current = db.call("fanvue_get_connection", connection_id=connection["id"])
    expires_at = maybe_utc(current.get("expires_at"))
    seconds_left = int((expires_at - datetime.now(UTC)).total_seconds()) if expires_at else None
    return json_response(
        {
            "connection_id": connection["id"],
            "kind": current.get("kind"),
            "status": current.get("status"),
            "refreshed": result.refreshed,
            "expires_at": current.get("expires_at"),
            "expires_in_s": seconds_left,
            "token_version": current.get("token_version"),
            "last_refresh_at": current.get("last_refresh_at"),
        }
    )


def _claim_forced_refresh(db: Database, connection_id: str) -> str | None:
    """A forced refresh rotates the grant and spends a Fanvue request: at most one per
    REFRESH_FORCE_MIN_INTERVAL_S per connection, claimed atomically across instances."""
    interval = settings().refresh_force_min_interval_s
    if interval <= 0:
        return None
    key = f"refresh:{connection_id}"
    taken = db.call("fanvue_throttle_take", key=key, limit=1, window_s=interval)
    if not taken["allowed"]:
        _too_soon(interval, int(taken["retry_after_s"]))
    return key


def _too_soon(interval: int, retry_after: int) -> None:
    raise ApiError(
        429,
        "refresh_too_soon",
        f"this grant was force-refreshed less than {interval} s ago; a forced refresh is allowed once "
        f"every {interval} s "
        f"(REFRESH_FORCE_MIN_INTERVAL_S): retry in {retry_after} s, or call without force=true "
        "(the token is refreshed when it nears expiry)",
        details={"retry_after_s": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _reconnect_url(connection: dict[str, Any]) -> str:
    if connection.get("kind") == "agency":
        return f"/api/auth/fanvue/connect?agencyId={connection.get('agency_id')}"
    return "/api/auth/fanvue/connect (with the model's modelId)"
