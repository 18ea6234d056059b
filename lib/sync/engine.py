"""Sync of one model (DESIGN.md, "Sync, in one paragraph").

A run covers windows [start, end) with `end` fixed at run start. Pages are requested newest first;
after each page the next request narrows `endDate` to (oldest timestamp on the page + 1 ms), so each
page begins with the complete group of items sharing a timestamp and nothing at a page boundary can be
skipped, whatever the cursor does with ties. Each page is upserted at once; the window's last page
advances the watermark in the same transaction; an interrupted window resumes from its last stored
page. A fetcher thread keeps requesting while the database stores, and the store drains whatever
pages are waiting into one call.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Optional

from lib.config import Settings
from lib.db import Conflict, Database, DbError
from lib.safe_log import redact
from lib.sync.rows import earning_rows, spending_rows

ONE_MS = timedelta(milliseconds=1)
MAX_BATCH_ROWS = 1000


@dataclass
class SyncOptions:
    full: bool = False
    since: Optional[datetime] = None
    dry_run: bool = False
    reconcile_days: Optional[int] = None
    page_size: int = 50


@dataclass
class ModelResult:
    model_id: str
    name: str
    outcome: str = "ok"  # ok | partial | failed | dry_run
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    pages: int = 0
    requests: int = 0
    revenue_before_cents: Optional[int] = None
    revenue_after_cents: Optional[int] = None
    window_start: Optional[datetime] = None
    window_end: Optional[datetime] = None
    watermark: Optional[str] = None
    error: Optional[str] = None
    needs_reconnect: bool = False
    duration_s: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def stats(self) -> dict[str, Any]:
        return {"fetched": self.fetched, "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "revenue_before_cents": self.revenue_before_cents,
                "revenue_after_cents": self.revenue_after_cents,
                "window_start": self.window_start.isoformat() if self.window_start else None,
                "window_end": self.window_end.isoformat() if self.window_end else None,
                "error": self.error, "started_at": self.started_at.isoformat()}

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("window_start", "window_end", "started_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["duration_s"] = round(self.duration_s, 3)
        return data


class _Stop(Exception):
    pass


def parse_time(value: Any) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass
class Window:
    stream: str
    start: datetime
    end: datetime
    resume_end: Optional[datetime] = None


def walk_window(fetch: Callable[[datetime, datetime], Any], window: Window,
                to_rows: Callable[[Any], list[dict[str, Any]]],
                stop: threading.Event) -> Iterator[tuple[list[dict[str, Any]], Optional[datetime], bool]]:
    """Yields (rows, resume_end, is_last) per page of [start, resume_end or end), newest first."""
    upper = window.resume_end or window.end
    while True:
        if stop.is_set():
            raise _Stop()
        page = fetch(window.start, upper)
        rows = to_rows(page)
        if page.next_cursor is None or not page.items:
            yield rows, None, True
            return
        oldest = min(item.date for item in page.items)
        narrowed = oldest + ONE_MS
        if narrowed >= upper:
            # A whole page shares one millisecond: neither narrowing nor Fanvue's date-keyed cursor can
            # page through it without losing or repeating items. Fail loudly rather than guess.
            from lib.fanvue.errors import FanvueBadResponse

            raise FanvueBadResponse(f"more than {len(page.items)} items share the timestamp "
                                    f"{oldest.isoformat()}; they cannot be paged completely")
        upper = narrowed
        yield rows, upper, False


class ModelSync:
    """Syncs one leased model. The caller holds the lease and releases it with the outcome."""

    def __init__(self, db: Database, work: dict[str, Any], *, worker: str, config: Settings,
                 run_end: datetime, deadline: float, options: SyncOptions, client: Any,
                 progress: Optional[Callable[[ModelResult], None]] = None) -> None:
        self.db = db
        self.work = work
        self.worker = worker
        self.config = config
        self.run_end = run_end
        self.deadline = deadline
        self.options = options
        self.client = client
        self.progress = progress
        self.result = ModelResult(model_id=str(work["model_id"]), name=str(work.get("name") or ""),
                                  revenue_before_cents=work.get("revenue_gross_cents"))
        self.personal = (work.get("connection_kind") == "creator"
                         and str(work.get("connection_user_uuid")) == str(work.get("fanvue_user_uuid")))

    # -- public
    def run(self) -> ModelResult:
        started = time.monotonic()
        result = self.result
        try:
            if self.options.full and not self.options.dry_run:
                self.work = self.db.call("fanvue_reset_history", model_id=result.model_id, worker=self.worker,
                                         history_start=self._floor())
            for window in self._windows("earnings"):
                self._sync_window(window, self._fetch_earnings, self._earning_rows)
            if self.personal:
                for window in self._windows("spending"):
                    self._sync_window(window, self._fetch_spending, self._spending_rows)
            result.outcome = "dry_run" if self.options.dry_run else "ok"
        except Exception as exc:  # noqa: BLE001 - every failure becomes a visible outcome
            self._fail(exc)
        result.requests = getattr(self.client, "requests_made", 0)
        result.duration_s = time.monotonic() - started
        if result.revenue_after_cents is None:  # nothing stored: revenue did not change
            result.revenue_after_cents = result.revenue_before_cents
        return result

    # -- windows
    def _floor(self) -> datetime:
        return parse_time(self.config.sync_history_floor) or datetime(2019, 1, 1, tzinfo=timezone.utc)

    def _windows(self, stream: str) -> list[Window]:
        work, options, end = self.work, self.options, self.run_end
        windows: list[Window] = []
        pending = (work.get("progress") or {}).get(stream)
        if pending and not options.dry_run and not options.since and not options.reconcile_days:
            windows.append(Window(stream, parse_time(pending["start"]), parse_time(pending["end"]),
                                  parse_time(pending["resume_end"])))
            if parse_time(pending["end"]) >= end:
                return windows
        watermark = parse_time(work.get("watermark" if stream == "earnings" else "spending_watermark"))
        history_start = parse_time(work.get("history_start")) or self._floor()
        if options.since and watermark is not None:
            start = max(options.since, history_start)
        elif options.reconcile_days:
            day = (end - timedelta(days=options.reconcile_days)).replace(hour=0, minute=0, second=0, microsecond=0)
            start = day if watermark is not None else history_start
        elif watermark is None or options.full:
            start = history_start
        else:
            start = max(watermark - timedelta(days=self.config.sync_lookback_days), history_start)
        if pending and windows and windows[0].start <= (watermark or history_start):
            # the resumed window covers everything up to its end: continue from there minus the lookback
            start = max(start, windows[0].end - timedelta(days=self.config.sync_lookback_days), history_start)
        if start < end:
            windows.append(Window(stream, start, end))
        return windows

    # -- fetch and normalise
    def _creator_route(self) -> Optional[str]:
        return None if self.personal else str(self.work["fanvue_user_uuid"])

    def _check_budget(self) -> None:
        if time.monotonic() >= self.deadline:
            from lib.fanvue.errors import DeadlineExceeded

            raise DeadlineExceeded("time budget reached", wait_s=0.0, remaining_s=0.0)

    def _fetch_earnings(self, start: datetime, end: datetime) -> Any:
        self._check_budget()
        pages = self.client.earnings_pages(self._creator_route(), start, end, self.options.page_size)
        return next(iter(pages))

    def _fetch_spending(self, start: datetime, end: datetime) -> Any:
        self._check_budget()
        return next(iter(self.client.spending_pages(start, end, self.options.page_size)))

    @staticmethod
    def _earning_rows(page: Any) -> list[dict[str, Any]]:
        return earning_rows(page.items, page.raw)

    @staticmethod
    def _spending_rows(page: Any) -> list[dict[str, Any]]:
        return spending_rows(page.items, page.raw)

    # -- the pipeline: a fetcher thread, this thread stores
    def _sync_window(self, window: Window, fetch: Callable, to_rows: Callable) -> None:
        result = self.result
        if window.stream == "earnings":
            result.window_start = min(result.window_start or window.start, window.start)
            result.window_end = max(result.window_end or window.end, window.end)
        pages: "queue.Queue[Any]" = queue.Queue(maxsize=16)
        stop = threading.Event()

        def produce() -> None:
            try:
                for item in walk_window(fetch, window, to_rows, stop):
                    pages.put(item)
                    if stop.is_set():
                        return
            except _Stop:
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the storing thread
                pages.put(exc)

        fetcher = threading.Thread(target=produce, name=f"fetch-{result.model_id[:8]}", daemon=True)
        fetcher.start()
        try:
            done = False
            while not done:
                batch_rows: list[dict[str, Any]] = []
                resume_end: Optional[datetime] = None
                last = False
                item = pages.get()
                while True:
                    if isinstance(item, BaseException):
                        if batch_rows or resume_end:
                            self._store(window, batch_rows, resume_end, False)
                        raise item
                    rows, page_resume, is_last = item
                    batch_rows.extend(rows)
                    result.fetched += len(rows)
                    result.pages += 1
                    resume_end = page_resume or resume_end
                    if is_last:
                        last = True
                        break
                    if len(batch_rows) >= MAX_BATCH_ROWS:
                        break
                    try:
                        item = pages.get_nowait()
                    except queue.Empty:
                        break
                self._store(window, batch_rows, resume_end, last)
                done = last
        finally:
            stop.set()
            while fetcher.is_alive():
                try:
                    pages.get(timeout=0.05)
                except queue.Empty:
                    pass
            fetcher.join(timeout=1)

    def _store(self, window: Window, rows: list[dict[str, Any]], resume_end: Optional[datetime], last: bool) -> None:
        result = self.result
        out = self.db.call("fanvue_ingest_page", model_id=result.model_id, worker=self.worker,
                           stream=window.stream, items=rows, window_start=window.start, window_end=window.end,
                           last_page=last, dry_run=self.options.dry_run,
                           lease_seconds=int(self.config.sync_max_duration_s) + 60,
                           resume_end=None if last else resume_end)
        result.inserted += out.get("inserted", 0)
        result.updated += out.get("updated", 0)
        result.unchanged += out.get("unchanged", 0)
        if out.get("revenue_gross_cents") is not None:
            result.revenue_after_cents = out["revenue_gross_cents"]
        if window.stream == "earnings" and out.get("watermark"):
            result.watermark = str(out["watermark"])
        if self.progress:
            self.progress(result)

    # -- outcomes
    def _fail(self, exc: BaseException) -> None:
        from lib.fanvue.errors import DeadlineExceeded, FanvueError
        from lib.tokens import TokenError

        result = self.result
        if isinstance(exc, DeadlineExceeded):
            result.outcome = "partial"
            result.error = "time budget reached; progress saved, the next run continues"
            return
        result.outcome = "failed"
        if isinstance(exc, TokenError):
            result.needs_reconnect = exc.needs_reconnect
            result.error = redact(str(exc))
        elif isinstance(exc, FanvueError):
            result.error = redact(f"Fanvue: {exc}")
        elif isinstance(exc, Conflict):
            result.error = "lease lost to another worker; nothing more was written"
        elif isinstance(exc, DbError):
            result.error = redact(f"database: {exc.message}")
        else:
            result.error = redact(f"{type(exc).__name__}: {exc}")[:300]

