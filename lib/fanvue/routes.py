"""Which route reads a creator: the one rule, used by the sync, diagnose's probe and the reconcile.

A token reads a creator's own data on the personal routes (`/insights/...`, `/users/account`) only
when it IS that creator's grant; every other token (an agency's) must use
`/creators/{uuid}/...`. The personal route with an agency token answers the agency owner's own
earnings, silently misfiled under the creator; the creator route for the connected account itself
answers "Creator not found".
"""

from __future__ import annotations

from typing import Any


def is_personal(connection_kind: Any, connection_user_uuid: Any, creator_uuid: Any) -> bool:
    """True when the connection is the creator's own grant (personal routes, and spending, apply)."""
    return (
        connection_kind == "creator"
        and connection_user_uuid is not None
        and str(connection_user_uuid) == str(creator_uuid)
    )


def creator_route(connection_kind: Any, connection_user_uuid: Any, creator_uuid: Any) -> str | None:
    """The `creator_uuid` argument the client takes: None for the personal route, else the uuid."""
    if is_personal(connection_kind, connection_user_uuid, creator_uuid):
        return None
    return str(creator_uuid)
