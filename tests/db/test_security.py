"""Row level security and grants, as Supabase's `anon`, `authenticated` and `service_role` see them.

Each check runs in its own transaction that switches role the way PostgREST does (`set local role`,
`request.jwt.claims`) and is always rolled back. Lists of tables and functions come from the catalog,
so tables and functions added later are covered without touching this file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest

from tests.db.helpers import item
from tests.factories import World, make_agency, make_connection, make_model

TOKEN_COLUMNS = ("access_token_enc", "refresh_token_enc")
READABLE_CONNECTION_COLUMNS = (
    "id",
    "agency_id",
    "kind",
    "fanvue_user_uuid",
    "fanvue_handle",
    "expires_at",
    "scopes",
    "status",
    "status_reason",
    "last_refresh_at",
    "last_refresh_outcome",
    "last_error",
    "last_error_at",
    "created_at",
    "updated_at",
)


@dataclass
class Tenant:
    world: World
    connection_id: str
    model_ids: list[str]
    run_id: str


@dataclass
class Tenants:
    a: Tenant
    b: Tenant
    stranger: str  # an authenticated user with no profile


def make_tenant(db, sql, name: str) -> Tenant:
    world = make_agency(sql, name)
    conn = make_connection(sql, world.agency_id, "agency")
    models = [make_model(sql, world.agency_id, f"{name} model {i}", conn) for i in range(2)]
    run = db.call("fanvue_start_run", kind="cron", worker=name)["id"]
    for i, model in enumerate(models):
        assert db.call("fanvue_acquire_model", model_id=model, worker=name)["acquired"]
        db.call(
            "fanvue_ingest_page",
            model_id=model,
            worker=name,
            stream="earnings",
            items=[item(f"{name}-{i}-a", 1000), item(f"{name}-{i}-r", -100, kind="refund")],
            window_start="2026-01-01T00:00:00Z",
            window_end="2026-02-01T00:00:00Z",
            last_page=True,
        )
        db.call("fanvue_record_run_model", run_id=run, model_id=model, outcome="ok", stats={"fetched": 2})
    db.call("fanvue_finish_run", run_id=run, status="ok")
    return Tenant(world, conn, models, run)


@pytest.fixture()
def tenants(db, clean_db) -> Tenants:
    sql = clean_db
    a, b = make_tenant(db, sql, "A"), make_tenant(db, sql, "B")
    db.call("fanvue_consume_oauth_state", state_id="some-state", expires_at="2099-01-01T00:00:00Z")
    db.call("fanvue_start_run", kind="cron", worker="orphan")  # a run that touched no model
    # an incident per connection, and a deployment-wide one (no agency) that no dashboard user reads
    sql.execute(
        "insert into fanvue_incidents (kind, subject, agency_id, connection_id)"
        " select 'needs_reconnect', id::text, agency_id, id from fanvue_connections"
    )
    sql.execute("insert into fanvue_incidents (kind, subject) values ('cron_overdue', 'cron')")
    return Tenants(a, b, str(uuid.uuid4()))


@contextmanager
def as_role(conn: psycopg.Connection, role: str, user_id: str | None = None) -> Iterator[psycopg.Connection]:
    """One transaction as `role` (with the JWT claims PostgREST would set); always rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute(f"set local role {role}")
        claims = {"role": role} if user_id is None else {"sub": user_id, "role": role}
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield conn


def denied(conn: psycopg.Connection, role: str, statement: str, user_id: str | None = None, params=None) -> bool:
    try:
        with as_role(conn, role, user_id) as c:
            c.execute(statement, params)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def public_tables(sql) -> list[str]:
    return [
        r[0]
        for r in sql.execute(
            "select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')"
            " order by 1"
        ).fetchall()
    ]


