"""Database access: one process-wide transport chosen from the environment."""

from __future__ import annotations

import threading

from lib.config import ConfigError, Settings, settings
from lib.db.errors import Conflict, DbError, InvalidInput, NotFound
from lib.db.transport import Database

_lock = threading.Lock()
_database: Database | None = None


def database_from_settings(config: Settings) -> Database:
    """DATABASE_URL (or the integration's POSTGRES_URL) wins: faster, what the local stack uses; else
    supabase-py; else a clear error."""
    if config.effective_database_url:
        from lib.db.postgres import PostgresDatabase

        return PostgresDatabase(config.effective_database_url, max_connections=max(4, config.sync_concurrency * 2))
    if config.supabase_url and config.supabase_service_role_key:
        from lib.db.supabase_rpc import SupabaseDatabase

        return SupabaseDatabase(config.supabase_url, config.supabase_service_role_key)
    raise ConfigError(
        "no database configured: set DATABASE_URL (Postgres or the Supabase pooler) or SUPABASE_URL and "
        "SUPABASE_SERVICE_ROLE_KEY (run `python -m lib.dev` for a local stack)"
    )


def get_database() -> Database:
    global _database
    with _lock:
        if _database is None:
            _database = database_from_settings(settings())
        return _database


def reset_database() -> None:
    global _database
    with _lock:
        if _database is not None:
            _database.close()
        _database = None


__all__ = [
    "Conflict",
    "Database",
    "DbError",
    "InvalidInput",
    "NotFound",
    "database_from_settings",
    "get_database",
    "reset_database",
]
