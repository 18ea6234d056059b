"""Helpers of the adoption tests: load the OnyxOS fixture copy into a database and look at it."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "onyxos"
AGENCY = "2fd2cf7c-daa0-466e-969d-c3295387b113"
MARA = "a3ef3426-c3f6-4ba5-8119-bb8810456aa0"  # grandmaster
JULES = "5113592c-feba-431f-ac99-f57a7c94556b"  # chatter
LANA, OLIVIA, LEXI, MIA = (
    "8d7d7939-f6a0-4691-8965-10e0b57d229a",
    "af184b3f-ec2e-40cd-8966-08c599026ec4",
    "f0bb2bbb-d93f-4b78-b3fe-2e4bff17b79e",
    "631ff7a3-7f48-4d94-bd13-b55662e953a3",
)
LEGACY_FIGURES = {LANA: "4607.00", OLIVIA: "796.04", LEXI: "0.00", MIA: "0.00"}
# every row of the older ledger as text, in id order: equal before and after means untouched
ROW_HASHES = "select id::text, md5(t::text) from {table} t order by id"


def with_database(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    name = f"onyx_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def load_fixture(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("onyxos-schema.sql", "onyxos-data.sql"):
            conn.execute((FIXTURE / name).read_text())


def fixture_tokens() -> list[str]:
    """Every plaintext token value of the fixture (shaped like Fanvue's ory_at_/ory_rt_ tokens)."""
    import re

    return sorted(set(re.findall(r"ory_(?:at|rt)_[A-Za-z0-9_.\-]+", (FIXTURE / "onyxos-data.sql").read_text())))


def text_values_containing(url: str, needles: list[str]) -> list[str]:
    """(schema.table.column) of every text-like column in the database holding one of the needles."""
    found = []
    with psycopg.connect(url, autocommit=True) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns c"
            " join pg_class k on k.relname = c.table_name and k.relnamespace = c.table_schema::regnamespace"
            " where k.relkind = 'r' and c.table_schema not in ('pg_catalog', 'information_schema')"
            " and c.data_type in ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'USER-DEFINED')"
        ).fetchall()
        for schema, table, column in columns:
            hit = conn.execute(
                f'select count(*) from "{schema}"."{table}" where "{column}"::text like any(%s)',
                ([f"%{n}%" for n in needles],),
            ).fetchone()[0]
            if hit:
                found.append(f"{schema}.{table}.{column}")
    return found


def pg_dump_text(url: str, binary: str = "pg_dump") -> str | None:
    """The whole database as pg_dump prints it, or None when no compatible pg_dump is installed."""
    path = shutil.which(binary) if "/" not in binary else binary
    if not path:
        return None
    run = subprocess.run([path, "--dbname", url], capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0 and "version mismatch" in run.stderr:
        return None
    assert run.returncode == 0, run.stderr
    return run.stdout


@contextmanager
def as_user(conn: psycopg.Connection, role: str, user_id: str | None = None) -> Iterator[psycopg.Connection]:
    """One transaction as a REST role with the JWT claims PostgREST would set; always rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute(f"set local role {role}")
        claims = {"role": role} if user_id is None else {"sub": user_id, "role": role}
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield conn


def denied(conn: psycopg.Connection, role: str, statement: str, user_id: str | None = None) -> bool:
    try:
        with as_user(conn, role, user_id) as c:
            c.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def scalar(url: str, query: str, params: Any = None) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]