# what a user of an agency may read, and how to tell which agency a row belongs to
SCOPED_READS = {
    "agencies": "select id::text from agencies",
    "profiles": "select agency_id::text from profiles",
    "models": "select agency_id::text from models",
    "fanvue_connections": "select agency_id::text from fanvue_connections",
    "fanvue_transactions": "select m.agency_id::text from fanvue_transactions t join models m on m.id = t.model_id",
    "fanvue_sync_state": "select m.agency_id::text from fanvue_sync_state s join models m on m.id = s.model_id",
    "sync_runs": "select distinct rm.agency_id::text, r.id from sync_runs r"
    " join sync_run_models rm on rm.run_id = r.id",
    "sync_run_models": "select agency_id::text from sync_run_models",
    "fanvue_ledger_daily": "select m.agency_id::text from fanvue_ledger_daily d join models m on m.id = d.model_id",
    "fanvue_incidents": "select agency_id::text from fanvue_incidents",
}


SERVICE_ONLY = {
    "oauth_state_uses",
    "fanvue_webhook_events",
    "fanvue_role_map",
    "fanvue_adoption",
    "fanvue_probe_cache",
    "fanvue_throttle",
    "fanvue_reported_totals",
    "fanvue_ledger_monthly",
}


def test_every_public_table_is_covered_by_these_tests(sql):
    assert set(public_tables(sql)) == set(SCOPED_READS) | SERVICE_ONLY, (
        "a new table: add its tenant scoping to SCOPED_READS"
    )


def test_rls_is_enabled_on_every_public_table(sql):
    missing = sql.execute(
        "select relname from pg_class where relnamespace = 'public'::regnamespace"
        " and relkind in ('r', 'p') and not relrowsecurity"
    ).fetchall()
    assert missing == []


def test_no_policy_is_permissive_to_everyone(sql):
    rows = sql.execute(
        "select tablename, policyname, cmd, roles::text[], qual, with_check from pg_policies"
        " where schemaname = 'public'"
    ).fetchall()
    assert rows
    for table, name, cmd, roles, qual, with_check in rows:
        assert (with_check or "").strip().lower() not in ("true", "(true)"), f"{table}.{name}: WITH CHECK (true)"
        assert (qual or "").strip().lower() not in ("true", "(true)"), f"{table}.{name}: USING (true)"
        assert cmd == "SELECT", f"{table}.{name}: dashboard users only read"
        assert roles == ["authenticated"], f"{table}.{name}: for {roles}"


def test_no_view_in_public_bypasses_rls(sql):
    views = sql.execute(
        "select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace"
        " and c.relkind in ('v', 'm')"
        " and not coalesce('security_invoker=true' = any(c.reloptions), false)"
    ).fetchall()
    assert views == []


@pytest.mark.parametrize("user", ["admin", "member"])
def test_a_user_sees_only_their_agency(sql, tenants, user):
    for mine, theirs in ((tenants.a, tenants.b), (tenants.b, tenants.a)):
        user_id = mine.world.admin_id if user == "admin" else mine.world.member_id
        for table, query in SCOPED_READS.items():
            all_rows = sql.execute(query).fetchall()
            with as_role(sql, "authenticated", user_id) as c:
                seen = c.execute(query).fetchall()
            expected = [r for r in all_rows if r[0] == mine.world.agency_id]
            assert sorted(seen) == sorted(expected), table
            assert expected, f"setup made no {table} rows for the agency"
            assert all(r[0] != theirs.world.agency_id for r in seen), table
        with as_role(sql, "authenticated", user_id) as c:
            assert c.execute("select private.current_agency_id()::text").fetchone()[0] == mine.world.agency_id


def test_runs_of_other_agencies_and_orphan_runs_are_invisible(sql, tenants):
    with as_role(sql, "authenticated", tenants.a.world.admin_id) as c:
        runs = [r[0] for r in c.execute("select id::text from sync_runs").fetchall()]
    assert runs == [tenants.a.run_id]


def test_a_user_without_a_profile_sees_nothing(sql, tenants):
    for table in SCOPED_READS:
        column = "id" if table not in ("fanvue_sync_state", "fanvue_ledger_daily", "sync_run_models") else "model_id"
        with as_role(sql, "authenticated", tenants.stranger) as c:
            assert c.execute(f"select {column} from {table}").fetchall() == [], table
    with as_role(sql, "authenticated") as c:  # a token without sub
        assert c.execute("select id from models").fetchall() == []


