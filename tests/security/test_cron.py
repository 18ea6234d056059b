"""The cron endpoint accepts exactly `Authorization: Bearer $CRON_SECRET`, fails closed without it (F7)."""

from __future__ import annotations

import pytest

from tests.security.conftest import CRON_SECRET, assert_error, claims, environment, raw_request

CRON = "/api/cron/sync-transactions"


WRONG = {  # ids stay stable across xdist workers (the secret itself is random per process)
    "missing": None,
    "empty": "",
    "suffix": "Bearer {s}x",
    "prefix": "Bearer {short}",
    "lowercase": "bearer {s}",
    "basic": "Basic {s}",
    "bare": "{s}",
    "double-space": "Bearer  {s}",
    "wrong": "Bearer wrong",
    "none": "Bearer None",
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_missing_or_wrong_cron_secret(sec, writes, case):
    template = WRONG[case]
    headers = {} if template is None else {"Authorization": template.format(s=CRON_SECRET, short=CRON_SECRET[:-1])}
    with writes.none():
        r = sec.request("GET", CRON, headers=headers)
        assert_error(r, 401, "unauthorized")


def test_dashboard_token_is_not_a_cron_credential(sec, worlds, writes):
    with writes.none():
        assert_error(sec.request("GET", CRON, token=sec.token(worlds.a.admin_id)), 401, "unauthorized")


def test_secret_in_the_query_is_ignored(sec, writes):
    """`?secret=$CRON_SECRET` (the origin's vercel.json mistake) never authenticates anything."""
    # sent over a raw socket: an httpx client would log the URL, secret included, from the test side
    with writes.none():
        for query in (f"secret={CRON_SECRET}", f"cron_secret={CRON_SECRET}&mode=sync"):
            r = raw_request(sec, f"GET {CRON}?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert_error(r, 400, "unknown_parameter")
            assert CRON_SECRET not in r.text


@pytest.mark.parametrize("case", ["missing", "empty-bearer", "bearer-none", "bearer-null", "old-secret"])
def test_unset_cron_secret_fails_closed(sec, writes, case):
    value = {
        "missing": None,
        "empty-bearer": "Bearer",
        "bearer-none": "Bearer None",
        "bearer-null": "Bearer null",
        "old-secret": f"Bearer {CRON_SECRET}",
    }[case]
    headers = {} if value is None else {"Authorization": value}
    with environment(CRON_SECRET=None), writes.none():
        r = sec.request("GET", CRON, headers=headers)
        assert_error(r, 503, "cron_not_configured")


def test_empty_cron_secret_counts_as_unset(sec, writes):
    with environment(CRON_SECRET=""), writes.none():
        assert_error(sec.request("GET", CRON, headers={"Authorization": "Bearer"}), 503, "cron_not_configured")


def test_cron_with_bad_parameters_is_refused_before_any_work(sec, writes):
    with writes.none():
        for params in (
            {"mode": "everything"},
            {"worker": "65"},
            {"worker": "-1"},
            {"worker": "1e3"},
            {"mode": "sync'; drop table sync_runs;--"},
        ):
            r = sec.request("GET", CRON, token=CRON_SECRET, params=params)
            assert_error(r, 422, "invalid_parameter")


def test_refresh_endpoint_accepts_the_cron_secret_but_still_validates(sec, worlds, writes):
    import uuid

    with writes.none():
        r = sec.request(
            "POST", "/api/auth/fanvue/refresh", token=CRON_SECRET, params={"connectionId": str(uuid.uuid4())}
        )
        assert_error(r, 404, "not_found")
        r = sec.request(
            "POST", "/api/auth/fanvue/refresh", token=f"{CRON_SECRET}x", params={"connectionId": worlds.a.connection_id}
        )
        assert_error(r, 401, "unauthorized")


def test_hs_token_signed_with_the_cron_secret(sec, worlds, writes):
    from jose import jwt

    with writes.none():
        token = jwt.encode(claims(worlds.a.admin_id), CRON_SECRET, algorithm="HS256")
        r = sec.request("POST", "/api/fanvue/force-sync-revenue", token=token, params={"modelId": worlds.a.model_id})
        assert_error(r, 401, "unauthorized")
