"""Connections and tokens: save/link, single-flight refresh, key rotation, one-time OAuth state."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lib.db.errors import Conflict, NotFound
from lib.db.postgres import PostgresDatabase
from lib.db.transport import TextArray
from tests.factories import make_agency, make_connection, make_model

TOKEN_KEYS = {"access_token_enc", "refresh_token_enc"}


def conn_row(sql, connection_id: str) -> dict:
    cur = sql.execute("select * from fanvue_connections where id = %s", (connection_id,))
    return dict(zip([d.name for d in cur.description], cur.fetchone(), strict=False))


def in_(seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# ---------------------------------------------------------------- get / save / link


def test_get_connection_includes_tokens(db, sql):
    world = make_agency(sql)
    cid = make_connection(sql, world.agency_id, access_enc="v1:k:A", refresh_enc="v1:k:R")
    out = db.call("fanvue_get_connection", connection_id=cid)
    assert out["id"] == cid and out["access_token_enc"] == "v1:k:A" and out["refresh_token_enc"] == "v1:k:R"
    assert out["scopes"] == ["openid", "read:insights"] and out["token_version"] == 0 and out["status"] == "active"
    assert db.call("fanvue_get_connection", connection_id=str(uuid.uuid4())) is None


def test_save_connection_new_then_reconnect(db, sql):
    world = make_agency(sql)
    creator = str(uuid.uuid4())
    args = dict(
        agency_id=world.agency_id,
        kind="creator",
        fanvue_user_uuid=creator,
        handle="ava",
        access_enc="v1:k:a1",
        refresh_enc="v1:k:r1",
        key_id="k",
        expires_at=in_(3600),
        scopes=TextArray(["openid", "read:self"]),
        created_by=world.admin_id,
    )
    first = db.call("fanvue_save_connection", **args)
    assert not TOKEN_KEYS & set(first), "save_connection must not echo tokens"
    assert first["token_version"] == 0 and first["scopes"] == ["openid", "read:self"]
    assert first["last_refresh_outcome"] == "connected"
    row = conn_row(sql, first["id"])
    assert row["access_token_enc"] == "v1:k:a1" and row["scopes"] == ["openid", "read:self"]
    assert row["created_by"] == uuid.UUID(world.admin_id)
    # a broken connection is reconnected in place: same id, new tokens, next version, active again
    sql.execute(
        "update fanvue_connections set status = 'needs_reconnect', status_reason = 'x',"
        " refresh_lease_owner = 'someone', refresh_lease_expires_at = now() + interval '1 minute'"
        " where id = %s",
        (first["id"],),
    )
    again = db.call(
        "fanvue_save_connection",
        **{**args, "access_enc": "v1:k:a2", "refresh_enc": "v1:k:r2", "handle": "ava2", "scopes": None},
    )
    assert again["id"] == first["id"] and again["token_version"] == 1
    assert again["status"] == "active" and again["status_reason"] is None
    assert again["refresh_lease_owner"] is None and again["last_refresh_outcome"] == "reconnected"
    assert again["fanvue_handle"] == "ava2" and again["scopes"] == []
    assert conn_row(sql, first["id"])["refresh_token_enc"] == "v1:k:r2"
    # the same creator as an agency grant is another connection
    agency_grant = db.call("fanvue_save_connection", **{**args, "kind": "agency"})
    assert agency_grant["id"] != first["id"]


def test_link_models_creates_updates_and_is_idempotent(db, sql):
    world = make_agency(sql)
    agency_conn = make_connection(sql, world.agency_id, "agency")
    existing = make_model(sql, world.agency_id, "Existing", None, fanvue_user_uuid=None)
    sql.execute("update models set fanvue_user_uuid = null where id = %s", (existing,))
    c1, c2, c3 = (str(uuid.uuid4()) for _ in range(3))
    creators = [
        {"fanvue_user_uuid": c1, "handle": "one", "name": "One"},
        {"fanvue_user_uuid": c2, "handle": "two", "name": ""},
        {"fanvue_user_uuid": c3, "handle": "three", "model_id": existing},
    ]
    out = db.call("fanvue_link_models", agency_id=world.agency_id, connection_id=agency_conn, creators=creators)
    assert [o["fanvue_user_uuid"] for o in out] == [c1, c2, c3]
    assert out[2]["model_id"] == existing
    rows = {
        r[0]: r[1:]
        for r in sql.execute(
            "select fanvue_user_uuid::text, name, fanvue_handle, connection_id::text from models where agency_id = %s",
            (world.agency_id,),
        ).fetchall()
    }
    assert rows[c1] == ("One", "one", agency_conn) and rows[c2] == ("two", "two", agency_conn)
    assert rows[c3] == ("Existing", "three", agency_conn)
    again = db.call("fanvue_link_models", agency_id=world.agency_id, connection_id=agency_conn, creators=creators)
    assert again == out
    assert sql.execute("select count(*) from models where agency_id = %s", (world.agency_id,)).fetchone()[0] == 3
    # a new model has its sync state and is claimable right away (agency models scheduled like personal)
    assert (
        sql.execute("select count(*) from fanvue_sync_state where model_id = %s", (out[0]["model_id"],)).fetchone()[0]
        == 1
    )


def test_link_models_personal_connection_wins_over_agency_one(db, sql):
    world = make_agency(sql)
    creator = str(uuid.uuid4())
    personal = make_connection(sql, world.agency_id, "creator", fanvue_user_uuid=creator)
    agency_conn = make_connection(sql, world.agency_id, "agency")
    model = make_model(sql, world.agency_id, "Ava", personal, fanvue_user_uuid=creator)
    db.call(
        "fanvue_link_models",
        agency_id=world.agency_id,
        connection_id=agency_conn,
        creators=[{"fanvue_user_uuid": creator, "handle": "ava"}],
    )
    assert sql.execute("select connection_id::text from models where id = %s", (model,)).fetchone()[0] == personal
    # ...but not a dead one
    sql.execute("update fanvue_connections set status = 'needs_reconnect' where id = %s", (personal,))
    db.call(
        "fanvue_link_models",
        agency_id=world.agency_id,
        connection_id=agency_conn,
        creators=[{"fanvue_user_uuid": creator, "handle": "ava"}],
    )
    assert sql.execute("select connection_id::text from models where id = %s", (model,)).fetchone()[0] == agency_conn


def test_link_models_not_found(db, sql):
    a, b = make_agency(sql), make_agency(sql)
    conn_a = make_connection(sql, a.agency_id, "agency")
    model_b = make_model(sql, b.agency_id, "B", None)
    with pytest.raises(NotFound):  # another agency's connection
        db.call("fanvue_link_models", agency_id=b.agency_id, connection_id=conn_a, creators=[])
    with pytest.raises(NotFound):
        db.call("fanvue_link_models", agency_id=a.agency_id, connection_id=str(uuid.uuid4()), creators=[])
    with pytest.raises(NotFound):  # another agency's model; and nothing of the call stays
        db.call(
            "fanvue_link_models",
            agency_id=a.agency_id,
            connection_id=conn_a,
            creators=[
                {"fanvue_user_uuid": str(uuid.uuid4()), "handle": "new"},
                {"fanvue_user_uuid": str(uuid.uuid4()), "handle": "x", "model_id": model_b},
            ],
        )
    assert sql.execute("select count(*) from models where agency_id = %s", (a.agency_id,)).fetchone()[0] == 0
    assert sql.execute("select connection_id from models where id = %s", (model_b,)).fetchone()[0] is None


# ---------------------------------------------------------------- single-flight refresh


def claim_refresh(db, cid, owner, **kw):
    return db.call("fanvue_claim_token_refresh", connection_id=cid, owner=owner, **kw)


def test_claim_refresh_outcomes(db, sql):
    world = make_agency(sql)
    fresh = make_connection(sql, world.agency_id, expires_in_s=3600)
    out = claim_refresh(db, fresh, "a")
    assert out["outcome"] == "fresh" and out["connection"]["access_token_enc"] == "v1:test:access"
    assert conn_row(sql, fresh)["refresh_lease_owner"] is None

    expiring = make_connection(sql, world.agency_id, expires_in_s=60)
    out = claim_refresh(db, expiring, "a", lease_seconds=30, margin_seconds=300)
    assert out["outcome"] == "claimed" and out["connection"]["refresh_token_enc"] == "v1:test:refresh"
    row = conn_row(sql, expiring)
    assert row["refresh_lease_owner"] == "a"
    busy = claim_refresh(db, expiring, "b")
    assert busy["outcome"] == "busy" and not TOKEN_KEYS & set(busy["connection"])
    assert claim_refresh(db, expiring, "a")["outcome"] == "claimed"  # the holder may re-claim
    sql.execute(
        "update fanvue_connections set refresh_lease_expires_at = now() - interval '1 second' where id = %s",
        (expiring,),
    )
    assert claim_refresh(db, expiring, "b")["outcome"] == "claimed"  # an expired lease is taken over
    assert conn_row(sql, expiring)["refresh_lease_owner"] == "b"

    no_expiry = make_connection(sql, world.agency_id)
    sql.execute("update fanvue_connections set expires_at = null where id = %s", (no_expiry,))
    assert claim_refresh(db, no_expiry, "a")["outcome"] == "claimed"

    for status in ("needs_reconnect", "revoked"):
        dead = make_connection(sql, world.agency_id, expires_in_s=10)
        sql.execute("update fanvue_connections set status = %s where id = %s", (status, dead))
        out = claim_refresh(db, dead, "a")
        assert out["outcome"] == "inactive" and not TOKEN_KEYS & set(out["connection"])
        assert conn_row(sql, dead)["refresh_lease_owner"] is None


def test_claim_refresh_force_and_seen_version(db, sql):
    world = make_agency(sql)
    cid = make_connection(sql, world.agency_id, expires_in_s=3600)
    sql.execute("update fanvue_connections set token_version = 4 where id = %s", (cid,))
    stale = claim_refresh(db, cid, "a", force=True, seen_version=3)
    assert stale["outcome"] == "fresh" and stale["connection"]["token_version"] == 4  # caller re-reads instead
    assert conn_row(sql, cid)["refresh_lease_owner"] is None
    current = claim_refresh(db, cid, "a", force=True, seen_version=4)
    assert current["outcome"] == "claimed"
    assert claim_refresh(db, cid, "b", force=True, seen_version=4)["outcome"] == "busy"
    assert claim_refresh(db, make_connection(sql, world.agency_id), "c", force=True)["outcome"] == "claimed"


def test_claim_refresh_unknown_connection(db):
    with pytest.raises(NotFound) as err:
        claim_refresh(db, str(uuid.uuid4()), "a")
    assert err.value.code == "FV404"


def test_concurrent_forced_refresh_claims_once(clean_db, database_url):
    """N callers that all got a 401 on the same token: exactly one refreshes."""
    sql = clean_db
    world = make_agency(sql)
    cid = make_connection(sql, world.agency_id, expires_in_s=3600)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def run(owner: str) -> None:
        database = PostgresDatabase(database_url, max_connections=1)
        try:
            barrier.wait()
            outcomes.append(claim_refresh(database, cid, owner, force=True, seen_version=0)["outcome"])
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(f"o{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["busy"] * 7 + ["claimed"]


def store(db, cid, owner, version, access, refresh, **kw):
    return db.call(
        "fanvue_store_token_refresh",
        connection_id=cid,
        owner=owner,
        expected_version=version,
        access_enc=access,
        refresh_enc=refresh,
        key_id=kw.pop("key_id", "k2"),
        expires_at=kw.pop("expires_at", in_(3600)),
        **kw,
    )


def test_store_refresh_is_a_compare_and_swap_and_two_rotations_in_a_row_work(db, sql):
    world = make_agency(sql)
    cid = make_connection(sql, world.agency_id, expires_in_s=10)
    assert claim_refresh(db, cid, "a")["outcome"] == "claimed"
    out = store(db, cid, "a", 0, "v1:k2:A1", "v1:k2:R1", scopes=TextArray(["openid"]))
    assert out["token_version"] == 1 and out["refresh_lease_owner"] is None and out["last_refresh_outcome"] == "ok"
    assert not TOKEN_KEYS & set(out)
    row = conn_row(sql, cid)
    assert (row["access_token_enc"], row["refresh_token_enc"], row["token_key_id"], row["scopes"]) == (
        "v1:k2:A1",
        "v1:k2:R1",
        "k2",
        ["openid"],
    )
    # a late writer of version 0 loses and changes nothing
    with pytest.raises(Conflict) as err:
        store(db, cid, "late", 0, "v1:k2:LATE", "v1:k2:LATE")
    assert err.value.code == "FV409"
    assert conn_row(sql, cid)["access_token_enc"] == "v1:k2:A1"
    # second rotation in a row, keeping the refresh token when Fanvue does not rotate it
    assert claim_refresh(db, cid, "b", force=True, seen_version=1)["outcome"] == "claimed"
    out = store(db, cid, "b", 1, "v1:k2:A2", None)
    assert out["token_version"] == 2
    row = conn_row(sql, cid)
    assert (row["access_token_enc"], row["refresh_token_enc"], row["scopes"]) == ("v1:k2:A2", "v1:k2:R1", ["openid"])
    with pytest.raises(Conflict):  # unknown connection: nothing to swap
        store(db, str(uuid.uuid4()), "a", 0, "x", "y")


def test_store_refresh_revives_a_connection(db, sql):
    world = make_agency(sql)
    cid = make_connection(sql, world.agency_id)
    sql.execute(
        "update fanvue_connections set status = 'needs_reconnect', status_reason = 'r', last_error = 'e' where id = %s",
        (cid,),
    )
    out = store(db, cid, "a", 0, "A", "R")
    assert (out["status"], out["status_reason"], out["last_error"]) == ("active", None, None)


def test_fail_refresh_invalid_grant_marks_needs_reconnect_only_when_version_unchanged(db, sql):
    world = make_agency(sql)
    cid = make_connection(sql, world.agency_id, expires_in_s=10)
    claim_refresh(db, cid, "a")
    # a sibling rotated meanwhile (version 0 -> 1): our invalid_grant is not the connection's fault
    sql.execute("update fanvue_connections set token_version = 1, access_token_enc = 'v1:k:NEW' where id = %s", (cid,))
    out = db.call(
        "fanvue_fail_token_refresh",
        connection_id=cid,
        owner="a",
        expected_version=0,
        error="invalid_grant: refresh token already used",
        invalid_grant=True,
    )
    assert out["needs_reconnect"] is False
    assert out["connection"]["status"] == "active" and out["connection"]["access_token_enc"] == "v1:k:NEW"
    row = conn_row(sql, cid)
    assert row["status"] == "active" and row["refresh_lease_owner"] is None
    assert row["last_refresh_outcome"] == "invalid_grant"
    # now with the version we saw still current: the grant is dead
    claim_refresh(db, cid, "a")
    out = db.call(
        "fanvue_fail_token_refresh",
        connection_id=cid,
        owner="a",
        expected_version=1,
        error="invalid_grant: " + "x" * 600,
        invalid_grant=True,
    )
    assert out["needs_reconnect"] is True
    row = conn_row(sql, cid)
    assert row["status"] == "needs_reconnect" and row["status_reason"].startswith("invalid_grant")
    assert len(row["status_reason"]) == 500 and len(row["last_error"]) == 500
    assert claim_refresh(db, cid, "a")["outcome"] == "inactive"


def test_fail_refresh_other_errors_keep_the_connection_and_only_release_own_lease(db, sql):
    world = make_agency(sql)
    cid = make_connection(sql, world.agency_id, expires_in_s=10)
    claim_refresh(db, cid, "holder")
    out = db.call(
        "fanvue_fail_token_refresh",
        connection_id=cid,
        owner="other",
        expected_version=0,
        error="timeout",
        invalid_grant=False,
    )
    assert out["needs_reconnect"] is False
    row = conn_row(sql, cid)
    assert row["refresh_lease_owner"] == "holder"  # not ours to release
    assert (row["status"], row["last_refresh_outcome"], row["last_error"]) == ("active", "error", "timeout")
    db.call(
        "fanvue_fail_token_refresh",
        connection_id=cid,
        owner="holder",
        expected_version=0,
        error="502 from Fanvue",
        invalid_grant=False,
    )
    row = conn_row(sql, cid)
    assert row["refresh_lease_owner"] is None and row["status"] == "active"


def test_fail_refresh_unknown_connection(db):
    out = db.call(
        "fanvue_fail_token_refresh",
        connection_id=str(uuid.uuid4()),
        owner="a",
        expected_version=0,
        error="x",
        invalid_grant=True,
    )
    assert out == {"needs_reconnect": False, "connection": None}


def test_connections_due_refresh(db, clean_db):
    sql = clean_db
    world = make_agency(sql)
    expiring = make_connection(sql, world.agency_id, expires_in_s=60)
    fresh = make_connection(sql, world.agency_id, expires_in_s=7200)
    idle = make_connection(sql, world.agency_id, expires_in_s=7200)
    sql.execute("update fanvue_connections set last_refresh_at = now() - interval '2 days' where id = %s", (idle,))
    new_idle = make_connection(sql, world.agency_id, expires_in_s=7200)
    sql.execute("update fanvue_connections set created_at = now() - interval '2 days' where id = %s", (new_idle,))
    no_expiry = make_connection(sql, world.agency_id)
    sql.execute("update fanvue_connections set expires_at = null where id = %s", (no_expiry,))
    dead = make_connection(sql, world.agency_id, expires_in_s=1)
    sql.execute("update fanvue_connections set status = 'needs_reconnect' where id = %s", (dead,))
    due = db.call("fanvue_connections_due_refresh", margin_seconds=300, idle_seconds=86400)
    assert due[0] == no_expiry and due[1] == expiring  # nulls first, then soonest expiry
    assert set(due) == {expiring, idle, new_idle, no_expiry}
    assert fresh not in due and dead not in due
    assert len(db.call("fanvue_connections_due_refresh", margin_seconds=300, idle_seconds=86400, limit=2)) == 2


# ---------------------------------------------------------------- key rotation


def test_token_ciphertexts_and_versioned_replacement(db, clean_db):
    sql = clean_db
    world = make_agency(sql)
    old = make_connection(sql, world.agency_id)  # token_key_id 'test'
    current = make_connection(sql, world.agency_id)
    sql.execute("update fanvue_connections set token_key_id = 'k2' where id = %s", (current,))
    empty = make_connection(sql, world.agency_id)
    sql.execute(
        "update fanvue_connections set access_token_enc = null, refresh_token_enc = null,"
        " token_key_id = null where id = %s",
        (empty,),
    )
    listed = db.call("fanvue_token_ciphertexts", not_key_id="k2")
    assert [c["id"] for c in listed] == [old]
    assert listed[0]["access_token_enc"] == "v1:test:access" and listed[0]["token_version"] == 0
    assert len(db.call("fanvue_token_ciphertexts", not_key_id="nothing", limit=1)) == 1
    out = db.call(
        "fanvue_replace_token_ciphertexts",
        connection_id=old,
        expected_version=0,
        access_enc="v1:k2:a",
        refresh_enc="v1:k2:r",
        key_id="k2",
    )
    assert out == {"replaced": True}
    row = conn_row(sql, old)
    assert (row["access_token_enc"], row["token_key_id"], row["token_version"]) == ("v1:k2:a", "k2", 0)
    assert db.call("fanvue_token_ciphertexts", not_key_id="k2") == []
    # a refresh in between wins: the stale re-encryption is refused
    assert db.call(
        "fanvue_replace_token_ciphertexts",
        connection_id=old,
        expected_version=5,
        access_enc="x",
        refresh_enc="y",
        key_id="k3",
    ) == {"replaced": False}
    assert db.call(
        "fanvue_replace_token_ciphertexts",
        connection_id=str(uuid.uuid4()),
        expected_version=0,
        access_enc="x",
        refresh_enc="y",
        key_id="k3",
    ) == {"replaced": False}
    assert conn_row(sql, old)["access_token_enc"] == "v1:k2:a"


# ---------------------------------------------------------------- OAuth state


def test_consume_oauth_state_once(db, sql):
    state = f"st-{uuid.uuid4().hex}"
    assert db.call("fanvue_consume_oauth_state", state_id=state, expires_at=in_(600)) == {"first_use": True}
    assert db.call("fanvue_consume_oauth_state", state_id=state, expires_at=in_(600)) == {"first_use": False}
    assert db.call("fanvue_consume_oauth_state", state_id=state + "x", expires_at=in_(600)) == {"first_use": True}


def test_consume_oauth_state_concurrently_only_one_wins(clean_db, database_url):
    barrier = threading.Barrier(6)
    results: list[bool] = []

    def run() -> None:
        database = PostgresDatabase(database_url, max_connections=1)
        try:
            barrier.wait()
            results.append(
                database.call("fanvue_consume_oauth_state", state_id="race", expires_at=in_(600))["first_use"]
            )
        finally:
            database.close()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False] * 5 + [True]


def test_consume_oauth_state_forgets_only_long_expired_states(db, sql):
    state = f"st-{uuid.uuid4().hex}"
    db.call("fanvue_consume_oauth_state", state_id=state, expires_at=in_(600))
    sql.execute("update oauth_state_uses set expires_at = now() - interval '25 hours' where state_id = %s", (state,))
    db.call("fanvue_consume_oauth_state", state_id="other-" + state, expires_at=in_(600))  # sweeps
    assert sql.execute("select count(*) from oauth_state_uses where state_id = %s", (state,)).fetchone()[0] == 0


# BUG (supabase/migrations/20261201000300_api.sql, fanvue_consume_oauth_state): a state whose expiry is
# already more than a day in the past is swept before the insert, so replaying it answers first_use=true
# every time - contrary to "false on any replay". The function should refuse an expired state
# (first_use=false, or FV422) instead of relying on every caller to check the expiry first.
def test_consume_oauth_state_replay_of_an_expired_state_is_not_first_use(db):
    state = f"st-{uuid.uuid4().hex}"
    long_ago = in_(-3 * 86400)
    db.call("fanvue_consume_oauth_state", state_id=state, expires_at=long_ago)
    assert db.call("fanvue_consume_oauth_state", state_id=state, expires_at=long_ago) == {"first_use": False}
