"""Who may touch which model: agencies are sealed off from each other (404, indistinguishable from a
missing model), members read but never act (403), and nothing is written on a refusal."""

from __future__ import annotations

import pytest

from tests.security.conftest import assert_error


def _cases(a, b):
    """(method, path, params) of every model-, connection- or agency-scoped call on agency A's things."""
    return [
        ("GET", "/api/fanvue/diagnose-revenue", {"modelId": a.model_id, "probe": "false"}),
        ("GET", "/api/fanvue/diagnose-revenue", {"modelName": a.model_name, "probe": "false"}),
        ("POST", "/api/fanvue/force-sync-revenue", {"modelId": a.model_id}),
        ("POST", "/api/fanvue/force-sync-revenue", {"modelName": a.model_name, "full": "true"}),
        ("POST", "/api/auth/fanvue/refresh", {"modelId": a.model_id}),
        ("POST", "/api/auth/fanvue/refresh", {"connectionId": a.connection_id, "force": "true"}),
        ("GET", "/api/auth/fanvue/connect", {"modelId": a.model_id}),
        ("GET", "/api/auth/fanvue/connect", {"agencyId": a.agency_id}),
    ]


@pytest.mark.parametrize("index", range(8))
def test_admin_of_another_agency_gets_404(sec, worlds, writes, index):
    method, path, params = _cases(worlds.a, worlds.b)[index]
    with writes.none():
        r = sec.request(method, path, token=sec.token(worlds.b.admin_id), params=params)
        body = assert_error(r, 404, "not_found")
        # nothing about agency A's model leaks into the answer
        assert worlds.a.model_id not in str(body) or params.get("modelId") == worlds.a.model_id
        assert worlds.a.connection_id not in r.text or params.get("connectionId") == worlds.a.connection_id
        assert worlds.a.creator_uuid not in r.text


def test_member_of_another_agency_cannot_read(sec, worlds, writes):
    with writes.none():
        for params in ({"modelId": worlds.a.model_id}, {"modelName": worlds.a.model_name}):
            r = sec.request(
                "GET",
                "/api/fanvue/diagnose-revenue",
                token=sec.token(worlds.b.member_id),
                params={**params, "probe": "false"},
            )
            assert_error(r, 404, "not_found")


def test_missing_and_foreign_models_answer_the_same(sec, worlds):
    import uuid

    foreign = sec.request(
        "GET",
        "/api/fanvue/diagnose-revenue",
        token=sec.token(worlds.b.admin_id),
        params={"modelId": worlds.a.model_id, "probe": "false"},
    )
    missing_id = str(uuid.uuid4())
    missing = sec.request(
        "GET",
        "/api/fanvue/diagnose-revenue",
        token=sec.token(worlds.b.admin_id),
        params={"modelId": missing_id, "probe": "false"},
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"]["message"].replace(worlds.a.model_id, "X") == missing.json()["error"][
        "message"
    ].replace(missing_id, "X")


@pytest.mark.parametrize(
    "method,path,params",
    [
        ("POST", "/api/fanvue/force-sync-revenue", "model"),
        ("POST", "/api/fanvue/force-sync-revenue", "model+full"),
        ("POST", "/api/auth/fanvue/refresh", "model"),
        ("POST", "/api/auth/fanvue/refresh", "connection"),
        ("GET", "/api/auth/fanvue/connect", "model"),
        ("GET", "/api/auth/fanvue/connect", "agency"),
    ],
)
def test_member_calling_admin_endpoints_gets_403(sec, worlds, writes, method, path, params):
    a = worlds.a
    query = {
        "model": {"modelId": a.model_id},
        "model+full": {"modelId": a.model_id, "full": "true"},
        "connection": {"connectionId": a.connection_id},
        "agency": {"agencyId": a.agency_id},
    }[params]
    with writes.none():
        r = sec.request(method, path, token=sec.token(a.member_id), params=query)
        assert_error(r, 403, "forbidden")


def test_member_may_read_own_agency(sec, worlds, writes):
    with writes.none():
        r = sec.request(
            "GET",
            "/api/fanvue/diagnose-revenue",
            token=sec.token(worlds.a.member_id),
            params={"modelId": worlds.a.model_id, "probe": "false"},
        )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["cache-control"] == "no-store"
    # the report never carries a token or ciphertext
    assert "v1:" not in r.text and "access_token" not in r.text and "refresh_token" not in r.text


def test_cron_secret_is_not_a_dashboard_credential(sec, worlds, writes):
    from tests.security.conftest import CRON_SECRET

    with writes.none():
        for method, path, params in _cases(worlds.a, worlds.b):
            if path.endswith("/refresh"):
                continue  # refresh is cron_or_admin by design
            r = sec.request(method, path, token=CRON_SECRET, params=params)
            assert_error(r, 401, "unauthorized")
