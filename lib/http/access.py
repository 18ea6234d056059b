"""Which model or connection a caller means, and whether they may touch it (F8)."""

from __future__ import annotations

from typing import Any

from lib.db import Database
from lib.http.errors import ApiError, conflict, not_found
from lib.http.principal import Principal


def resolve_model(db: Database, principal: Principal, model_id: str | None, model_name: str | None) -> dict[str, Any]:
    """The one model named by id or exact (case-insensitive) name within the caller's agency.

    Another agency's model answers exactly like a missing one (404), so ids cannot be probed.
    """
    if not model_id and not model_name:
        raise ApiError(422, "missing_parameter", "give modelId or modelName")
    if model_id and model_name:
        raise ApiError(422, "invalid_parameter", "give modelId or modelName, not both")
    agency = None if principal.kind == "cron" else principal.agency_id
    if principal.kind == "cron" and not model_id:
        raise ApiError(422, "invalid_parameter", "cron calls must name the model by modelId")
    matches = db.call("fanvue_find_models", agency_id=agency, model_id=model_id, name=model_name)
    if not matches:
        raise not_found(
            f"no model {'with id ' + str(model_id) if model_id else 'named ' + repr(model_name)} in your agency"
        )
    if len(matches) > 1:
        raise conflict(
            "ambiguous_model_name",
            f"{len(matches)} models are named {model_name!r}; use modelId",
            candidates=[{"id": m["id"], "name": m["name"]} for m in matches],
        )
    model: dict[str, Any] = matches[0]
    return model


def resolve_connection(
    db: Database, principal: Principal, connection_id: str | None, model_id: str | None
) -> dict[str, Any]:
    """The connection named directly, or the one syncing a model; always within the caller's agency."""
    if bool(connection_id) == bool(model_id):
        raise ApiError(422, "invalid_parameter", "give exactly one of connectionId or modelId")
    if model_id:
        model = resolve_model(db, principal, model_id, None)
        connection_id = model.get("connection_id")
        if not connection_id:
            raise not_found("this model has no Fanvue connection; connect it first")
    connection: dict[str, Any] | None = db.call("fanvue_get_connection", connection_id=connection_id)
    if not connection or (principal.kind != "cron" and connection.get("agency_id") != principal.agency_id):
        raise not_found("no such connection in your agency")
    return connection
