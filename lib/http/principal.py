"""Who is calling, once authenticated: the one concept the shell, auth and access share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Principal:
    """Who is calling: a dashboard user (with agency and role) or the Vercel cron."""

    kind: str  # "user" | "cron"
    user_id: str | None = None
    agency_id: str | None = None
    role: str | None = None
    ticket: Any = None  # the connect ticket that authenticated a browser navigation, if any

    @property
    def member(self) -> tuple[str, str]:
        """(user id, agency id) of a dashboard user: what a flow started by a person is bound to."""
        if self.kind != "user" or self.user_id is None or self.agency_id is None:
            raise ValueError("only a dashboard user of an agency has a user and an agency")
        return self.user_id, self.agency_id

    @property
    def is_admin(self) -> bool:
        """The cron, or a user whose app role maps to admin (the database's role map decides)."""
        return self.kind == "cron" or self.role == "admin"
