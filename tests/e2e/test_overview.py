"""The agency overview: diagnose-revenue without modelId/modelName answers for every model of the
caller's agency (JSON, text, HTML), from one SQL call, after a real cron sync against the sandbox.
Every figure is compared with the database; staged problems (a revoked grant, a drifted total, a
stale model, a never-connected model, an open incident) must sort first and say why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from lib.diagnose.overview import usd
from tests.e2e.helpers import connect_demo
from tests.e2e.test_diagnose import _scan
from tests.factories import make_agency, make_model

PATH = "/api/fanvue/diagnose-revenue"
EVIL = "<script>alert(1)</script> & \"Quotes\" 'n' <img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def demo(stack, database_url) -> Iterator[dict[str, Any]]:
    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, _ = connect_demo(stack, sql)
        summary = stack.cron()
        assert summary["status"] == "ok" and summary["models_synced"] == 4, summary
        models = dict(sql.execute("select coalesce(fanvue_handle, lower(name)), id::text from models").fetchall())
    yield {"world": world, "models": models}


def overview(stack, sql, user: str, *, status: int = 200, headers: dict[str, str] | None = None, **params: Any):
    response = stack.http.get(
        stack.functions + PATH,
        params=params,
        headers={"Authorization": f"Bearer {stack.token(user)}", **(headers or {})},
    )
    assert response.status_code == status, response.text[:2000]
    assert response.headers.get("cache-control") == "no-store"
    _scan(sql, response.text)
    return response


def database_figures(sql, agency_id: str) -> dict[str, dict[str, int]]:
    """Per model: stored total, exact ledger sum and count, and the ledger's last 30 UTC days."""
    rows = sql.execute(
        """select m.id::text, m.revenue_gross_cents,
                  coalesce(sum(t.gross_cents) filter (where t.kind = 'earning'), 0),
                  count(t.id) filter (where t.kind = 'earning'),
                  coalesce(sum(t.gross_cents) filter (where t.kind = 'earning' and
                      (t.transaction_date at time zone 'UTC')::date > (now() at time zone 'UTC')::date - 30), 0)
             from models m left join fanvue_transactions t on t.model_id = m.id
            where m.agency_id = %s group by m.id""",
        (agency_id,),
    ).fetchall()
    return {r[0]: {"stored": r[1], "ledger": int(r[2]), "count": r[3], "last30": int(r[4])} for r in rows}


@contextmanager
def staged(sql, statements: list[tuple[str, tuple]], undo: list[tuple[str, tuple]]) -> Iterator[None]:
    try:
        for statement, args in statements:
            sql.execute(statement, args)
        yield
    finally:
        for statement, args in undo:
            sql.execute(statement, args)


def test_every_model_with_the_database_figures(stack, demo, sql):
    world = demo["world"]
    body = overview(stack, sql, world.member_id).json()
    figures = database_figures(sql, world.agency_id)
    assert {m["id"] for m in body["models"]} == set(figures) == set(demo["models"].values())
    for m in body["models"]:
        want = figures[m["id"]]
        assert m["status"] == "ok" and m["problems"] == [] and m["severity"] == 0, m
        assert m["revenue"]["stored_cents"] == want["stored"] == want["ledger"] == m["revenue"]["ledger_cents"]
        assert m["revenue"]["transaction_count"] == want["count"] > 0
        assert len(m["trend_cents"]) == 30 and sum(m["trend_cents"]) == want["last30"]
        assert m["freshness"]["overdue"] is False and m["freshness"]["age_s"] is not None
        assert m["freshness"]["watermark"] and m["backfill"]["complete"] is True
        assert m["lease"]["held"] is False and m["links"]["reconnect"] is None
        assert m["links"]["diagnose"].endswith(f"modelId={m['id']}")
    s = body["summary"]
    assert s["status"] == "healthy" and s["models_total"] == 4 and s["models_ok"] == 4 and s["discrepant"] == 0
    assert s["stored_total_cents"] == sum(f["stored"] for f in figures.values())
    assert body["discrepant_models"] == [] and body["incidents"] == []
    assert body["agency"] == {"id": world.agency_id, "name": "Demo agency"}
    assert body["trend"]["days"] == 30 and body["last_cron_run"]["status"] == "ok"


