"""Installing onto an existing OnyxOS database: the fixture copy is loaded into a fresh Postgres,
migrated, adopted, and synced against the sandbox playing the fixture's creators, then checked the
way its dashboard and an auditor would look at it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from devstack.adopt import AdoptReport, adopt
from devstack.migrate import migrate
from fanvue_sandbox.onyxos import LANA as S_LANA
from fanvue_sandbox.onyxos import OLIVIA as S_OLIVIA
from fanvue_sandbox.onyxos import expected_totals, onyxos_config
from lib.crypto import Cipher
from tests.adopt.onyx import (
    AGENCY,
    JULES,
    LANA,
    LEGACY_FIGURES,
    LEXI,
    MARA,
    MIA,
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
from tests.e2e.conftest import start_stack

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Adopted:
    url: str
    stack: Any
    rows_before: list[tuple[str, str]]
    shown_after_migrate: dict[str, Decimal]
    dry_run: AdoptReport
    plaintext_after_dry_run: list[str]
    first: AdoptReport
    shown_after_adopt: dict[str, Decimal]
    second: AdoptReport
    crons: int = 0
    final: AdoptReport | None = None
    other_agency: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def shown(url: str) -> dict[str, Decimal]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("select id::text, revenue_total from models").fetchall())


def backfilled(url: str, ids: list[str]) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) = %s from fanvue_sync_state where model_id = any(%s::uuid[])"
            " and backfill_completed_at is not null",
            (len(ids), ids),
        ).fetchone()[0]


@pytest.fixture(scope="module")
def adopted(database_url: str) -> Iterator[Adopted]:
    with fresh_database(with_database(database_url, "postgres")) as url:
        load_fixture(url)
        with psycopg.connect(url) as conn:
            rows_before = conn.execute(ROW_HASHES.format(table="fanvue_transactions")).fetchall()
        assert len(rows_before) == 292
        report = migrate(url)
        assert report.applied
        after_migrate = shown(url)
        config = onyxos_config(agency_grant_alive=True, rate_window_s=3.0)
        for stack in start_stack(url, config):
            cipher = Cipher.from_setting(stack.env["TOKEN_ENCRYPTION_KEY"])
            dry = adopt(url, cipher, dry_run=True)
            plaintext = text_values_containing(url, fixture_tokens())
            first = adopt(url, cipher, dry_run=False)
            after_adopt = shown(url)
            second = adopt(url, cipher, dry_run=False)
            state = Adopted(url, stack, rows_before, after_migrate, dry, plaintext, first, after_adopt, second)
            while not backfilled(url, [LANA, OLIVIA]) and state.crons < 8:
                stack.cron()
                state.crons += 1
            state.final = adopt(url, cipher, dry_run=True)
            yield state


def test_migrate_keeps_every_model_and_the_figure_the_dashboard_showed(adopted):
    assert {k: str(v) for k, v in adopted.shown_after_migrate.items()} == LEGACY_FIGURES
    with psycopg.connect(adopted.url) as conn:
        kept = conn.execute(
            "select id::text, agency_id::text, name, status, fanvue_username, instagram_handle,"
            " agency_split_percentage, subscribers_count from models order by name"
        ).fetchall()
    assert [(r[0], r[1], r[2]) for r in kept] == [
        (LANA, AGENCY, "Lana"),
        (LEXI, AGENCY, "Lexi Vale"),
        (MIA, AGENCY, "Mia Rose"),
        (OLIVIA, AGENCY, "Olivia Rae"),
    ]
    assert kept[2][3:6] == ("active", "mia.rose", "mia.rose.ig")


def test_dry_run_prints_a_plan_per_model_and_writes_nothing(adopted):
    text = adopted.dry_run.describe()
    for name in ("Lana", "Olivia Rae", "Lexi Vale", "Mia Rose"):
        assert any(line.startswith(f"{name}:") for line in adopted.dry_run.plan), name
    assert "dry run: nothing was written" in text
    assert sorted(adopted.plaintext_after_dry_run) == [
        "public.agency_fanvue_connections.fanvue_access_token",
        "public.agency_fanvue_connections.fanvue_refresh_token",
        "public.models.fanvue_access_token",
        "public.models.fanvue_refresh_token",
    ]


def test_adopt_imports_links_and_a_second_run_changes_nothing(adopted):
    first, second = adopted.first, adopted.second
    assert first.changed and first.result["connections_created"] == 3
    assert sorted(first.result["models_linked"]) == sorted([LANA, OLIVIA, LEXI])
    assert not second.changed and "nothing to do" in second.describe()
    assert second.result == {"connections_created": 0, "models_linked": [], "columns_dropped": []}
    with psycopg.connect(adopted.url) as conn:
        links = dict(
            conn.execute(
                "select m.id::text, c.kind from models m left join fanvue_connections c on c.id = m.connection_id"
            ).fetchall()
        )
    assert links == {LANA: "agency", OLIVIA: "creator", LEXI: "creator", MIA: None}


def test_no_zero_dollar_window_until_the_backfill_completes(adopted):
    assert {k: str(v) for k, v in adopted.shown_after_adopt.items()} == LEGACY_FIGURES


def test_connected_models_show_the_sandbox_truth_to_the_cent(adopted):
    truth = expected_totals()
    assert adopted.crons <= 8 and backfilled(adopted.url, [LANA, OLIVIA])
    with psycopg.connect(adopted.url) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                "select id::text, revenue_total, revenue_gross_cents, legacy_revenue_pending from models"
            ).fetchall()
        }
    for model, creator in ((LANA, S_LANA), (OLIVIA, S_OLIVIA)):
        total, cents, pending = rows[model]
        assert cents == truth[creator.handle]["gross"] and total == Decimal(cents) / 100 and pending is False


def test_a_dead_grant_needs_reconnect_and_keeps_its_legacy_figure(adopted):
    with psycopg.connect(adopted.url) as conn:
        status, reason = conn.execute(
            "select c.status, c.status_reason from models m join fanvue_connections c"
            " on c.id = m.connection_id where m.id = %s",
            (LEXI,),
        ).fetchone()
        total = conn.execute("select revenue_total from models where id = %s", (LEXI,)).fetchone()[0]
    assert status == "needs_reconnect" and reason
    assert str(total) == LEGACY_FIGURES[LEXI]


def test_every_legacy_row_is_kept_untouched_and_read_only(adopted):
    with psycopg.connect(adopted.url, autocommit=True) as conn:
        after = conn.execute(ROW_HASHES.format(table="fanvue_transactions_legacy")).fetchall()
        assert after == adopted.rows_before
        for statement in (
            "delete from fanvue_transactions_legacy",
            "update fanvue_transactions_legacy set amount = 0",
            "truncate fanvue_transactions_legacy",
        ):
            with pytest.raises(psycopg.Error, match="read-only"):
                conn.execute(statement)  # even the owner
        for role in ("service_role", "authenticated", "anon"):
            assert denied(conn, role, "delete from fanvue_transactions_legacy", MARA), role


def test_no_plaintext_token_anywhere(adopted):
    tokens = fixture_tokens()
    assert len(tokens) == 6
    assert text_values_containing(adopted.url, tokens) == []
    dump = pg_dump_text(adopted.url)
    if dump is not None:
        assert not [t for t in tokens if t in dump]
    with psycopg.connect(adopted.url) as conn:
        gone = conn.execute(
            "select count(*) from information_schema.columns where table_schema = 'public' and"
            " column_name in ('fanvue_access_token', 'fanvue_refresh_token', 'fanvue_api_key')"
        ).fetchone()[0]
        views = conn.execute("select count(*) from pg_views where schemaname = 'public'").fetchone()[0]
        rpcs = conn.execute(
            "select count(*) from pg_proc where pronamespace = 'public'::regnamespace and proname in"
            " ('mark_sync_complete', 'update_fanvue_token', 'recalculate_all_model_revenues',"
            " 'sync_model_revenue_from_transactions')"
        ).fetchone()[0]
    assert (gone, views, rpcs) == (0, 0, 0)


@pytest.fixture(scope="module")
def other_agency(adopted) -> str:
    """A second tenant with a model and one sale, to show that each agency sees only its own rows."""
    with psycopg.connect(adopted.url, autocommit=True) as conn:
        agency = conn.execute("insert into agencies (name) values ('Other') returning id::text").fetchone()[0]
        model = conn.execute(
            "insert into models (agency_id, name) values (%s, 'Stranger') returning id::text", (agency,)
        ).fetchone()[0]
        conn.execute(
            "insert into fanvue_transactions (model_id, dedupe_key, kind, transaction_date, source,"
            " gross_cents, net_cents, raw) values (%s, 'x', 'earning', now(), 'tip', 500, 400, '{}')",
            (model,),
        )
    return agency


@pytest.mark.parametrize("user", [MARA, JULES], ids=["grandmaster", "chatter"])
def test_dashboard_queries_through_rls_return_only_their_agency(adopted, other_agency, user):
    with psycopg.connect(adopted.url, autocommit=True) as conn:
        ledger_total = conn.execute(
            "select sum(amount) from fanvue_transactions where agency_id = %s", (AGENCY,)
        ).fetchone()[0]
        with as_user(conn, "authenticated", user) as c:
            models = c.execute("select agency_id::text, revenue_total from models").fetchall()
            tx = c.execute("select distinct agency_id::text from fanvue_transactions").fetchall()
            contract = c.execute(
                "select amount, net_amount, platform_fee, transaction_type, transaction_date, fan_id,"
                " fan_username, model_id, agency_id from fanvue_transactions"
            ).fetchall()
            legacy = c.execute("select count(*), count(distinct agency_id) from fanvue_transactions_legacy").fetchone()
            chart = c.execute(
                "select sum(total) from get_revenue_by_date_range(%s, null, '2000-01-01', now())", (AGENCY,)
            ).fetchone()[0]
            foreign = c.execute(
                "select count(*) from get_revenue_by_date_range(%s, null, '2000-01-01', now())", (other_agency,)
            ).fetchone()[0]
    assert len(models) == 4 and {a for a, _ in models} == {AGENCY}
    assert tx == [(AGENCY,)] and contract
    assert {r[3] for r in contract} <= {"subscription", "tip", "ppv", "message", "post", "stream", "other"}
    assert all(r[2] == r[0] - r[1] for r in contract)
    assert legacy == (292, 1)
    assert chart == ledger_total and foreign == 0


def test_roles_are_mapped_without_changing_the_apps_values(adopted):
    from lib.db.postgres import PostgresDatabase

    db = PostgresDatabase(adopted.url, max_connections=1)
    try:
        assert db.call("fanvue_get_profile", user_id=MARA)["role"] == "admin"
        assert db.call("fanvue_get_profile", user_id=JULES)["role"] == "member"
        assert db.call("fanvue_get_profile", user_id=MARA)["app_role"] == "grandmaster"
    finally:
        db.close()


def test_anon_reads_nothing(adopted):
    with psycopg.connect(adopted.url, autocommit=True) as conn:
        for table in (
            "agencies",
            "profiles",
            "models",
            "fanvue_transactions",
            "fanvue_transactions_legacy",
            "fanvue_connections",
            "agency_fanvue_connections",
        ):
            assert denied(conn, "anon", f"select * from {table}"), table
        assert denied(conn, "anon", f"select * from get_revenue_by_date_range('{AGENCY}')")


def test_diagnose_explains_the_legacy_figure_and_says_not_connected(adopted):
    stack = adopted.stack
    mia = stack.get("/api/fanvue/diagnose-revenue", user=MARA, modelId=MIA, probe="false", format="text")
    assert mia.status_code == 200 and "connection: not connected" in mia.text
    lana = stack.get("/api/fanvue/diagnose-revenue", user=MARA, modelId=LANA, probe="false").json()["legacy"]
    assert lana["legacy_figure_cents"] == 460700 and lana["showing_legacy_figure"] is False
    assert lana["unexplained_cents"] == 0
    text = " ".join(lana["reasons"])
    assert (
        "55 legacy rows repeat a sale" in text
        and "4 sales ($26.99) filed under this model belong to Olivia Rae" in text
        and "zero amount" in text
        and "never fetched" in text
    )
    olivia = stack.get("/api/fanvue/diagnose-revenue", user=MARA, modelId=OLIVIA, probe="false").json()["legacy"]
    assert olivia["unexplained_cents"] == 0 and olivia["connection"] == "connected"


def test_the_final_table_has_every_model(adopted):
    rows = {r["model"]: r for r in adopted.final.table}
    assert rows["Mia Rose"]["status"] == "not connected" and rows["Mia Rose"]["legacy_rows"] == 0
    assert rows["Lana"]["legacy_rows"] == 159 and rows["Lana"]["duplicates"] == "55 (809.84)"
    assert rows["Olivia Rae"]["ledger_total"] != "-" and rows["Lexi Vale"]["status"].startswith("needs_reconnect")
    print(adopted.dry_run.describe())
    print(adopted.final.describe())


def test_cli_adopt_on_an_adopted_database_says_nothing_to_do(adopted):
    env = {**os.environ, "DATABASE_URL": adopted.url, "TOKEN_ENCRYPTION_KEY": adopted.stack.env["TOKEN_ENCRYPTION_KEY"]}
    run = subprocess.run(
        [sys.executable, "-m", "lib.dev", "adopt"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "nothing to do" in run.stdout
