"""Serves every api/**/*.py at its Vercel path, loading each file the way Vercel does: by path, its
top-level `handler` (a BaseHTTPRequestHandler subclass) handling the raw connection.

The front server peeks at the request line (MSG_PEEK, nothing consumed), picks the file for the path,
and hands the untouched socket to that file's own handler class. Unknown paths get a JSON 404.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
API_DIR = ROOT / "api"


def route_table(api_dir: Path = API_DIR) -> dict[str, Path]:
    """'/api/cron/sync-transactions' -> api/cron/sync-transactions.py, for every file Vercel would serve."""
    routes = {}
    for path in sorted(api_dir.rglob("*.py")):
        if path.name.startswith("_") or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(api_dir.parent).with_suffix("")
        routes["/" + rel.as_posix()] = path
    return routes


def load_handler(path: Path) -> type:
    path = path.resolve()
    name = "vercel_fn_" + "_".join(path.relative_to(API_DIR.parent).with_suffix("").parts).replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, "handler", None)
    if not (isinstance(handler, type) and issubclass(handler, BaseHTTPRequestHandler)):
        raise TypeError(f"{path} has no `handler` BaseHTTPRequestHandler subclass")
    return handler


class _NotFound(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = json.dumps(
            {"error": {"code": "not_found", "message": f"no function at {urlsplit(self.path).path}"}}
        ).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class FunctionServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api_dir: Path = API_DIR) -> None:
        self.routes = route_table(api_dir)
        self._handlers: dict[str, type] = {}
        self._lock = threading.Lock()
        super().__init__(address, _NotFound)

    def handler_for(self, path: str) -> type:
        file = self.routes.get(path.rstrip("/") or "/")
        if file is None:
            return _NotFound
        with self._lock:
            if path not in self._handlers:
                self._handlers[path] = load_handler(file)
            return self._handlers[path]

    def finish_request(self, request: socket.socket, client_address) -> None:  # type: ignore[override]
        target = self.handler_for(_peek_path(request))
        target(request, client_address, self)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def _peek_path(sock: socket.socket, limit: int = 16384) -> str:
    """The path of the request line, read without consuming it."""
    sock.settimeout(10)
    data = b""
    try:
        while b"\r\n" not in data and len(data) < limit:
            chunk = sock.recv(limit, socket.MSG_PEEK)
            if not chunk or chunk == data:
                if not chunk:
                    break
                threading.Event().wait(0.005)
            data = chunk
    except OSError:
        return "/"
    finally:
        sock.settimeout(None)
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    return urlsplit(parts[1].decode("latin-1")).path if len(parts) >= 2 else "/"
