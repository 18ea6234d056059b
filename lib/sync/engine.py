"""Sync of one leased model: which windows to read, the fetch/store pipeline, the outcome.

A run covers windows [start, end) with `end` fixed at run start. The walk over each window
(:mod:`lib.sync.paging`) narrows `endDate` page by page; each page is upserted at once, the window's
last page advances the watermark in the same transaction, and an interrupted window resumes from its
last stored page. A fetcher thread keeps requesting while the database stores, and the store drains
whatever pages are waiting into one call.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lib.config import Settings
from lib.db import Conflict, Database, DbError
from lib.fanvue.errors import DeadlineExceeded, FanvueError
from lib.fanvue.lines import EARNING_SOURCES, SPENDING_SOURCES
from lib.safe_log import redact
from lib.sync.paging import FetchPage, Page, WalkedPage, WalkStopped, earnings_fetch, spending_fetch, walk
from lib.sync.rows import earning_rows, spending_rows
from lib.sync.work import WorkItem
from lib.timeutil import maybe_utc

if TYPE_CHECKING:
    from lib.fanvue.client import FanvueClient

MAX_BATCH_ROWS = 1000


@dataclass
class SyncOptions:
    full: bool = False
    since: datetime | None = None
    dry_run: bool = False
    reconcile_days: int | None = None
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
    revenue_before_cents: int | None = None
    revenue_after_cents: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    watermark: str | None = None
    error: str | None = None
    needs_reconnect: bool = False
    duration_s: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    tie_fallbacks: int = 0  # milliseconds holding more lines than a page, read on their own (lib.sync.paging)
    notes: list[str] = field(default_factory=list)  # what the run had to do differently, for the run record

    def stats(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "revenue_before_cents": self.revenue_before_cents,
            "revenue_after_cents": self.revenue_after_cents,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "tie_fallbacks": self.tie_fallbacks,
            "notes": list(self.notes),
        }

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("window_start", "window_end", "started_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["duration_s"] = round(self.duration_s, 3)
        return data


@dataclass
class Window:
    stream: str  # "earnings" | "spending"
    start: datetime
    end: datetime
    resume_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Stored:
    """One walked page on its way from the fetcher thread to the storing thread."""

    rows: list[dict[str, Any]]
    page: WalkedPage


class ModelSync:
    """Syncs one leased model. The caller holds the lease and releases it with the outcome."""

    def __init__(
        self,
        db: Database,
        work: WorkItem,
        *,
        worker: str,
        config: Settings,
        run_end: datetime,
        deadline: float,
        options: SyncOptions,
        client: FanvueClient,
        progress: Callable[[ModelResult], None] | None = None,
    ) -> None:
        self.db = db
        self.work = work
        self.worker = worker
        self.config = config
        self.run_end = run_end
        self.deadline = deadline
        self.options = options
        self.client = client
        self.progress = progress
        self.result = ModelResult(model_id=work.model_id, name=work.name, revenue_before_cents=work.revenue_gross_cents)
        self.personal = work.personal
        self._incomplete_ties: list[str] = []

    # -- public
    def run(self) -> ModelResult:
        started = time.monotonic()
        result = self.result
        try:
            if self.options.full and not self.options.dry_run:
                self.work = WorkItem.from_row(
                    self.db.call(
                        "fanvue_reset_history",
                        model_id=result.model_id,
                        worker=self.worker,
                        history_start=self._floor(),
                    )
                )
            earnings = self._within_budget(earnings_fetch(self.client, self._creator_route(), self.options.page_size))
            for window in self._windows("earnings"):
                self._sync_window(window, earnings, EARNING_SOURCES)
            if self.personal:
                spending = self._within_budget(spending_fetch(self.client, self.options.page_size))
                for window in self._windows("spending"):
                    self._sync_window(window, spending, SPENDING_SOURCES)
            result.outcome = "dry_run" if self.options.dry_run else "ok"
            if self._incomplete_ties:
                result.outcome = "failed"
                result.error = "; ".join(self._incomplete_ties)[:300]
        except Exception as exc:
            self._fail(exc)
        result.requests = self.client.requests_made
        result.duration_s = time.monotonic() - started
        if result.revenue_after_cents is None:  # nothing stored: revenue did not change
            result.revenue_after_cents = result.revenue_before_cents
        return result

    # -- windows
    def _floor(self) -> datetime:
        return maybe_utc(self.config.sync_history_floor) or datetime(2019, 1, 1, tzinfo=UTC)

    def _windows(self, stream: str) -> list[Window]:
        work, options, end = self.work, self.options, self.run_end
        windows: list[Window] = []
        pending = work.progress.get(stream)
        if pending and not options.dry_run and not options.since and not options.reconcile_days:
            windows.append(Window(stream, pending.start, pending.end, pending.resume_end))
            if pending.end >= end:
                return windows
        watermark = work.watermark if stream == "earnings" else work.spending_watermark
        history_start = work.history_start or self._floor()
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

    # -- fetch
    def _creator_route(self) -> str | None:
        return None if self.personal else self.work.fanvue_user_uuid

    def _check_budget(self) -> None:
        if time.monotonic() >= self.deadline:
            raise DeadlineExceeded("time budget reached", wait_s=0.0, remaining_s=0.0)

    def _within_budget(self, fetch: FetchPage) -> FetchPage:
        def fetch_in_time(start: datetime, end: datetime, cursor: str | None, sources: Sequence[str] | None) -> Page:
            self._check_budget()
            return fetch(start, end, cursor, sources)

        return fetch_in_time

    @staticmethod
    def _rows(stream: str, page: WalkedPage) -> list[dict[str, Any]]:
        to_rows = earning_rows if stream == "earnings" else spending_rows
        return to_rows(page.items, page.raw)

    # -- the pipeline: a fetcher thread, this thread stores
    def _sync_window(self, window: Window, fetch: FetchPage, sources: Sequence[str]) -> None:
        result = self.result
        if window.stream == "earnings":
            result.window_start = min(result.window_start or window.start, window.start)
            result.window_end = max(result.window_end or window.end, window.end)
        stop = threading.Event()
        walked = walk(fetch, window.start, window.resume_end or window.end, sources=sources, stop=stop.is_set)
        # The first page is read here: a window of one page (every tick with little new) is stored
        # without a second thread and the hand-offs between threads it costs.
        page = next(walked)
        first = _Stored(self._rows(window.stream, page), page)
        if first.page.last:
            self._take(first)
            self._store(window, first.rows, None, True)
            return
        pages: queue.Queue[_Stored | BaseException] = queue.Queue(maxsize=16)
        pages.put(first)

        def produce() -> None:
            try:
                for page in walked:
                    pages.put(_Stored(self._rows(window.stream, page), page))
                    if stop.is_set():
                        return
            except WalkStopped:
                return
            except BaseException as exc:
                pages.put(exc)

        fetcher = threading.Thread(target=produce, name=f"fetch-{result.model_id[:8]}", daemon=True)
        fetcher.start()
        try:
            done = False
            while not done:
                batch_rows: list[dict[str, Any]] = []
                resume_end: datetime | None = None
                last = False
                item = pages.get()
                while True:
                    if isinstance(item, BaseException):
                        if batch_rows or resume_end:
                            self._store(window, batch_rows, resume_end, False)
                        raise item
                    batch_rows.extend(item.rows)
                    self._take(item)
                    resume_end = item.page.resume_end or resume_end
                    if item.page.last:
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

    def _take(self, item: _Stored) -> None:
        """Counts a walked page into the result (before it is stored)."""
        self.result.fetched += len(item.rows)
        self.result.pages += 1
        self._note_tie(item.page)

    def _note_tie(self, page: WalkedPage) -> None:
        if page.tie is None:
            return
        self.result.tie_fallbacks += 1
        self.result.notes.append(page.tie.note())
        if not page.tie.complete:
            self._incomplete_ties.append(page.tie.note())

    def _store(self, window: Window, rows: list[dict[str, Any]], resume_end: datetime | None, last: bool) -> None:
        result = self.result
        out = self.db.call(
            "fanvue_ingest_page",
            model_id=result.model_id,
            worker=self.worker,
            stream=window.stream,
            items=rows,
            window_start=window.start,
            window_end=window.end,
            last_page=last,
            dry_run=self.options.dry_run,
            lease_seconds=int(self.config.sync_max_duration_s) + 60,
            resume_end=None if last else resume_end,
        )
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
