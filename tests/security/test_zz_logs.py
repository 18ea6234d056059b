"""Runs last (file order): everything logged during the suite, from every logger at DEBUG, holds no
token and no secret. The session fixture checks again at teardown for anything logged after this."""

from __future__ import annotations

from tests.security.conftest import CAPTURE, SECRETS, find_leaks, remember_secret


def test_logs_of_the_whole_suite_hold_no_token_or_secret(sec):
    for token in list(sec.sandbox.oauth.access) + list(sec.sandbox.oauth.refresh):
        remember_secret("fanvue token", token)
    sec.request("GET", "/api/fanvue/diagnose-revenue")  # at least one served request, even alone on a worker
    assert any("fanvue_sync.http" in line for line in CAPTURE.lines), "the capture saw nothing; is it installed?"
    labels = set(SECRETS.values())
    assert {"cron secret", "jwt secret", "webhook secret", "client secret", "token key"} <= labels, labels
    assert not find_leaks(), find_leaks()
