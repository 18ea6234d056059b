"""Runs the crons declared in vercel.json on their schedule against the local function server, with
the same request Vercel sends: GET <path>, User-Agent vercel-cron/1.0, Authorization: Bearer CRON_SECRET."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def declared_crons(path: Path = ROOT / "vercel.json") -> list[dict[str, str]]:
    return json.loads(path.read_text()).get("crons", [])


class CronScheduler(threading.Thread):
    def __init__(
        self, base_url: str, secret: str, *, on_result: Callable[[str, int, dict], None] | None = None
    ) -> None:
        super().__init__(name="crons", daemon=True)
        self.base_url = base_url
        self.secret = secret
        self.on_result = on_result
        self.stopping = threading.Event()

    def run(self) -> None:
        from croniter import croniter

        schedules = [(c["path"], croniter(c["schedule"], datetime.now(UTC))) for c in declared_crons()]
        due = {path: it.get_next(datetime) for path, it in schedules}
        iterators = dict(schedules)
        while not self.stopping.is_set():
            now = datetime.now(UTC)
            for path, when in list(due.items()):
                if when <= now:
                    self._fire(path)
                    due[path] = iterators[path].get_next(datetime)
            self.stopping.wait(min(30.0, max(0.5, (min(due.values()) - now).total_seconds())))

    def _fire(self, path: str) -> None:
        try:
            r = httpx.get(
                self.base_url + path,
                timeout=900.0,
                headers={"Authorization": f"Bearer {self.secret}", "User-Agent": "vercel-cron/1.0"},
            )
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if self.on_result:
                self.on_result(path, r.status_code, body)
        except httpx.HTTPError as exc:
            if self.on_result:
                self.on_result(path, 0, {"error": type(exc).__name__})

    def stop(self) -> None:
        self.stopping.set()
