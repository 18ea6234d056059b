"""The supabase-py transport, end to end: real supabase-py 2.34 -> HTTP -> the PostgREST RPC stand-in
(tests.doubles.postgrest_standin) -> the same real database. The same calls through both transports must
give the same results and the same errors.
"""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lib.db.errors import Conflict, DbError, InvalidInput, NotFound
from lib.db.postgres import PostgresDatabase
from lib.db.supabase_rpc import SupabaseDatabase
from lib.db.transport import TextArray
from tests.db.helpers import assert_ledger_consistent, item, new_model
from tests.doubles.postgrest_standin import PostgrestStandin
from tests.factories import make_agency, make_connection, make_model

# supabase-py 2.34 itself passes the deprecated `timeout`/`verify` to postgrest-py on every client it builds.
pytestmark = pytest.mark.filterwarnings("ignore:The '.*' parameter is deprecated:DeprecationWarning")

SERVICE_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c3RhbmQtaW4tc2VydmljZS1rZXk"


@pytest.fixture(scope="module")
def standin(database_url: str):
    server = PostgrestStandin(database_url, SERVICE_KEY)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def supa(standin) -> SupabaseDatabase:
    database = SupabaseDatabase(standin.base_url, SERVICE_KEY)
    yield database
    database.close()


@pytest.fixture(params=["psycopg", "supabase"])
def transport(request, db, supa):
    return db if request.param == "psycopg" else supa


ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:\d{2})?|Z)$")


def normalize(value: Any, names: dict[str, str]) -> Any:
    """The result with this run's ids replaced by role names and timestamps by '<ts>'."""
    if isinstance(value, dict):
        return {k: normalize(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v, names) for v in value]
    if isinstance(value, str):
        if value in names:
            return names[value]
        if ISO.match(value):
            return "<ts>"
    return value


