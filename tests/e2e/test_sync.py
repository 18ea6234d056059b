"""End to end: after every kind of sync the ledger equals the sandbox's ground truth exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from lib.config import reset_settings
from tests.e2e.helpers import connect_demo, ledger_totals, mismatches


@pytest.fixture(scope="module")
def demo(stack, database_url):
    import psycopg

    os.environ["SYNC_INTERVAL_S"] = "0"
    from lib.config import reset_settings

    reset_settings()
    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, dora = connect_demo(stack, sql)
    # The first backfill belongs to the fixture: whichever of this module's tests a test worker runs,
    # they start from a fully synced world (pytest-xdist may split a module across workers).
    first_backfill.clear()
    first_backfill.update(stack.cron())
    yield world, dora
    os.environ.pop("SYNC_INTERVAL_S", None)
    reset_settings()


first_backfill: dict = {}


def test_first_backfill_equals_ground_truth(stack, demo, sql):
    _world, dora = demo
    summary = first_backfill
    assert summary["status"] == "ok", [
        (m["name"], m["outcome"], m["error"], m["fetched"], m["requests"], m["duration_s"]) for m in summary["models"]
    ]
    assert summary["models_synced"] == 4
    assert mismatches(stack.sandbox, sql, with_spending={dora}) == []
    states = sql.execute("select count(*) from fanvue_sync_state where backfill_completed_at is not null").fetchone()
    assert states[0] == 4


def test_rerunning_changes_nothing(stack, demo, sql):
    world, _ = demo
    model = sql.execute("select id from models where fanvue_handle = 'ava'").fetchone()[0]
    os.environ["FORCE_SYNC_FULL_MIN_INTERVAL_S"] = "0"  # back-to-back full syncs on purpose
    reset_settings()
    try:
        before = ledger_totals(sql)
        responses = [
            stack.post("/api/fanvue/force-sync-revenue", user=world.admin_id, modelId=str(model), full="true")
            for _ in range(2)
        ]
    finally:
        os.environ.pop("FORCE_SYNC_FULL_MIN_INTERVAL_S")
        reset_settings()
    for r in responses:
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["items"]["inserted"] == 0 and body["items"]["updated"] == 0, body
        assert body["revenue"]["before_cents"] == body["revenue"]["after_cents"]
    assert ledger_totals(sql) == before


def test_incremental_runs_pick_up_new_sales(stack, demo, sql):
    _, dora = demo
    for _ in range(2):
        stack.sandbox.add_sales(None, 15)
        assert stack.cron()["status"] == "ok"
        assert mismatches(stack.sandbox, sql, with_spending={dora}) == []


def test_faults_do_not_change_the_outcome(stack, demo, sql):
    _, dora = demo
    stack.sandbox.add_sales(None, 10)
    stack.sandbox.set_faults(
        error_5xx={"count": 4, "status": 503},
        drop={"count": 3},
        rate_limit_storm={"count": 3, "retry_after": 1},
        expire_tokens_after=5,
    )
    try:
        summary = stack.cron()
    finally:
        stack.sandbox.clear_faults()
    assert summary["status"] == "ok", summary
    assert mismatches(stack.sandbox, sql, with_spending={dora}) == []


def test_pending_order_becoming_available_is_updated_not_duplicated(stack, demo, sql):
    _, dora = demo
    pending_before = sql.execute(
        "select count(*) from fanvue_transactions where order_status = 'pendingBalance'"
    ).fetchone()[0]
    assert pending_before > 0
    count_before = sql.execute("select count(*) from fanvue_transactions").fetchone()[0]
    stack.sandbox.advance_clock(int(timedelta(days=10).total_seconds()))
    summary = stack.cron(mode="reconcile")
    assert summary["status"] == "ok", str(
        [(m["name"], m["outcome"], m["error"]) for m in summary["models"]]
        + [
            summary["token_errors"],
            {k: v for k, v in stack.sandbox.stats().items() if k not in ("requests", "rate_limit", "items")},
        ]
    )
    assert sum(m["updated"] for m in summary["models"]) >= pending_before
    assert (
        sql.execute("select count(*) from fanvue_transactions where order_status = 'pendingBalance'").fetchone()[0] == 0
    )
    assert sql.execute("select count(*) from fanvue_transactions").fetchone()[0] == count_before
    assert mismatches(stack.sandbox, sql, with_spending={dora}) == []


def test_overlapping_cron_invocations(stack, demo, sql):
    _, dora = demo
    stack.sandbox.add_sales(None, 25)
    results = []

    def tick():
        results.append(stack.cron())

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r["status"] in ("ok", "empty") for r in results), results
    synced = [m["model_id"] for r in results for m in r["models"]]
    assert all(m["outcome"] == "ok" for r in results for m in r["models"])
    assert len(synced) >= 4
    assert mismatches(stack.sandbox, sql, with_spending={dora}) == []


def test_sigkill_mid_window_then_rerun(stack, demo, sql, database_url):
    _, dora = demo
    ava = sql.execute("select id from models where fanvue_handle = 'ava'").fetchone()[0]
    sql.execute("update fanvue_sync_state set next_sync_at = now() + interval '1 day' where model_id <> %s", (ava,))
    stack.sandbox.set_latency(15)
    code = (
        "from lib.sync.runner import run_sync; from lib.sync.engine import SyncOptions;"
        "run_sync(options=SyncOptions(full=True), max_models=1)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ), cwd=os.getcwd())
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            progress = sql.execute("select progress from fanvue_sync_state where model_id = %s", (ava,)).fetchone()[0]
            if progress.get("earnings"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the full re-sync never stored a page")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        stack.sandbox.set_latency(0)
        if proc.poll() is None:
            proc.kill()
    state = sql.execute(
        "select lease_owner, watermark, progress from fanvue_sync_state where model_id = %s", (ava,)
    ).fetchone()
    assert state[0] is not None and state[1] is None and state[2].get("earnings")  # killed mid-window
    # time passes: the dead worker's lease expires
    sql.execute(
        "update fanvue_sync_state set lease_expires_at = now() - interval '1 second' where model_id = %s", (ava,)
    )
    summary = stack.cron()
    assert summary["status"] == "ok", str([(m["name"], m["outcome"], m["error"]) for m in summary["models"]])
    ava_result = next(m for m in summary["models"] if m["model_id"] == str(ava))
    assert ava_result["outcome"] == "ok"
    sql.execute("update fanvue_sync_state set next_sync_at = now()")
    assert mismatches(stack.sandbox, sql, with_spending={dora}) == []


def test_failing_fanvue_leaves_revenue_alone_and_is_recorded(stack, demo, sql):
    _, dora = demo
    before = sql.execute("select revenue_gross_cents from models where fanvue_user_uuid = %s", (dora,)).fetchone()[0]
    stack.sandbox.set_faults(revoke_grant="dora")
    try:
        stack.sandbox.advance_clock(3600 * 2)  # the access token expired: a refresh is needed and refused
        summary = stack.cron()
    finally:
        stack.sandbox.clear_faults()
    dora_result = [m for m in summary["models"] if m["name"] and m["outcome"] == "failed"]
    assert dora_result, summary
    after = sql.execute("select revenue_gross_cents from models where fanvue_user_uuid = %s", (dora,)).fetchone()[0]
    assert after == before
    status = sql.execute(
        "select c.status, c.status_reason from fanvue_connections c join models m on m.connection_id = c.id "
        "where m.fanvue_user_uuid = %s",
        (dora,),
    ).fetchone()
    assert status[0] == "needs_reconnect" and "rejected" in status[1]
    run_error = sql.execute(
        "select rm.error from sync_run_models rm join models m on m.id = rm.model_id "
        "where m.fanvue_user_uuid = %s order by rm.finished_at desc limit 1",
        (dora,),
    ).fetchone()[0]
    assert run_error


def test_force_sync_respects_the_lease(stack, demo, sql):
    world, _ = demo
    ava = str(sql.execute("select id from models where fanvue_handle = 'ava'").fetchone()[0])
    sql.execute(
        "update fanvue_sync_state set lease_owner = 'cron:other-invocation', lease_kind = 'cron', "
        "lease_expires_at = now() + interval '5 minutes' where model_id = %s",
        (ava,),
    )
    try:
        r = stack.post("/api/fanvue/force-sync-revenue", user=world.admin_id, modelId=ava)
    finally:
        sql.execute(
            "update fanvue_sync_state set lease_owner = null, lease_kind = null, lease_expires_at = null "
            "where model_id = %s",
            (ava,),
        )
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "sync_in_progress" and error["lease_kind"] == "cron" and error["lease_expires_at"]
    # when the lease frees, never which worker (host, process) holds it
    assert "holder" not in error and "other-invocation" not in r.text and "until" in error["message"]


def test_force_sync_out_of_budget_answers_202_and_the_cron_finishes(stack, demo, sql):
    from lib.config import reset_settings

    world, dora = demo
    ava = str(sql.execute("select id from models where fanvue_handle = 'ava'").fetchone()[0])
    os.environ.update(SYNC_MAX_DURATION_S="6", SYNC_SAFETY_MARGIN_S="5")
    reset_settings()
    stack.sandbox.set_latency(40)
    try:
        r = stack.post("/api/fanvue/force-sync-revenue", user=world.admin_id, modelId=ava, full="true")
    finally:
        stack.sandbox.set_latency(0)
        os.environ.update(SYNC_MAX_DURATION_S="120", SYNC_SAFETY_MARGIN_S="10")
        reset_settings()
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["outcome"] == "partial" and body["error"]["code"] == "time_budget_reached"
    state = sql.execute(
        "select watermark, progress, next_sync_at <= now() from fanvue_sync_state where model_id = %s", (ava,)
    ).fetchone()
    assert state[0] is None and state[1].get("earnings") and state[2]  # resumable, due at once
    summary = stack.cron()
    assert summary["status"] == "ok", summary
    assert mismatches(stack.sandbox, sql, with_spending={dora}) == []
    assert sql.execute(
        "select backfill_completed_at is not null from fanvue_sync_state where model_id = %s", (ava,)
    ).fetchone()[0]


class CountingDatabase:
    """The real transport, counting the calls made through it by function name."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def call(self, function, **args):
        with self._lock:
            self.calls[function] += 1
        return self.inner.call(function, **args)

    def close(self) -> None:
        pass


