"""Issue 5, end to end: diagnose-revenue answers the origin debug checklist by itself.

Every failure mode of the checklist is staged for real (SQL as superuser, or faults in the Fanvue
sandbox) against a demo agency that one module-scoped cron synced, and the matching check must fail
with the right fix while the verdict names it as the root cause. Every staged failure undoes itself
(in a `finally`), so the tests stay independent; most then follow the fix the report gave and prove
that it works. Every response body is scanned for tokens and ciphertext.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.e2e.helpers import connect_demo
from tests.factories import make_agency, make_model

PATH = "/api/fanvue/diagnose-revenue"
CHECK_IDS = {
    "data_returned",
    "transactions_exist",
    "fanvue_responds",
    "token_valid",
    "cron_recent",
    "ledger_equals_stored",
    "no_duplicate_keys",
    "backfill_complete",
    "no_lease_stuck",
    "revenue_matches_fanvue",
}


# ---------------------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def live_probes() -> Iterator[None]:
    """These tests stage a fault and diagnose again at once, so every probe here is live: no cache,
    no cap. The probe budget itself is tested with its defaults in test_diagnose_budget.py."""
    with env(DIAGNOSE_PROBE_CACHE_S="0", DIAGNOSE_PROBES_PER_MIN="0"):
        yield


@pytest.fixture(scope="module")
def demo(stack, database_url) -> Iterator[dict[str, Any]]:
    """The demo agency (ava, bella, cleo through the agency; dora personally), synced once by the cron."""
    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, _ = connect_demo(stack, sql)
        summary = stack.cron()
        assert summary["status"] == "ok" and summary["models_synced"] == 4, summary
        models = dict(sql.execute("select coalesce(fanvue_handle, lower(name)), id::text from models").fetchall())
    yield {"world": world, "models": models}


def _secrets(sql: psycopg.Connection) -> list[str]:
    """Every stored token of every connection, encrypted and decrypted (they must never leave)."""
    from lib.crypto import token_cipher
    from lib.tokens import ACCESS, REFRESH

    cipher = token_cipher()
    out = []
    for access, refresh in sql.execute("select access_token_enc, refresh_token_enc from fanvue_connections"):
        for text, purpose in ((access, ACCESS), (refresh, REFRESH)):
            if text:
                out.append(text)
                try:
                    out.append(cipher.decrypt(text, purpose))
                except Exception:
                    pass
    return out


def _scan(sql: psycopg.Connection, text: str) -> None:
    assert "v1:" not in text and "eyJ" not in text, "a token or ciphertext leaked into a response"
    for secret in _secrets(sql):
        assert secret not in text, "a stored token leaked into a response"


def diagnose(stack, sql, user: str, *, status: int = 200, headers: dict[str, str] | None = None, **params: Any) -> Any:
    """GET diagnose-revenue over HTTP; asserts status, no-store and that no secret leaks."""
    all_headers = {"Authorization": f"Bearer {stack.token(user)}", **(headers or {})}
    response = stack.http.get(stack.functions + PATH, params=params, headers=all_headers)
    assert response.status_code == status, response.text[:2000]
    assert response.headers.get("cache-control") == "no-store"
    _scan(sql, response.text)
    return response


def report(stack, sql, demo, handle: str, **params: Any) -> dict[str, Any]:
    body = diagnose(stack, sql, demo["world"].admin_id, modelId=demo["models"][handle], **params).json()
    assert {c["id"] for c in body["checks"]} == CHECK_IDS
    return body


def checks(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in body["checks"]}


def assert_healthy(body: dict[str, Any]) -> None:
    failing = {c["id"]: (c["status"], c["evidence"]) for c in body["checks"] if c["status"] != "pass"}
    assert failing == {}, failing
    assert body["verdict"] == {
        "status": "healthy",
        "failing": [],
        "fix_plan": [],
        "root_cause": body["verdict"]["root_cause"],
    }


def assert_root_cause(body: dict[str, Any], check_id: str, *fix_contains: str) -> dict[str, Any]:
    """`check_id` fails, the verdict names it first, and its fix leads the fix plan."""
    check = checks(body)[check_id]
    assert check["status"] == "fail", check
    for text in fix_contains:
        assert text in (check["fix"] or ""), (text, check)
    verdict = body["verdict"]
    assert verdict["status"] == "broken", verdict
    assert verdict["failing"][0] == check_id, verdict
    assert verdict["fix_plan"][0] == check["fix"], verdict
    assert verdict["root_cause"].startswith(check["title"]), verdict
    return check


@contextmanager
def faults(stack, **plan: Any) -> Iterator[None]:
    stack.sandbox.set_faults(**plan)
    try:
        yield
    finally:
        stack.sandbox.clear_faults()


@contextmanager
def env(**values: str) -> Iterator[None]:
    from lib.config import reset_settings

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    reset_settings()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()


def connection_of(sql, model_id: str) -> tuple[str, int]:
    row = sql.execute(
        "select c.id::text, c.token_version from fanvue_connections c join models m "
        "on m.connection_id = c.id where m.id = %s",
        (model_id,),
    ).fetchone()
    return row[0], row[1]


def force_sync(stack, demo, handle: str, **params: Any) -> dict[str, Any]:
    response = stack.post(
        "/api/fanvue/force-sync-revenue", user=demo["world"].admin_id, modelId=demo["models"][handle], **params
    )
    assert response.status_code == 200, response.text
    return response.json()


def _with_trigger_off(sql, statement: str, args: tuple) -> None:
    sql.execute("alter table fanvue_transactions disable trigger fanvue_transactions_after_update")
    try:
        sql.execute(statement, args)
    finally:
        sql.execute("alter table fanvue_transactions enable trigger fanvue_transactions_after_update")


def _rebuild_totals(sql, model_id: str) -> None:
    """Test cleanup only: totals and daily roll-up recomputed from the ledger."""
    sql.execute("select public.fanvue_recompute_revenue(%s)", (model_id,))
    sql.execute("delete from fanvue_ledger_daily where model_id = %s", (model_id,))
    sql.execute(
        """insert into fanvue_ledger_daily (model_id, day, kind, source, item_count, gross_cents, net_cents)
                   select model_id, (transaction_date at time zone 'UTC')::date, kind, source,
                          count(*), sum(gross_cents), sum(net_cents)
                     from fanvue_transactions where model_id = %s group by 1, 2, 3, 4""",
        (model_id,),
    )


# ---------------------------------------------------------------------------------- healthy model
def test_freshly_synced_models_pass_every_check(stack, demo, sql):
    for handle, kind in (("ava", "agency"), ("bella", "agency"), ("cleo", "agency"), ("dora", "creator")):
        body = report(stack, sql, demo, handle)
        assert_healthy(body)
        assert body["model"]["id"] == demo["models"][handle] and body["model"]["connection_kind"] == kind
        revenue = body["revenue"]
        assert revenue["discrepancy_cents"] == 0 and revenue["ledger"]["method"] == "ledger"
        assert revenue["stored"]["gross_cents"] == revenue["ledger"]["gross_cents"] > 0
        assert revenue["transaction_count"] > 0 and revenue["first_transaction_at"] < revenue["last_transaction_at"]
        assert (
            sum(s["gross_cents"] for s in revenue["by_source"] if s["kind"] == "earning")
            == revenue["ledger"]["gross_cents"]
        )
        fanvue = body["fanvue"]
        assert fanvue["status_code"] == 200 and fanvue["api_version_accepted"] is True
        assert fanvue["since_watermark_gross_cents"] == 0
        # Fanvue's account total is the sum of PAID invoices: exactly the ledger minus its pending items
        assert fanvue["account_total_cents"] == revenue["ledger"]["gross_cents"] - revenue["pending"]["gross_cents"]
        assert fanvue["summary_all_time_gross_cents"] == revenue["ledger"]["gross_cents"]
        assert body["connection"]["status"] == "active" and body["connection"]["seconds_left"] > 0
        assert body["sync"]["backfill_complete"] and body["sync"]["cron_overdue_for_model"] is False
        assert body["sync"]["last_cron_run"]["kind"] == "cron" and body["sync"]["lease"]["held"] is False
        assert body["daily"] and any(d["fanvue_cents"] for d in body["daily"])
        # the chart's two series agree day by day for a healthy model
        assert all(
            d["ledger_cents"] == (d["fanvue_cents"] or 0) for d in body["daily"] if d["fanvue_cents"] is not None
        ), [d for d in body["daily"] if d["ledger_cents"] != d["fanvue_cents"]]


@pytest.mark.parametrize("reading", ["paid", "all"])
def test_pending_items_explain_the_account_total_under_either_reading(stack, demo, sql, reading):
    """Fanvue publishes account.earnings.total as the gross of PAID invoices; some implementations
    count every item. Either way a synced creator with pending items is healthy, and the check says
    which reading matched and by how many pending items ($) the figures differ."""
    saved = stack.sandbox.config.account_total
    stack.sandbox.config.account_total = reading
    try:
        for handle in ("bella", "dora"):
            body = report(stack, sql, demo, handle)
            assert_healthy(body)
            pending = body["revenue"]["pending"]
            assert pending["count"] > 0, pending  # the sandbox keeps the last 7 days pending
            account = body["fanvue"]["reconciliation"]["account_total"]
            evidence = checks(body)["revenue_matches_fanvue"]["evidence"]
            if reading == "paid":
                dollars = f"${pending['gross_cents'] / 100:,.2f}"
                assert account["difference_cents"] == -pending["gross_cents"], account
                assert f"explained by {pending['count']} pending items ({dollars}) not yet paid" in evidence
                assert "Fanvue counts paid items only" in evidence
                assert account["matched"]["excludes_pending"] is True
            else:
                assert account["difference_cents"] == 0 and account["matched"]["excludes_pending"] is False
                assert evidence.startswith("Fanvue account total $") and " = ledger $" in evidence
            assert body["fanvue"]["reconciliation"]["summary_all_time"]["difference_cents"] == 0
    finally:
        stack.sandbox.config.account_total = saved


def test_refunds_kept_as_rows_explain_a_net_account_total(stack, demo, sql):
    """dora's refunds are separate ledger rows; a Fanvue total that nets them out is explained too."""
    body = report(stack, sql, demo, "dora", probe="false")
    refunds = body["revenue"]["ledger"]["refund_cents"]
    assert refunds < 0 and body["revenue"]["ledger"]["refund_count"] > 0
    from lib.db import get_database
    from lib.diagnose.checks import reconcile_figure
    from lib.diagnose.probe import ProbeReport

    db = get_database()
    facts = db.call("fanvue_diagnosis_facts", model_id=demo["models"]["dora"])
    reconcile = db.call(
        "fanvue_reconcile_candidates", model_id=demo["models"]["dora"], as_of=datetime.now(UTC).isoformat()
    )
    ledger, pending = facts["ledger"]["gross_cents"], facts["pending"]["gross_cents"]
    status, evidence, cand = reconcile_figure(
        "Fanvue account total", ledger - pending + refunds, facts, ProbeReport(attempted=True), reconcile
    )
    assert status == "pass" and cand["excludes_pending"] and cand["nets_refunds"], evidence
    assert "refunds/chargebacks" in evidence and "kept as separate rows" in evidence
    status, evidence, _ = reconcile_figure(
        "Fanvue account total", ledger - pending + refunds - 1, facts, ProbeReport(attempted=True), reconcile
    )
    assert status == "fail" and "is not explained by the data we hold" in evidence


