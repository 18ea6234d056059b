"""What spends a creator's Fanvue rate limit outside the sync is bounded, with the production
defaults: probe diagnoses (cache, per-connection cap, no probe while a sync holds the model), forced
refreshes and back-to-back full force-syncs (429 with Retry-After). Requests are counted at the
sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from lib.config import Settings
from tests.e2e.helpers import connect_demo
from tests.e2e.test_diagnose import PATH, connection_of, env

DEFAULTS = Settings()


@pytest.fixture(scope="module")
def demo(stack, database_url) -> Iterator[dict[str, Any]]:
    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, _ = connect_demo(stack, sql)
        assert stack.cron()["models_synced"] == 4
        models = dict(sql.execute("select coalesce(fanvue_handle, lower(name)), id::text from models").fetchall())
    yield {"world": world, "models": models}


@pytest.fixture(autouse=True)
def fresh_budget(sql) -> None:
    sql.execute("truncate public.fanvue_probe_cache, public.fanvue_throttle")


def _requests(stack) -> int:
    return stack.sandbox.stats()["requests"]["total"]


def _diagnose(stack, demo, handle: str, **params: Any) -> dict[str, Any]:
    r = stack.get(PATH, user=demo["world"].member_id, modelId=demo["models"][handle], **params)
    assert r.status_code == 200, r.text
    return r.json()


def test_many_probe_diagnoses_spend_at_most_the_cap(stack, demo, sql):
    assert DEFAULTS.diagnose_probe_cache_s == 60 and DEFAULTS.diagnose_probes_per_min == 3
    before = _requests(stack)
    first = _diagnose(stack, demo, "ava")
    per_probe = _requests(stack) - before
    assert first["fanvue"]["source"] == "live" and 0 < per_probe == first["fanvue"]["requests"] <= 5
    for _ in range(30):
        body = _diagnose(stack, demo, "ava")
        assert body["fanvue"]["source"] == "cache" and body["verdict"]["status"] == "healthy"
        assert "s ago" in body["fanvue"]["note"]
    assert _requests(stack) - before == per_probe  # 31 diagnoses, one live probe


def test_without_cache_the_cap_bounds_live_probes_per_connection(stack, demo, sql):
    with env(DIAGNOSE_PROBE_CACHE_S="0"):
        before = _requests(stack)
        bodies = [_diagnose(stack, demo, handle) for handle in ("ava", "bella", "cleo") * 4]
    live = [b for b in bodies if b["fanvue"]["source"] == "live"]
    assert len(live) == DEFAULTS.diagnose_probes_per_min  # ava, bella, cleo share the agency connection
    assert _requests(stack) - before == sum(b["fanvue"]["requests"] for b in live) <= 5 * len(live)
    capped = bodies[len(live) :]
    for body in capped:
        assert body["fanvue"]["source"] == "cache", body["fanvue"]
        assert "live probes of this connection in the last 60 s" in body["fanvue"]["note"]
        assert body["fanvue"]["age_s"] is not None


def test_no_live_probe_while_a_sync_holds_the_model(stack, demo, sql):
    model = demo["models"]["dora"]
    sql.execute(
        "update fanvue_sync_state set lease_owner = 'cron:x', lease_kind = 'cron', last_attempt_at = now(), "
        "updated_at = now(), lease_expires_at = now() + interval '5 minutes' where model_id = %s",
        (model,),
    )
    try:
        before = _requests(stack)
        body = _diagnose(stack, demo, "dora")
    finally:
        sql.execute(
            "update fanvue_sync_state set lease_owner = null, lease_kind = null, lease_expires_at = null "
            "where model_id = %s",
            (model,),
        )
    assert _requests(stack) == before
    assert "a sync (cron) holds this model until" in body["fanvue"]["note"]
    check = {c["id"]: c for c in body["checks"]}["fanvue_responds"]
    assert check["status"] == "warn" and "live probe skipped" in check["evidence"]


def test_probe_stops_reading_totals_when_the_bucket_is_low(stack, demo, sql):
    with env(DIAGNOSE_PROBE_MIN_REMAINING="1000"):
        body = _diagnose(stack, demo, "dora")
    assert body["fanvue"]["requests"] == 1 and body["fanvue"]["account_total_cents"] is None
    assert "they are left to the sync" in body["fanvue"]["note"]
    assert sql.execute("select count(*) from fanvue_probe_cache").fetchone()[0] == 0  # incomplete: not cached


def test_forced_refresh_twice_is_refused_with_429(stack, demo, sql):
    connection_id, _ = connection_of(sql, demo["models"]["dora"])
    admin = demo["world"].admin_id
    first = stack.post("/api/auth/fanvue/refresh", user=admin, connectionId=connection_id, force="true")
    assert first.status_code == 200 and first.json()["refreshed"] is True, first.text
    tokens = sql.execute(
        "select access_token_enc, refresh_token_enc, token_version from fanvue_connections where id = %s",
        (connection_id,),
    ).fetchone()
    refreshes = stack.sandbox.stats()["refreshes"]
    second = stack.post("/api/auth/fanvue/refresh", user=admin, connectionId=connection_id, force="true")
    assert second.status_code == 429, second.text
    error = second.json()["error"]
    assert error["code"] == "refresh_too_soon" and "REFRESH_FORCE_MIN_INTERVAL_S" in error["message"]
    assert 0 < error["retry_after_s"] <= 60 and second.headers["Retry-After"] == str(error["retry_after_s"])
    assert (
        sql.execute(
            "select access_token_enc, refresh_token_enc, token_version from fanvue_connections where id = %s",
            (connection_id,),
        ).fetchone()
        == tokens
    )
    assert stack.sandbox.stats()["refreshes"] == refreshes
    # without force it is still answered (nothing is due, nothing rotates)
    plain = stack.post("/api/auth/fanvue/refresh", user=admin, connectionId=connection_id)
    assert plain.status_code == 200 and plain.json()["refreshed"] is False


def test_full_force_sync_twice_is_refused_with_429(stack, demo, sql):
    admin, model = demo["world"].admin_id, demo["models"]["cleo"]
    path = "/api/fanvue/force-sync-revenue"
    dry = stack.post(path, user=admin, modelId=model, full="true", dryRun="true")
    assert dry.status_code == 200, dry.text  # a dry run may precede the real one
    first = stack.post(path, user=admin, modelId=model, full="true")
    assert first.status_code == 200 and first.json()["outcome"] == "ok", first.text
    before = _requests(stack)
    second = stack.post(path, user=admin, modelId=model, full="true")
    assert second.status_code == 429, second.text
    error = second.json()["error"]
    assert error["code"] == "full_sync_too_soon" and "FORCE_SYNC_FULL_MIN_INTERVAL_S" in error["message"]
    assert 0 < error["retry_after_s"] <= 600 and second.headers["Retry-After"] == str(error["retry_after_s"])
    assert _requests(stack) == before  # refused before a single Fanvue request
    assert stack.post(path, user=admin, modelId=model).status_code == 200  # incremental still allowed
    with env(FORCE_SYNC_FULL_MIN_INTERVAL_S="0"):
        assert stack.post(path, user=admin, modelId=model, full="true").status_code == 200
