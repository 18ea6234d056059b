"""Migrations: apply cleanly in order on an empty database, once; and on Debian's PostgreSQL 15.

TEST_PG15=1 also runs them on the machine's PostgreSQL 15 (/usr/lib/postgresql/15/bin, or
TEST_PG15_BIN): a throwaway cluster is initialised in a temp directory on a free port, used, and removed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from devstack.migrate import BOOTSTRAP_FILE, migrate, migration_files

ROOT = Path(__file__).resolve().parents[2]
PG15_BIN = Path(os.environ.get("TEST_PG15_BIN", "/usr/lib/postgresql/15/bin"))


def with_database(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


@pytest.fixture()
def empty_database(database_url: str) -> Iterator[str]:
    """A new, empty database on the same server as the session's test database."""
    name = f"fanvue_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield with_database(database_url, name)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def assert_fully_migrated(url: str) -> None:
    with psycopg.connect(url) as conn:
        versions = [
            r[0]
            for r in conn.execute(
                "select version from supabase_migrations.schema_migrations order by version"
            ).fetchall()
        ]
        assert versions == [p.stem.partition("_")[0] for p in migration_files()]
        for fn in ("fanvue_ingest_page", "fanvue_claim_models", "fanvue_diagnosis_facts"):
            assert conn.execute("select to_regproc(%s) is not null", (f"public.{fn}",)).fetchone()[0], fn


def test_migration_files_are_ordered_and_named_like_supabase():
    files = migration_files()
    assert files, "no migrations"
    versions = [p.stem.partition("_")[0] for p in files]
    assert all(len(v) == 14 and v.isdigit() for v in versions), versions
    assert versions == sorted(set(versions)), "duplicate or unsorted versions"
    assert BOOTSTRAP_FILE.exists() and BOOTSTRAP_FILE.parent != files[0].parent, (
        "the local bootstrap must never be pushed to a Supabase project as a migration"
    )


def test_migrations_apply_in_order_without_notices_then_do_nothing(empty_database):
    first = migrate(empty_database)
    assert first.changed and first.bootstrap_applied
    assert first.applied == [p.name for p in migration_files()]
    assert first.notices == []
    assert_fully_migrated(empty_database)
    second = migrate(empty_database)
    assert second.changed is False and second.applied == [] and not second.bootstrap_applied
    assert second.already_applied == [p.name for p in migration_files()]
    assert second.notices == []
    assert second.describe().startswith("nothing to do")


def test_each_migration_alone_raises_no_notice(empty_database):
    """Applied one by one, in order, with every notice and warning captured per file."""
    with psycopg.connect(empty_database, autocommit=True) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(f"{d.severity}: {d.message_primary}"))
        conn.execute(BOOTSTRAP_FILE.read_text())
        conn.execute(BOOTSTRAP_FILE.read_text())  # the bootstrap is idempotent (it may say so in notices)
        notices.clear()
        for path in migration_files():
            with conn.transaction():
                conn.execute(path.read_text())
            assert notices == [], f"{path.name}: {notices}"


def test_cli_migrate_twice_reports_nothing_to_do(empty_database):
    env = {**os.environ, "DATABASE_URL": empty_database}
    runs = [
        subprocess.run(
            [sys.executable, "-m", "lib.dev", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "notice" not in run.stdout.lower()
    assert "applied" in runs[0].stdout and "nothing to do" not in runs[0].stdout
    assert "nothing to do" in runs[1].stdout


# ---------------------------------------------------------------- PostgreSQL 15


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def pg15_url() -> Iterator[str]:
    if os.environ.get("TEST_PG15") != "1":
        pytest.skip("set TEST_PG15=1 to run the migrations on the machine's PostgreSQL 15")
    if not (PG15_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL 15 binaries at {PG15_BIN}")
    run_as: dict = {}
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        for name in ("embedded_postgres", "postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            run_as = {"user": name}
            break
        else:
            pytest.skip("running as root and no unprivileged user to run PostgreSQL 15 as")
    base = Path(tempfile.mkdtemp(prefix="fanvue-pg15-"))
    data = base / "data"
    data.mkdir()
    if run_as:
        os.chmod(base, 0o755)
        shutil.chown(data, user=run_as["user"])
        shutil.chown(base, user=run_as["user"])
    port = _free_port()
    pg_ctl = [str(PG15_BIN / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [str(PG15_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
            **run_as,
        )
        subprocess.run(
            [
                *pg_ctl,
                "-w",
                "-l",
                str(base / "log"),
                "-o",
                f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=60,
            **run_as,
        )
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            assert conn.info.server_version // 10000 == 15
            conn.execute("create database fanvue_pg15")
        yield f"postgresql://postgres@127.0.0.1:{port}/fanvue_pg15"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60, **run_as)
        shutil.rmtree(base, ignore_errors=True)


def test_migrations_on_debian_postgresql_15(pg15_url):
    first = migrate(pg15_url)
    assert first.applied == [p.name for p in migration_files()] and first.notices == []
    assert_fully_migrated(pg15_url)
    second = migrate(pg15_url)
    assert second.changed is False and second.notices == []
    assert second.describe().startswith("nothing to do")
    # and the API works there too: one page in, totals right
    from lib.db.postgres import PostgresDatabase
    from tests.db.helpers import assert_ledger_consistent, item, new_model

    with psycopg.connect(pg15_url, autocommit=True) as sql:
        _, _, model = new_model(sql)
        database = PostgresDatabase(pg15_url, max_connections=2)
        try:
            assert database.call("fanvue_acquire_model", model_id=model, worker="w")["acquired"]
            out = database.call(
                "fanvue_ingest_page",
                model_id=model,
                worker="w",
                stream="earnings",
                items=[item("a", 100), item("b", -40, kind="refund")],
                window_start="2026-01-01T00:00:00Z",
                window_end="2026-02-01T00:00:00Z",
                last_page=True,
            )
            assert out["inserted"] == 2 and out["advanced"] is True
            assert_ledger_consistent(sql, [model])
        finally:
            database.close()
