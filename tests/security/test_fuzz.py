"""Hypothesis fuzz over every endpoint's query parameters, methods, credentials and bodies, over real
HTTP: no answer is a 5xx, and every 4xx is a JSON {"error": {"code", "message"}}.

The valid cron secret is never sent to the cron endpoint (that would run real syncs); its parameters
are still fuzzed, since validation comes before authentication. The fuzzing users' own model and
connection ids are left out of the id pool: syncing or refreshing them is a real upstream call (a 502,
their tokens are fake), which the access tests cover.
"""

from __future__ import annotations

import json
import time
from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.webhooks import sign
from tests.security.conftest import CRON_SECRET, WEBHOOK_SECRET
from tests.security.test_input import ALL_METHODS, HEADER_INJECTION, ROUTES, SQL_INJECTION, params_of

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(response, method: str) -> None:
    assert response.status_code < 500, (response.status_code, response.request.url, response.text[:300])
    if 400 <= response.status_code < 500 and method != "HEAD":
        assert response.headers.get("content-type", "").startswith("application/json"), response.headers
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        assert (
            isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
        ), body


def values(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=50, max_size=400),
        st.integers().map(str),
        st.integers(min_value=-(10**60), max_value=10**60).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.booleans().map(str),
        st.sampled_from(
            [
                "true",
                "false",
                "1",
                "0",
                "yes",
                "no",
                "on",
                "off",
                "",
                "null",
                "None",
                "json",
                "text",
                "html",
                "sync",
                "reconcile",
                "64",
                "65",
                "-1",
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00",
                "9999-12-31T23:59:59+14:00",
                "0001-01-01T00:00:00Z",
            ]
        ),
        st.uuids().map(str),
        st.sampled_from(ids),
        st.sampled_from(SQL_INJECTION + HEADER_INJECTION),
        st.datetimes(timezones=st.sampled_from([UTC, None])).map(lambda d: d.isoformat()),
    )


def typed_values(path: str, ids: list[str]) -> dict[str, st.SearchStrategy[str]]:
    """Per parameter: mostly values of its declared type (so the call gets deep), else anything."""
    import typing

    out = {}
    for name, field in ROUTES[path].Query.model_fields.items():
        text = repr(field.annotation)
        if "bool" in text:
            typed = st.sampled_from(["true", "false", "1", "0", "yes", "off"])
        elif "UUID" in text:
            typed = st.one_of(st.sampled_from(ids), st.uuids().map(str))
        elif "datetime" in text:
            typed = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
        elif "Literal" in text:
            literal = next((a for a in typing.get_args(field.annotation) if typing.get_args(a)), field.annotation)
            typed = st.sampled_from([str(v) for v in typing.get_args(literal)] or ["x"])
        elif "int" in text:
            typed = st.integers(min_value=-5, max_value=100).map(str)
        else:
            typed = st.one_of(st.text(max_size=60), st.sampled_from(SQL_INJECTION + HEADER_INJECTION))
        out[field.alias or name] = st.one_of(typed, typed, typed, typed, typed, values(ids))
    return out


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


QUERY_ENDPOINTS = sorted(p for p in ROUTES if ROUTES[p].auth != "webhook")
BODIES = st.one_of(st.none(), st.binary(max_size=512), st.text(max_size=200).map(str.encode))


def _ids(worlds) -> list[str]:
    """Agency C's ids are foreign to every fuzzing user; agency A's id lets its admin reach connect's 200."""
    return [worlds.c.model_id, worlds.c.connection_id, worlds.c.agency_id, worlds.a.agency_id]


@pytest.mark.parametrize("path", QUERY_ENDPOINTS)
def test_fuzz_well_formed_calls_with_hostile_values(sec, worlds, path):
    """Right method, a signed-in user, each parameter at most once, values mostly of the right type:
    most examples get past validation and authentication into the endpoint's own code."""
    typed = typed_values(path, _ids(worlds))

    @FUZZ
    @given(
        pairs=st.fixed_dictionaries({}, optional=typed).map(lambda d: list(d.items())),
        who=st.sampled_from(["admin_a", "member_a", "admin_b"]),
        body=BODIES,
    )
    def run(pairs, who, body):
        method = ROUTES[path].methods[0]
        r = sec.request(method, path, headers=credentials(sec, worlds, path, who), params=pairs, content=body)
        check(r, method)

    run()


@pytest.mark.parametrize("path", QUERY_ENDPOINTS)
def test_fuzz_anything(sec, worlds, path):
    """Any method, any credentials, any parameter names (repeated too), any values and bodies."""
    known = params_of(path)
    ids = _ids(worlds)
    keys = st.one_of(st.sampled_from(known), st.text(max_size=12)) if known else st.text(max_size=12)

    @settings(FUZZ, max_examples=60)
    @given(
        pairs=st.one_of(
            st.dictionaries(keys, values(ids), max_size=5).map(lambda d: list(d.items())),
            st.lists(st.tuples(keys, values(ids)), max_size=4),
        ),
        who=st.sampled_from(["admin_a", "member_a", "admin_b", "none", "garbage", "cron"]),
        method=st.sampled_from(ALL_METHODS),
        body=BODIES,
    )
    def run(pairs, who, method, body):
        r = sec.request(method, path, headers=credentials(sec, worlds, path, who), params=pairs, content=body)
        check(r, method)

    run()


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=30),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def test_fuzz_webhook_bodies(sec, worlds):
    creators = [worlds.a.creator_uuid, worlds.b.creator_uuid]

    @settings(FUZZ, max_examples=150)
    @given(
        body=st.one_of(
            st.binary(max_size=2048),
            json_values.map(lambda v: json.dumps(v).encode()),
            st.fixed_dictionaries(
                {"recipientUuid": st.one_of(st.sampled_from(creators), st.uuids().map(str), st.text(max_size=40))},
                optional={
                    "price": json_values,
                    "sender": json_values,
                    "context": json_values,
                    "postUuid": json_values,
                    "type": json_values,
                },
            ).map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
        ),
        signature=st.sampled_from(["valid", "stale", "wrong", "none", "random"]),
        random_header=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80),
    )
    def run(body, signature, random_header):
        now = int(time.time())
        header = {
            "valid": sign(WEBHOOK_SECRET, body, now),
            "stale": sign(WEBHOOK_SECRET, body, now - 1000),
            "wrong": sign("wrong", body, now),
            "none": None,
            "random": random_header or None,
        }[signature]
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
