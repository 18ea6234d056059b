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
    def is_admin(self) -> bool:
        """The cron, or a user whose app role maps to admin (the database's role map decides)."""
        return self.kind == "cron" or self.role == "admin"
