"""The request shell every api/ file uses: parse, authenticate, authorise, validate, answer JSON.

A Vercel Python function exposes `handler`, a BaseHTTPRequestHandler subclass; each api/ file
subclasses Endpoint, declares its methods, auth rule and pydantic query model, and implements
`respond(request)`. Errors become {"error": {"code", "message"}} with the right 4xx; anything
unexpected becomes a 500 that names a request id and nothing else. No response is cacheable, none
may be framed, HTML gets a strict CSP, and browsers on ALLOWED_ORIGINS get CORS (lib/http/cors.py).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ValidationError

from lib.db.errors import Conflict, InvalidInput, NotFound
from lib.http import cors
from lib.http.errors import ApiError, bad_request, unauthorized
from lib.http.principal import Principal
from lib.http.response import Response, dumps
from lib.safe_log import install_redaction

install_redaction()  # every log record of the process is redacted before any handler sees it
log = logging.getLogger("fanvue_sync.http")

HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"

MAX_QUERY_BYTES = 4096
MAX_HEADER_VALUE = 8192


Q = TypeVar("Q", bound=BaseModel)


@dataclass
class Request(Generic[Q]):
    """One parsed request: `query` is the endpoint's own typed query model (lib/http/params.py)."""

    method: str
    path: str
    query: Q
    raw_query: dict[str, str]
    headers: Message
    body: bytes
    request_id: str
    principal: Principal | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def caller(self) -> Principal:
        """The authenticated caller, for endpoints whose auth rule admits no anonymous call."""
        if self.principal is None:
            raise unauthorized("this endpoint needs credentials")
        return self.principal

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # "[[[[..." nests past the stack
            raise bad_request("malformed_body", "request body is not valid JSON") from None

    def accepts_html(self) -> bool:
        accept = self.headers.get("Accept", "") or ""
        return "text/html" in accept


class EmptyQuery(BaseModel):
    model_config = {"extra": "forbid"}


