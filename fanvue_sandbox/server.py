"""Stdlib HTTP/1.1 server (keep-alive, Content-Length, one write per response).

Speed notes: Nagle is disabled and the status line, headers and body go out in a single
`write`, so a sequential keep-alive client never waits on delayed ACKs. Open connections
are tracked so `stop()` really cuts keep-alive clients off (otherwise their handler
threads would go on serving after shutdown).
"""

from __future__ import annotations

import socket
import threading
import time
import traceback
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .wire import Request, Response, json_response

_PHRASES = {s.value: s.phrase for s in HTTPStatus}
_date_cache: list[Any] = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0], _date_cache[1] = now, formatdate(now, usegmt=True)
    return _date_cache[1]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], app: Callable[[Request], Response]) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        with self._conns_lock:
            self._conns.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FanvueSandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        """Minimal HTTP/1.1 request parsing (the stdlib's email-based header parser costs
        more than rendering a page); falls back to close on anything malformed."""
        try:
            line = self.rfile.readline(65537)
            if not line:
                self.close_connection = True
                return
            if len(line) > 65536:
                self._simple(414, "URI Too Long")
                return
            parts = line.decode("latin-1").rstrip("\r\n").split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                self._simple(400, "Bad Request")
                return
            method, target, version = parts
            headers: dict[str, str] = {}
            readline = self.rfile.readline
            for _ in range(200):
                h = readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            else:
                self._simple(431, "Request Header Fields Too Large")
                return
            conn = headers.get("connection", "").lower()
            if version == "HTTP/1.0":
                self.close_connection = conn != "keep-alive"
            else:
                self.close_connection = conn == "close"
            self.command, self.path, self.request_version = method, target, version
            length = headers.get("content-length")
            body = self.rfile.read(int(length)) if length else b""
            if headers.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._dispatch(method, target, headers, body)
        except (OSError, ValueError):  # timeouts, resets, sockets cut by stop(), bad Content-Length
            self.close_connection = True

    def _simple(self, status: int, text: str) -> None:
        self.close_connection = True
        body = text.encode()
        try:
            self.wfile.write(
                f"HTTP/1.1 {status} {text}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
            )
        except OSError:
            pass

    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        path, _, qs = target.partition("?")
        req = Request(method, path, qs, headers, body, self.client_address[0])
        try:
            resp = self.server.app(req)
        except Exception as e:  # a sandbox bug must surface as a 500, not a hung client
            traceback.print_exc()
            resp = json_response(500, {"error": "Internal Server Error", "detail": repr(e)})
        if resp.delay_s > 0:
            time.sleep(resp.delay_s)
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = resp.status
        head = (
            f"HTTP/1.1 {status} {_PHRASES.get(status, 'Unknown')}\r\nServer: FanvueSandbox/1.0\r\n"
            f"Date: {_http_date()}\r\nContent-Type: {resp.content_type}\r\n"
            f"Content-Length: {0 if method == 'HEAD' else len(resp.body)}\r\n"
        )
        for k, v in resp.headers:
            head += f"{k}: {v}\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        data = (head + "\r\n").encode("latin-1")
        if method != "HEAD":
            data += resp.body
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


class HttpServerThread:
    """Owns the listening server and its serve_forever thread."""

    def __init__(self, app: Callable[[Request], Response], host: str, port: int) -> None:
        self._server = _Server((host, port), app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="fanvue-sandbox-http", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
