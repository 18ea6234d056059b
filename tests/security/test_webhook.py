"""POST /api/webhooks/fanvue: signed, fresh, once. Forged, stale, future and replayed deliveries change
nothing; a verified one is recorded and marks the creator's models due, and never touches revenue."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from lib.webhooks import sign
from tests.factories import make_agency, make_model
from tests.security.conftest import WEBHOOK_SECRET, assert_error, environment, raw_request

HOOK = "/api/webhooks/fanvue"


def post(sec, body: bytes, signature=None, **headers):
    h = {"Content-Type": "application/json", **headers}
    if signature is not None:
        h["X-Fanvue-Signature"] = signature
    return sec.request("POST", HOOK, headers=h, content=body)


def tip(recipient: str) -> bytes:
    return json.dumps(
        {
            "context": "post",
            "postUuid": str(uuid.uuid4()),
            "recipientUuid": recipient,
            "senderUuid": str(uuid.uuid4()),
            "price": 500,
            "timestamp": time.time(),
            "sender": {"uuid": str(uuid.uuid4()), "handle": "fan", "displayName": "Fan"},
        }
    ).encode()


def push_back(sql, model_id: str) -> None:
    sql.execute(
        "update fanvue_sync_state set next_sync_at = now() + interval '1 hour' where model_id = %s", (model_id,)
    )


def is_due(sql, model_id: str) -> bool:
    return sql.execute(
        "select next_sync_at <= now() from fanvue_sync_state where model_id = %s", (model_id,)
    ).fetchone()[0]


def revenue(sql) -> tuple:
    return sql.execute(
        "select (select count(*) from fanvue_transactions),"
        " (select coalesce(sum(revenue_gross_cents), 0) from models),"
        " (select count(*) from sync_runs)"
    ).fetchone()


def test_verified_delivery_is_recorded_and_marks_the_creator_due(sec, worlds, sql):
    a = worlds.a
    push_back(sql, a.model_id)
    before = revenue(sql)
    body = tip(a.creator_uuid)
    r = post(sec, body, sign(WEBHOOK_SECRET, body))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["duplicate"] is False and out["event_type"] == "tip.received" and out["models_marked"] == 1
    assert is_due(sql, a.model_id)
    row = sql.execute(
        "select recipient_uuid::text, event_type, model_ids::text[], payload->>'price'"
        " from fanvue_webhook_events where id = %s",
        (out["event_id"],),
    ).fetchone()
    assert row == (a.creator_uuid, "tip.received", [a.model_id], "500")
    assert out["synced"] is False and out["syncs"][0]["reason"] == "backfill_pending", out
    assert revenue(sql) == before, "a webhook never writes revenue, nor runs a first backfill"


def test_replayed_delivery_is_acknowledged_but_not_processed_again(sec, worlds, sql, writes):
    a = worlds.a
    body = tip(a.creator_uuid)
    signature = sign(WEBHOOK_SECRET, body)
    first = post(sec, body, signature)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    push_back(sql, a.model_id)
    with writes.none():
        for _ in range(3):
            again = post(sec, body, signature)
            assert again.status_code == 200, again.text
            assert again.json() == {"received": True, "duplicate": True, "event_id": first.json()["event_id"]}
    assert not is_due(sql, a.model_id), "a replay marked the model due again"


def test_concurrent_replays_are_processed_once(sec, worlds, sql):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    body = tip(worlds.a.creator_uuid)
    signature = sign(WEBHOOK_SECRET, body)
    count = sql.execute("select count(*) from fanvue_webhook_events").fetchone()[0]

    def deliver(_):
        with httpx.Client(timeout=30) as client:
            return client.post(sec.url(HOOK), content=body, headers={"X-Fanvue-Signature": signature}).json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(deliver, range(8)))
    assert sorted(r["duplicate"] for r in results) == [False] + [True] * 7, results
    assert sql.execute("select count(*) from fanvue_webhook_events").fetchone()[0] == count + 1


def test_same_payload_signed_again_later_is_a_new_delivery(sec, worlds, sql):
    body = tip(worlds.a.creator_uuid)
    now = int(time.time())
    r1 = post(sec, body, sign(WEBHOOK_SECRET, body, now - 10))
    r2 = post(sec, body, sign(WEBHOOK_SECRET, body, now))
    assert r1.json()["duplicate"] is False and r2.json()["duplicate"] is False


def test_every_agency_managing_the_creator_is_marked(sec, worlds, sql):
    other = make_agency(sql, "Second agency " + uuid.uuid4().hex[:6])
    creator = str(uuid.uuid4())
    m1 = make_model(sql, worlds.b.agency_id, "shared creator", fanvue_user_uuid=creator)
    m2 = make_model(sql, other.agency_id, "shared creator", fanvue_user_uuid=creator)
    for m in (m1, m2):
        push_back(sql, m)
    body = json.dumps(
        {"recipientUuid": creator, "price": 999, "sender": {"handle": "x"}, "timestamp": "2026-01-01T00:00:00Z"}
    ).encode()
    r = post(sec, body, sign(WEBHOOK_SECRET, body))
    assert r.status_code == 200 and r.json()["models_marked"] == 2 and r.json()["event_type"] == "subscriber.new"
    assert is_due(sql, m1) and is_due(sql, m2)


@pytest.mark.parametrize(
    "payload",
    [
        {"recipientUuid": "not-a-uuid", "price": 1},
        {"recipientUuid": None},
        {"recipientUuid": 12345},
        {"something": "else"},
        {"recipientUuid": str(uuid.uuid4()), "sender": {"handle": "new follower"}},  # nobody we manage
    ],
)
def test_verified_delivery_for_nobody_we_manage(sec, sql, payload):
    body = json.dumps(payload).encode()
    r = post(sec, body, sign(WEBHOOK_SECRET, body))
    assert r.status_code == 200, r.text
    assert r.json()["models_marked"] == 0


# ---------------------------------------------------------------- refused deliveries
def test_forged_signature(sec, worlds, writes):
    body = tip(worlds.a.creator_uuid)
    with writes.none():
        assert_error(post(sec, body, sign("not-the-secret", body)), 401, "invalid_signature")
        good = sign(WEBHOOK_SECRET, body)
        # the signature of one body on another body
        assert_error(post(sec, tip(worlds.a.creator_uuid), good), 401, "invalid_signature")
        # body tampered after signing (a different recipient)
        assert_error(
            post(sec, body.replace(worlds.a.creator_uuid.encode(), worlds.b.creator_uuid.encode()), good),
            401,
            "invalid_signature",
        )
        # t changed after signing
        t, v0 = good.split(",")
        assert_error(post(sec, body, f"t={int(t[2:]) + 1},{v0}"), 401, "invalid_signature")
        # a signature of the body without the timestamp
        import hashlib
        import hmac

        bare = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert_error(post(sec, body, f"{t},v0={bare}"), 401, "invalid_signature")


def test_stale_signature(sec, worlds, writes):
    body = tip(worlds.a.creator_uuid)
    with writes.none():
        for age in (301, 600, 86400, int(time.time())):
            r = post(sec, body, sign(WEBHOOK_SECRET, body, int(time.time()) - age))
            assert_error(r, 401, "stale_signature")


def test_future_signature(sec, worlds, writes):
    body = tip(worlds.a.creator_uuid)
    with writes.none():
        for ahead in (305, 3600, 10**9):  # 301 could pass: t is truncated to whole seconds
            r = post(sec, body, sign(WEBHOOK_SECRET, body, int(time.time()) + ahead))
            assert_error(r, 401, "stale_signature")


def test_stale_replay_of_a_once_valid_delivery(sec, worlds, writes):
    body = tip(worlds.a.creator_uuid)
    with writes.none():
        assert_error(post(sec, body, sign(WEBHOOK_SECRET, body, int(time.time()) - 400)), 401, "stale_signature")


@pytest.mark.parametrize(
    "signature,code",
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("garbage", "malformed_signature"),
        ("t=,v0=", "malformed_signature"),
        ("t=abc,v0=" + "0" * 64, "malformed_signature"),
        ("t=-5,v0=" + "0" * 64, "malformed_signature"),
        ("t=1.5,v0=" + "0" * 64, "malformed_signature"),
        ("v0=" + "0" * 64, "malformed_signature"),
        ("t=NOW", "malformed_signature"),
        ("t=NOW,v0=zz", "malformed_signature"),
        ("t=NOW,v0=" + "0" * 63, "malformed_signature"),
        ("t=NOW,t=NOW,v0=" + "0" * 64, "malformed_signature"),
        ("t=NOW,v1=SIG", "malformed_signature"),
        ("t=NOW,v0=" + "0" * 64, "invalid_signature"),
        ("t=NOW,v0=" + "0" * 64 + ",v0=" + "f" * 64, "invalid_signature"),
        ("t=NOW;v0=SIG", "malformed_signature"),
        ("t=99999999999999999999,v0=SIG", "malformed_signature"),
        ("t=NOW,v0=SIG' OR '1'='1", "malformed_signature"),
    ],
)
def test_malformed_signature_headers(sec, worlds, writes, signature, code):
    body = tip(worlds.a.creator_uuid)
    if signature:
        now = str(int(time.time()))
        real = sign(WEBHOOK_SECRET, body, int(now)).split("v0=")[1]
        signature = signature.replace("NOW", now).replace("SIG", real)
    with writes.none():
        r = post(sec, body, signature)
        assert_error(r, 401, code)


def test_uppercase_hex_and_extra_schemes_are_accepted(sec, worlds):
    body = tip(worlds.a.creator_uuid)
    t, v0 = sign(WEBHOOK_SECRET, body).split(",")
    r = post(sec, body, f"{t} , v1=whatever , {v0.upper().replace('V0=', 'v0=')}")
    assert r.status_code == 200, r.text


def test_signature_header_sent_twice(sec, worlds, writes):
    body = tip(worlds.a.creator_uuid)
    good = sign(WEBHOOK_SECRET, body)
    request = (
        f"POST {HOOK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Fanvue-Signature: {good}\r\nX-Fanvue-Signature: t=1,v0={'0' * 64}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with writes.none():
        assert_error(raw_request(sec, request), 401, "malformed_signature")


def test_unset_secret_fails_closed(sec, worlds, writes):
    body = tip(worlds.a.creator_uuid)
    signature = sign(WEBHOOK_SECRET, body)
    for value in (None, ""):
        with environment(FANVUE_WEBHOOK_SECRET=value), writes.none():
            assert_error(post(sec, body, signature), 503, "webhook_not_configured")
            assert_error(post(sec, body, sign("", body)), 503, "webhook_not_configured")
            assert_error(post(sec, body), 503, "webhook_not_configured")


@pytest.mark.parametrize(
    "body,code",
    [
        (b"{not json", "malformed_body"),
        (b"", "malformed_body"),
        (b"\xff\xfe{}", "malformed_body"),
        ('{"recipientUuid": "x"}'.encode("utf-16"), "malformed_body"),
        (b'{"price": NaN}', "malformed_body"),
        (b'{"price": Infinity}', "malformed_body"),
        (b'{"a": 1} trailing', "malformed_body"),
        (b"[" * 20000 + b"]" * 20000, "malformed_body"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "invalid_payload"),
        (b"[]", "invalid_payload"),
        (b'"just a string"', "invalid_payload"),
        (b"null", "invalid_payload"),
        (b'{"price": 1e400}', "invalid_payload"),
        (b'{"price": ' + b"9" * 5000 + b"}", "malformed_body"),
    ],
)
def test_malformed_body_with_a_valid_signature(sec, writes, body, code):
    with writes.none():
        assert_error(post(sec, body, sign(WEBHOOK_SECRET, body)), 400, code)


def test_unsigned_malformed_body_is_a_401_not_a_400(sec, writes):
    with writes.none():
        assert_error(post(sec, b"{not json"), 401, "missing_signature")


def test_awkward_but_valid_json_is_stored_safely(sec, sql, worlds):
    """NUL characters and lone surrogates cannot be stored in jsonb: they are replaced, not a 500."""
    body = (
        f'{{"recipientUuid": "{worlds.a.creator_uuid}", "text": "a\\u0000b", "bad": "\\ud800", "\\u0000key": 1,'
        ' "big": 123456789012345678901234567890, "nested": {"deep": [1, 2, {"x": null}]}}'
    ).encode()
    r = post(sec, body, sign(WEBHOOK_SECRET, body))
    assert r.status_code == 200, r.text
    payload = sql.execute(
        "select payload from fanvue_webhook_events where id = %s", (r.json()["event_id"],)
    ).fetchone()[0]
    assert payload["text"] == "a\ufffdb" and payload["big"] == 123456789012345678901234567890


def test_oversized_body(sec, worlds, writes):
    body = b'{"recipientUuid": "%s", "pad": "' % worlds.a.creator_uuid.encode()
    body += b"x" * (64 * 1024 - len(body)) + b'"}'
    with writes.none():
        assert_error(post(sec, body, sign(WEBHOOK_SECRET, body)), 413, "payload_too_large")
    small = body[: 60 * 1024] + b'"}'
    assert post(sec, small, sign(WEBHOOK_SECRET, small)).status_code == 200


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_wrong_method(sec, writes, method):
    with writes.none():
        r = sec.request(method, HOOK)
        assert_error(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"


def test_unknown_query_parameters(sec, worlds, writes):
    body = tip(worlds.a.creator_uuid)
    with writes.none():
        r = sec.request(
            "POST",
            HOOK,
            params={"secret": "x"},
            content=body,
            headers={"X-Fanvue-Signature": sign(WEBHOOK_SECRET, body)},
        )
        assert_error(r, 400, "unknown_parameter")


# ---------------------------------------------------------------- the table and function are locked down
def test_webhook_table_and_function_are_service_role_only(sql):
    rls = sql.execute(
        "select relrowsecurity from pg_class where oid = 'public.fanvue_webhook_events'::regclass"
    ).fetchone()
    assert rls == (True,)
    for role in ("anon", "authenticated", "public"):
        grants = sql.execute(
            "select count(*) from information_schema.role_table_grants"
            " where table_name = 'fanvue_webhook_events' and grantee = %s",
            (role.upper() if role == "public" else role,),
        ).fetchone()[0]
        assert grants == 0, f"{role} has privileges on fanvue_webhook_events"
    fn = "public.fanvue_record_webhook(bigint, text, uuid, text, jsonb)"
    for role in ("anon", "authenticated"):
        assert sql.execute("select has_function_privilege(%s, %s, 'execute')", (role, fn)).fetchone() == (False,)
        assert sql.execute(
            "select has_table_privilege(%s, 'public.fanvue_webhook_events', 'select')", (role,)
        ).fetchone() == (False,)
    assert sql.execute("select has_function_privilege('service_role', %s, 'execute')", (fn,)).fetchone() == (True,)
    acl = sql.execute("select proacl::text from pg_proc where oid = %s::regprocedure", (fn,)).fetchone()[0]
    assert acl and not acl.startswith("{=") and ",=" not in acl, f"PUBLIC may execute the webhook function: {acl}"


def test_function_refuses_bad_input(sql):
    from psycopg import errors

    for args in (("nothex", None, "x", "{}"), ("a" * 64, None, "x", "[]")):
        with pytest.raises(errors.DatabaseError):
            sql.execute("select public.fanvue_record_webhook(1, %s, %s, %s, %s::jsonb)", args)


def test_window_boundaries_exactly():
    from lib.webhooks import WebhookError, verify

    body, now = b'{"a": 1}', 1_800_000_000
    for t in (now - 300, now + 300, now):
        assert verify("s", sign("s", body, t), body, now=now).t == t
    for t in (now - 301, now + 301):
        with pytest.raises(WebhookError) as err:
            verify("s", sign("s", body, t), body, now=now)
        assert err.value.code == "stale_signature"
    # the replay identity is the signed bytes: same t and body, same hash; anything else differs
    a = verify("s", sign("s", body, now), body, now=now).delivery_hash
    assert a == verify("s", sign("s", body, now), body, now=now).delivery_hash
    assert a != verify("s", sign("s", body, now - 1), body, now=now).delivery_hash