def test_a_tick_with_nothing_new_makes_two_database_calls_per_model(stack, demo, sql):
    """Between two models one call records, releases and claims; one token read per connection."""
    from lib.config import settings
    from lib.db import get_database
    from lib.sync.runner import run_sync

    config = settings()
    run_sync(get_database(), kind="cron", config=config)  # everything due is stored
    db = CountingDatabase(get_database())
    summary = run_sync(db, kind="cron", config=config)  # SYNC_INTERVAL_S=0: every model is due again
    models = len(summary.models)
    assert models >= 1 and summary.status != "failed", summary.as_json()
    connections = sql.execute("select count(*) from fanvue_connections where status = 'active'").fetchone()[0]
    assert db.calls["fanvue_finish_and_claim"] == models + config.sync_concurrency  # + each worker's first claim
    assert not {"fanvue_claim_models", "fanvue_release_model", "fanvue_record_run_model"} & set(db.calls)
    assert db.calls["fanvue_claim_token_refresh"] <= connections, db.calls
    # nothing new: one page per window, stored with one call (a personal model also reads spending)
    assert summary.as_json()["totals"]["inserted"] == 0
    assert db.calls["fanvue_ingest_page"] == sum(m.pages for m in summary.models) <= 2 * models, db.calls
    recorded = sql.execute("select count(*) from sync_run_models where run_id = %s", (summary.run_id,)).fetchone()[0]
    assert recorded == models
    assert (
        sql.execute("select count(*) from fanvue_sync_state where lease_owner = %s", (summary.worker,)).fetchone()[0]
        == 0
    )  # every lease it took was released
