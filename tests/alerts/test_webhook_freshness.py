"""The webhook path syncs the sale now: a signed delivery puts a new sandbox sale into revenue_total
within the same invocation, under the lease, over a recent window only; a held lease or a spent
budget leaves the model due; a burst costs about one sync."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.alerts.conftest import deliver, set_env, tip


def stored(sql, model_id: str) -> int:
    return sql.execute("select revenue_gross_cents from models where id = %s", (model_id,)).fetchone()[0]


def webhook_syncs(sql) -> int:
    return sql.execute("select count(*) from sync_runs where kind = 'force'").fetchone()[0]


def test_a_signed_webhook_puts_the_sale_into_revenue_now(stack, demo, quiet):
    sql = quiet
    before = stored(sql, demo["dora"])
    sale = stack.sandbox.add_sales("dora", 1)[0]
    r = deliver(stack, tip(demo["dora_uuid"], sale["date"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["synced"] is True and out["syncs"][0]["reason"] == "synced", out
    assert stored(sql, demo["dora"]) == before + int(sale["gross"])
    assert (
        sql.execute(
            "select count(*) from fanvue_transactions where model_id = %s and order_id = %s",
            (demo["dora"], sale["transactionOrderId"]),
        ).fetchone()[0]
        == 1
    )
    # a recent window only, never the history
    assert out["syncs"][0]["requests"] <= 4 and out["syncs"][0]["since"] >= "2026"


def test_an_event_the_last_sync_already_covered_is_not_synced_again(stack, demo, quiet):
    sql = quiet
    runs = webhook_syncs(sql)
    watermark = sql.execute("select watermark from fanvue_sync_state where model_id = %s", (demo["dora"],)).fetchone()[
        0
    ]
    r = deliver(stack, tip(demo["dora_uuid"], (watermark - timedelta(seconds=1)).isoformat()))
    assert r.json()["synced"] is False and r.json()["syncs"][0]["reason"] == "already_synced"
    assert webhook_syncs(sql) == runs


def test_a_held_lease_leaves_the_model_due(stack, demo, quiet, db):
    sql = quiet
    set_env(WEBHOOK_SYNC_BUDGET_S="1")
    held = db.call("fanvue_acquire_model", model_id=demo["dora"], worker="someone-else", lease_seconds=60, kind="cron")
    assert held["acquired"]
    try:
        sale = stack.sandbox.add_sales("dora", 1)[0]
        r = deliver(stack, tip(demo["dora_uuid"], sale["date"]))
        assert r.json()["synced"] is False and r.json()["syncs"][0]["reason"] == "lease_held", r.text
        assert sql.execute(
            "select next_sync_at <= now() from fanvue_sync_state where model_id = %s", (demo["dora"],)
        ).fetchone()[0]
    finally:
        db.call(
            "fanvue_release_model", model_id=demo["dora"], worker="someone-else", outcome="skipped", next_sync_seconds=0
        )


def test_a_burst_of_webhooks_costs_about_one_sync(stack, demo, quiet):
    sql = quiet
    sales = stack.sandbox.add_sales("dora", 20)
    before, runs = stored(sql, demo["dora"]), webhook_syncs(sql)
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda s: deliver(stack, tip(demo["dora_uuid"], s["date"])), sales))
    assert all(a.status_code == 200 for a in answers)
    assert webhook_syncs(sql) - runs <= 2, "a burst must coalesce"
    ids = [s["transactionOrderId"] for s in sales]
    assert sql.execute(
        "select count(*) from fanvue_transactions where model_id = %s and order_id = any(%s)", (demo["dora"], ids)
    ).fetchone()[0] == len(sales), "every sale of the burst is stored"
    assert stored(sql, demo["dora"]) >= before + sum(int(s["gross"]) for s in sales)
