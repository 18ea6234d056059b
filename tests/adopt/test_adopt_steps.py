"""Adoption step by step on fresh copies of the OnyxOS fixture: the switch from the legacy figure to
the ledger happens in the transaction that completes the backfill, a killed adopt leaves nothing
half done, the empty-database path is untouched, and the same holds on PostgreSQL 15."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from devstack.adopt import adopt, find_grants
from devstack.migrate import migrate
from lib.crypto import Cipher, new_key_text
from tests.adopt.onyx import (
    AGENCY,
    JULES,
    LEGACY_FIGURES,
    MARA,
    OLIVIA,
    ROW_HASHES,
    as_user,
    denied,
    fixture_tokens,
    fresh_database,
    load_fixture,
    pg_dump_text,
    text_values_containing,
    with_database,
)
from tests.db.test_migrations import pg15_url  # noqa: F401  (fixture: a throwaway PostgreSQL 15)

CIPHER = Cipher.from_setting(new_key_text("adopt1"))


@pytest.fixture()
def onyx(database_url: str) -> Iterator[str]:
    with fresh_database(with_database(database_url, "postgres")) as url:
        load_fixture(url)
        migrate(url)
        yield url


def _item(key: str, cents: int, day: str) -> dict:
    return {
        "key": key,
        "kind": "earning",
        "date": f"{day}T12:00:00.000Z",
        "source": "tip",
        "gross": cents,
        "net": cents * 8 // 10,
        "currency": "USD",
        "fan_uuid": None,
        "raw": {},
    }


def test_revenue_total_switches_in_the_transaction_that_completes_the_backfill(onyx):
    adopt(onyx, CIPHER, dry_run=False)
    with psycopg.connect(onyx, autocommit=True) as conn:

        def shown() -> tuple:
            return conn.execute(
                "select revenue_total, revenue_gross_cents from models where id = %s", (OLIVIA,)
            ).fetchone()

        assert conn.execute("select public.fanvue_acquire_model(%s, 'w')", (OLIVIA,)).fetchone()[0]["acquired"]
        page = "select public.fanvue_ingest_page(%s, 'w', 'earnings', %s::jsonb, %s, %s, %s, %s)"
        conn.execute(
            page, (OLIVIA, json.dumps([_item("a", 1000, "2026-01-10")]), "2026-01-01", "2026-02-01", False, False)
        )
        assert shown() == (Decimal(LEGACY_FIGURES[OLIVIA]), 1000)  # partial history: the old figure stays
        with conn.transaction():
            conn.execute(
                page, (OLIVIA, json.dumps([_item("b", 250, "2026-01-05")]), "2026-01-01", "2026-02-01", True, True)
            )
            assert shown() == (Decimal("12.50"), 1250)  # switched inside the completing transaction
        assert (
            conn.execute("select legacy_revenue_cents from models where id = %s", (OLIVIA,)).fetchone()[0] == 79604
        )  # kept for the explanation


def test_a_killed_adopt_changes_nothing_and_a_rerun_finishes(onyx):
    conn = psycopg.connect(onyx)
    with conn.cursor() as cur:
        imports = [g.encrypted(CIPHER, datetime.now(UTC)) for g in find_grants(cur)]
        cur.execute("select public.fanvue_adopt(%s::jsonb)", (json.dumps(imports),))
    conn.close()  # the process dies before COMMIT
    assert len(text_values_containing(onyx, fixture_tokens())) == 4
    rerun = adopt(onyx, CIPHER, dry_run=False)
    assert rerun.changed and rerun.result["connections_created"] == 3
    assert text_values_containing(onyx, fixture_tokens()) == []
    assert not adopt(onyx, CIPHER, dry_run=False).changed


def test_adopt_on_a_database_that_was_always_ours_has_nothing_to_do(database_url):
    with fresh_database(with_database(database_url, "postgres")) as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            assert conn.execute("select to_regclass('public.fanvue_transactions_legacy')").fetchone()[0] is None
        report = adopt(url, None, dry_run=False)
        assert not report.changed and "nothing to do" in report.describe()


def test_the_whole_move_on_postgresql_15(pg15_url):  # noqa: F811
    load_fixture(pg15_url)
    with psycopg.connect(pg15_url) as conn:
        before = conn.execute(ROW_HASHES.format(table="fanvue_transactions")).fetchall()
    assert migrate(pg15_url).applied
    dry = adopt(pg15_url, CIPHER, dry_run=True)
    assert len(text_values_containing(pg15_url, fixture_tokens())) == 4 and "dry run" in dry.describe()
    assert adopt(pg15_url, CIPHER, dry_run=False).changed
    assert not adopt(pg15_url, CIPHER, dry_run=False).changed
    assert text_values_containing(pg15_url, fixture_tokens()) == []
    dump = pg_dump_text(pg15_url, "/usr/lib/postgresql/15/bin/pg_dump")
    assert dump is not None and not [t for t in fixture_tokens() if t in dump]
    with psycopg.connect(pg15_url, autocommit=True) as conn:
        assert conn.execute(ROW_HASHES.format(table="fanvue_transactions_legacy")).fetchall() == before
        for user in (MARA, JULES):
            with as_user(conn, "authenticated", user) as c:
                shown = dict(c.execute("select id::text, revenue_total::text from models").fetchall())
                assert shown == LEGACY_FIGURES
                assert (
                    c.execute(
                        "select count(*) from fanvue_transactions_legacy where agency_id = %s", (AGENCY,)
                    ).fetchone()[0]
                    == 292
                )
        assert denied(conn, "anon", "select * from models")