def test_discrepant_models_come_first_with_the_reason_and_the_fix(stack, demo, sql):
    world, models = demo["world"], demo["models"]
    dora_conn = sql.execute("select connection_id::text from models where id = %s", (models["dora"],)).fetchone()[0]
    lonely = make_model(sql, world.agency_id, "Never Connected")
    try:
        with staged(
            sql,
            [
                (
                    "update fanvue_connections set status = 'needs_reconnect', status_reason = 'refresh token revoked'"
                    " where id = %s",
                    (dora_conn,),
                ),
                (
                    "update models set revenue_gross_cents = revenue_gross_cents + 1234 where id = %s",
                    (models["bella"],),
                ),
                (
                    "update fanvue_sync_state set last_success_at = now() - interval '2 days' where model_id = %s",
                    (models["cleo"],),
                ),
            ],
            [
                ("update fanvue_connections set status = 'active', status_reason = null where id = %s", (dora_conn,)),
                (
                    "update models set revenue_gross_cents = revenue_gross_cents - 1234 where id = %s",
                    (models["bella"],),
                ),
                ("update fanvue_sync_state set last_success_at = now() where model_id = %s", (models["cleo"],)),
            ],
        ):
            body = overview(stack, sql, world.member_id).json()
    finally:
        sql.execute("delete from models where id = %s", (lonely,))
    by_id = {m["id"]: m for m in body["models"]}
    order = [m["id"] for m in body["models"]]
    # severity 3 (broken) first, then stale (2), then the healthy one
    assert set(order[:3]) == {models["dora"], models["bella"], lonely}
    assert order[3] == models["cleo"] and order[4] == models["ava"]
    dora, bella, cleo = by_id[models["dora"]], by_id[models["bella"]], by_id[models["cleo"]]
    assert dora["status"] == "needs_reconnect" and "refresh token revoked" in dora["reasons"][0]
    assert dora["links"]["reconnect"] == f"{stack.functions}/api/auth/fanvue/connect?modelId={models['dora']}"
    assert by_id[lonely]["status"] == "not_connected"
    assert by_id[lonely]["links"]["reconnect"].endswith(f"connect?modelId={lonely}")
    assert bella["status"] == "ledger_mismatch" and bella["revenue"]["difference_cents"] == 1234
    assert "but the ledger sums to" in bella["reasons"][0]
    assert cleo["status"] == "stale" and cleo["freshness"]["overdue"] is True and "2 days ago" in cleo["reasons"][0]
    s = body["summary"]
    assert (
        s["status"],
        s["models_total"],
        s["discrepant"],
        s["needs_reconnect"],
        s["not_connected"],
        s["ledger_mismatch"],
        s["stale"],
    ) == ("broken", 5, 4, 1, 1, 1, 1)
    assert [d["id"] for d in body["discrepant_models"]] == order[:4]


def test_agency_connection_needing_reconnect_links_to_the_agency_connect(stack, demo, sql):
    world, models = demo["world"], demo["models"]
    conn = sql.execute("select connection_id::text from models where id = %s", (models["ava"],)).fetchone()[0]
    with staged(
        sql,
        [("update fanvue_connections set status = 'needs_reconnect' where id = %s", (conn,))],
        [("update fanvue_connections set status = 'active' where id = %s", (conn,))],
    ):
        body = overview(stack, sql, world.admin_id).json()
    agency_linked = [m for m in body["models"] if m["connection"] and m["connection"]["kind"] == "agency"]
    assert len(agency_linked) == 3
    for m in agency_linked:
        assert m["status"] == "needs_reconnect"
        assert m["links"]["reconnect"] == f"{stack.functions}/api/auth/fanvue/connect?agencyId={world.agency_id}"


def test_a_member_of_agency_a_sees_none_of_agency_b(stack, demo, sql):
    other = make_agency(sql, "Other agency")
    theirs = make_model(sql, other.agency_id, "Their Star")
    try:
        mine = overview(stack, sql, demo["world"].member_id)
        assert theirs not in mine.text and "Their Star" not in mine.text and "Other agency" not in mine.text
        for fmt in ("text", "html"):
            page = overview(stack, sql, demo["world"].member_id, format=fmt).text
            assert "Their Star" not in page and theirs not in page
        body = overview(stack, sql, other.member_id).json()
        assert [m["id"] for m in body["models"]] == [theirs]
        assert not set(demo["models"].values()) & {m["id"] for m in body["models"]}
        assert body["models"][0]["status"] == "not_connected" and body["summary"]["models_total"] == 1
    finally:
        sql.execute("delete from agencies where id = %s", (other.agency_id,))


def test_bad_requests_still_refused(stack, demo, sql):
    user = demo["world"].member_id
    r = overview(stack, sql, user, status=400, bogus="1").json()
    assert r["error"]["code"] == "unknown_parameter" and "bogus" in r["error"]["message"]
    assert (
        overview(stack, sql, user, status=400, agencyId=demo["world"].agency_id).json()["error"]["code"]
        == "unknown_parameter"
    )
    assert overview(stack, sql, user, status=422, format="pdf").json()["error"]["code"] == "invalid_parameter"
    dup = stack.http.get(
        stack.functions + PATH + "?format=json&format=text", headers={"Authorization": f"Bearer {stack.token(user)}"}
    )
    assert dup.status_code == 400 and dup.json()["error"]["code"] == "duplicate_parameter"
    anonymous = stack.get(PATH)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    assert stack.get(PATH, cron=True).status_code == 401  # a dashboard endpoint: the cron secret is no user