def test_token_columns_are_not_readable(sql, tenants):
    user = tenants.a.world.admin_id
    for column in TOKEN_COLUMNS:
        assert denied(sql, "authenticated", f"select {column} from fanvue_connections", user), column
    assert denied(sql, "authenticated", "select * from fanvue_connections", user)
    for column in ("token_version", "token_key_id", "refresh_lease_owner", "created_by"):
        assert denied(sql, "authenticated", f"select {column} from fanvue_connections", user), column
    with as_role(sql, "authenticated", user) as c:
        rows = c.execute(f"select {', '.join(READABLE_CONNECTION_COLUMNS)} from fanvue_connections").fetchall()
    assert [str(r[0]) for r in rows] == [tenants.a.connection_id]
    # and no way around it through a function either
    assert denied(sql, "authenticated", "select public.fanvue_get_connection(%s)", user, (tenants.a.connection_id,))


@pytest.mark.parametrize("table", sorted(SERVICE_ONLY))
def test_service_only_tables_are_invisible_to_dashboard_users(sql, tenants, table):
    assert denied(sql, "authenticated", f"select * from {table}", tenants.a.world.admin_id)
    assert denied(sql, "anon", f"select * from {table}", None)


WRITES = {
    "insert": "insert into {t} default values",
    "update": "update {t} set {c} = {c}",
    "delete": "delete from {t}",
    "truncate": "truncate {t} cascade",
}


@pytest.mark.parametrize("role", ["authenticated", "anon"])
def test_dashboard_roles_cannot_write_anything(sql, tenants, role):
    user = tenants.a.world.admin_id if role == "authenticated" else None
    for table in public_tables(sql):
        column = sql.execute(
            "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0"
            " and not attisdropped and attgenerated = '' and attidentity = '' order by attnum"
            " limit 1",
            (f"public.{table}",),
        ).fetchone()[0]
        for op, template in WRITES.items():
            statement = template.format(t=f"public.{table}", c=column)
            assert denied(sql, role, statement, user), f"{role} may {op} {table}"
    # including the revenue columns and generated ledger through an own-agency row
    assert denied(sql, role, "update models set revenue_gross_cents = 0 where id = %s", user, (tenants.a.model_ids[0],))


def test_anon_sees_nothing(sql, tenants):
    for table in public_tables(sql):
        assert denied(sql, "anon", f"select 1 from public.{table}"), table
    assert denied(sql, "anon", "select private.current_agency_id()")


def test_dashboard_roles_have_no_sequence_privileges(sql):
    rows = sql.execute(
        "select c.relname, r.rolname from pg_class c cross join (values ('anon'), ('authenticated')) r(rolname)"
        " where c.relnamespace = 'public'::regnamespace and c.relkind = 'S'"
        " and (has_sequence_privilege(r.rolname, c.oid, 'USAGE') or has_sequence_privilege(r.rolname, c.oid, 'UPDATE'))"
    ).fetchall()
    assert rows == []


FUNCTIONS = """
select p.oid::regprocedure::text, n.nspname, p.proname
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname in ('public', 'private') and p.prokind in ('f', 'p')
 order by 1
"""


# the RLS helper the policies call, and the dashboard's chart RPC (SECURITY INVOKER: RLS applies)
DASHBOARD_FUNCTIONS = {("private", "current_agency_id"), ("public", "get_revenue_by_date_range")}


def test_no_function_is_executable_by_dashboard_roles(sql):
    functions = sql.execute(FUNCTIONS).fetchall()
    assert len(functions) >= 25  # the database API and its helpers
    for signature, schema, name in functions:
        allowed = (schema, name) in DASHBOARD_FUNCTIONS
        assert not sql.execute("select has_function_privilege('anon', %s, 'EXECUTE')", (signature,)).fetchone()[0], (
            f"anon may execute {signature}"
        )
        assert (
            sql.execute("select has_function_privilege('authenticated', %s, 'EXECUTE')", (signature,)).fetchone()[0]
            is allowed
        ), f"authenticated execute {signature}"


def test_service_role_can_execute_every_function(sql):
    for signature, _schema, _name in sql.execute(FUNCTIONS).fetchall():
        assert sql.execute("select has_function_privilege('service_role', %s, 'EXECUTE')", (signature,)).fetchone()[
            0
        ], signature


