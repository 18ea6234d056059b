"""Which database URL is read: DATABASE_URL, else the Vercel x Supabase integration's POSTGRES_URL
(pooled) for the functions and POSTGRES_URL_NON_POOLING for `lib.dev migrate`; integration-only query
parameters that libpq refuses are dropped. Against the real test database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

from lib.config import load_settings
from lib.db import database_from_settings

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "postgresql://nobody:pw@127.0.0.1:1/nothing?connect_timeout=2"


def as_uri(conninfo: str, extra: str = "") -> str:
    """The test database as the kind of URL the integration sets (with its `supa` parameter)."""
    p = conninfo_to_dict(conninfo)
    auth = p.get("user", "postgres") + (f":{p['password']}" if p.get("password") else "")
    host = p.get("host", "")
    netloc = f"{auth}@{host}:{p['port']}" if host and not host.startswith("/") else f"{auth}@"
    query = f"host={quote(host, safe='')}&" if host.startswith("/") else ""
    if host.startswith("/") and p.get("port"):
        query += f"port={p['port']}&"
    return f"postgresql://{netloc}/{p['dbname']}?{query}sslmode=disable{extra}"


def test_precedence_of_the_database_names():
    assert load_settings({"POSTGRES_URL": "postgresql://a/x"}).effective_database_url == "postgresql://a/x"
    both = load_settings(
        {
            "DATABASE_URL": "postgresql://explicit/x",
            "POSTGRES_URL": "postgresql://a/x",
            "POSTGRES_URL_NON_POOLING": "postgresql://direct/x",
        }
    )
    assert both.effective_database_url == "postgresql://explicit/x"
    assert both.migration_database_url == "postgresql://explicit/x"
    integration = load_settings(
        {
            "POSTGRES_URL": "postgresql://a:6543/x?sslmode=require&supa=base-pooler.x",
            "POSTGRES_URL_NON_POOLING": "postgresql://direct:5432/x?sslmode=require",
        }
    )
    assert integration.effective_database_url == "postgresql://a:6543/x?sslmode=require"
    assert integration.migration_database_url == "postgresql://direct:5432/x?sslmode=require"
    assert load_settings({}).effective_database_url is None


def test_the_integrations_pooled_url_reaches_the_database(database_url):
    config = load_settings(
        {
            "POSTGRES_URL": as_uri(database_url, "&supa=base-pooler.x"),
            "SUPABASE_URL": "http://127.0.0.1:1",
            "SUPABASE_SERVICE_ROLE_KEY": "unused",
        }
    )
    db = database_from_settings(config)
    try:
        assert type(db).__name__ == "PostgresDatabase"  # not the slower REST transport
        assert db.call("fanvue_get_profile", user_id=str(uuid.uuid4())) is None
        assert db.call("fanvue_get_profile", user_id=str(uuid.uuid4())) is None  # no prepared statements
    finally:
        db.close()


def _migrate(env_changes: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "POSTGRES_URL", "POSTGRES_URL_NON_POOLING")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "lib.dev", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_migrate_uses_the_non_pooling_url(database_url):
    done = _migrate({"POSTGRES_URL_NON_POOLING": as_uri(database_url), "POSTGRES_URL": UNREACHABLE})
    assert done.returncode == 0 and "nothing to do" in done.stdout, done.stdout + done.stderr
    assert "embedded" not in done.stdout


def test_migrate_prefers_an_explicit_database_url(database_url):
    done = _migrate({"DATABASE_URL": as_uri(database_url), "POSTGRES_URL_NON_POOLING": UNREACHABLE})
    assert done.returncode == 0 and "nothing to do" in done.stdout, done.stdout + done.stderr
