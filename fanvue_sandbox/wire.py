"""Transport-neutral request/response objects, so the routing logic is plain functions that
tests and the HTTP layer share, and the HTTP layer can write each response in one syscall."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    _query: dict[str, list[str]] | None = field(default=None, repr=False)

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_qs(self.query_string, keep_blank_values=True) if self.query_string else {}
        return self._query

    def q1(self, name: str) -> str | None:
        """First value of a query parameter (None if absent)."""
        v = self.query.get(name)
        return v[0] if v else None

    def form(self) -> dict[str, str]:
        """application/x-www-form-urlencoded body, first value per key."""
        try:
            parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parsed.items()}

    def json_body(self) -> Any:
        if not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json; charset=utf-8"
    #: close the socket without answering (fault injection)
    drop: bool = False
    #: extra delay before answering (latency + slow faults), seconds
    delay_s: float = 0.0


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def json_response(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, dumps(obj), list(headers or []))
