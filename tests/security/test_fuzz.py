"""Hypothesis fuzz over every endpoint's query parameters, methods, credentials and bodies, over real
HTTP: no answer is a 5xx, and every 4xx is a JSON {"error": {"code", "message"}}.

The valid cron secret is never sent to the cron endpoint (that would run real syncs); its parameters
are still fuzzed, since validation comes before authentication. Agency A's own model and connection
ids are left out of the id pool because syncing them is a real (502: its tokens are fake) upstream call.
"""
from __future__ import annotations

import json
import time
from datetime import timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.webhooks import sign
from tests.security.conftest import CRON_SECRET, WEBHOOK_SECRET
from tests.security.test_input import ALL_METHODS, HEADER_INJECTION, ROUTES, SQL_INJECTION, params_of

FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


STATUSES: "collections.Counter[tuple[str, int]]" = __import__("collections").Counter()


def check(response, method: str) -> None:
    STATUSES[(response.request.url.path, response.status_code)] += 1
    assert response.status_code < 500, (response.status_code, response.request.url, response.text[:300])
    if 400 <= response.status_code < 500 and method != "HEAD":
        assert response.headers.get("content-type", "").startswith("application/json"), response.headers
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict) and isinstance(error.get("code"), str) \
            and isinstance(error.get("message"), str), body


def values(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=50, max_size=400),
        st.integers().map(str),
        st.integers(min_value=-(10 ** 60), max_value=10 ** 60).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.booleans().map(str),
        st.sampled_from(["true", "false", "1", "0", "yes", "no", "on", "off", "", "null", "None", "json",
                         "text", "html", "sync", "reconcile", "64", "65", "-1", "2026-01-01T00:00:00Z",
                         "2026-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00Z"]),
        st.uuids().map(str),
        st.sampled_from(ids),
        st.sampled_from(SQL_INJECTION + HEADER_INJECTION),
        st.datetimes(timezones=st.sampled_from([timezone.utc, None])).map(lambda d: d.isoformat()),
    )


def credentials(sec, worlds, path: str, who: str) -> dict[str, str]:
    if who == "cron" and ROUTES[path].auth == "cron":
        who = "garbage"
    if who == "none":
        return {}
    if who == "garbage":
        return {"Authorization": "Bearer not.a.token"}
    if who == "cron":
        return {"Authorization": f"Bearer {CRON_SECRET}"}
    user = {"admin_a": worlds.a.admin_id, "member_a": worlds.a.member_id, "admin_b": worlds.b.admin_id}[who]
    return sec.auth(user)


@pytest.mark.parametrize("path", sorted(p for p in ROUTES if ROUTES[p].auth != "webhook"))
def test_fuzz_query_parameters(sec, worlds, path):
    known = params_of(path)
    ids = [worlds.b.model_id, worlds.b.connection_id, worlds.b.agency_id, worlds.a.agency_id]
    keys = st.one_of(st.sampled_from(known), st.text(max_size=12)) if known else st.text(max_size=12)

    @FUZZ
    @given(
        pairs=st.one_of(
            st.dictionaries(keys, values(ids), max_size=5).map(lambda d: list(d.items())),
            st.lists(st.tuples(keys, values(ids)), max_size=4),
        ),
        who=st.sampled_from(["admin_a", "member_a", "admin_b", "none", "garbage", "cron"]),
        method=st.one_of(st.just(ROUTES[path].methods[0]), st.sampled_from(ALL_METHODS)),
        body=st.one_of(st.none(), st.binary(max_size=512), st.text(max_size=200).map(str.encode)),
    )
    def run(pairs, who, method, body):
        r = sec.request(method, path, headers=credentials(sec, worlds, path, who), params=pairs, content=body)
        check(r, method)

    run()


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=20,
)


def test_fuzz_webhook_bodies(sec, worlds):
    creators = [worlds.a.creator_uuid, worlds.b.creator_uuid]

    @settings(FUZZ, max_examples=200)
    @given(
        body=st.one_of(
            st.binary(max_size=2048),
            json_values.map(lambda v: json.dumps(v).encode()),
            st.fixed_dictionaries({"recipientUuid": st.one_of(st.sampled_from(creators), st.uuids().map(str),
                                                              st.text(max_size=40))},
                                  optional={"price": json_values, "sender": json_values, "context": json_values,
                                            "postUuid": json_values, "type": json_values})
            .map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
        ),
        signature=st.sampled_from(["valid", "stale", "wrong", "none", "random"]),
        random_header=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=80),
    )
    def run(body, signature, random_header):
        now = int(time.time())
        header = {"valid": sign(WEBHOOK_SECRET, body, now), "stale": sign(WEBHOOK_SECRET, body, now - 1000),
                  "wrong": sign("wrong", body, now), "none": None,
                  "random": random_header or None}[signature]
        headers = {"Content-Type": "application/json"}
        if header:
            headers["X-Fanvue-Signature"] = header
        r = sec.request("POST", "/api/webhooks/fanvue", headers=headers, content=body)
        check(r, "POST")
        if signature != "valid":
            assert r.status_code == 401, r.text
        else:
            assert r.status_code in (200, 400), r.text

    run()
