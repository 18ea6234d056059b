"""The local stack's alert channel when ALERT_WEBHOOK_URL is unset: a Slack-compatible receiver on
127.0.0.1 that prints every alert to the console, so the real delivery path runs locally too."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Print(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        try:
            text = str(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))).get("text", ""))
        except ValueError:
            text = "(unreadable alert body)"
        stamp = f"{datetime.now(UTC):%H:%M:%S}"
        print("\n".join(f"[alert {stamp}] {line}" for line in text.splitlines()), flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def start_console_receiver() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Print)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="alerts", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/alerts"
