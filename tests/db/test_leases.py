"""Work distribution: claim/acquire/release leases, due times, history resets, and model lookups."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest

from lib.db.errors import Conflict, InvalidInput, NotFound
from lib.db.postgres import PostgresDatabase
from tests.db.helpers import ingest, item, new_model, sync_state
from tests.factories import make_agency, make_connection, make_model


def claim(db, worker="w1", limit=100, **kw):
    return db.call("fanvue_claim_models", worker=worker, limit=limit, **kw)


def ids(work):
    return sorted(w["model_id"] for w in work)


# ---------------------------------------------------------------- claim


def test_claim_returns_due_models_with_their_work_item(db, clean_db):
    sql = clean_db
    world, conn, model = new_model(sql)
    work = claim(db, "w1", lease_seconds=120, kind="cron")
    assert ids(work) == [model]
    w = work[0]
    assert w["agency_id"] == world.agency_id and w["connection_id"] == conn
    assert w["connection_kind"] == "creator" and w["connection_status"] == "active"
    assert w["lease_owner"] == "w1" and w["lease_kind"] == "cron" and w["watermark"] is None
    state = sync_state(sql, model)
    assert state["lease_owner"] == "w1" and state["last_attempt_at"] is not None
    left = sql.execute(
        "select extract(epoch from lease_expires_at - now()) from fanvue_sync_state where model_id = %s", (model,)
    ).fetchone()[0]
    assert 100 < left <= 120
    assert claim(db, "w2") == []  # leased


def test_claim_scope_agency_models_yes_inactive_no(db, clean_db):
    sql = clean_db
    world = make_agency(sql, "A")
    personal = make_connection(sql, world.agency_id, "creator")
    agency_conn = make_connection(sql, world.agency_id, "agency")
    dead = make_connection(sql, world.agency_id, "creator")
    revoked = make_connection(sql, world.agency_id, "agency")
    sql.execute("update fanvue_connections set status = 'needs_reconnect' where id = %s", (dead,))
    sql.execute("update fanvue_connections set status = 'revoked' where id = %s", (revoked,))
    m_personal = make_model(sql, world.agency_id, "p", personal)
    m_agency = [make_model(sql, world.agency_id, f"a{i}", agency_conn) for i in range(3)]
    make_model(sql, world.agency_id, "dead", dead)
    make_model(sql, world.agency_id, "revoked", revoked)
    make_model(sql, world.agency_id, "unlinked", None)
    no_uuid = make_model(sql, world.agency_id, "no-uuid", agency_conn)
    sql.execute("update models set fanvue_user_uuid = null where id = %s", (no_uuid,))
    not_due = make_model(sql, world.agency_id, "later", personal)
    sql.execute("update fanvue_sync_state set next_sync_at = now() + interval '1 hour' where model_id = %s", (not_due,))
    assert ids(claim(db, "w1")) == sorted([m_personal, *m_agency])
    assert ids(claim(db, "w2", include_not_due=True)) == [not_due]
    assert claim(db, "w3", include_not_due=True) == []


def test_claim_limit_and_stalest_first(db, clean_db):
    sql = clean_db
    world = make_agency(sql)
    conn = make_connection(sql, world.agency_id)
    models = [make_model(sql, world.agency_id, f"m{i}", conn) for i in range(5)]
    for i, m in enumerate(models):
        sql.execute(
            "update fanvue_sync_state set next_sync_at = now() - make_interval(mins => %s) where model_id = %s",
            (10 * (5 - i), m),
        )
    assert ids(claim(db, "w1", limit=2)) == sorted(models[:2])
    assert ids(claim(db, "w2", limit=2)) == sorted(models[2:4])
    assert ids(claim(db, "w3", limit=2)) == [models[4]]


def test_claim_skips_models_already_attempted_in_this_run(db, clean_db):
    sql = clean_db
    _, _, model = new_model(sql)
    run_start = sql.execute("select now()").fetchone()[0]
    assert ids(claim(db, "w1", not_attempted_since=run_start)) == [model]
    db.call("fanvue_release_model", model_id=model, worker="w1", outcome="ok", next_sync_seconds=0)
    assert claim(db, "w1", not_attempted_since=run_start) == []  # due again, but this run already tried it
    later = sql.execute("select now()").fetchone()[0]
    assert ids(claim(db, "w2", not_attempted_since=later)) == [model]  # the next run takes it


@pytest.mark.parametrize("limit", [0, -1, 1001, None])
def test_claim_limit_is_validated(db, clean_db, limit):
    with pytest.raises(InvalidInput) as err:
        claim(db, "w1", limit=limit)
    assert err.value.code == "FV422"


def test_an_expired_lease_is_reclaimable(db, clean_db):
    sql = clean_db
    _, _, model = new_model(sql)
    assert ids(claim(db, "w1")) == [model]
    assert claim(db, "w2") == []
    sql.execute(
        "update fanvue_sync_state set lease_expires_at = now() - interval '1 second' where model_id = %s", (model,)
    )
    work = claim(db, "w2")
    assert ids(work) == [model] and work[0]["lease_owner"] == "w2"
    # and the old holder is fenced out
    with pytest.raises(Conflict):
        db.call("fanvue_ingest_page", model_id=model, worker="w1", stream="earnings", items=[item("x")])


def test_claim_skips_locked_rows_instead_of_waiting(db, clean_db, database_url):
    sql = clean_db
    world = make_agency(sql)
    conn = make_connection(sql, world.agency_id)
    locked, free = make_model(sql, world.agency_id, "locked", conn), make_model(sql, world.agency_id, "free", conn)
    with psycopg.connect(database_url) as other:  # a transaction in flight holds one row
        other.execute("select 1 from fanvue_sync_state where model_id = %s for update", (locked,))
        result: list = []
        t = threading.Thread(target=lambda: result.append(claim(db, "w1")))
        t.start()
        t.join(timeout=10)
        assert not t.is_alive(), "claim waited on a locked row instead of skipping it"
        other.rollback()
    assert ids(result[0]) == [free]
    assert ids(claim(db, "w2")) == [locked]


def test_concurrent_claims_never_return_the_same_model_twice(clean_db, database_url):
    sql = clean_db
    world = make_agency(sql)
    personal = make_connection(sql, world.agency_id, "creator")
    agency_conn = make_connection(sql, world.agency_id, "agency")
    models = {make_model(sql, world.agency_id, f"m{i}", personal if i % 3 == 0 else agency_conn) for i in range(60)}
    workers = 6
    barrier = threading.Barrier(workers)
    claimed: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        database = PostgresDatabase(database_url, max_connections=1)  # its own connection
        try:
            got: list[str] = []
            barrier.wait()
            while True:
                work = database.call("fanvue_claim_models", worker=name, limit=4)
                if not work:
                    break
                got.extend(w["model_id"] for w in work)
            claimed[name] = got
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    everything = [m for got in claimed.values() for m in got]
    assert len(everything) == len(set(everything)), "a model was claimed twice"
    assert set(everything) == models
    owners = dict(sql.execute("select model_id::text, lease_owner from fanvue_sync_state").fetchall())
    for name, got in claimed.items():
        assert all(owners[m] == name for m in got)


# ---------------------------------------------------------------- acquire / release


def test_acquire_model(db, sql):
    _, _, model = new_model(sql)
    out = db.call("fanvue_acquire_model", model_id=model, worker="a", lease_seconds=60)
    assert out["acquired"] is True and out["work"]["model_id"] == model and out["work"]["lease_owner"] == "a"
    assert out["work"]["lease_kind"] == "force"
    taken = db.call("fanvue_acquire_model", model_id=model, worker="b")
    assert taken["acquired"] is False and taken["holder"] == "a" and taken["lease_kind"] == "force"
    assert sync_state(sql, model)["lease_owner"] == "a"
    assert db.call("fanvue_acquire_model", model_id=model, worker="a")["acquired"] is True  # re-entrant
    sql.execute(
        "update fanvue_sync_state set lease_expires_at = now() - interval '1 second' where model_id = %s", (model,)
    )
    assert db.call("fanvue_acquire_model", model_id=model, worker="b", kind="cli")["acquired"] is True
    assert sync_state(sql, model)["lease_owner"] == "b"


def test_acquire_unknown_model(db):
    with pytest.raises(NotFound) as err:
        db.call("fanvue_acquire_model", model_id=str(uuid.uuid4()), worker="a")
    assert err.value.code == "FV404"


def test_release_model_by_the_holder(db, sql, leased):
    out = db.call(
        "fanvue_release_model",
        model_id=leased.model_id,
        worker=leased.worker,
        outcome="failed",
        error="boom",
        next_sync_seconds=60,
    )
    assert out == {"released": True}
    state = sync_state(sql, leased.model_id)
    assert state["lease_owner"] is None and state["lease_expires_at"] is None
    assert state["last_outcome"] == "failed" and state["last_error"] == "boom" and state["consecutive_failures"] == 1
    assert state["last_success_at"] is None and state["last_error_at"] is not None
    due_in = sql.execute(
        "select extract(epoch from next_sync_at - now()) from fanvue_sync_state where model_id = %s", (leased.model_id,)
    ).fetchone()[0]
    assert 50 < due_in <= 60
    db.call("fanvue_acquire_model", model_id=leased.model_id, worker=leased.worker)
    db.call("fanvue_release_model", model_id=leased.model_id, worker=leased.worker, outcome="ok", next_sync_seconds=-5)
    state = sync_state(sql, leased.model_id)
    assert state["last_error"] is None and state["consecutive_failures"] == 0 and state["last_success_at"]
    assert sql.execute(
        "select next_sync_at <= now() from fanvue_sync_state where model_id = %s", (leased.model_id,)
    ).fetchone()[0]


def test_release_by_a_non_holder_changes_nothing(db, sql, leased):
    """Fencing: the function answers released=false rather than FV409 (see the report)."""
    before = sync_state(sql, leased.model_id)
    out = db.call("fanvue_release_model", model_id=leased.model_id, worker="intruder", outcome="ok")
    assert out == {"released": False}
    assert sync_state(sql, leased.model_id) == before
    assert db.call("fanvue_release_model", model_id=str(uuid.uuid4()), worker="x", outcome="ok") == {"released": False}


def test_release_validates_the_outcome(db, sql, leased):
    with pytest.raises(InvalidInput):
        db.call("fanvue_release_model", model_id=leased.model_id, worker=leased.worker, outcome="great")
    assert sync_state(sql, leased.model_id)["lease_owner"] == leased.worker


def test_released_model_is_claimable_again_when_due(db, clean_db):
    sql = clean_db
    _, _, model = new_model(sql)
    claim(db, "w1")
    db.call("fanvue_release_model", model_id=model, worker="w1", outcome="ok", next_sync_seconds=3600)
    assert claim(db, "w2") == []
    sql.execute("update fanvue_sync_state set next_sync_at = now() where model_id = %s", (model,))
    assert ids(claim(db, "w2")) == [model]


# ---------------------------------------------------------------- history


def test_reset_history_by_the_holder_keeps_the_ledger(db, sql, leased):
    ingest(
        db,
        leased,
        [item("a", 500)],
        window_start="2026-01-01T00:00:00Z",
        window_end="2026-02-01T00:00:00Z",
        last_page=True,
        completes_backfill=True,
    )
    ingest(
        db,
        leased,
        [],
        stream="spending",
        window_start="2026-01-01T00:00:00Z",
        window_end="2026-02-01T00:00:00Z",
        last_page=True,
    )
    out = db.call(
        "fanvue_reset_history", model_id=leased.model_id, worker=leased.worker, history_start="2020-01-01T00:00:00Z"
    )
    assert out["watermark"] is None and out["spending_watermark"] is None and out["backfill_completed_at"] is None
    assert out["history_start"].startswith("2020-01-01")
    assert out["revenue_gross_cents"] == 500
    assert (
        sql.execute("select count(*) from fanvue_transactions where model_id = %s", (leased.model_id,)).fetchone()[0]
        == 1
    )


def test_reset_history_is_fenced(db, sql, leased):
    ingest(db, leased, [], window_start="2026-01-01T00:00:00Z", window_end="2026-02-01T00:00:00Z", last_page=True)
    with pytest.raises(Conflict) as err:
        db.call(
            "fanvue_reset_history", model_id=leased.model_id, worker="intruder", history_start="2020-01-01T00:00:00Z"
        )
    assert err.value.code == "FV409"
    assert sync_state(sql, leased.model_id)["watermark"] is not None
    with pytest.raises(Conflict):  # an unknown model cannot be held either
        db.call("fanvue_reset_history", model_id=str(uuid.uuid4()), worker="w", history_start="2020-01-01T00:00:00Z")


# ---------------------------------------------------------------- lookups


def test_find_models(db, sql):
    a, conn, m1 = new_model(sql, name="Ava Star")
    m2 = make_model(sql, a.agency_id, "Bella", conn)
    _b, _, foreign = new_model(sql, name="Ava Star")
    found = db.call("fanvue_find_models", agency_id=a.agency_id, name="ava star")
    assert [f["id"] for f in found] == [m1] and found[0]["connection_id"] == conn
    assert set(found[0]) == {"id", "name", "agency_id", "fanvue_user_uuid", "connection_id"}
    assert [f["id"] for f in db.call("fanvue_find_models", agency_id=a.agency_id, model_id=m2)] == [m2]
    # another agency's model is indistinguishable from a missing one
    assert db.call("fanvue_find_models", agency_id=a.agency_id, model_id=foreign) == []
    assert db.call("fanvue_find_models", agency_id=a.agency_id, model_id=str(uuid.uuid4())) == []
    assert db.call("fanvue_find_models", agency_id=a.agency_id) == []  # no criteria, no list
    assert db.call("fanvue_find_models", agency_id=a.agency_id, model_id=m1, name="Bella") == []
    # a null agency (the cron secret) may look a model up by id only
    assert [f["id"] for f in db.call("fanvue_find_models", agency_id=None, model_id=foreign)] == [foreign]
    assert db.call("fanvue_find_models", agency_id=None, name="Ava Star") == []
    assert db.call("fanvue_find_models", agency_id=None, model_id=str(uuid.uuid4())) == []
    twin = make_model(sql, a.agency_id, "AVA STAR", conn)
    assert {f["id"] for f in db.call("fanvue_find_models", agency_id=a.agency_id, name="Ava Star")} == {m1, twin}


def test_get_profile(db, sql):
    world = make_agency(sql)
    assert db.call("fanvue_get_profile", user_id=world.admin_id) == {
        "id": world.admin_id,
        "agency_id": world.agency_id,
        "role": "admin",
        "app_role": "admin",
    }
    assert db.call("fanvue_get_profile", user_id=world.member_id)["role"] == "member"
    assert db.call("fanvue_get_profile", user_id=str(uuid.uuid4())) is None


def test_finish_and_claim_records_releases_and_claims_in_one_call(db, clean_db):
    sql = clean_db
    _, _, first = new_model(sql)
    _, _, second = new_model(sql)
    run = db.call("fanvue_start_run", kind="cron", worker="w1")
    started = sql.execute("select now()").fetchone()[0]
    out = db.call("fanvue_finish_and_claim", worker="w1", kind="cron", lease_seconds=120, not_attempted_since=started)
    assert out["released"] is None
    claimed = out["work"]["model_id"]
    other = second if claimed == first else first
    out = db.call(
        "fanvue_finish_and_claim",
        worker="w1",
        model_id=claimed,
        run_id=run["id"],
        outcome="ok",
        stats={"fetched": 3, "inserted": 1},
        next_sync_seconds=600,
        kind="cron",
        lease_seconds=120,
        not_attempted_since=started,
    )
    assert out["released"] is True and out["work"]["model_id"] == other
    assert out["work"]["lease_owner"] == "w1"
    state = sync_state(sql, claimed)
    assert state["lease_owner"] is None and state["last_outcome"] == "ok"
    row = sql.execute(
        "select outcome, fetched, inserted from sync_run_models where run_id = %s and model_id = %s",
        (run["id"], claimed),
    ).fetchone()
    assert row == ("ok", 3, 1)
    # the last model: released, nothing left to claim (the first is not due and was attempted this run)
    out = db.call(
        "fanvue_finish_and_claim",
        worker="w1",
        model_id=other,
        run_id=run["id"],
        outcome="failed",
        error="boom",
        next_sync_seconds=0,
        kind="cron",
        not_attempted_since=started,
    )
    assert out == {"released": True, "work": None}
    assert sync_state(sql, other)["last_error"] == "boom"
    # a non-holder releases nothing and, without a claim, takes nothing
    assert db.call("fanvue_finish_and_claim", worker="intruder", model_id=other, outcome="ok", claim=False) == {
        "released": False,
        "work": None,
    }
