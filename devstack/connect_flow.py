"""Drives the real OAuth connect flow without a browser, the way a dashboard and a browser do: our
connect endpoint with the admin's Bearer token (JSON with a one-time ticket link), the browser's
navigation to that link (which sets the flow's cookie and redirects to Fanvue), Fanvue's (sandbox)
authorize step with a login_hint, then our callback, which needs that cookie. One httpx client plays
the browser, so its cookie jar carries the cookie like a browser would."""

from __future__ import annotations

from typing import Any

import httpx


def connect(
    functions_base: str,
    dashboard_token: str,
    *,
    model_id: str | None = None,
    agency_id: str | None = None,
    login_hint: str | None = None,
) -> dict[str, Any]:
    with httpx.Client(timeout=60.0) as browser:
        consent = start(
            browser, functions_base, dashboard_token, model_id=model_id, agency_id=agency_id, login_hint=login_hint
        )
        callback = browser.get(consent)
        if callback.status_code != 200:
            raise RuntimeError(f"callback answered {callback.status_code}: {callback.text[:300]}")
        return callback.json()


def start(
    browser: httpx.Client,
    functions_base: str,
    dashboard_token: str,
    *,
    model_id: str | None = None,
    agency_id: str | None = None,
    login_hint: str | None = None,
) -> str:
    """Runs the flow up to Fanvue's redirect back; returns the callback URL (code and state) unvisited."""
    params = {"modelId": model_id} if model_id else {"agencyId": agency_id}
    if login_hint:
        params["login_hint"] = login_hint
    ticket = httpx.get(
        f"{functions_base}/api/auth/fanvue/connect",
        params=params,
        timeout=60.0,
        headers={"Authorization": f"Bearer {dashboard_token}"},
    )
    ticket.raise_for_status()
    to_fanvue = browser.get(ticket.json()["authorization_url"], follow_redirects=False)
    if to_fanvue.status_code != 302:
        raise RuntimeError(f"connect link answered {to_fanvue.status_code}: {to_fanvue.text[:200]}")
    consent = browser.get(to_fanvue.headers["Location"], follow_redirects=False)
    if consent.status_code not in (302, 303):
        raise RuntimeError(f"authorize step answered {consent.status_code}: {consent.text[:200]}")
    return consent.headers["Location"]
