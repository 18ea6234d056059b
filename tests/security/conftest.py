"""The attack suite's world: the real stack (embedded Postgres, Fanvue sandbox, every api/ file served
over HTTP by devstack.server.FunctionServer), a local JWKS server with real EC and RSA keys, two
agencies, and a log capture that spans the whole suite.

Everything runs in this process, so changing the environment (and calling reset_settings()) changes
what the served handlers see on their next request.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.conftest import CRON_SECRET, ISSUER, JWT_SECRET, start_stack
from tests.factories import make_agency, make_connection, make_model

WEBHOOK_SECRET = "test-webhook-secret-" + uuid.uuid4().hex


# ---------------------------------------------------------------- logs of the whole suite
class CaptureHandler(logging.Handler):
    """Keeps every record's final text (message, arguments and traceback), unredacted."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.name} {record.levelname} {record.getMessage()}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            if record.stack_info:
                text += "\n" + record.stack_info
        except Exception as exc:
            text = f"{record.name} unformattable record: {exc!r} {record.msg!r} {record.args!r}"
        with self._guard:
            self.lines.append(text)


CAPTURE = CaptureHandler()
SECRETS: dict[str, str] = {}  # what must never appear in a log line: value -> label


def remember_secret(label: str, value: str | None) -> None:
    if value and len(value) >= 8:
        SECRETS.setdefault(value, label)


@pytest.fixture(scope="session", autouse=True)
def capture_all_logs() -> Iterator[CaptureHandler]:
    root = logging.getLogger()
    previous = root.level
    root.addHandler(CAPTURE)
    root.setLevel(logging.DEBUG)
    yield CAPTURE
    root.removeHandler(CAPTURE)
    root.setLevel(previous)
    leaks = find_leaks()
    assert not leaks, f"secrets in the captured logs: {leaks}"


def find_leaks() -> list[str]:
    import re

    text = "\n".join(CAPTURE.lines)
    found = sorted({label for value, label in SECRETS.items() if value in text})
    if re.search(r"v1:[A-Za-z0-9_-]+:[A-Za-z0-9+/=_-]{16,}", text):
        found.append("v1: ciphertext")
    return found


# ---------------------------------------------------------------- the stack
@dataclass
class Sec:
    functions: str
    sandbox: Any
    env: dict[str, str]
    database_url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0))

    def url(self, path: str) -> str:
        return self.functions + path

    def token(self, user_id: str, **extra: Any) -> str:
        from devstack.tokens import mint_dashboard_token

        token = mint_dashboard_token(user_id, JWT_SECRET, ISSUER, extra=extra or None)
        remember_secret("dashboard token", token)
        return token

    def auth(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict | None = None,
        params: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url(path), params=params, headers=h, content=content)


@pytest.fixture(scope="session")
def sec(database_url: str) -> Iterator[Sec]:
    from fanvue_sandbox import SandboxConfig
    from lib.config import reset_settings

    config = SandboxConfig.demo(rate_window_s=3.0)
    stack_gen = start_stack(database_url, config)
    stack = next(stack_gen)
    saved = os.environ.get("FANVUE_WEBHOOK_SECRET")
    os.environ["FANVUE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    reset_settings()
    for label, value in (
        ("cron secret", CRON_SECRET),
        ("jwt secret", JWT_SECRET),
        ("webhook secret", WEBHOOK_SECRET),
        ("client secret", config.client_secret),
        ("token key", stack.env["TOKEN_ENCRYPTION_KEY"].partition(":")[2]),
    ):
        remember_secret(label, value)
    try:
        yield Sec(
            functions=stack.functions,
            sandbox=stack.sandbox,
            env=dict(stack.env, FANVUE_WEBHOOK_SECRET=WEBHOOK_SECRET),
            database_url=database_url,
        )
    finally:
        if saved is None:
            os.environ.pop("FANVUE_WEBHOOK_SECRET", None)
        else:
            os.environ["FANVUE_WEBHOOK_SECRET"] = saved
        # every token the sandbox ever issued is a secret the logs must not hold
        for token in list(stack.sandbox.oauth.access) + list(stack.sandbox.oauth.refresh):
            remember_secret("fanvue token", token)
        try:
            next(stack_gen)
        except StopIteration:
            pass
        reset_settings()


@contextmanager
def environment(**changes: str | None) -> Iterator[None]:
    """Temporarily sets (str) or unsets (None) environment variables for the served handlers."""
    from lib.config import reset_settings
    from lib.http.auth import JWKS

    saved = {k: os.environ.get(k) for k in changes}
    for k, v in changes.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings()
    JWKS.clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        JWKS.clear()


# ---------------------------------------------------------------- two agencies
@dataclass
class Agency:
    agency_id: str
    admin_id: str
    member_id: str
    model_id: str
    model_name: str
    connection_id: str
    creator_uuid: str


@dataclass
class Worlds:
    a: Agency
    b: Agency
    c: Agency  # nobody the tests sign in as belongs to it: its ids are always someone else's
    orphan_user: str  # a valid user with no profile


def _agency(sql: psycopg.Connection, name: str) -> Agency:
    world = make_agency(sql, name)
    creator = str(uuid.uuid4())
    connection = make_connection(sql, world.agency_id, fanvue_user_uuid=creator)
    model_name = f"{name} creator"
    model = make_model(sql, world.agency_id, model_name, connection, fanvue_user_uuid=creator)
    return Agency(world.agency_id, world.admin_id, world.member_id, model, model_name, connection, creator)


@pytest.fixture(scope="session")
def worlds(sec: Sec, database_url: str) -> Worlds:
    with psycopg.connect(database_url, autocommit=True) as sql:
        return Worlds(
            a=_agency(sql, "Agency A " + uuid.uuid4().hex[:6]),
            b=_agency(sql, "Agency B " + uuid.uuid4().hex[:6]),
            c=_agency(sql, "Agency C " + uuid.uuid4().hex[:6]),
            orphan_user=str(uuid.uuid4()),
        )


# ---------------------------------------------------------------- "nothing was written"
SNAPSHOT_SQL = """
select (select count(*) from sync_runs), (select count(*) from sync_run_models),
       (select count(*) from fanvue_transactions), (select count(*) from fanvue_connections),
       (select count(*) from models), (select count(*) from oauth_state_uses),
       (select count(*) from fanvue_webhook_events),
       (select max(updated_at) from fanvue_connections), (select max(updated_at) from fanvue_sync_state),
       (select coalesce(sum(revenue_gross_cents), 0) from models)
"""


class Writes:
    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)

    def snapshot(self) -> tuple:
        return self.conn.execute(SNAPSHOT_SQL).fetchone()

    @contextmanager
    def none(self) -> Iterator[None]:
        before = self.snapshot()
        yield
        after = self.snapshot()
        assert after == before, f"a rejected request wrote to the database: {before} -> {after}"


