"""The whole system on real sockets: embedded Postgres, the Fanvue sandbox, and every api/ file
served by the local function server exactly as the local stack serves it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from lib.config import reset_settings
from lib.crypto import new_key_text
from lib.db import reset_database

# Fixed per test session layout (xdist workers must collect identical parametrizations); test-only values.
CRON_SECRET = "test-cron-secret-7f1d2c9a4b6e4e0f9d3a5c7b1e2f4a6c"
JWT_SECRET = "test-jwt-secret-3c5e7a9b1d2f4e6a8c0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f"
ISSUER = "http://127.0.0.1:54321/auth/v1"


@dataclass
class Stack:
    functions: str
    sandbox: Any
    sandbox_url: str
    env: dict[str, str]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=120.0))

    def token(self, user_id: str) -> str:
        from devstack.tokens import mint_dashboard_token

        return mint_dashboard_token(user_id, JWT_SECRET, ISSUER)

    def get(self, path: str, user: str | None = None, cron: bool = False, **params: Any) -> httpx.Response:
        return self.http.get(self.functions + path, params=params, headers=self._headers(user, cron))

    def post(self, path: str, user: str | None = None, cron: bool = False, **params: Any) -> httpx.Response:
        return self.http.post(self.functions + path, params=params, headers=self._headers(user, cron))

    def _headers(self, user: str | None, cron: bool) -> dict[str, str]:
        if cron:
            return {"Authorization": f"Bearer {CRON_SECRET}"}
        if user:
            return {"Authorization": f"Bearer {self.token(user)}"}
        return {}

    def cron(self, **params: Any) -> dict[str, Any]:
        response = self.get("/api/cron/sync-transactions", cron=True, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def connect(
        self, user: str, *, model_id: str | None = None, agency_id: str | None = None, login_hint: str | None = None
    ) -> dict[str, Any]:
        from devstack.connect_flow import connect

        return connect(self.functions, self.token(user), model_id=model_id, agency_id=agency_id, login_hint=login_hint)


def start_stack(database_url: str, sandbox_config: Any) -> Iterator[Stack]:
    import threading

    from devstack.server import FunctionServer
    from fanvue_sandbox import FanvueSandbox

    server = FunctionServer(("127.0.0.1", 0))
    functions = server.base_url
    sandbox_config.redirect_uris = [functions + "/api/auth/fanvue/callback"]
    sandbox = FanvueSandbox(sandbox_config)
    sandbox_url = sandbox.start(host="127.0.0.1", port=0)
    env = {
        "DATABASE_URL": database_url,
        "FANVUE_API_BASE": sandbox_url,
        "FANVUE_AUTH_BASE": sandbox_url,
        "FANVUE_CLIENT_ID": sandbox_config.client_id,
        "FANVUE_CLIENT_SECRET": sandbox_config.client_secret,
        "FANVUE_REDIRECT_URI": functions + "/api/auth/fanvue/callback",
        "PUBLIC_BASE_URL": functions,
        "TOKEN_ENCRYPTION_KEY": new_key_text("test1"),
        "CRON_SECRET": CRON_SECRET,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "SUPABASE_JWT_ISSUER": ISSUER,
        "SYNC_CONCURRENCY": "4",
        "SYNC_MAX_DURATION_S": "120",
        "SYNC_SAFETY_MARGIN_S": "10",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings()
    reset_database()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Stack(functions=functions, sandbox=sandbox, sandbox_url=sandbox_url, env=env)
    finally:
        server.shutdown()
        server.server_close()
        sandbox.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        reset_database()


@pytest.fixture(scope="module")
def stack(database_url: str) -> Iterator[Stack]:
    from fanvue_sandbox import SandboxConfig

    # The published limit (200 per bucket) over a shrunken window, so tests do not wait out minutes.
    yield from start_stack(database_url, SandboxConfig.demo(rate_window_s=3.0))
