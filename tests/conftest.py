"""Test session: a real Postgres (embedded, or TEST_DATABASE_URL) with a fresh database per run.

Nothing here mocks our code or the database. Fixtures that need the Fanvue sandbox or the served
api/ handlers live next to the tests that use them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _admin_url() -> tuple[str, object]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, None
    from devstack.embedded import start_embedded

    server = start_embedded(ROOT / ".data" / "test-pg")
    return server.get_uri("postgres"), server


def _with_database(url: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    admin_url, _server = _admin_url()
    name = f"fanvue_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_database(admin_url, name)
    from devstack.migrate import migrate

    report = migrate(url)
    assert not report.notices, f"migrations raised notices: {report.notices}"
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    from lib.config import reset_settings

    reset_settings()
    yield url
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    reset_settings()
    from lib.db import reset_database

    reset_database()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def db(database_url: str):
    from lib.db.postgres import PostgresDatabase

    database = PostgresDatabase(database_url, max_connections=16)
    yield database
    database.close()


@pytest.fixture()
def sql(database_url: str) -> Iterator[psycopg.Connection]:
    """A superuser connection for test setup and for reading what the functions wrote."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture()
def clean_db(sql: psycopg.Connection) -> psycopg.Connection:
    """Empties every table, for tests that look at the whole database (cron claims, runs)."""
    sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
    return sql