class Endpoint(BaseHTTPRequestHandler):
    """Base of every api/ handler. Subclasses set the class attributes and implement respond()."""

    methods: ClassVar[tuple[str, ...]] = ("GET",)
    auth: ClassVar[str] = "user"  # "user" | "admin" | "cron" | "cron_or_admin" | "none" | "webhook"
    Query: ClassVar[type[BaseModel]] = EmptyQuery
    max_body_bytes: ClassVar[int] = 16 * 1024
    server_version = "fanvue-sync"
    sys_version = ""

    def respond(self, request: Request[Any]) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def authenticate(self, request: Request[Any]) -> Principal | None:
        """Applies the endpoint's auth rule; an endpoint with another credential overrides this."""
        from lib.http import auth

        return auth.authenticate(self.auth, request.headers)

    # -- BaseHTTPRequestHandler plumbing
    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")

    def log_message(self, format: str, *args: Any) -> None:
        # The default logs the raw request line, which may carry query values; log path only.
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server itself refuses (unknown method, oversized header or URI, bad request
        line) is answered like everything else: JSON {"error": {...}}, not the stdlib HTML page. A
        method we have no do_ handler for (TRACE, CONNECT, PROPFIND...) is a 405 with Allow, not a 501."""
        allow = ", ".join(self.methods)
        headers: dict[str, str] = {}
        if code == 501:
            code, error_code, headers = 405, "method_not_allowed", {"Allow": allow}
            message = f"{str(self.command)[:20]} is not allowed here; use {allow}"
        else:
            error_code = {
                400: "bad_request",
                408: "request_timeout",
                414: "uri_too_long",
                431: "header_too_large",
                505: "http_version_not_supported",
            }.get(code, "bad_request")
        try:
            from http import HTTPStatus

            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self.close_connection = True
        response = Response(
            status=code,
            body={"error": {"code": error_code, "message": str(message or phrase)[:200]}},
            headers=dict(headers, **{"Cache-Control": "no-store", "Connection": "close"}),
        )
        self._write(str(self.command or "GET"), response)

    def _serve(self, method: str) -> None:
        request_id = secrets.token_hex(8)
        started = time.monotonic()
        origin = self.headers.get("Origin")
        try:
            if method == "OPTIONS" and origin and self.headers.get("Access-Control-Request-Method"):
                response = cors.preflight(origin, self.methods, self.headers.get("Access-Control-Request-Headers"))
                response.headers.setdefault("Cache-Control", "no-store")
                self._write(method, response)
                return
            if method not in self.methods:
                raise ApiError(
                    405,
                    "method_not_allowed",
                    f"{method} is not allowed here; use {', '.join(self.methods)}",
                    headers={"Allow": ", ".join(self.methods)},
                )
            request = self._parse(method, request_id)
            request.principal = self.authenticate(request)
            response = self.respond(request)
        except ApiError as exc:
            response = Response(status=exc.status, body=exc.body(), headers=dict(exc.headers))
        except (NotFound, InvalidInput, Conflict) as exc:  # the database refused the request itself
            status, code = {
                NotFound: (404, "not_found"),
                InvalidInput: (422, "invalid_parameter"),
                Conflict: (409, "conflict"),
            }[type(exc)]
            response = Response(status=status, body={"error": {"code": code, "message": exc.message[:300]}})
        except Exception as exc:
            from lib.safe_log import describe_exception

            log.error("request %s %s failed: %s", request_id, urlsplit(self.path).path, describe_exception(exc))
            response = Response(
                status=500,
                body={
                    "error": {
                        "code": "internal_error",
                        "message": f"internal error (request id {request_id}); see the run history or logs",
                    }
                },
            )
        response.headers.setdefault("Cache-Control", "no-store")  # every answer is per-caller and live
        response.headers.setdefault("X-Request-Id", request_id)
        if origin:
            response.headers.update(cors.actual_response_headers(origin))
        self._write(method, response)
        log.info(
            "%s %s -> %s in %.0f ms",
            method,
            urlsplit(self.path).path,
            response.status,
            (time.monotonic() - started) * 1000,
        )

    def _parse(self, method: str, request_id: str) -> Request[Any]:
        parts = urlsplit(self.path)
        if len(parts.query) > MAX_QUERY_BYTES:
            raise bad_request("query_too_long", f"query string longer than {MAX_QUERY_BYTES} bytes")
        for name, value in self.headers.items():
            if len(value) > MAX_HEADER_VALUE:
                raise bad_request("header_too_long", f"header {name[:40]} is too long")
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        raw: dict[str, str] = {}
        for key, value in pairs:
            if "\x00" in key or "\x00" in value:  # Postgres text cannot hold NUL: a 422 here, not a 500 later
                name = key[:40].replace("\x00", "?")
                raise ApiError(422, "invalid_parameter", f"parameter '{name}' contains a NUL character")
            if key in raw:
                raise bad_request("duplicate_parameter", f"parameter '{key[:40]}' given more than once")
            raw[key] = value
        body = self._read_body(method)
        try:
            query = self.Query.model_validate(raw)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        return Request(
            method=method,
            path=parts.path,
            query=query,
            raw_query=raw,
            headers=self.headers,
            body=body,
            request_id=request_id,
        )

    def _read_body(self, method: str) -> bytes:
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise bad_request("length_required", "chunked bodies are not accepted; send Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise bad_request("malformed_header", "Content-Length is not a number") from None
        if length < 0:
            raise bad_request("malformed_header", "Content-Length is negative")
        if length > self.max_body_bytes:
            self.close_connection = True
            raise ApiError(413, "payload_too_large", f"body larger than {self.max_body_bytes} bytes")
        return self.rfile.read(length) if length else b""

    def _write(self, method: str, response: Response) -> None:
        payload = response.encoded()
        try:
            self.send_response(response.status)
            self.send_header(
                "Content-Type",
                response.content_type + ("; charset=utf-8" if response.content_type.startswith("text/") else ""),
            )
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "no-referrer")
            if "Content-Security-Policy" not in response.headers:
                self.send_header(
                    "Content-Security-Policy", HTML_CSP if response.content_type == "text/html" else API_CSP
                )
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD" and payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _validation_error(exc: ValidationError) -> ApiError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "query"
    if first.get("type") == "extra_forbidden":
        return bad_request("unknown_parameter", f"unknown parameter '{loc[:40]}'")
    if first.get("type") == "missing":
        return ApiError(422, "missing_parameter", f"parameter '{loc}' is required")
    message = str(first.get("msg", "invalid value"))
    return ApiError(422, "invalid_parameter", f"parameter '{loc[:40]}': {message[:200]}")


__all__ = ["ApiError", "Endpoint", "Principal", "Request", "Response", "dumps"]