def scenario(database, sql) -> list:
    """A sync of one model, its tokens and its run, through `database`; returns every result, normalized."""
    world, conn, model = new_model(sql, name=f"Parity {uuid.uuid4().hex[:6]}")
    names = {world.agency_id: "<agency>", conn: "<conn>", model: "<model>", world.admin_id: "<admin>"}
    fanvue_uuid = sql.execute("select fanvue_user_uuid::text from models where id = %s", (model,)).fetchone()[0]
    names[fanvue_uuid] = "<fanvue_uuid>"
    names[sql.execute("select fanvue_user_uuid::text from fanvue_connections where id = %s", (conn,)).fetchone()[0]] = (
        "<conn_user_uuid>"
    )
    names[sql.execute("select name from models where id = %s", (model,)).fetchone()[0]] = "<name>"
    jan, feb = ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"), ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
    page = [
        item("o:1", 1000, order_status="pendingBalance"),
        item("o:2", 2500, source="subscription"),
        item("o:1", 1000, order_status="pendingBalance"),
        item("r:1", -400, kind="refund"),
    ]
    out: list = []

    def call(fn: str, **kw: Any) -> Any:
        result = database.call(fn, **kw)
        if isinstance(result, dict) and "id" in result and isinstance(result["id"], str):
            names.setdefault(result["id"], f"<{fn}.id>")
        out.append((fn, normalize(result, names)))
        return result

    call("fanvue_get_profile", user_id=world.admin_id)
    call("fanvue_get_profile", user_id=str(uuid.UUID(int=1)))
    call(
        "fanvue_find_models",
        agency_id=world.agency_id,
        name=sql.execute("select name from models where id = %s", (model,)).fetchone()[0].upper(),
    )
    call("fanvue_acquire_model", model_id=model, worker="w")
    call("fanvue_ingest_page", model_id=model, worker="w", stream="earnings", items=page, dry_run=True)
    call(
        "fanvue_ingest_page",
        model_id=model,
        worker="w",
        stream="earnings",
        items=page,
        window_start=jan[0],
        window_end=jan[1],
        last_page=True,
    )
    call(
        "fanvue_ingest_page",
        model_id=model,
        worker="w",
        stream="earnings",
        items=page,
        window_start=jan[0],
        window_end=jan[1],
        last_page=True,
    )
    call(
        "fanvue_ingest_page",
        model_id=model,
        worker="w",
        stream="earnings",
        items=[item("o:1", 1000, order_status="available")],
    )
    call(
        "fanvue_ingest_page",
        model_id=model,
        worker="w",
        stream="earnings",
        items=[],
        window_start=feb[0],
        window_end=feb[1],
        last_page=True,
        completes_backfill=True,
    )
    call("fanvue_recompute_revenue", model_id=model)
    facts = call("fanvue_diagnosis_facts", model_id=model, days=3650)
    rollup = call("fanvue_diagnosis_facts", model_id=model, days=3650, exact_limit=0)
    assert facts["ledger"]["gross_cents"] == rollup["ledger"]["gross_cents"] == 3500
    run = call("fanvue_start_run", kind="force", worker="w", budget_seconds=60)
    call(
        "fanvue_record_run_model",
        run_id=run["id"],
        model_id=model,
        outcome="ok",
        stats={"fetched": 4, "inserted": 3, "window_start": jan[0]},
    )
    call("fanvue_finish_run", run_id=run["id"], status="ok", summary={"models": 1, "nested": {"a": [1, 2]}})
    call("fanvue_reset_history", model_id=model, worker="w", history_start=jan[0])
    call("fanvue_release_model", model_id=model, worker="w", outcome="ok", next_sync_seconds=0)
    # connection and tokens
    saved = call(
        "fanvue_save_connection",
        agency_id=world.agency_id,
        kind="agency",
        fanvue_user_uuid=fanvue_uuid,
        handle="agency",
        access_enc="v1:k:a",
        refresh_enc="v1:k:r",
        key_id="k",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        scopes=TextArray(["openid", "read:creator"]),
        created_by=world.admin_id,
    )
    assert sql.execute("select scopes from fanvue_connections where id = %s", (saved["id"],)).fetchone()[0] == [
        "openid",
        "read:creator",
    ]
    call(
        "fanvue_link_models",
        agency_id=world.agency_id,
        connection_id=saved["id"],
        creators=[{"fanvue_user_uuid": fanvue_uuid, "handle": "h"}],
    )
    call("fanvue_get_connection", connection_id=conn)
    call("fanvue_claim_token_refresh", connection_id=conn, owner="o", force=True, seen_version=0)
    call("fanvue_claim_token_refresh", connection_id=conn, owner="p")
    call(
        "fanvue_store_token_refresh",
        connection_id=conn,
        owner="o",
        expected_version=0,
        access_enc="A",
        refresh_enc="R",
        key_id="k2",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        scopes=TextArray(["openid"]),
    )
    call(
        "fanvue_fail_token_refresh",
        connection_id=conn,
        owner="o",
        expected_version=0,
        error="invalid_grant",
        invalid_grant=True,
    )
    call(
        "fanvue_replace_token_ciphertexts",
        connection_id=conn,
        expected_version=1,
        access_enc="A2",
        refresh_enc="R2",
        key_id="k3",
    )
    state = f"state-{uuid.uuid4().hex}"
    names[state] = "<state>"
    call("fanvue_consume_oauth_state", state_id=state, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    call("fanvue_consume_oauth_state", state_id=state, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    assert_ledger_consistent(sql, [model])
    return out


def test_both_transports_give_the_same_results(db, supa, sql):
    direct = scenario(db, sql)
    through_http = scenario(supa, sql)
    assert len(direct) == len(through_http)
    for (fn, a), (_, b) in zip(direct, through_http, strict=False):
        assert a == b, fn


def expect(exc_type: type, fn: Callable[[], Any]) -> DbError:
    with pytest.raises(exc_type) as err:
        fn()
    return err.value


def test_errors_map_to_the_same_exceptions(transport, sql):
    _, _, model = new_model(sql)
    assert transport.call("fanvue_acquire_model", model_id=model, worker="holder")["acquired"]
    e = expect(NotFound, lambda: transport.call("fanvue_acquire_model", model_id=str(uuid.uuid4()), worker="w"))
    assert e.code == "FV404" and "not found" in e.message
    e = expect(
        Conflict,
        lambda: transport.call(
            "fanvue_ingest_page", model_id=model, worker="intruder", stream="earnings", items=[item("x")]
        ),
    )
    assert e.code == "FV409" and "holder" in e.message
    e = expect(InvalidInput, lambda: transport.call("fanvue_claim_models", worker="w", limit=0))
    assert e.code == "FV422"
    e = expect(
        InvalidInput,
        lambda: transport.call("fanvue_ingest_page", model_id=model, worker="holder", stream="nope", items=[]),
    )
    assert e.code == "FV422"
    e = expect(DbError, lambda: transport.call("fanvue_start_run", kind="hourly", worker="w"))
    assert e.code == "23514"  # a plain DbError today; InvalidInput would be better (see the report)
    e = expect(DbError, lambda: transport.call("fanvue_get_profile", user_id="not-a-uuid"))
    assert e.code == "22P02"
    assert sql.execute("select count(*) from fanvue_transactions where model_id = %s", (model,)).fetchone()[0] == 0


def test_claims_through_both_transports_never_overlap(clean_db, database_url, standin):
    sql = clean_db
    world = make_agency(sql)
    personal = make_connection(sql, world.agency_id, "creator")
    agency_conn = make_connection(sql, world.agency_id, "agency")
    models = {make_model(sql, world.agency_id, f"m{i}", agency_conn if i % 2 else personal) for i in range(40)}
    barrier = threading.Barrier(4)
    claimed: dict[str, list[str]] = {}

    def run(name: str, database) -> None:
        got: list[str] = []
        database.call("fanvue_get_profile", user_id=str(uuid.uuid4()))  # warm up (supabase-py import, client)
        barrier.wait()
        while work := database.call("fanvue_claim_models", worker=name, limit=3):
            got.extend(w["model_id"] for w in work)
        claimed[name] = got

    direct = [PostgresDatabase(database_url, max_connections=1) for _ in range(2)]
    threads = [threading.Thread(target=run, args=(f"pg{i}", d)) for i, d in enumerate(direct)]
    threads += [
        threading.Thread(target=run, args=(f"http{i}", SupabaseDatabase(standin.base_url, SERVICE_KEY)))
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for d in direct:
        d.close()
    everything = [m for got in claimed.values() for m in got]
    assert len(everything) == len(set(everything)) and set(everything) == models
    assert any(claimed[f"http{i}"] for i in range(2))


# ---------------------------------------------------------------- the stand-in itself


def test_standin_requires_the_service_key(standin):
    url = f"{standin.base_url}/rest/v1/rpc/fanvue_get_profile"
    body = {"p_user_id": str(uuid.uuid4())}
    good = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
    assert httpx.post(url, json=body, headers=good).status_code == 200
    for headers in (
        {},
        {"apikey": SERVICE_KEY},
        {"Authorization": f"Bearer {SERVICE_KEY}"},
        {"apikey": "anon-key", "Authorization": f"Bearer {SERVICE_KEY}"},
        {"apikey": SERVICE_KEY, "Authorization": "Bearer anon-key"},
        {"apikey": SERVICE_KEY, "Authorization": SERVICE_KEY},
    ):
        r = httpx.post(url, json=body, headers=headers)
        assert r.status_code == 401, headers
        assert set(r.json()) == {"code", "message", "details", "hint"}
    wrong = SupabaseDatabase(standin.base_url, SERVICE_KEY + "x")
    assert expect(DbError, lambda: wrong.call("fanvue_get_profile", user_id=str(uuid.uuid4()))).code == "PGRST301"


def test_standin_postgrest_shaped_answers(standin, supa):
    headers = {"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"}
    base = f"{standin.base_url}/rest/v1/rpc"
    r = httpx.post(f"{base}/no_such_function", json={}, headers=headers)
    assert r.status_code == 404 and r.json()["code"] == "PGRST202"
    r = httpx.post(f"{base}/fanvue_get_profile", json={"p_user_id": str(uuid.uuid4()), "p_bogus": 1}, headers=headers)
    assert r.status_code == 404 and r.json()["code"] == "PGRST202"
    r = httpx.post(f"{base}/fanvue_get_profile", json={}, headers=headers)  # a required argument missing
    assert r.status_code == 404 and r.json()["code"] == "PGRST202"
    r = httpx.post(
        f"{base}/fanvue_acquire_model", json={"p_model_id": str(uuid.uuid4()), "p_worker": "w"}, headers=headers
    )
    assert r.status_code == 400 and r.json() == {
        "code": "FV404",
        "message": r.json()["message"],
        "details": None,
        "hint": None,
    }
    r = httpx.post(f"{base}/fanvue_get_profile", json={"p_user_id": str(uuid.uuid4())}, headers=headers)
    assert r.status_code == 200 and r.text == "null"
    assert httpx.get(f"{base}/fanvue_get_profile", headers=headers).status_code == 405
    assert httpx.post(f"{standin.base_url}/rest/v1/models", json={}, headers=headers).status_code == 404
    r = httpx.post(f"{base}/fanvue_get_profile", content=b"[1]", headers=headers)
    assert r.status_code == 400
    e = expect(DbError, lambda: supa.call("no_such_function"))
    assert e.code == "PGRST202"


def test_standin_runs_as_service_role(standin, sql):
    """Each request is its own transaction as service_role, like PostgREST with the service key."""
    sql.execute(
        "create or replace function public.zz_whoami() returns jsonb language sql"
        " as $$ select jsonb_build_object('role', current_user, 'claims', auth.jwt()) $$"
    )
    try:
        sql.execute("grant execute on function public.zz_whoami() to service_role")
        r = httpx.post(
            f"{standin.base_url}/rest/v1/rpc/zz_whoami",
            json={},
            headers={"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"},
        )
        assert r.json() == {"role": "service_role", "claims": {"role": "service_role"}}
        sql.execute("revoke execute on function public.zz_whoami() from service_role, public")
        r = httpx.post(
            f"{standin.base_url}/rest/v1/rpc/zz_whoami",
            json={},
            headers={"apikey": SERVICE_KEY, "Authorization": f"Bearer {SERVICE_KEY}"},
        )
        assert r.status_code == 403 and r.json()["code"] == "42501"
    finally:
        sql.execute("drop function if exists public.zz_whoami()")


def test_standin_stop_and_restart(database_url):
    server = PostgrestStandin(database_url, SERVICE_KEY)
    url = server.start(port=0)
    assert url.startswith("http://127.0.0.1:")
    assert SupabaseDatabase(url, SERVICE_KEY).call("fanvue_get_profile", user_id=str(uuid.uuid4())) is None
    server.stop()
    with pytest.raises(httpx.HTTPError):
        httpx.post(f"{url}/rest/v1/rpc/fanvue_get_profile", json={}, timeout=2)


# ---------------------------------------------------------------- transport parity bugs


# BUG (lib/db/postgres.py, PostgresDatabase.call): dict/list arguments are wrapped in Jsonb(v) as they
# are, so a datetime or UUID inside them (run stats, summaries) raises TypeError("Object of type
# datetime is not JSON serializable"), while SupabaseDatabase converts them with to_json_value.
# Fix: Jsonb(to_json_value(v)).
def test_datetimes_and_uuids_inside_json_arguments_work_on_both_transports(transport, sql, leased):
    run = transport.call("fanvue_start_run", kind="cli", worker="w")
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    transport.call(
        "fanvue_record_run_model",
        run_id=run["id"],
        model_id=uuid.UUID(leased.model_id),
        outcome="ok",
        stats={"started_at": started, "window_start": started, "fetched": 1},
    )
    out = transport.call(
        "fanvue_finish_run",
        run_id=run["id"],
        status="ok",
        summary={"models": [uuid.UUID(leased.model_id)], "at": started},
    )
    assert out["status"] == "ok"
    assert (
        sql.execute("select window_start from sync_run_models where run_id = %s", (run["id"],)).fetchone()[0] == started
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# BUG (lib/db/supabase_rpc.py and lib/db/postgres.py, call): an unreachable database escapes as
# httpx.ConnectError / psycopg.OperationalError instead of a DbError, so callers that handle
# DbError (lib/sync/runner.py around the token refresh) crash instead of recording the failure.
# Fix: catch httpx.HTTPError in SupabaseDatabase.call and psycopg.Error around _acquire() in
# PostgresDatabase.call, and raise DbError("unavailable", ...).
@pytest.mark.parametrize("kind", ["psycopg", "supabase"])
def test_an_unreachable_database_is_a_db_error(kind):
    port = _closed_port()
    database = (
        PostgresDatabase(f"postgresql://postgres@127.0.0.1:{port}/x", connect_timeout=2)
        if kind == "psycopg"
        else SupabaseDatabase(f"http://127.0.0.1:{port}", SERVICE_KEY)
    )
    with pytest.raises(DbError):
        database.call("fanvue_get_profile", user_id=str(uuid.uuid4()))
