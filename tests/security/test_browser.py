"""What a browser sees: CORS for the origins in ALLOWED_ORIGINS only, no caching, no framing, a strict
CSP on the HTML report; and log redaction of whatever our code logs. Real HTTP against the served api/."""

from __future__ import annotations

import logging

import pytest

from devstack.server import load_handler, route_table
from tests.security.conftest import assert_error, environment

DASHBOARD = "https://dashboard.agency.example"
PREFLIGHT = {
    "Origin": DASHBOARD,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


@pytest.fixture()
def allowed(sec):
    with environment(ALLOWED_ORIGINS=f"{DASHBOARD}, http://localhost:5173"):
        yield


@pytest.mark.parametrize("path", sorted(route_table()))
def test_preflight_from_an_allowed_origin_is_204_with_cors_headers(sec, allowed, path):
    r = sec.request("OPTIONS", path, headers=PREFLIGHT)
    assert r.status_code == 204, r.text
    assert r.headers["access-control-allow-origin"] == DASHBOARD
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    assert set(load_handler(route_table()[path]).methods) <= {
        m.strip() for m in r.headers["access-control-allow-methods"].split(",")
    }
    assert int(r.headers["access-control-max-age"]) > 0 and r.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in r.headers


def test_preflight_from_another_origin_gets_no_cors_headers(sec, allowed, writes):
    with writes.none():
        for origin in (
            "https://evil.example",
            "https://dashboard.agency.example.evil.example",
            "null",
            DASHBOARD + ":8443",
            DASHBOARD.replace("https", "http"),
        ):
            r = sec.request("OPTIONS", "/api/fanvue/diagnose-revenue", headers=dict(PREFLIGHT, Origin=origin))
            assert_error(r, 403, "origin_not_allowed")
            assert not any(h.startswith("access-control-") for h in r.headers), (origin, r.headers)


def test_no_origin_is_allowed_by_default(sec):
    with environment(ALLOWED_ORIGINS=None):
        r = sec.request("OPTIONS", "/api/fanvue/diagnose-revenue", headers=PREFLIGHT)
        assert_error(r, 403, "origin_not_allowed")


def test_wildcard_is_refused_as_configuration(sec):
    with environment(ALLOWED_ORIGINS="*"):
        r = sec.request("OPTIONS", "/api/fanvue/diagnose-revenue", headers=PREFLIGHT)
        assert r.status_code >= 400 and "access-control-allow-origin" not in r.headers


def test_actual_requests_get_acao_for_allowed_origins_only(sec, worlds, allowed):
    params = {"modelId": worlds.a.model_id, "probe": "false"}
    ok = sec.request(
        "GET",
        "/api/fanvue/diagnose-revenue",
        token=sec.token(worlds.a.member_id),
        headers={"Origin": DASHBOARD},
        params=params,
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == DASHBOARD and ok.headers["vary"] == "Origin"
    other = sec.request(
        "GET",
        "/api/fanvue/diagnose-revenue",
        token=sec.token(worlds.a.member_id),
        headers={"Origin": "https://evil.example"},
        params=params,
    )
    assert "access-control-allow-origin" not in other.headers and other.headers["vary"] == "Origin"


def test_plain_options_without_a_preflight_is_still_405(sec, allowed):
    assert_error(sec.request("OPTIONS", "/api/fanvue/diagnose-revenue"), 405, "method_not_allowed")


def test_html_report_has_a_strict_csp_and_cannot_be_framed(sec, worlds):
    r = sec.request(
        "GET",
        "/api/fanvue/diagnose-revenue",
        token=sec.token(worlds.a.member_id),
        params={"modelId": worlds.a.model_id, "probe": "false", "format": "html"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = {d.strip().split(" ")[0]: d.strip() for d in r.headers["content-security-policy"].split(";")}
    assert csp["default-src"] == "default-src 'none'" and csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["img-src"] == "img-src data:" and "script-src" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", sorted(route_table()))
def test_every_answer_is_no_store_and_unframeable(sec, path):
    r = sec.request("GET", path)
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_token_looking_strings_logged_by_our_code_are_redacted(sec):
    """Whatever handler is attached (here a fresh one, added after the functions were imported)."""
    import lib.http.shell  # noqa: F401 - what every function imports

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep()
    logger = logging.getLogger("fanvue_sync.tokens")
    logger.addHandler(keep)
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
    try:
        logger.warning("refresh failed for %s: refresh_token=%s", "conn-1", "rt_secret_value_123456")
        logger.warning("upstream said Authorization: Bearer %s", jwt_like)
        try:
            raise RuntimeError(f"token exchange failed: access_token={jwt_like}")
        except RuntimeError:
            logger.exception("callback failed")
    finally:
        logger.removeHandler(keep)
    text = "\n".join(lines)
    assert "rt_secret_value_123456" not in text and jwt_like not in text, text
    assert "refresh_token=[redacted]" in text and "conn-1" in text