def test_text_and_html_show_the_same_figures_escaped(stack, demo, sql):
    world = demo["world"]
    evil = make_model(sql, world.agency_id, EVIL)
    try:
        figures = database_figures(sql, world.agency_id)
        text = overview(stack, sql, world.member_id, format="text")
        assert text.headers["content-type"].startswith("text/plain")
        assert text.text.startswith("agency overview: Demo agency\nBROKEN: 5 models, 1 need attention")
        for model_id, want in figures.items():
            if model_id != evil:
                assert usd(want["stored"]) in text.text
        assert "not connected" in text.text and f"connect?modelId={evil}" in text.text

        page = overview(stack, sql, world.member_id, headers={"Accept": "text/html"})
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script" not in csp and "unsafe-inline" not in csp
        assert "<script" not in page.text and "<img" not in page.text and "onerror=alert(2)>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Quotes&quot; &#x27;n&#x27;" in page.text
        assert page.text.count("<tr data-model-id=") == 5 and page.text.count('<svg class="spark"') == 5
        for want in figures.values():
            assert usd(want["stored"]) in page.text
    finally:
        sql.execute("delete from models where id = %s", (evil,))


def test_a_probe_leaves_fanvue_figure_for_the_overview(stack, demo, sql):
    world, dora = demo["world"], demo["models"]["dora"]
    sql.execute("delete from fanvue_reported_totals")
    before = overview(stack, sql, world.member_id).json()
    assert all(m["revenue"]["fanvue_cents"] is None for m in before["models"])
    report = stack.get(PATH, user=world.member_id, modelId=dora).json()
    assert report["fanvue"]["account_total_cents"] is not None
    after = {m["id"]: m for m in overview(stack, sql, world.member_id).json()["models"]}
    assert after[dora]["revenue"]["fanvue_cents"] == report["fanvue"]["account_total_cents"]
    assert after[dora]["revenue"]["fanvue_source"] == "probe" and after[dora]["revenue"]["fanvue_observed_at"]
    truth = stack.sandbox.ground_truth(include_items=False)
    uuid_of = sql.execute("select fanvue_user_uuid::text from models where id = %s", (dora,)).fetchone()[0]
    assert after[dora]["revenue"]["ledger_cents"] == truth[uuid_of]["earnings"]["gross"]
    # Fanvue's account total counts paid items only: it differs from the ledger by the pending items,
    # which the diagnosis explained, so the overview does not flag it.
    pending = sql.execute(
        "select coalesce(sum(gross_cents), 0) from fanvue_transactions "
        "where model_id = %s and order_status = 'pendingBalance'",
        (dora,),
    ).fetchone()[0]
    assert after[dora]["revenue"]["fanvue_cents"] == truth[uuid_of]["earnings"]["gross"] - pending
    assert sql.execute("select status from fanvue_reported_totals where model_id = %s", (dora,)).fetchone()[0] == "pass"
    assert after[dora]["status"] == "ok"  # Fanvue's figure was explained when it was read
    stack.get(PATH, user=world.member_id, modelId=dora, probe="false")  # no probe: nothing recorded
    assert sql.execute("select count(*) from fanvue_reported_totals").fetchone()[0] == 1


def test_open_incidents_reach_the_overview(stack, demo, sql):
    """Open incidents (the alerting's fanvue_incidents) show on their model's row, worded as the alert
    channel words them, and deployment-wide ones (the cron) in the agency's list; resolved ones vanish."""
    world, cleo = demo["world"], demo["models"]["cleo"]
    detail = {
        "failures": 3,
        "threshold": 3,
        "since": "2026-12-01T10:00:00Z",
        "last_error": "Fanvue: 503 <b>",
        "last_success_at": None,
        "model": "Cleo",
        "agency": "Demo agency",
    }
    sql.execute(
        "insert into fanvue_incidents (kind, subject, agency_id, model_id, opened_at, detail) values "
        "('sync_failing', %s, %s, %s, '2026-12-01T10:00:00Z', %s), "
        "('cron_overdue', 'cron', null, null, '2026-12-01T09:00:00Z', %s)",
        (
            f"model:{cleo}",
            world.agency_id,
            cleo,
            json.dumps(detail),
            json.dumps({"last_cron_at": "2026-12-01T07:00:00Z", "overdue_after_s": 3600}),
        ),
    )
    try:
        body = overview(stack, sql, world.member_id).json()
        page = overview(stack, sql, world.member_id, format="html").text
    finally:
        sql.execute("update fanvue_incidents set resolved_at = now() where resolved_at is null")
    by_id = {m["id"]: m for m in body["models"]}
    assert by_id[cleo]["status"] == "incident" and by_id[cleo]["incidents"][0]["kind"] == "sync_failing"
    assert body["models"][0]["id"] == cleo
    assert [i["kind"] for i in body["incidents"]] == ["cron_overdue"]
    assert body["summary"]["open_incidents"] == 2 and body["summary"]["status"] == "degraded"
    assert "revenue sync keeps failing: 3 consecutive failed runs" in page and "Fanvue: 503 &lt;b&gt;" in page
    assert "the scheduled sync (cron) is overdue" in page
    assert overview(stack, sql, world.member_id).json()["summary"]["open_incidents"] == 0
