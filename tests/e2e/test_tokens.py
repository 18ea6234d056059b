"""Token lifecycle against the sandbox and a real Postgres: single-flight refresh across threads and
processes (exactly one refresh per rotation, zero reuses, twice in a row), 401-driven refresh, and a
revoked grant ending as a visible needs_reconnect."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from tests.e2e.helpers import connect_demo

WORKER = """
import os, sys, threading, time
from lib.db import get_database
from lib.tokens import ConnectionTokens
db = get_database(); conn = sys.argv[1]; mode = sys.argv[2]; rendezvous = sys.argv[3]; results = []
ready = threading.Barrier(8, action=lambda: open(os.path.join(rendezvous, f"ready-{os.getpid()}"), "w").close())
def go():
    while not os.path.exists(os.path.join(rendezvous, "go")):
        time.sleep(0.005)
def run():
    t = ConnectionTokens(db, conn)
    if mode == "401":
        seen = t.access_token(); ready.wait(); go()
        results.append(t.refresh_after_unauthorized(seen))
    else:
        ready.wait(); go(); results.append(t.access_token())
threads = [threading.Thread(target=run) for _ in range(8)]
[x.start() for x in threads]; [x.join() for x in threads]
print(len(set(results)))
"""


@pytest.fixture(scope="module")
def dora_connection(stack, database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, dora = connect_demo(stack, sql)
        conn = sql.execute("select connection_id from models where fanvue_user_uuid = %s", (dora,)).fetchone()[0]
    return world, str(conn)


def _stats(stack):
    s = stack.sandbox.stats()
    return s["refreshes"], s["refresh_token_reuses"], s["grants_revoked"]


def _race(stack, db, conn: str, mode: str, rendezvous) -> set[str]:
    """8 threads in this process and 8 threads in each of two other processes, all at once."""
    from lib.tokens import ConnectionTokens

    results: list[str] = []
    barrier = threading.Barrier(9)

    def run():
        tokens = ConnectionTokens(db, conn)
        if mode == "401":
            seen = tokens.access_token()
            barrier.wait()
            barrier.wait()
            results.append(tokens.refresh_after_unauthorized(seen))
        else:
            barrier.wait()
            barrier.wait()
            results.append(tokens.access_token())

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, conn, mode, str(rendezvous)],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for _ in range(2)
    ]
    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    barrier.wait()  # our 8 threads hold their token
    deadline = time.time() + 60
    while len(list(rendezvous.glob("ready-*"))) < 2 and time.time() < deadline:
        time.sleep(0.01)
    (rendezvous / "go").touch()  # every process holds the same token version: all fire together
    barrier.wait()
    for t in threads:
        t.join()
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0 and out.strip() == "1", out
    return set(results)


@pytest.mark.parametrize("round_", [1, 2])
def test_expiring_token_is_refreshed_exactly_once(stack, db, sql, dora_connection, round_, tmp_path):
    _, conn = dora_connection
    before = _stats(stack)
    sql.execute("update fanvue_connections set expires_at = now() + interval '30 seconds' where id = %s", (conn,))
    tokens = _race(stack, db, conn, "expiry", tmp_path)
    after = _stats(stack)
    assert len(tokens) == 1
    assert after[0] - before[0] == 1, (before, after)
    assert after[1] == 0 and after[2] == 0  # no refresh token reuse, no grant revoked
    version = sql.execute(
        "select token_version, status, last_refresh_outcome from fanvue_connections where id = %s", (conn,)
    ).fetchone()
    assert version[1] == "active" and version[2] == "ok"


@pytest.mark.parametrize("round_", [1, 2])
def test_many_401s_cause_one_refresh(stack, db, sql, dora_connection, round_, tmp_path):
    _, conn = dora_connection
    before = _stats(stack)
    tokens = _race(stack, db, conn, "401", tmp_path)
    after = _stats(stack)
    assert len(tokens) == 1
    assert after[0] - before[0] == 1, (before, after)
    assert after[1] == 0 and after[2] == 0


def test_refresh_endpoint_rotates_and_returns_no_token(stack, dora_connection):
    world, conn = dora_connection
    before = _stats(stack)
    r = stack.post("/api/auth/fanvue/refresh", user=world.admin_id, connectionId=conn, force="true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["refreshed"] is True and body["status"] == "active" and body["expires_in_s"] > 3000
    assert "token" not in r.text.replace("token_version", "")
    assert _stats(stack)[0] - before[0] == 1
    assert r.headers["Cache-Control"] == "no-store"
    member = stack.post("/api/auth/fanvue/refresh", user=world.member_id, connectionId=conn)
    assert member.status_code == 403


def test_revoked_grant_ends_as_visible_needs_reconnect(stack, db, sql, dora_connection):
    from lib.tokens import ConnectionTokens, TokenError

    world, conn = dora_connection
    stack.sandbox.set_faults(revoke_grant="dora")
    try:
        with pytest.raises(TokenError) as info:
            ConnectionTokens(db, conn).refresh(force=True)
    finally:
        stack.sandbox.clear_faults()
    assert info.value.needs_reconnect
    row = sql.execute(
        "select status, status_reason, last_refresh_outcome from fanvue_connections where id = %s", (conn,)
    ).fetchone()
    assert row[0] == "needs_reconnect" and row[2] == "invalid_grant" and "rejected by Fanvue" in row[1]
    r = stack.post("/api/auth/fanvue/refresh", user=world.admin_id, connectionId=conn)
    assert r.status_code == 409 and r.json()["error"]["code"] == "needs_reconnect"
    # reconnecting through the OAuth flow brings it back
    model = sql.execute("select id from models where connection_id = %s", (conn,)).fetchone()[0]
    stack.connect(world.admin_id, model_id=str(model), login_hint="dora")
    assert sql.execute("select status from fanvue_connections where id = %s", (conn,)).fetchone()[0] == "active"
