"""Top-level dispatcher: sandbox control vs auth server vs API, with faults, latency and
request counters applied in one place (the HTTP layer stays dumb)."""

from __future__ import annotations

import math
import threading
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .control import handle_control
from .wire import Request, Response, json_response

if TYPE_CHECKING:
    from .sandbox import FanvueSandbox

_OAUTH_PATHS = ("/oauth2/auth", "/oauth2/token", "/oauth2/revoke", "/.well-known/openid-configuration")


class SandboxApp:
    def __init__(self, sb: FanvueSandbox) -> None:
        self.sb = sb
        self._lock = threading.Lock()
        self.by_status: dict[int, int] = {}
        self.by_route: dict[str, int] = {}
        self.total = 0

    def _count(self, route: str, status: int) -> None:
        with self._lock:
            self.total += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.by_route[route] = self.by_route.get(route, 0) + 1

    def handle(self, req: Request) -> Response:
        path = req.path
        if path.startswith("/_sandbox/"):
            return handle_control(self.sb, req)
        sb = self.sb
        api = sb.api
        is_api = api.is_api_path(path)
        delay_ms = sb.latency_ms
        fd = sb.faults.decide(path, is_api)
        if fd is not None:
            delay_ms += fd.delay_ms
            if fd.expire_tokens:
                sb.oauth.expire_all_access_tokens()
            if fd.kind is not None:
                resp = self._fault_response(fd.kind, fd.status, fd.retry_after)
                resp.delay_s = delay_ms / 1000
                self._count("fault:" + fd.kind, resp.status)
                return resp
        if is_api:
            resp = api.handle(req)
            m = api.match(path)
            route = m[0].name if m else "other"
        elif path in _OAUTH_PATHS:
            route = f"{req.method} {path}"
            if path == "/oauth2/auth" and req.method == "GET":
                resp = sb.oauth.authorize(req)
            elif path == "/oauth2/token" and req.method == "POST":
                resp = sb.oauth.token(req)
            elif path == "/oauth2/revoke" and req.method == "POST":
                resp = sb.oauth.revoke(req)
            elif path.startswith("/.well-known/") and req.method == "GET":
                resp = sb.oauth.discovery()
                delay_ms = 0
            else:
                resp = json_response(405, {"error": "method_not_allowed"})
        else:
            route = "other"
            delay_ms = 0
            resp = json_response(
                404, {"message": f"Cannot {req.method} {path}", "error": "Not Found", "statusCode": 404}
            )
        if delay_ms:
            resp.delay_s = delay_ms / 1000
        self._count(route, resp.status)
        return resp

    def _fault_response(self, kind: str, status: int, retry_after: int) -> Response:
        if kind == "drop":
            return Response(0, drop=True)
        if kind == "storm":
            lim = self.sb.limiter.limit
            return json_response(
                429,
                {"error": "Too many requests"},
                [
                    ("X-RateLimit-Limit", str(lim)),
                    ("X-RateLimit-Remaining", "0"),
                    ("X-RateLimit-Reset", str(math.ceil(time.time() + retry_after))),
                    ("Retry-After", str(retry_after)),
                ],
            )
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Server Error"
        return json_response(status, {"error": phrase})

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_route": dict(sorted(self.by_route.items())),
            }
