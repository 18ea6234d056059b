"""Run history (start/record/finish) and fanvue_diagnosis_facts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lib.db.errors import DbError, NotFound
from tests.db.helpers import ingest, item, new_model

# ---------------------------------------------------------------- runs


def test_run_lifecycle(db, sql, leased):
    run = db.call("fanvue_start_run", kind="cron", worker="host:1", budget_seconds=270)
    assert set(run) == {"id", "started_at"}
    row = sql.execute(
        "select kind, worker, status, budget_seconds, finished_at from sync_runs where id = %s", (run["id"],)
    ).fetchone()
    assert row == ("cron", "host:1", "running", 270, None)
    stats = {
        "fetched": 10,
        "inserted": 7,
        "updated": 1,
        "unchanged": 2,
        "revenue_before_cents": 100,
        "revenue_after_cents": 900,
        "window_start": "2026-01-01T00:00:00Z",
        "window_end": "2026-02-01T00:00:00Z",
    }
    out = db.call("fanvue_record_run_model", run_id=run["id"], model_id=leased.model_id, outcome="partial", stats=stats)
    assert out == {"run_id": run["id"], "model_id": leased.model_id, "outcome": "partial"}
    # a second record for the same model in the same run accumulates counts and keeps the first start
    db.call(
        "fanvue_record_run_model",
        run_id=run["id"],
        model_id=leased.model_id,
        outcome="ok",
        stats={
            "fetched": 5,
            "inserted": 5,
            "revenue_after_cents": 1400,
            "window_start": "2026-02-01T00:00:00Z",
            "window_end": "2026-03-01T00:00:00Z",
            "error": None,
        },
    )
    rm = sql.execute(
        "select outcome, fetched, inserted, updated, unchanged, revenue_before_cents,"
        " revenue_after_cents, window_start::date::text, window_end::date::text, agency_id::text"
        " from sync_run_models where run_id = %s",
        (run["id"],),
    ).fetchall()
    assert rm == [("ok", 15, 12, 1, 2, 100, 1400, "2026-01-01", "2026-03-01", leased.world.agency_id)]
    done = db.call("fanvue_finish_run", run_id=run["id"], status="ok", summary={"models": 1}, error=None)
    assert done["id"] == run["id"] and done["status"] == "ok" and done["finished_at"]
    row = sql.execute(
        "select status, summary, error, finished_at is not null from sync_runs where id = %s", (run["id"],)
    ).fetchone()
    assert row == ("ok", {"models": 1}, None, True)
    db.call("fanvue_finish_run", run_id=run["id"], status="failed", summary=None, error="x")
    assert sql.execute("select summary, error from sync_runs where id = %s", (run["id"],)).fetchone() == ({}, "x")


def test_record_run_model_with_empty_stats(db, sql, leased):
    run = db.call("fanvue_start_run", kind="force", worker="w")
    db.call("fanvue_record_run_model", run_id=run["id"], model_id=leased.model_id, outcome="dry_run", stats={})
    assert sql.execute(
        "select fetched, revenue_before_cents, error from sync_run_models where run_id = %s", (run["id"],)
    ).fetchone() == (0, None, None)


def test_run_functions_with_unknown_ids(db, sql, leased):
    run = db.call("fanvue_start_run", kind="cli", worker="w")
    assert (
        db.call("fanvue_record_run_model", run_id=run["id"], model_id=str(uuid.uuid4()), outcome="ok", stats={}) is None
    )
    assert db.call("fanvue_finish_run", run_id=str(uuid.uuid4()), status="ok") is None
    with pytest.raises(DbError):  # unknown run: foreign key violation, nothing written
        db.call("fanvue_record_run_model", run_id=str(uuid.uuid4()), model_id=leased.model_id, outcome="ok", stats={})


def test_run_functions_reject_unknown_kinds_and_statuses(db, sql, leased):
    with pytest.raises(DbError):
        db.call("fanvue_start_run", kind="hourly", worker="w")
    run = db.call("fanvue_start_run", kind="refresh", worker="w")
    with pytest.raises(DbError):
        db.call("fanvue_finish_run", run_id=run["id"], status="done")
    with pytest.raises(DbError):
        db.call("fanvue_record_run_model", run_id=run["id"], model_id=leased.model_id, outcome="great", stats={})
    assert sql.execute("select status from sync_runs where id = %s", (run["id"],)).fetchone()[0] == "running"


# ---------------------------------------------------------------- diagnosis facts


def recent(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def test_diagnosis_facts_are_consistent_for_both_methods(db, sql, leased):
    ingest(
        db,
        leased,
        [
            item("e1", 1000, 800, date=recent(1), order_id="o1", order_status="pendingBalance"),
            item("e2", 2500, 2000, date=recent(2), source="subscription", order_id="o2", order_status="available"),
            item("e3", 700, 560, date=recent(200), source="message"),  # old, no order id -> fallback-keyed
            item("r1", -1000, -800, kind="refund", date=recent(1), order_id="o1"),
            item("c1", -300, -240, kind="chargeback", date=recent(3), source="message", order_id="o3"),
        ],
        window_start=recent(400),
        window_end=recent(1.5),
        last_page=True,
    )
    run = db.call("fanvue_start_run", kind="cron", worker="w")
    db.call(
        "fanvue_record_run_model",
        run_id=run["id"],
        model_id=leased.model_id,
        outcome="ok",
        stats={"fetched": 5, "inserted": 5, "revenue_before_cents": 0, "revenue_after_cents": 4200},
    )
    db.call("fanvue_finish_run", run_id=run["id"], status="ok")

    exact = db.call("fanvue_diagnosis_facts", model_id=leased.model_id)
    rollup = db.call("fanvue_diagnosis_facts", model_id=leased.model_id, exact_limit=0)
    assert exact["ledger"]["method"] == "ledger" and rollup["ledger"]["method"] == "daily_rollup"
    numbers = ("gross_cents", "net_cents", "refund_cents", "refund_net_cents", "count", "refund_count")
    expected = dict(zip(numbers, (4200, 3360, -1300, -1040, 3, 2), strict=False))
    assert {k: exact["ledger"][k] for k in numbers} == expected
    assert {k: rollup["ledger"][k] for k in numbers} == expected
    assert {k: exact["stored"][k] for k in numbers} == expected
    assert exact["stored"]["revenue_total"] == 42.0
    assert exact["ledger"]["first_date"] and exact["ledger"]["last_date"]
    # by_source adds up to the ledger
    by_source = exact["by_source"]
    assert sum(s["gross_cents"] for s in by_source if s["kind"] == "earning") == 4200
    assert sum(s["count"] for s in by_source) == 5
    assert {(s["kind"], s["source"]) for s in by_source} == {
        ("earning", "tip"),
        ("earning", "subscription"),
        ("earning", "message"),
        ("refund", "tip"),
        ("chargeback", "message"),
    }
    # daily: earnings of the last p_days only
    assert sum(d["gross_cents"] for d in exact["daily"]) == 3500
    assert (
        sum(d["gross_cents"] for d in db.call("fanvue_diagnosis_facts", model_id=leased.model_id, days=365)["daily"])
        == 4200
    )
    assert exact["pending"] == {"count": 1, "gross_cents": 1000}
    assert exact["after_watermark"] == {"count": 1, "gross_cents": 1000}  # e1 is after the watermark
    assert exact["fallback_keyed"] == 1
    assert exact["dedupe_constraint"]["name"] == "fanvue_transactions_model_dedupe_key"
    assert exact["dedupe_constraint"]["valid"] is True
    assert "UNIQUE (model_id, dedupe_key)" in exact["dedupe_constraint"]["definition"]
    # the lease by kind and times only: never the worker's name (host, pid)
    assert exact["sync"]["lease_held"] is True and exact["sync"]["watermark"]
    assert "lease_owner" not in exact["sync"] and leased.worker not in str(exact)
    assert exact["connection"]["id"] == leased.connection_id
    assert "access_token_enc" not in exact["connection"] and "refresh_token_enc" not in exact["connection"]
    assert exact["model"]["id"] == leased.model_id and exact["model"]["agency_id"] == leased.world.agency_id
    assert exact["recent_runs"][0]["run_id"] == run["id"] and exact["recent_runs"][0]["revenue_after_cents"] == 4200
    assert exact["last_cron_run"]["status"] in ("ok", "running", "partial", "failed", "empty")
    assert exact["now"]


def test_diagnosis_facts_after_deletes_and_updates_still_agree(db, sql, leased):
    ingest(db, leased, [item(f"e{i}", 100 * i, date=recent(i)) for i in range(1, 8)])
    ingest(db, leased, [item("e3", 5, date=recent(30))])  # moved to another day, new amount
    sql.execute("delete from fanvue_transactions where model_id = %s and dedupe_key = 'e5'", (leased.model_id,))
    exact = db.call("fanvue_diagnosis_facts", model_id=leased.model_id)
    rollup = db.call("fanvue_diagnosis_facts", model_id=leased.model_id, exact_limit=0)
    keys = ("gross_cents", "net_cents", "count", "refund_count")
    assert {k: exact["ledger"][k] for k in keys} == {k: rollup["ledger"][k] for k in keys}
    assert exact["ledger"]["gross_cents"] == exact["stored"]["gross_cents"] == 100 * (1 + 2 + 4 + 6 + 7) + 5
    assert all(s["count"] != 0 for s in exact["by_source"])


def test_diagnosis_facts_of_an_empty_model(db, sql):
    _, _, model = new_model(sql)
    facts = db.call("fanvue_diagnosis_facts", model_id=model)
    assert facts["ledger"]["gross_cents"] == 0 and facts["ledger"]["count"] == 0
    assert facts["ledger"]["first_date"] is None and facts["by_source"] == [] and facts["daily"] == []
    assert facts["pending"] == {"count": 0, "gross_cents": 0}
    assert facts["after_watermark"] == {"count": 0, "gross_cents": 0}
    sql.execute("update models set connection_id = null where id = %s", (model,))
    assert db.call("fanvue_diagnosis_facts", model_id=model)["connection"] is None


def test_diagnosis_facts_unknown_model(db):
    with pytest.raises(NotFound) as err:
        db.call("fanvue_diagnosis_facts", model_id=str(uuid.uuid4()))
    assert err.value.code == "FV404"
