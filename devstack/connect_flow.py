"""Drives the real OAuth connect flow without a browser: our connect endpoint, Fanvue's (sandbox)
authorize step with a login_hint, then our callback. Used by the local stack and the tests."""
from __future__ import annotations

from typing import Any, Optional

import httpx


def connect(functions_base: str, dashboard_token: str, *, model_id: Optional[str] = None,
            agency_id: Optional[str] = None, login_hint: Optional[str] = None) -> dict[str, Any]:
    params = {"modelId": model_id} if model_id else {"agencyId": agency_id}
    if login_hint:
        params["login_hint"] = login_hint
    with httpx.Client(timeout=60.0) as http:
        start = http.get(f"{functions_base}/api/auth/fanvue/connect", params=params,
                         headers={"Authorization": f"Bearer {dashboard_token}"})
        start.raise_for_status()
        consent = http.get(start.json()["authorization_url"], follow_redirects=False)
        if consent.status_code not in (302, 303):
            raise RuntimeError(f"authorize step answered {consent.status_code}: {consent.text[:200]}")
        callback = http.get(consent.headers["Location"])
        if callback.status_code != 200:
            raise RuntimeError(f"callback answered {callback.status_code}: {callback.text[:300]}")
        return callback.json()
