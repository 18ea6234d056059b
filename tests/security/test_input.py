"""Bad input on every endpoint (found from api/ itself, so a new endpoint is covered automatically):
wrong methods, oversized and malformed bodies and headers, non-UUID ids, SQL and header injection
strings in every parameter, huge queries, unknown and duplicate parameters. Every answer is a JSON
{"error": {"code", "message"}} with the right 4xx, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.server import load_handler, route_table
from tests.security.conftest import CRON_SECRET, assert_error, raw_request

ROUTES = {path: load_handler(file) for path, file in route_table().items()}
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
ID_PARAMS = {"modelId", "connectionId", "agencyId"}


def params_of(path: str) -> list[str]:
    return [f.alias or name for name, f in ROUTES[path].Query.model_fields.items()]


def credentials(sec, worlds, path: str) -> dict[str, str]:
    """Credentials that pass the endpoint's auth rule, so the input reaches the code behind it."""
    rule = ROUTES[path].auth
    if rule == "cron":
        return {"Authorization": f"Bearer {CRON_SECRET}"}
    if rule in ("user", "admin", "cron_or_admin"):
        return sec.auth(worlds.a.admin_id)
    return {}


def call(sec, worlds, path: str, params: Any = None, method: str | None = None, **kw):
    method = method or ROUTES[path].methods[0]
    headers = {**credentials(sec, worlds, path), **kw.pop("headers", {})}
    return sec.request(method, path, headers=headers, params=params, **kw)


SQL_INJECTION = [
    "' OR '1'='1",
    "1; DROP TABLE models;--",
    "'); select pg_sleep(10);--",
    '" OR ""="',
    "00000000-0000-0000-0000-000000000000' OR 1=1 --",
    "$$; delete from fanvue_transactions; $$",
    "%27%20OR%201%3D1",
    "admin'--",
    "1 UNION SELECT access_token_enc FROM fanvue_connections",
    "\\x00",
    "\x00",
    "\u202e\ufeff",
    "😀" * 50,
    "../../../../etc/passwd",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "<script>alert(1)</script>",
]
HEADER_INJECTION = [
    "x\r\nSet-Cookie: pwned=1",
    "x\nLocation: https://evil.example",
    "x\r\n\r\n<html>pwned</html>",
    "%0d%0aSet-Cookie:%20pwned=1",
    "x\u2028X-Pwned: 1",
]
ACCEPTED = {400, 401, 403, 404, 409, 422}


def _endpoint_params():
    for path in ROUTES:
        for name in params_of(path):
            yield path, name


