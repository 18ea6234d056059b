"""fanvue_ingest_page (a page, or an empty last page closing a window): idempotent upsert, fencing, the watermark, dry runs."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from lib.db.errors import Conflict, DbError, InvalidInput, NotFound
from tests.db.helpers import assert_ledger_consistent, close_window, ingest, item, ledger_rows, new_model, sync_state

JAN = ("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00")
FEB = ("2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")
MAR = ("2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00")


def ts(sql, text):
    return sql.execute("select %s::timestamptz", (text,)).fetchone()[0]


# ---------------------------------------------------------------- upsert


def test_page_is_inserted_and_totals_follow(db, sql, leased):
    items = [item("o:1", 1000), item("o:2", 2550, source="subscription"), item("o:3", -500, kind="refund")]
    out = ingest(db, leased, items)
    assert (out["received"], out["inserted"], out["updated"], out["unchanged"]) == (3, 3, 0, 0)
    assert out["revenue_gross_cents"] == 3550
    assert out["advanced"] is False and out["watermark"] is None
    row = sql.execute(
        "select revenue_gross_cents, revenue_total, refund_total, transaction_count, refund_count"
        " from models where id = %s",
        (leased.model_id,),
    ).fetchone()
    assert row[0] == 3550 and str(row[1]) == "35.50" and str(row[2]) == "-5.00" and row[3:] == (2, 1)
    assert_ledger_consistent(sql, [leased.model_id])


def test_reingesting_the_same_page_changes_nothing(db, sql, leased):
    items = [item(f"o:{i}", 100 * (i + 1), order_status="available") for i in range(20)]
    first = ingest(db, leased, items)
    assert first["inserted"] == 20
    before_rows = ledger_rows(sql, leased.model_id)
    before_model = sql.execute(
        "select revenue_gross_cents, revenue_updated_at, transaction_count from models where id = %s",
        (leased.model_id,),
    ).fetchone()
    before_daily = sql.execute(
        "select * from fanvue_ledger_daily where model_id = %s order by day, kind, source", (leased.model_id,)
    ).fetchall()
    for _ in range(5):
        again = ingest(db, leased, items)
        assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 20)
        assert again["revenue_gross_cents"] == first["revenue_gross_cents"]
    assert ledger_rows(sql, leased.model_id) == before_rows  # not even updated_at moved
    assert (
        sql.execute(
            "select revenue_gross_cents, revenue_updated_at, transaction_count from models where id = %s",
            (leased.model_id,),
        ).fetchone()
        == before_model
    )
    assert (
        sql.execute(
            "select * from fanvue_ledger_daily where model_id = %s order by day, kind, source", (leased.model_id,)
        ).fetchall()
        == before_daily
    )
    assert_ledger_consistent(sql, [leased.model_id])


def test_duplicate_keys_inside_one_page_are_collapsed(db, sql, leased):
    page = [item("dup", 700), item("other", 300), item("dup", 700), item("dup", 700)]
    out = ingest(db, leased, page)
    assert out["received"] == 4 and out["inserted"] == 2 and out["updated"] == 0 and out["unchanged"] == 2
    assert (
        sql.execute("select count(*) from fanvue_transactions where model_id = %s", (leased.model_id,)).fetchone()[0]
        == 2
    )
    assert out["revenue_gross_cents"] == 1000
    assert_ledger_consistent(sql, [leased.model_id])


def test_duplicate_keys_with_different_content_leave_one_row(db, sql, leased):
    page = [item("dup", 700, order_status="pendingBalance"), item("dup", 700, order_status="available")]
    ingest(db, leased, page)
    rows = sql.execute(
        "select order_status from fanvue_transactions where model_id = %s", (leased.model_id,)
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] in ("pendingBalance", "available")
    assert_ledger_consistent(sql, [leased.model_id])


def test_mutated_order_status_is_an_update_not_a_new_row(db, sql, leased):
    ingest(db, leased, [item("o:1", 1000, order_status="pendingBalance"), item("o:2", 500)])
    row_id, first_seen = sql.execute(
        "select id, first_seen_at from fanvue_transactions where model_id = %s and dedupe_key = 'o:1'",
        (leased.model_id,),
    ).fetchone()
    out = ingest(db, leased, [item("o:1", 1000, order_status="available"), item("o:2", 500)])
    assert (out["inserted"], out["updated"], out["unchanged"]) == (0, 1, 1)
    rows = sql.execute(
        "select id, first_seen_at, order_status from fanvue_transactions where model_id = %s and dedupe_key = 'o:1'",
        (leased.model_id,),
    ).fetchall()
    assert rows == [(row_id, first_seen, "available")]
    assert out["revenue_gross_cents"] == 1500
    # an amount correction and a move to another day/source are updates too, and the totals follow
    out = ingest(db, leased, [item("o:1", 1200, source="message", date="2026-01-20T00:00:00Z")])
    assert out["updated"] == 1 and out["revenue_gross_cents"] == 1700
    # an earning that turns into a chargeback moves from revenue to refunds
    out = ingest(db, leased, [item("o:2", -500, kind="chargeback")])
    assert out["updated"] == 1 and out["revenue_gross_cents"] == 1200
    assert sql.execute(
        "select refund_count, revenue_refund_cents from models where id = %s", (leased.model_id,)
    ).fetchone() == (1, -500)
    assert_ledger_consistent(sql, [leased.model_id])


def test_raw_only_change_is_not_an_update(db, sql, leased):
    ingest(db, leased, [item("o:1", 1000)])
    changed_raw = item("o:1", 1000)
    changed_raw["raw"] = {"different": True}
    out = ingest(db, leased, [changed_raw])
    assert (out["inserted"], out["updated"], out["unchanged"]) == (0, 0, 1)


def test_empty_and_null_pages(db, sql, leased):
    assert ingest(db, leased, [])["received"] == 0
    out = ingest(db, leased, None)
    assert (out["received"], out["inserted"]) == (0, 0)


def test_items_are_scoped_to_their_model(db, sql, leased):
    _, _, other = new_model(sql)
    assert db.call("fanvue_acquire_model", model_id=other, worker=leased.worker)["acquired"]
    ingest(db, leased, [item("same-key", 1000)])
    out = db.call(
        "fanvue_ingest_page", model_id=other, worker=leased.worker, stream="earnings", items=[item("same-key", 300)]
    )
    assert out["inserted"] == 1 and out["revenue_gross_cents"] == 300
    assert_ledger_consistent(sql, [leased.model_id, other])


def test_a_bad_item_rolls_back_the_whole_page(db, sql, leased):
    ingest(db, leased, [item("o:1", 1000)])
    before = (ledger_rows(sql, leased.model_id), sync_state(sql, leased.model_id)["watermark"])
    with pytest.raises(DbError):
        ingest(
            db,
            leased,
            [item("o:2", 10), item("o:3", 10, kind="bogus")],
            window_start=JAN[0],
            window_end=JAN[1],
            last_page=True,
        )
    with pytest.raises(DbError):
        ingest(db, leased, [item("o:2", 10), {**item("o:4", 10), "key": None}])
    assert (ledger_rows(sql, leased.model_id), sync_state(sql, leased.model_id)["watermark"]) == before
    assert_ledger_consistent(sql, [leased.model_id])


# ---------------------------------------------------------------- fencing, validation, not found


def test_a_worker_without_the_lease_cannot_ingest(db, sql, leased):
    with pytest.raises(Conflict) as err:
        db.call(
            "fanvue_ingest_page",
            model_id=leased.model_id,
            worker="intruder",
            stream="earnings",
            items=[item("x", 100)],
            window_start=JAN[0],
            window_end=JAN[1],
            last_page=True,
        )
    assert err.value.code == "FV409" and leased.worker in err.value.message
    with pytest.raises(Conflict):
        close_window(db, leased.model_id, "intruder", JAN[0], JAN[1])
    with pytest.raises(Conflict):  # dry runs are fenced too
        db.call(
            "fanvue_ingest_page",
            model_id=leased.model_id,
            worker="intruder",
            stream="earnings",
            items=[item("x", 100)],
            dry_run=True,
        )
    assert ledger_rows(sql, leased.model_id) == []
    assert sync_state(sql, leased.model_id)["watermark"] is None


def test_a_released_or_stolen_lease_fences_the_old_holder(db, sql, leased):
    assert db.call("fanvue_release_model", model_id=leased.model_id, worker=leased.worker, outcome="ok")["released"]
    with pytest.raises(Conflict) as err:
        ingest(db, leased, [item("x", 100)])
    assert "nobody" in err.value.message
    assert db.call("fanvue_acquire_model", model_id=leased.model_id, worker="w2")["acquired"]
    with pytest.raises(Conflict):
        ingest(db, leased, [item("x", 100)])
    assert ledger_rows(sql, leased.model_id) == []


def test_ingest_validation_errors(db, sql, leased):
    with pytest.raises(InvalidInput) as err:
        ingest(db, leased, [item("x")], stream="payouts")
    assert err.value.code == "FV422"
    for window in [(None, JAN[1]), (JAN[0], None), (JAN[1], JAN[0]), (JAN[0], JAN[0])]:
        with pytest.raises(InvalidInput):
            ingest(db, leased, [item("x")], window_start=window[0], window_end=window[1], last_page=True)
    with pytest.raises(InvalidInput):
        close_window(db, leased.model_id, leased.worker, JAN[1], JAN[0])
    with pytest.raises(InvalidInput):
        close_window(db, leased.model_id, leased.worker, JAN[0], JAN[1], stream="nope")
    assert ledger_rows(sql, leased.model_id) == []


def test_ingest_unknown_model_is_not_found(db):
    with pytest.raises(NotFound) as err:
        db.call("fanvue_ingest_page", model_id=str(uuid.uuid4()), worker="w", stream="earnings", items=[])
    assert err.value.code == "FV404"
    with pytest.raises(NotFound):
        close_window(db, str(uuid.uuid4()), "w", JAN[0], JAN[1])


def test_ingest_extends_the_lease(db, sql, leased):
    sql.execute(
        "update fanvue_sync_state set lease_expires_at = now() + interval '5 seconds' where model_id = %s",
        (leased.model_id,),
    )
    ingest(db, leased, [item("x")], lease_seconds=600)
    left = sql.execute(
        "select extract(epoch from lease_expires_at - now()) from fanvue_sync_state where model_id = %s",
        (leased.model_id,),
    ).fetchone()[0]
    assert 500 < left <= 600


# ---------------------------------------------------------------- the watermark


def test_first_window_sets_history_start_and_watermark(db, sql, leased):
    out = ingest(db, leased, [item("a")], window_start=JAN[0], window_end=JAN[1], last_page=True)
    assert out["advanced"] is True
    state = sync_state(sql, leased.model_id)
    assert state["watermark"] == ts(sql, JAN[1]) and state["history_start"] == ts(sql, JAN[0])


def test_watermark_moves_only_with_the_last_page(db, sql, leased):
    out = ingest(db, leased, [item("a")], window_start=JAN[0], window_end=JAN[1], last_page=False)
    assert out["advanced"] is False and sync_state(sql, leased.model_id)["watermark"] is None
    ingest(db, leased, [item("b")], window_start=JAN[0], window_end=JAN[1], last_page=True)
    ingest(db, leased, [item("c")], window_start=FEB[0], window_end=FEB[1], last_page=False)
    assert sync_state(sql, leased.model_id)["watermark"] == ts(sql, JAN[1])
    out = close_window(db, leased.model_id, leased.worker, FEB[0], FEB[1])
    assert out["advanced"] is True and out["received"] == 0
    assert sync_state(sql, leased.model_id)["watermark"] == ts(sql, FEB[1])


def test_a_window_leaving_a_gap_does_not_advance(db, sql, leased):
    ingest(db, leased, [item("a")], window_start=JAN[0], window_end=JAN[1], last_page=True)
    out = ingest(db, leased, [item("m")], window_start=MAR[0], window_end=MAR[1], last_page=True)
    assert out["advanced"] is False and out["inserted"] == 1  # the page itself is stored
    assert sync_state(sql, leased.model_id)["watermark"] == ts(sql, JAN[1])
    # one microsecond of gap is a gap
    out = close_window(db, leased.model_id, leased.worker, "2026-02-01T00:00:00.000001+00:00", FEB[1])
    assert out["advanced"] is False and sync_state(sql, leased.model_id)["watermark"] == ts(sql, JAN[1])
    # filling the gap advances, and then March does
    close_window(db, leased.model_id, leased.worker, FEB[0], FEB[1])
    close_window(db, leased.model_id, leased.worker, MAR[0], MAR[1])
    assert sync_state(sql, leased.model_id)["watermark"] == ts(sql, MAR[1])


def test_lookback_windows_overlapping_the_watermark_advance_and_old_ones_never_go_back(db, sql, leased):
    ingest(db, leased, [], window_start=JAN[0], window_end=FEB[1], last_page=True)
    out = close_window(db, leased.model_id, leased.worker, "2026-01-29T00:00:00Z", MAR[1])
    assert out["advanced"] is True
    out = close_window(db, leased.model_id, leased.worker, JAN[0], JAN[1])
    assert out["advanced"] is False
    assert sync_state(sql, leased.model_id)["watermark"] == ts(sql, MAR[1])


def test_known_history_start_requires_windows_to_start_inside_the_covered_range(db, sql, leased):
    sql.execute("update fanvue_sync_state set history_start = %s where model_id = %s", (JAN[0], leased.model_id))
    out = close_window(db, leased.model_id, leased.worker, FEB[0], FEB[1])
    assert out["advanced"] is False and sync_state(sql, leased.model_id)["watermark"] is None
    out = close_window(db, leased.model_id, leased.worker, "2025-12-01T00:00:00Z", JAN[1])
    assert out["advanced"] is True and sync_state(sql, leased.model_id)["watermark"] == ts(sql, JAN[1])


def test_streams_have_separate_watermarks(db, sql, leased):
    out = ingest(
        db, leased, [item("s", 100)], stream="spending", window_start=JAN[0], window_end=FEB[1], last_page=True
    )
    assert out["advanced"] is True
    state = sync_state(sql, leased.model_id)
    assert state["spending_watermark"] == ts(sql, FEB[1]) and state["watermark"] is None
    ingest(db, leased, [], window_start=JAN[0], window_end=JAN[1], last_page=True)
    state = sync_state(sql, leased.model_id)
    assert state["watermark"] == ts(sql, JAN[1]) and state["spending_watermark"] == ts(sql, FEB[1])


def test_completes_backfill_only_when_the_earnings_watermark_reaches_the_window_end(db, sql, leased):
    sql.execute("update fanvue_sync_state set history_start = %s where model_id = %s", (JAN[0], leased.model_id))
    close_window(db, leased.model_id, leased.worker, FEB[0], FEB[1], completes_backfill=True)  # gap: not complete
    assert sync_state(sql, leased.model_id)["backfill_completed_at"] is None
    close_window(
        db, leased.model_id, leased.worker, JAN[0], FEB[1], stream="spending", completes_backfill=True
    )  # spending never completes it
    assert sync_state(sql, leased.model_id)["backfill_completed_at"] is None
    close_window(db, leased.model_id, leased.worker, JAN[0], FEB[1], completes_backfill=True)
    done = sync_state(sql, leased.model_id)["backfill_completed_at"]
    assert done is not None
    close_window(db, leased.model_id, leased.worker, FEB[0], MAR[1], completes_backfill=True)
    assert sync_state(sql, leased.model_id)["backfill_completed_at"] == done  # first completion is kept


# ---------------------------------------------------------------- dry run


def test_dry_run_reports_and_writes_nothing(db, sql, leased):
    ingest(
        db,
        leased,
        [item("keep", 100), item("change", 200, order_status="pendingBalance")],
        window_start=JAN[0],
        window_end=JAN[1],
        last_page=True,
    )
    snapshot = (
        ledger_rows(sql, leased.model_id),
        sync_state(sql, leased.model_id),
        sql.execute("select * from models where id = %s", (leased.model_id,)).fetchone(),
        sql.execute(
            "select * from fanvue_ledger_daily where model_id = %s order by 2, 3, 4", (leased.model_id,)
        ).fetchall(),
    )
    page = [item("keep", 100), item("change", 200, order_status="available"), item("new", 50), item("new", 50)]
    out = ingest(
        db,
        leased,
        page,
        window_start=JAN[1],
        window_end=FEB[1],
        last_page=True,
        completes_backfill=True,
        dry_run=True,
        lease_seconds=3000,
    )
    assert out["dry_run"] is True
    assert (out["received"], out["inserted"], out["updated"], out["unchanged"]) == (4, 1, 1, 2)
    assert datetime.fromisoformat(out["watermark"]) == snapshot[1]["watermark"]
    after = (
        ledger_rows(sql, leased.model_id),
        sync_state(sql, leased.model_id),
        sql.execute("select * from models where id = %s", (leased.model_id,)).fetchone(),
        sql.execute(
            "select * from fanvue_ledger_daily where model_id = %s order by 2, 3, 4", (leased.model_id,)
        ).fetchall(),
    )
    assert after == snapshot
    # and the real run reports the same numbers
    real = ingest(db, leased, page, window_start=JAN[1], window_end=FEB[1], last_page=True)
    assert (real["inserted"], real["updated"], real["unchanged"]) == (1, 1, 2)


def test_a_window_starting_at_history_start_completes_the_backfill(db, sql, leased):
    sql.execute("update fanvue_sync_state set history_start = %s where model_id = %s", (JAN[0], leased.model_id))
    close_window(db, leased.model_id, leased.worker, JAN[0], JAN[1])
    assert sync_state(sql, leased.model_id)["backfill_completed_at"] is not None


def test_an_incremental_window_does_not_complete_the_backfill(db, sql, leased):
    sql.execute("update fanvue_sync_state set history_start = %s where model_id = %s", (JAN[0], leased.model_id))
    sql.execute("update fanvue_sync_state set watermark = %s where model_id = %s", (JAN[1], leased.model_id))
    close_window(db, leased.model_id, leased.worker, "2026-01-28T00:00:00Z", FEB[1])
    state = sync_state(sql, leased.model_id)
    assert state["watermark"] == ts(sql, FEB[1]) and state["backfill_completed_at"] is None


# ---------------------------------------------------------------- resumable windows (progress)


def test_progress_records_the_stored_part_of_an_interrupted_window(db, sql, leased):
    out = ingest(
        db,
        leased,
        [item("newest", 100, date="2026-01-30T00:00:00Z")],
        window_start=JAN[0],
        window_end=JAN[1],
        resume_end="2026-01-20T00:00:00Z",
    )
    assert out["advanced"] is False
    state = sync_state(sql, leased.model_id)
    assert state["history_start"] == ts(sql, JAN[0]) and state["watermark"] is None
    progress = state["progress"]["earnings"]
    assert ts(sql, progress["start"]) == ts(sql, JAN[0]) and ts(sql, progress["end"]) == ts(sql, JAN[1])
    assert ts(sql, progress["resume_end"]) == ts(sql, "2026-01-20T00:00:00Z")
    work = db.call("fanvue_acquire_model", model_id=leased.model_id, worker=leased.worker)["work"]
    assert ts(sql, work["progress"]["earnings"]["resume_end"]) == ts(sql, "2026-01-20T00:00:00Z")
    facts = db.call("fanvue_diagnosis_facts", model_id=leased.model_id)
    assert facts["sync"]["progress"] == work["progress"]
    # a later page moves the resume point; another stream keeps its own
    ingest(db, leased, [], window_start=JAN[0], window_end=JAN[1], resume_end="2026-01-10T00:00:00Z")
    ingest(db, leased, [], stream="spending", window_start=JAN[0], window_end=JAN[1], resume_end="2026-01-25T00:00:00Z")
    state = sync_state(sql, leased.model_id)
    assert ts(sql, state["progress"]["earnings"]["resume_end"]) == ts(sql, "2026-01-10T00:00:00Z")
    assert set(state["progress"]) == {"earnings", "spending"}
    # the last page closes the window and forgets its progress, not the other stream's
    ingest(
        db,
        leased,
        [item("oldest", 5, date="2026-01-02T00:00:00Z")],
        window_start=JAN[0],
        window_end=JAN[1],
        last_page=True,
    )
    state = sync_state(sql, leased.model_id)
    assert set(state["progress"]) == {"spending"} and state["watermark"] == ts(sql, JAN[1])


def test_progress_is_not_written_by_dry_runs_or_intruders_and_is_reset_with_history(db, sql, leased):
    ingest(
        db, leased, [item("a")], window_start=JAN[0], window_end=JAN[1], resume_end="2026-01-20T00:00:00Z", dry_run=True
    )
    assert sync_state(sql, leased.model_id)["progress"] == {}
    with pytest.raises(Conflict):
        db.call(
            "fanvue_ingest_page",
            model_id=leased.model_id,
            worker="intruder",
            stream="earnings",
            items=[],
            window_start=JAN[0],
            window_end=JAN[1],
            resume_end="2026-01-20T00:00:00Z",
        )
    assert sync_state(sql, leased.model_id)["progress"] == {}
    ingest(db, leased, [], window_start=JAN[0], window_end=JAN[1], resume_end="2026-01-20T00:00:00Z")
    assert sync_state(sql, leased.model_id)["progress"] != {}
    db.call("fanvue_reset_history", model_id=leased.model_id, worker=leased.worker, history_start=JAN[0])
    assert sync_state(sql, leased.model_id)["progress"] == {}
