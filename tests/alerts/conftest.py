"""The real stack (embedded Postgres, Fanvue sandbox, every api/ file served over HTTP) plus a real
local alert receiver: a ThreadingHTTPServer that records every post and can be told to fail."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg
import pytest

from lib.config import reset_settings
from lib.webhooks import sign
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.helpers import connect_demo

WEBHOOK_SECRET = "alerts-test-webhook-secret-" + uuid.uuid4().hex


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[str] = []
        self.status = 200
        self.delay_s = 0.0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def texts(self) -> list[str]:
        with self.lock:
            return list(self.posts)

    def clear(self) -> None:
        with self.lock:
            self.posts.clear()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        time.sleep(self.server.delay_s)
        if self.server.status == 200:
            with self.server.lock:
                self.server.posts.append(body["text"])
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def set_env(**values: str | None) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()


@pytest.fixture(scope="module")
def stack(database_url: str, receiver: Receiver) -> Iterator[Stack]:
    from fanvue_sandbox import SandboxConfig

    extra = {"FANVUE_WEBHOOK_SECRET": WEBHOOK_SECRET, "ALERT_WEBHOOK_URL": receiver.url}
    for s in start_stack(database_url, SandboxConfig.demo(rate_window_s=3.0)):
        set_env(**extra)
        try:
            yield s
        finally:
            set_env(**{k: None for k in extra})


@pytest.fixture(scope="module")
def demo(stack: Stack, database_url: str) -> dict[str, Any]:
    """The demo agency (ava, bella, cleo) and dora personally, fully synced by one cron."""
    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, dora_uuid = connect_demo(stack, sql)
        dora = str(sql.execute("select id from models where fanvue_user_uuid = %s", (dora_uuid,)).fetchone()[0])
    stack.cron()
    return {"world": world, "dora": dora, "dora_uuid": dora_uuid}


@pytest.fixture()
def quiet(sql: psycopg.Connection, receiver: Receiver) -> Iterator[psycopg.Connection]:
    """No incident open or pending, nothing due, the receiver empty and healthy, the cron recent."""
    sql.execute("delete from fanvue_incidents")
    sql.execute("update fanvue_sync_state set next_sync_at = now() + interval '1 hour', consecutive_failures = 0")
    receiver.clear()
    receiver.status, receiver.delay_s = 200, 0.0
    yield sql
    set_env(WEBHOOK_SYNC_BUDGET_S=None)


def deliver(stack: Stack, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload).encode()
    return stack.http.post(
        stack.functions + "/api/webhooks/fanvue",
        content=body,
        headers={"Content-Type": "application/json", "X-Fanvue-Signature": sign(WEBHOOK_SECRET, body)},
    )


def tip(recipient: str, timestamp: Any) -> dict[str, Any]:
    return {
        "context": "post",
        "postUuid": str(uuid.uuid4()),
        "recipientUuid": recipient,
        "senderUuid": str(uuid.uuid4()),
        "price": 500,
        "timestamp": timestamp,
        "sender": {"uuid": str(uuid.uuid4()), "handle": "fan", "displayName": "Fan"},
    }