# ---------------------------------------------------------------- methods
@pytest.mark.parametrize("path", sorted(ROUTES))
def test_wrong_methods_get_405_with_allow(sec, worlds, writes, path):
    allowed = ROUTES[path].methods
    with writes.none():
        for method in ALL_METHODS:
            if method in allowed:
                continue
            r = call(sec, worlds, path, method=method)
            assert r.status_code == 405, (method, path, r.status_code, r.text[:200])
            assert r.headers["allow"] == ", ".join(allowed)
            if method != "HEAD":
                assert_error(r, 405, "method_not_allowed")


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "FOO", "CONNECT"])
def test_methods_http_server_does_not_know_are_405_json_too(sec, writes, method):
    with writes.none():
        for path in ROUTES:
            r = raw_request(sec, f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert_error(r, 405, "method_not_allowed")
            assert r.headers["Allow"] == ", ".join(ROUTES[path].methods)


# ---------------------------------------------------------------- bodies
@pytest.mark.parametrize("path", sorted(ROUTES))
def test_oversized_body_is_413(sec, worlds, writes, path):
    limit = ROUTES[path].max_body_bytes
    with writes.none():
        r = call(sec, worlds, path, content=b"{" + b" " * limit + b"}", headers={"Content-Type": "application/json"})
        assert_error(r, 413, "payload_too_large")
        # a declared length far beyond the limit is refused before anything is read
        head = (
            f"{ROUTES[path].methods[0]} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n"
            f"Content-Type: application/json\r\n\r\n"
        ).encode()
        assert_error(raw_request(sec, head), 413, "payload_too_large")


@pytest.mark.parametrize(
    "length,code",
    [
        ("abc", "malformed_header"),
        ("-1", "malformed_header"),
        ("1e3", "malformed_header"),
        ("0x10", "malformed_header"),
    ],
)
def test_malformed_content_length(sec, writes, length, code):
    with writes.none():
        for path in ROUTES:
            method = ROUTES[path].methods[0]
            data = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
            assert_error(raw_request(sec, data), 400, code)


def test_chunked_bodies_are_refused(sec, writes):
    with writes.none():
        for path in ROUTES:
            method = ROUTES[path].methods[0]
            data = (
                f"{method} {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            ).encode()
            assert_error(raw_request(sec, data), 400, "length_required")


# ---------------------------------------------------------------- headers
def test_oversized_header_value(sec, worlds, writes):
    with writes.none():
        for path in ROUTES:
            r = call(sec, worlds, path, headers={"X-Padding": "a" * 9000})
            assert_error(r, 400, "header_too_long")


def test_header_line_beyond_http_server_limits_is_json(sec, writes):
    with writes.none():
        for path in ROUTES:
            data = f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 70000}\r\n\r\n".encode()
            assert_error(raw_request(sec, data), 431)
            many = "".join(f"X-H{i}: {i}\r\n" for i in range(120))
            assert_error(raw_request(sec, f"GET {path} HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode()), 431)


def test_huge_authorization_header(sec, worlds, writes):
    with writes.none():
        r = sec.request(
            "POST",
            "/api/fanvue/force-sync-revenue",
            headers={"Authorization": "Bearer " + "a" * 8100},
            params={"modelId": worlds.a.model_id},
        )
        assert_error(r, 401, "unauthorized")


# ---------------------------------------------------------------- query strings
@pytest.mark.parametrize("path", sorted(ROUTES))
def test_huge_query_string(sec, worlds, writes, path):
    with writes.none():
        r = call(sec, worlds, path, params={"x": "a" * 5000})
        assert_error(r, 400, "query_too_long")
        first = (params_of(path) or ["x"])[0]
        r = call(sec, worlds, path, params=[(first, "1")] * 2000)
        assert_error(r, 400, "query_too_long")
        # beyond the request-line limit of the HTTP server itself: still JSON
        data = f"{ROUTES[path].methods[0]} {path}?x={'a' * 70000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        assert_error(raw_request(sec, data), 414, "uri_too_long")


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_unknown_parameters(sec, worlds, writes, path):
    with writes.none():
        for name in ("foo", "__proto__", "secret", "model_id", "MODELID", "modelid", "dry_run", "a[b]", ""):
            if name in params_of(path):
                continue
            r = call(sec, worlds, path, params={name: "1"})
            assert_error(r, 400, "unknown_parameter")


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_duplicate_parameters(sec, worlds, writes, path):
    with writes.none():
        for name in params_of(path) or ["x"]:
            r = call(sec, worlds, path, params=[(name, "1"), (name, "2")])
            assert_error(r, 400, "duplicate_parameter")
        if "modelId" in params_of(path):
            r = call(sec, worlds, path, params=[("modelId", worlds.a.model_id), ("modelId", worlds.a.model_id)])
            assert_error(r, 400, "duplicate_parameter")


@pytest.mark.parametrize("path,name", [(p, n) for p, n in _endpoint_params() if n in ID_PARAMS])
def test_non_uuid_ids_are_422(sec, worlds, writes, path, name):
    with writes.none():
        for value in (
            "abc",
            "1",
            "' OR 1=1 --",
            "00000000-0000-0000-0000-00000000000g",
            "../x",
            "00000000-0000-0000-0000-000000000000-0",
            "0" * 33,
            "{}",
            "[]",
            "null",
            "true",
        ):
            r = call(sec, worlds, path, params={name: value})
            assert_error(r, 422, "invalid_parameter")


def _mentions_datetime(annotation: Any) -> bool:
    from datetime import datetime
    from typing import get_args

    return annotation is datetime or any(_mentions_datetime(a) for a in get_args(annotation))


def _datetime_params():
    for path, handler in ROUTES.items():
        for name, f in handler.Query.model_fields.items():
            if _mentions_datetime(f.annotation):
                yield path, f.alias or name


@pytest.mark.parametrize("path,name", list(_datetime_params()))
def test_timestamps_at_the_ends_of_the_calendar_are_422(sec, worlds, writes, path, name):
    """Converting these to UTC overflows Python's datetime; every datetime parameter answers 422 naming
    itself, never a 500."""
    with writes.none():
        for value in (
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1969-12-31T23:59:59Z",
        ):
            r = call(sec, worlds, path, params={"modelId": worlds.a.model_id, name: value})
            body = assert_error(r, 422, "invalid_parameter")
            assert name in body["error"]["message"] and "out of range" in body["error"]["message"], body


def test_datetime_parameters_exist():
    assert ("/api/fanvue/force-sync-revenue", "since") in list(_datetime_params())


@pytest.mark.parametrize("path,name", list(_endpoint_params()))
def test_injection_strings_in_every_parameter(sec, worlds, writes, path, name):
    with writes.none():
        for value in SQL_INJECTION + HEADER_INJECTION:
            r = call(sec, worlds, path, params={name: value})
            assert r.status_code in ACCEPTED, (path, name, value, r.status_code, r.text[:300])
            assert_error(r, r.status_code)
            lowered = {k.lower() for k in r.headers}
            assert "set-cookie" not in lowered and "location" not in lowered and "x-pwned" not in lowered, r.headers
            assert all("\n" not in v and "\r" not in v for v in r.headers.values())


def test_injection_strings_in_model_names_find_nothing(sec, worlds, writes):
    with writes.none():
        for value in SQL_INJECTION:
            if not value.strip() or len(value) > 200 or "\x00" in value:
                continue
            r = call(sec, worlds, "/api/fanvue/diagnose-revenue", params={"modelName": value, "probe": "false"})
            assert_error(r, 404, "not_found")
            r = call(sec, worlds, "/api/fanvue/force-sync-revenue", params={"modelName": value})
            assert_error(r, 404, "not_found")


def test_unknown_paths_are_json_404(sec, writes):
    with writes.none():
        for path in (
            "/api/fanvue/diagnose-revenue/'%20or%201=1",
            "/api/../lib/config",
            "/api/cron/",
            "/api/webhooks/fanvue.py",
            "/api/fanvue/%00",
        ):
            r = sec.request("GET", path)
            assert r.status_code in (404, 405), (path, r.status_code)
            assert_error(r, r.status_code)
