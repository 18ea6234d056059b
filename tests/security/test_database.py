"""The database side of F8, read from the catalog of the migrated database: RLS on every table, no
permissive policy, the REST roles read only (and only through policies), no view leaking across
agencies, and no function executable by anon/authenticated except the one RLS helper."""

from __future__ import annotations

import psycopg
import pytest


@pytest.fixture(scope="module")
def sql(database_url, sec):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def test_every_public_table_has_rls(sql):
    missing = sql.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity"
    ).fetchall()
    assert missing == [], f"tables without row level security: {missing}"


def test_no_permissive_or_writing_policies(sql):
    rows = sql.execute(
        "select tablename, policyname, roles::text, cmd, qual, with_check from pg_policies where schemaname = 'public'"
    ).fetchall()
    assert rows, "no policies at all?"
    for table, name, roles, cmd, qual, with_check in rows:
        assert cmd == "SELECT", f"{table}.{name} allows {cmd}"
        assert "anon" not in roles and "public" not in roles, f"{table}.{name} applies to {roles}"
        assert (qual or "").strip().lower() not in ("true", "(true)", ""), f"{table}.{name} is USING (true)"
        assert with_check is None or with_check.strip().lower() not in ("true", "(true)"), f"{table}.{name}"


def test_rest_roles_have_read_only_table_privileges(sql):
    rows = sql.execute(
        "select grantee, table_name, privilege_type from information_schema.role_table_grants"
        " where table_schema = 'public' and grantee in ('anon', 'authenticated', 'PUBLIC')"
    ).fetchall()
    assert all(grantee == "authenticated" and privilege == "SELECT" for grantee, _, privilege in rows), rows
    columns = sql.execute(
        "select grantee, table_name, column_name, privilege_type"
        " from information_schema.column_privileges where table_schema = 'public'"
        " and grantee in ('anon', 'authenticated') and privilege_type <> 'SELECT'"
    ).fetchall()
    assert columns == [], columns
    tables = {t for _, t, _ in rows}
    assert "fanvue_webhook_events" not in tables and "oauth_state_uses" not in tables


def test_views_do_not_bypass_rls(sql):
    views = sql.execute(
        "select c.relname, coalesce(c.reloptions::text, '') from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and c.relkind in ('v', 'm')"
    ).fetchall()
    for name, options in views:
        readable = sql.execute(
            "select has_table_privilege('authenticated', %s, 'select') or has_table_privilege('anon', %s, 'select')",
            (f"public.{name}", f"public.{name}"),
        ).fetchone()[0]
        assert not readable or "security_invoker=true" in options, (
            f"view {name} is readable by a REST role and runs with its owner's rights"
        )


def test_no_function_is_executable_by_rest_roles(sql):
    rows = sql.execute(
        "select p.oid::regprocedure::text, p.prosecdef from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname in ('public', 'private') and (has_function_privilege('anon', p.oid, 'execute')"
        " or has_function_privilege('authenticated', p.oid, 'execute'))"
    ).fetchall()
    # the RLS helper, and the dashboard's chart RPC, which runs with the caller's rights (RLS applies)
    assert sorted(rows) == [
        ("get_revenue_by_date_range(uuid,uuid,timestamp with time zone,timestamp with time zone)", False),
        ("private.current_agency_id()", True),
    ], rows
    definers = sql.execute(
        "select p.oid::regprocedure::text, coalesce(array_to_string(p.proconfig, ','), '')"
        " from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname in ('public', 'private') and p.prosecdef"
    ).fetchall()
    for name, config in definers:
        assert "search_path=" in config, f"security definer {name} has no fixed search_path"
