"""Applies supabase/migrations to a Postgres database, in order, once each.

On a plain Postgres (not a Supabase project) the local bootstrap runs first so the same migrations
run unchanged. Applied versions are tracked in supabase_migrations.schema_migrations, the table the
Supabase CLI uses, so `supabase db push` and this command agree about what is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS_DIR = ROOT / "supabase" / "migrations"
BOOTSTRAP_FILE = ROOT / "supabase" / "bootstrap" / "local_supabase.sql"
LOCK_KEY = 727_001_2026


@dataclass
class MigrateReport:
    bootstrap_applied: bool = False
    applied: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.bootstrap_applied or bool(self.applied)

    def describe(self) -> str:
        if not self.changed:
            return f"nothing to do: all {len(self.already_applied)} migrations already applied"
        parts = []
        if self.bootstrap_applied:
            parts.append("applied the local Supabase bootstrap (roles, auth helpers, default privileges)")
        parts.append(f"applied {len(self.applied)} migration(s): {', '.join(self.applied)}")
        return "; ".join(parts)


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def _needs_bootstrap(cur) -> bool:
    cur.execute(
        "select (select count(*) from pg_roles where rolname in ('anon','authenticated','service_role')) = 3"
        " and to_regprocedure('auth.uid()') is not null and to_regprocedure('auth.jwt()') is not null"
    )
    return not cur.fetchone()[0]


def migrate(url: str) -> MigrateReport:
    import psycopg

    report = MigrateReport()
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        conn.add_notice_handler(lambda diag: report.notices.append(diag.message_primary or ""))
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
            try:
                if _needs_bootstrap(cur):
                    with conn.transaction():
                        cur.execute(BOOTSTRAP_FILE.read_text())
                    report.bootstrap_applied = True
                cur.execute("select to_regclass('supabase_migrations.schema_migrations') is not null")
                if not cur.fetchone()[0]:
                    with conn.transaction():
                        cur.execute("create schema if not exists supabase_migrations")
                        cur.execute(
                            "create table supabase_migrations.schema_migrations "
                            "(version text primary key, statements text[], name text)"
                        )
                cur.execute("select version from supabase_migrations.schema_migrations")
                done = {row[0] for row in cur.fetchall()}
                for path in migration_files():
                    version, _, name = path.stem.partition("_")
                    if version in done:
                        report.already_applied.append(path.name)
                        continue
                    sql_text = path.read_text()
                    with conn.transaction():
                        cur.execute(sql_text)
                        cur.execute(
                            "insert into supabase_migrations.schema_migrations (version, statements, name)"
                            " values (%s, %s, %s)",
                            (version, [sql_text], name),
                        )
                    report.applied.append(path.name)
            finally:
                cur.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
    return report