def test_every_api_function_is_refused_to_dashboard_roles_in_practice(sql, tenants):
    model = tenants.a.model_ids[0]
    calls = [
        ("fanvue_get_profile(%s)", (tenants.a.world.admin_id,)),
        ("fanvue_diagnosis_facts(%s)", (model,)),
        ("fanvue_claim_models('x', 10)", None),
        ("fanvue_legacy_facts(%s)", (model,)),
    ]
    for role in ("anon", "authenticated"):
        for call, params in calls:
            assert denied(sql, role, f"select public.{call}", tenants.a.world.admin_id, params), (role, call)
        assert denied(sql, role, "select private.work_item(%s)", tenants.a.world.admin_id, (model,))


def test_service_role_runs_the_api_end_to_end(sql, tenants):
    """What PostgREST does with the service key: the grants are enough for every step."""
    model = tenants.a.model_ids[0]
    with as_role(sql, "service_role") as c:
        c.execute("update fanvue_sync_state set lease_owner = null, next_sync_at = now() - interval '1 minute'")
        claimed = c.execute("select public.fanvue_claim_models('svc', 10)").fetchone()[0]
        assert model in [w["model_id"] for w in claimed]
        out = c.execute(
            "select public.fanvue_ingest_page(%s, 'svc', 'earnings', %s::jsonb)",
            (model, json.dumps([item("svc-1", 5000)])),
        ).fetchone()[0]
        assert out["inserted"] == 1
        facts = c.execute("select public.fanvue_diagnosis_facts(%s)", (model,)).fetchone()[0]
        assert facts["ledger"]["gross_cents"] == facts["stored"]["gross_cents"] == 6000
        c.execute("select public.fanvue_release_model(%s, 'svc', 'ok')", (model,))


def test_no_migration_changes_default_privileges():
    """Grants are made object by object: a default-privilege change would silently apply to every
    function or table the rest of an existing database's app creates later."""
    from devstack.migrate import migration_files

    for path in migration_files():
        text = " ".join(path.read_text().lower().split())
        assert "alter default privileges" not in text, path.name
        assert " on all tables in schema" not in text and " on all functions in schema" not in text, path.name


# BUG (supabase/migrations/20261201000100_security.sql, policy runs_read_own_agency + grant select on
# sync_runs): a user sees the WHOLE row of any run that touched one of their models. A cron run covers
# every agency, and lib/sync/runner.py stores cross-agency data in sync_runs.summary (token_errors with
# other agencies' connection ids and Fanvue error texts, totals over all agencies) and sync_runs.error.
# Fix: grant authenticated only the run columns that carry no other agency's data, e.g.
# `revoke select on sync_runs from authenticated; grant select (id, kind, status, started_at,
# finished_at) on sync_runs to authenticated`, keeping per-agency detail in sync_run_models.
def test_a_shared_cron_run_does_not_leak_other_agencies_data(db, sql, tenants):
    run = db.call("fanvue_start_run", kind="cron", worker="cron")["id"]
    for tenant in (tenants.a, tenants.b):
        db.call("fanvue_record_run_model", run_id=run, model_id=tenant.model_ids[0], outcome="ok", stats={})
    secret = tenants.b.connection_id
    db.call(
        "fanvue_finish_run",
        run_id=run,
        status="partial",
        error=f"connection {secret} failed",
        summary={"token_errors": [{"connection_id": secret, "error": "refresh token rejected by Fanvue"}]},
    )
    readable = [
        r[0]
        for r in sql.execute(
            "select attname from pg_attribute where attrelid = 'public.sync_runs'::regclass and attnum > 0"
            " and not attisdropped and has_column_privilege('authenticated', attrelid, attnum, 'SELECT')"
        ).fetchall()
    ]
    assert "id" in readable
    with as_role(sql, "authenticated", tenants.a.world.admin_id) as c:
        for column in readable:
            values = [str(v[0]) for v in c.execute(f"select {column} from sync_runs where id = %s", (run,)).fetchall()]
            assert values, "the run itself stays visible"
            assert not any(secret in v for v in values), f"sync_runs.{column} shows agency B's data to agency A"
