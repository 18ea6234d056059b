"""Setup rows for tests, written directly with SQL (the system under test only writes via the API)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg


@dataclass
class World:
    agency_id: str
    admin_id: str
    member_id: str


def make_agency(sql: psycopg.Connection, name: str = "Agency") -> World:
    agency_id = str(uuid.uuid4())
    admin_id, member_id = str(uuid.uuid4()), str(uuid.uuid4())
    sql.execute("insert into agencies (id, name) values (%s, %s)", (agency_id, name))
    sql.execute(
        "insert into profiles (id, agency_id, role) values (%s, %s, 'admin'), (%s, %s, 'member')",
        (admin_id, agency_id, member_id, agency_id),
    )
    return World(agency_id, admin_id, member_id)


def make_connection(
    sql: psycopg.Connection,
    agency_id: str,
    kind: str = "creator",
    fanvue_user_uuid: str | None = None,
    expires_in_s: int = 3600,
    access_enc: str = "v1:test:access",
    refresh_enc: str = "v1:test:refresh",
) -> str:
    row = sql.execute(
        "insert into fanvue_connections (agency_id, kind, fanvue_user_uuid, access_token_enc, refresh_token_enc,"
        " token_key_id, expires_at, scopes) values (%s, %s, %s, %s, %s, 'test', now() + make_interval(secs => %s),"
        " '{openid,read:insights}') returning id",
        (agency_id, kind, fanvue_user_uuid or str(uuid.uuid4()), access_enc, refresh_enc, expires_in_s),
    ).fetchone()
    return str(row[0])


def make_model(
    sql: psycopg.Connection,
    agency_id: str,
    name: str,
    connection_id: str | None = None,
    fanvue_user_uuid: str | None = None,
) -> str:
    row = sql.execute(
        "insert into models (agency_id, name, fanvue_user_uuid, connection_id) values (%s, %s, %s, %s) returning id",
        (agency_id, name, fanvue_user_uuid or str(uuid.uuid4()), connection_id),
    ).fetchone()
    return str(row[0])
