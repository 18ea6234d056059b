"""refresh: rotate a connection's token now (or only if near expiry), never returning a token."""
from __future__ import annotations

from datetime import datetime, timezone

from lib.access import resolve_connection
from lib.db import get_database
from lib.http.errors import ApiError
from lib.http.response import Response, json_response
from lib.http.shell import Request
from lib.tokens import ConnectionTokens, TokenError, _parse_time


def refresh_endpoint(request: Request) -> Response:
    q = request.query
    db = get_database()
    connection = resolve_connection(db, request.principal, str(q.connection_id) if q.connection_id else None,
                                    str(q.model_id) if q.model_id else None)
    tokens = ConnectionTokens(db, connection["id"])
    try:
        result = tokens.refresh(force=q.force)
    except TokenError as exc:
        current = db.call("fanvue_get_connection", connection_id=connection["id"])
        raise ApiError(409 if exc.needs_reconnect else 502,
                       "needs_reconnect" if exc.needs_reconnect else "refresh_failed", str(exc),
                       details={"connection_id": connection["id"], "status": current.get("status"),
                                "reconnect_url": _reconnect_url(current) if exc.needs_reconnect else None}) from None
    current = db.call("fanvue_get_connection", connection_id=connection["id"])
    expires_at = _parse_time(current.get("expires_at"))
    seconds_left = int((expires_at - datetime.now(timezone.utc)).total_seconds()) if expires_at else None
    return json_response({
        "connection_id": connection["id"], "kind": current.get("kind"), "status": current.get("status"),
        "refreshed": result.refreshed, "expires_at": current.get("expires_at"), "expires_in_s": seconds_left,
        "token_version": current.get("token_version"), "last_refresh_at": current.get("last_refresh_at"),
    })


def _reconnect_url(connection: dict) -> str:
    if connection.get("kind") == "agency":
        return f"/api/auth/fanvue/connect?agencyId={connection.get('agency_id')}"
    return "/api/auth/fanvue/connect (with the model's modelId)"