def test_an_unexplained_account_total_still_fails(stack, demo, sql):
    """A difference no combination of pending items, refunds or late items explains fails the check."""
    model = demo["models"]["cleo"]
    row = sql.execute(
        "select id, gross_cents from fanvue_transactions where model_id = %s and kind = 'earning' "
        "and order_status = 'availableForPayout' order by transaction_date limit 1",
        (model,),
    ).fetchone()
    sql.execute("update fanvue_transactions set gross_cents = gross_cents + 777 where id = %s", (row[0],))
    try:
        body = report(stack, sql, demo, "cleo")
        check = assert_root_cause(body, "revenue_matches_fanvue", f"force-sync-revenue?modelId={model}&full=true")
        assert "is not explained by the data we hold" in check["evidence"], check
        assert "pending items" in check["evidence"]
        assert body["fanvue"]["reconciliation"]["account_total"]["matched"] is None
    finally:
        sql.execute("update fanvue_transactions set gross_cents = %s where id = %s", (row[1], row[0]))
    assert_healthy(report(stack, sql, demo, "cleo"))


# ------------------------------------------------------------------------------------ token_valid
def test_expired_access_token_is_refreshed_once_and_passes(stack, demo, sql):
    connection_id, version = connection_of(sql, demo["models"]["ava"])
    refreshes = stack.sandbox.stats()["refreshes"]
    sql.execute(
        "update fanvue_connections set expires_at = now() - interval '1 minute' where id = %s", (connection_id,)
    )
    bodies: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run(handle: str) -> None:
        try:
            bodies.append(report(stack, sql, demo, handle))
        except BaseException as exc:
            errors.append(exc)

    # three models on one agency connection, diagnosed at once: one refresh, not three
    threads = [threading.Thread(target=run, args=(h,)) for h in ("ava", "bella", "cleo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for body in bodies:
        assert_healthy(body)
    assert any("refreshed now" in checks(b)["token_valid"]["evidence"] for b in bodies)
    assert stack.sandbox.stats()["refreshes"] == refreshes + 1
    row = sql.execute(
        "select token_version, expires_at > now() + interval '10 minutes', status "
        "from fanvue_connections where id = %s",
        (connection_id,),
    ).fetchone()
    assert row == (version + 1, True, "active")
    refreshed = [b for b in bodies if b["connection"]["refreshed_by_probe"]]
    assert refreshed and refreshed[0]["connection"]["seconds_left"] > 600


@pytest.mark.parametrize("expired", [True, False], ids=["expired-then-refresh-refused", "access-token-refused"])
def test_revoked_grant_fails_token_valid_with_reconnect_link(stack, demo, sql, expired):
    dora = demo["models"]["dora"]
    connection_id, _ = connection_of(sql, dora)
    try:
        stack.sandbox.set_faults(revoke_grant="dora")
        if expired:
            sql.execute(
                "update fanvue_connections set expires_at = now() - interval '1 minute' where id = %s", (connection_id,)
            )
        body = report(stack, sql, demo, "dora")
        check = assert_root_cause(body, "token_valid", "/api/auth/fanvue/connect?", f"modelId={dora}")
        assert "rejected" in check["evidence"] and "reconnect" in check["evidence"]
        assert checks(body)["fanvue_responds"]["status"] == "warn"  # not blamed on Fanvue
        # the connection is now marked dead: the next diagnosis says so from the database alone
        again = report(stack, sql, demo, "dora", probe="false")
        check = assert_root_cause(again, "token_valid", f"/api/auth/fanvue/connect?modelId={dora}")
        assert "needs_reconnect" in check["evidence"] and "rejected" in check["evidence"]
        assert again["connection"]["status"] == "needs_reconnect"
    finally:
        stack.sandbox.clear_faults()
        # the fix the report gives: reconnect (the same OAuth flow the link starts)
        stack.connect(demo["world"].admin_id, model_id=dora, login_hint="dora")
    assert_healthy(report(stack, sql, demo, "dora"))


def test_model_without_connection_fails_token_valid(stack, demo, sql):
    model = make_model(sql, demo["world"].agency_id, "Unconnected Ursula")
    try:
        body = diagnose(stack, sql, demo["world"].admin_id, modelId=model).json()
        assert_root_cause(body, "token_valid", f"/api/auth/fanvue/connect?modelId={model}")
        assert body["connection"] is None and body["revenue"]["transaction_count"] == 0
        assert checks(body)["transactions_exist"]["status"] == "fail"
    finally:
        sql.execute("delete from models where id = %s", (model,))


# ------------------------------------------------------------------------------- fanvue_responds
@pytest.mark.parametrize(
    "plan, evidence",
    [
        ({"error_5xx": {"count": 1000, "status": 503}}, "HTTP 503"),
        ({"drop": {"count": 1000}}, "no answer"),
    ],
    ids=["5xx", "connection-dropped"],
)
def test_fanvue_down_fails_fanvue_responds(stack, demo, sql, plan, evidence):
    with faults(stack, **plan):
        body = report(stack, sql, demo, "ava")
    check = assert_root_cause(body, "fanvue_responds", "Fanvue is unreachable or failing")
    assert check["evidence"].startswith(evidence), check
    assert body["verdict"]["failing"] == ["fanvue_responds"]
    assert checks(body)["token_valid"]["status"] == "pass"
    assert checks(body)["revenue_matches_fanvue"]["status"] == "warn"
    assert body["fanvue"]["account_total_cents"] is None
    assert_healthy(report(stack, sql, demo, "ava"))


@pytest.mark.parametrize(
    "plan",
    [{"error_5xx": {"count": 1000, "status": 503}}, {"drop": {"count": 1000}}],
    ids=["5xx", "connection-dropped"],
)
def test_fanvue_down_while_a_token_is_due_blames_fanvue_not_the_token(stack, demo, sql, plan):
    connection_id, version = connection_of(sql, demo["models"]["dora"])
    sql.execute(
        "update fanvue_connections set expires_at = now() - interval '1 minute' where id = %s", (connection_id,)
    )
    with faults(stack, path_regex=".", **plan):  # the API and the token endpoint alike
        body = report(stack, sql, demo, "dora")
    check = assert_root_cause(body, "fanvue_responds", "Fanvue is unreachable or failing")
    assert "token endpoint" in check["evidence"], check
    assert checks(body)["token_valid"]["status"] == "warn"
    assert body["verdict"]["failing"] == ["fanvue_responds"]
    assert body["connection"]["status"] == "active"  # a failing Fanvue never kills the connection
    # Fanvue is back: the next call refreshes with the untouched refresh token
    assert_healthy(report(stack, sql, demo, "dora"))
    assert connection_of(sql, demo["models"]["dora"]) == (connection_id, version + 1)


def test_hanging_fanvue_is_cut_by_the_probe_timeout(stack, demo, sql):
    with env(DIAGNOSE_PROBE_TIMEOUT_S="1"), faults(stack, slow_ms=4000):
        started = time.monotonic()
        body = report(stack, sql, demo, "ava")
        elapsed = time.monotonic() - started
    assert elapsed < 3.5, elapsed
    check = assert_root_cause(body, "fanvue_responds", "Fanvue is unreachable")
    assert check["evidence"].startswith("no answer") and "Timeout" in check["evidence"], check


# ----------------------------------------------------------------------------------- cron_recent
def test_cron_not_run_recently_fails_cron_recent(stack, demo, sql):
    sql.execute(
        "update sync_runs set started_at = started_at - interval '3 hours', "
        "finished_at = finished_at - interval '3 hours' where kind in ('cron', 'reconcile')"
    )
    try:
        body = report(stack, sql, demo, "bella")
    finally:
        sql.execute(
            "update sync_runs set started_at = started_at + interval '3 hours', "
            "finished_at = finished_at + interval '3 hours' where kind in ('cron', 'reconcile')"
        )
    check = assert_root_cause(body, "cron_recent", "CRON_SECRET", "Vercel cron logs")
    assert "min ago" in check["evidence"]
    assert body["verdict"]["failing"] == ["cron_recent"]
    assert_healthy(report(stack, sql, demo, "bella"))


def test_cron_never_ran_fails_cron_recent(stack, demo, sql):
    runs = sql.execute("select id, kind from sync_runs where kind in ('cron', 'reconcile')").fetchall()
    sql.execute("update sync_runs set kind = 'cli' where id = any(%s)", ([r[0] for r in runs],))
    try:
        body = report(stack, sql, demo, "bella", probe="false")
    finally:
        for run_id, kind in runs:
            sql.execute("update sync_runs set kind = %s where id = %s", (kind, run_id))
    assert runs
    check = assert_root_cause(body, "cron_recent", "vercel.json", "CRON_SECRET")
    assert check["evidence"] == "no cron run recorded, ever"
    assert body["sync"]["last_cron_run"] is None


def test_cron_runs_but_model_not_synced_fails_cron_recent(stack, demo, sql):
    model = demo["models"]["cleo"]
    before = sql.execute("select last_success_at from fanvue_sync_state where model_id = %s", (model,)).fetchone()[0]
    sql.execute(
        "update fanvue_sync_state set last_success_at = now() - interval '5 hours', "
        "last_error = 'HTTP 503 from Fanvue' where model_id = %s",
        (model,),
    )
    try:
        body = report(stack, sql, demo, "cleo")
    finally:
        sql.execute(
            "update fanvue_sync_state set last_success_at = %s, last_error = null where model_id = %s", (before, model)
        )
    check = assert_root_cause(body, "cron_recent", f"force-sync-revenue?modelId={model}")
    assert "but this model last synced" in check["evidence"] and "HTTP 503 from Fanvue" in check["evidence"]
    assert body["sync"]["cron_overdue_for_model"] is True


# -------------------------------------------------------------------------- ledger_equals_stored
@contextmanager
def drifted_row(sql, model_id: str) -> Iterator[int]:
    """The newest earning's amount changed behind the trigger's back (stored total now stale)."""
    row_id, gross, net = sql.execute(
        "select id, gross_cents, net_cents from fanvue_transactions where model_id = %s and kind = 'earning' "
        "order by transaction_date desc limit 1",
        (model_id,),
    ).fetchone()
    _with_trigger_off(
        sql,
        "update fanvue_transactions set gross_cents = gross_cents + 1234, net_cents = net_cents + 1000 where id = %s",
        (row_id,),
    )
    try:
        yield 1234
    finally:
        _with_trigger_off(
            sql, "update fanvue_transactions set gross_cents = %s, net_cents = %s where id = %s", (gross, net, row_id)
        )
        _rebuild_totals(sql, model_id)


def test_stored_total_differing_from_ledger_fails_ledger_equals_stored(stack, demo, sql):
    model = demo["models"]["bella"]
    with drifted_row(sql, model) as drift:
        body = report(stack, sql, demo, "bella")
        check = assert_root_cause(body, "ledger_equals_stored", f"force-sync-revenue?modelId={model}")
        assert "stored $" in check["evidence"] and "but the ledger sums to" in check["evidence"]
        assert body["revenue"]["discrepancy_cents"] == -drift
        assert body["revenue"]["ledger"]["method"] == "ledger"  # summed from the rows, not the roll-up
    assert_healthy(report(stack, sql, demo, "bella"))


def test_force_sync_repairs_a_stored_total_that_differs_from_the_ledger(stack, demo, sql):
    model = demo["models"]["bella"]
    with drifted_row(sql, model):
        assert checks(report(stack, sql, demo, "bella", probe="false"))["ledger_equals_stored"]["status"] == "fail"
        force_sync(stack, demo, "bella")
        after = report(stack, sql, demo, "bella", probe="false")
        assert checks(after)["ledger_equals_stored"]["status"] == "pass", checks(after)["ledger_equals_stored"]


# ----------------------------------------------------------------------------- backfill_complete
def test_incomplete_backfill_fails_backfill_complete_with_progress(stack, demo, sql):
    model = demo["models"]["cleo"]
    saved = sql.execute(
        "select backfill_completed_at, progress, watermark from fanvue_sync_state where model_id = %s", (model,)
    ).fetchone()
    start, end = datetime(2024, 1, 1, tzinfo=UTC), saved[2]
    resume = end - (end - start) * 0.4  # pages run newest first: 40% of the window is stored
    progress = {"earnings": {"start": start.isoformat(), "end": end.isoformat(), "resume_end": resume.isoformat()}}
    sql.execute(
        "update fanvue_sync_state set backfill_completed_at = null, progress = %s::jsonb where model_id = %s",
        (psycopg.types.json.Jsonb(progress), model),
    )
    try:
        body = report(stack, sql, demo, "cleo", probe="false")
        check = assert_root_cause(body, "backfill_complete", f"force-sync-revenue?modelId={model}&full=true")
        assert "40% of 2024-01-01.." in check["evidence"] and "resuming at" in check["evidence"], check
        assert body["sync"]["backfill_complete"] is False and body["sync"]["backfill_progress"]["resume_end"]
        # the fix the report gives finishes it
        assert force_sync(stack, demo, "cleo", full="true")["outcome"] == "ok"
    finally:
        sql.execute(
            "update fanvue_sync_state set backfill_completed_at = coalesce(backfill_completed_at, %s), "
            "progress = case when backfill_completed_at is null then %s::jsonb else progress end "
            "where model_id = %s",
            (saved[0], psycopg.types.json.Jsonb(saved[1]), model),
        )
    assert_healthy(report(stack, sql, demo, "cleo"))


# -------------------------------------------------------------------------------- no_lease_stuck
def test_stuck_lease_fails_no_lease_stuck_and_force_sync_reclaims_it(stack, demo, sql):
    model = demo["models"]["ava"]
    try:
        sql.execute(
            "update fanvue_sync_state set lease_owner = 'cron:host-a:4242:1:abc', lease_kind = 'cron', "
            "last_attempt_at = now(), updated_at = now(), "
            "lease_expires_at = now() + interval '5 minutes' where model_id = %s",
            (model,),
        )
        live = report(stack, sql, demo, "ava", probe="false")
        check = checks(live)["no_lease_stuck"]
        assert check["status"] == "pass" and "a cron sync holds this model until" in check["evidence"], check
        assert "host-a" not in str(live) and "4242" not in str(live)  # no worker host or pid, ever

        sql.execute(
            "update fanvue_sync_state set lease_expires_at = now() - interval '10 minutes' where model_id = %s",
            (model,),
        )
        body = report(stack, sql, demo, "ava")
        check = assert_root_cause(
            body, "no_lease_stuck", "next cron run takes the model over", f"force-sync-revenue?modelId={model}"
        )
        assert "without being released" in check["evidence"] and "host-a" not in str(body)
        assert body["sync"]["lease"]["held"] is True and "holder" not in body["sync"]["lease"]
        force_sync(stack, demo, "ava")  # the fix: an expired lease is taken over, not waited on
    finally:
        sql.execute(
            "update fanvue_sync_state set lease_owner = null, lease_kind = null, lease_expires_at = null "
            "where model_id = %s and lease_owner like 'cron:host-a:%%'",
            (model,),
        )
    assert_healthy(report(stack, sql, demo, "ava"))


def test_a_dead_worker_lease_says_when_it_frees_instead_of_is_running(stack, demo, sql):
    """A worker claimed the model and died; its lease has not expired yet, so force-sync answers 409.
    The diagnosis says when the claim was made, that nothing was reported since, when the lease
    expires and what happens then, and does not suggest a force-sync that would be refused."""
    model = demo["models"]["bella"]
    try:
        sql.execute(
            "update fanvue_sync_state set lease_owner = 'cron:host-b:999:1:def', lease_kind = 'cron', "
            "last_attempt_at = now() - interval '4 minutes', updated_at = now() - interval '4 minutes', "
            "lease_expires_at = now() + interval '2 minutes' where model_id = %s",
            (model,),
        )
        body = report(stack, sql, demo, "bella", probe="false")
        check = checks(body)["no_lease_stuck"]
        assert check["status"] == "warn", check
        assert (
            "a cron sync claimed this model at" in check["evidence"] and "has not reported since" in check["evidence"]
        )
        assert "its lease expires at" in check["evidence"]
        assert "after which the next cron run or force-sync takes over" in check["evidence"]
        assert "is running" not in check["evidence"] and "force-sync-revenue" not in (check["fix"] or "")
        assert "host-b" not in str(body) and "999" not in check["evidence"]
        refused = stack.post("/api/fanvue/force-sync-revenue", user=demo["world"].admin_id, modelId=model)
        assert refused.status_code == 409  # what the diagnosis warned about
    finally:
        sql.execute(
            "update fanvue_sync_state set lease_owner = null, lease_kind = null, lease_expires_at = null "
            "where model_id = %s and lease_owner like 'cron:host-b:%%'",
            (model,),
        )


def test_last_cron_run_shows_only_this_agencys_models(stack, demo, sql):
    """Another agency's failing model in the same cron run: its error never reaches this agency."""
    other = make_agency(sql, "Other agency")
    foreign = make_model(sql, other.agency_id, "Secret Sasha")
    run = sql.execute(
        "select r.id from sync_runs r join sync_run_models rm on rm.run_id = r.id "
        "where r.kind = 'cron' and rm.agency_id = %s order by r.started_at desc limit 1",
        (demo["world"].agency_id,),
    ).fetchone()[0]
    later = sql.execute(
        "insert into sync_runs (kind, worker, status, started_at, finished_at, error) "
        "values ('cron', 'cron:host-z:1', 'partial', now(), now(), 'Secret Sasha: token of agency Z "
        "revoked') returning id"
    ).fetchone()[0]
    sql.execute(
        "insert into sync_run_models (run_id, model_id, agency_id, outcome, error) values "
        "(%s, %s, %s, 'failed', 'Secret Sasha: HTTP 401 for agency Z')",
        (later, foreign, other.agency_id),
    )
    sql.execute("update sync_runs set error = 'Secret Sasha failed' where id = %s", (run,))
    try:
        body = report(stack, sql, demo, "ava", probe="false")
        cron = body["sync"]["last_cron_run"]
        assert cron["id"] == str(run) and cron["id"] != str(later), cron
        assert cron["status"] == "ok" and cron["error"] is None, cron
        assert "Sasha" not in str(body) and "agency Z" not in str(body) and "host-z" not in str(body)
        # the other agency sees its own failure, and nothing of ours
        theirs = diagnose(stack, sql, other.admin_id, modelId=foreign, probe="false").json()
        assert theirs["sync"]["last_cron_run"]["id"] == str(later)
        assert theirs["sync"]["last_cron_run"]["status"] == "failed"
        assert "HTTP 401 for agency Z" in theirs["sync"]["last_cron_run"]["error"]
    finally:
        sql.execute("update sync_runs set error = null where id = %s", (run,))
        sql.execute("delete from sync_runs where id = %s", (later,))
        sql.execute("delete from agencies where id = %s", (other.agency_id,))


# ------------------------------------------------------------------------ revenue_matches_fanvue
def test_sales_newer_than_the_watermark_only_warn(stack, demo, sql):
    added = stack.sandbox.add_sales("cleo", 4)
    new_gross = sum(round(float(item["gross"])) for item in added)
    body = report(stack, sql, demo, "cleo")
    check = checks(body)["revenue_matches_fanvue"]
    assert check["status"] == "warn", check
    assert "fully explained by sales newer than the watermark" in check["evidence"], check
    summary = body["fanvue"]["reconciliation"]["summary_all_time"]
    assert summary["difference_cents"] == body["fanvue"]["since_watermark_gross_cents"] == new_gross > 0
    assert summary["status"] == "warn"
    assert body["verdict"]["status"] == "degraded" and body["verdict"]["failing"] == []
    assert body["verdict"]["root_cause"].startswith("revenue matches Fanvue")
    force_sync(stack, demo, "cleo")  # "run force-sync-revenue to catch up now"
    assert_healthy(report(stack, sql, demo, "cleo"))


def test_missing_ledger_rows_fail_revenue_matches_fanvue(stack, demo, sql):
    model = demo["models"]["bella"]
    lost = sql.execute(
        """delete from fanvue_transactions where id in (
                            select id from fanvue_transactions where model_id = %s and kind = 'earning'
                             order by transaction_date limit 3) returning gross_cents""",
        (model,),
    ).fetchall()
    lost_cents = sum(r[0] for r in lost)
    try:
        body = report(stack, sql, demo, "bella")
        check = assert_root_cause(body, "revenue_matches_fanvue", f"force-sync-revenue?modelId={model}&full=true")
        assert body["verdict"]["failing"] == ["revenue_matches_fanvue"]
        assert body["fanvue"]["reconciliation"]["summary_all_time"]["difference_cents"] == lost_cents
        assert "newer than the watermark" not in check["evidence"]
        assert checks(body)["ledger_equals_stored"]["status"] == "pass"  # the trigger kept the totals true
    finally:
        repaired = force_sync(stack, demo, "bella", full="true")  # the fix the report gives
    assert repaired["items"]["inserted"] == 3
    assert_healthy(report(stack, sql, demo, "bella"))


# --------------------------------------------------------------------- lookup, access, formats
def test_lookup_by_name_and_errors(stack, demo, sql):
    world = demo["world"]
    ava = diagnose(stack, sql, world.admin_id, modelName="AVA sterling", probe="false").json()
    assert ava["model"]["id"] == demo["models"]["ava"]

    diagnose(stack, sql, world.admin_id, status=404, modelId=str(uuid.uuid4()))
    diagnose(stack, sql, world.admin_id, status=404, modelName="Nobody Here")
    other = make_agency(sql, "Other agency")
    foreign = make_model(sql, other.agency_id, "Ava Sterling")
    try:
        missing = diagnose(stack, sql, world.admin_id, status=404, modelId=foreign).json()
        unknown = diagnose(stack, sql, world.admin_id, status=404, modelId=str(uuid.uuid4())).json()
        assert missing["error"]["code"] == unknown["error"]["code"]  # indistinguishable from missing
        diagnose(stack, sql, other.admin_id, status=404, modelId=demo["models"]["ava"])
    finally:
        sql.execute("delete from agencies where id = %s", (other.agency_id,))

    twins = [make_model(sql, world.agency_id, "Twin Star"), make_model(sql, world.agency_id, "twin STAR")]
    try:
        body = diagnose(stack, sql, world.admin_id, status=409, modelName="TWIN star").json()
        assert {c["id"] for c in body["error"]["candidates"]} == set(twins)
        assert {c["name"] for c in body["error"]["candidates"]} == {"Twin Star", "twin STAR"}
    finally:
        sql.execute("delete from models where id = any(%s::uuid[])", (twins,))

    assert "summary" in diagnose(stack, sql, world.admin_id).json()  # no model named: the agency overview
    diagnose(stack, sql, world.admin_id, status=422, modelId=demo["models"]["ava"], modelName="Ava Sterling")
    anonymous = stack.get(PATH, modelId=demo["models"]["ava"])
    assert anonymous.status_code == 401 and anonymous.headers["cache-control"] == "no-store"
    _scan(sql, anonymous.text)


def test_member_may_read_and_probe_false_skips_fanvue(stack, demo, sql):
    requests_before = stack.sandbox.stats()["requests"]
    body = diagnose(stack, sql, demo["world"].member_id, modelId=demo["models"]["dora"], probe="false").json()
    assert stack.sandbox.stats()["requests"] == requests_before  # not one call to Fanvue
    assert body["fanvue"] is None
    c = checks(body)
    assert c["fanvue_responds"]["status"] == "warn" and "probe=false" in c["fanvue_responds"]["evidence"]
    assert c["revenue_matches_fanvue"]["status"] == "warn"
    assert {k for k, v in c.items() if v["status"] != "pass"} == {"fanvue_responds", "revenue_matches_fanvue"}
    assert body["verdict"]["status"] == "degraded" and body["verdict"]["failing"] == []
    assert body["daily"] and all(d["fanvue_cents"] is None for d in body["daily"])


def test_html_and_text_formats(stack, demo, sql):
    admin, model = demo["world"].admin_id, demo["models"]["ava"]
    page = diagnose(stack, sql, admin, headers={"Accept": "text/html,application/xhtml+xml"}, modelId=model)
    assert page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and page.text.count("<polyline") == 2 and "HEALTHY" in page.text
    assert "Ava Sterling" in page.text
    explicit = diagnose(stack, sql, admin, format="html", modelId=model, probe="false")
    assert explicit.headers["content-type"].startswith("text/html") and "<svg" in explicit.text

    text = diagnose(stack, sql, admin, format="text", modelId=model)
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.startswith("diagnose-revenue: Ava Sterling") and "verdict: HEALTHY" in text.text
    assert "[PASS] tokens are valid" in text.text and "<" not in text.text

    # a broken model reads the same way: failing check, fix, plan
    with faults(stack, error_5xx={"count": 1000, "status": 502}):
        broken = diagnose(stack, sql, admin, format="text", modelId=model).text
        page = diagnose(stack, sql, admin, headers={"Accept": "text/html"}, modelId=model).text
    assert "verdict: BROKEN" in broken and "[FAIL] Fanvue API responds with 200: HTTP 502" in broken
    assert re.search(r"fix plan:\n  1\. Fanvue is unreachable", broken), broken
    assert "<h2>Fix plan</h2>" in page and "BROKEN" in page