@pytest.fixture(scope="session")
def writes(database_url: str, sec: Sec) -> Iterator[Writes]:
    w = Writes(database_url)
    yield w
    w.conn.close()


@dataclass
class RawResponse:
    status_code: int
    headers: Any
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def raw_request(sec: Sec, data: bytes, timeout: float = 10.0) -> RawResponse:
    """Sends bytes as they are over a socket (no client-side logging, no client-side validation)."""
    import http.client
    import socket
    from urllib.parse import urlsplit

    host, port = urlsplit(sec.functions).hostname, urlsplit(sec.functions).port
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        return RawResponse(response.status, response.headers, body)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str), body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


# ---------------------------------------------------------------- JWKS with real asymmetric keys
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(value: int, length: int | None = None) -> bytes:
    length = length or (value.bit_length() + 7) // 8
    return value.to_bytes(length, "big")


class Keys:
    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_ec = ec.generate_private_key(ec.SECP256R1())
        pem = serialization.Encoding.PEM
        self.ec_private_pem = self.ec.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.rsa_private_pem = self.rsa.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.other_ec_private_pem = self.other_ec.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.ec_public_pem = (
            self.ec.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        )
        self.rsa_public_pem = (
            self.rsa.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        )
        numbers = self.ec.public_key().public_numbers()
        rsa_numbers = self.rsa.public_key().public_numbers()
        self.ec_jwk = {
            "kty": "EC",
            "crv": "P-256",
            "kid": "ec-1",
            "use": "sig",
            "alg": "ES256",
            "x": _b64(_int_bytes(numbers.x, 32)),
            "y": _b64(_int_bytes(numbers.y, 32)),
        }
        self.rsa_jwk = {
            "kty": "RSA",
            "kid": "rsa-1",
            "use": "sig",
            "alg": "RS256",
            "n": _b64(_int_bytes(rsa_numbers.n)),
            "e": _b64(_int_bytes(rsa_numbers.e)),
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.ec_jwk, self.rsa_jwk]}


class JwksServer:
    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.hits = 0
        self.down = False
        self.extra: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                if server.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"keys": server.keys.jwks()["keys"] + server.extra}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/auth/v1/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="session")
def jwks_server(keys: Keys) -> Iterator[JwksServer]:
    server = JwksServer(keys)
    yield server
    server.close()


def claims(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": user_id,
        "aud": "authenticated",
        "role": "authenticated",
        "iss": ISSUER,
        "iat": now,
        "exp": now + 3600,
        "email": "someone@local.test",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), signature])


__all__ = [
    "CAPTURE",
    "CRON_SECRET",
    "ISSUER",
    "JWT_SECRET",
    "WEBHOOK_SECRET",
    "Agency",
    "JwksServer",
    "Keys",
    "Sec",
    "Worlds",
    "Writes",
    "assert_error",
    "claims",
    "environment",
    "find_leaks",
    "remember_secret",
    "unsigned",
]
