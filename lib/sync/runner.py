"""Many models under leases and one time budget: the cron tick, the reconcile pass, force sync.

Workers (threads) each claim the stalest due model (FOR UPDATE SKIP LOCKED), sync it, record it in
the run history and release the lease, until nothing is due or the budget is spent. Two overlapping
invocations never hold the same model; a crashed one's leases expire and are re-claimed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lib.config import Settings, settings
from lib.db import Database, DbError
from lib.safe_log import describe_exception
from lib.sync.engine import ModelResult, ModelSync, SyncOptions
from lib.sync.work import LeaseHeld, WorkItem, parse_acquired
from lib.tokens import ConnectionTokens, TokenError, worker_id

if TYPE_CHECKING:
    import httpx

    from lib.fanvue.client import FanvueClient

log = logging.getLogger("fanvue_sync.runner")


@dataclass
class RunSummary:
    run_id: str
    kind: str
    worker: str
    status: str = "running"
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration_s: float = 0.0
    budget_s: float = 0.0
    models: list[ModelResult] = field(default_factory=list)
    tokens_refreshed: int = 0
    token_errors: list[dict[str, Any]] = field(default_factory=list)
    stopped_by_budget: bool = False
    worker_error: str | None = None  # a sync worker thread that died, recorded, never swallowed

    def as_json(self) -> dict[str, Any]:
        totals = {
            k: sum(getattr(m, k) for m in self.models)
            for k in ("fetched", "inserted", "updated", "unchanged", "requests", "tie_fallbacks")
        }
        outcomes: dict[str, int] = {}
        for m in self.models:
            outcomes[m.outcome] = outcomes.get(m.outcome, 0) + 1
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "worker": self.worker,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "budget_s": self.budget_s,
            "stopped_by_budget": self.stopped_by_budget,
            "models_synced": len(self.models),
            "outcomes": outcomes,
            "totals": totals,
            "tokens_refreshed": self.tokens_refreshed,
            "token_errors": self.token_errors,
            "notes": [{"model_id": m.model_id, "name": m.name, "note": note} for m in self.models for note in m.notes],
            "models": [m.as_json() for m in self.models],
        }


class RunTokens:
    """One token object per connection for the whole run: its workers share the access token and
    its refresh lease instead of reading the connection row once per model."""

    def __init__(self, db: Database, *, worker: str, config: Settings) -> None:
        self._db = db
        self._worker = worker
        self._config = config
        self._lock = threading.Lock()
        self._by_connection: dict[str, ConnectionTokens] = {}

    def get(self, connection_id: str) -> ConnectionTokens:
        with self._lock:
            tokens = self._by_connection.get(connection_id)
            if tokens is None:
                tokens = ConnectionTokens(self._db, connection_id, owner=self._worker, config=self._config)
                self._by_connection[connection_id] = tokens
            return tokens


def make_client(
    db: Database,
    work: WorkItem,
    *,
    worker: str,
    config: Settings,
    deadline: float,
    http: httpx.Client | None = None,
    tokens: RunTokens | None = None,
) -> FanvueClient:
    from lib.fanvue.client import FanvueClient

    provider = (
        tokens.get(str(work.connection_id))
        if tokens is not None
        else ConnectionTokens(db, str(work.connection_id), owner=worker, config=config)
    )
    return FanvueClient(
        provider,
        owner_uuid=str(work.connection_user_uuid),
        api_base=config.fanvue_api_base,
        api_version=config.fanvue_api_version,
        http=http,
        deadline=deadline,
    )


def sync_one(
    db: Database,
    work: WorkItem,
    *,
    worker: str,
    config: Settings,
    run_end: datetime,
    deadline: float,
    options: SyncOptions,
    http: httpx.Client | None = None,
    progress: Callable[[ModelResult], None] | None = None,
    tokens: RunTokens | None = None,
) -> ModelResult:
    """Syncs a model whose lease `worker` holds. Never raises: failures are in the result."""
    if not work.syncable:
        return ModelResult(
            model_id=work.model_id,
            name=work.name,
            outcome="failed",
            revenue_before_cents=work.revenue_gross_cents,
            revenue_after_cents=work.revenue_gross_cents,
            needs_reconnect=True,
            error="model has no active Fanvue connection; reconnect it",
        )
    client = make_client(db, work, worker=worker, config=config, deadline=deadline, http=http, tokens=tokens)
    try:
        return ModelSync(
            db,
            work,
            worker=worker,
            config=config,
            run_end=run_end,
            deadline=deadline,
            options=options,
            client=client,
            progress=progress,
        ).run()
    finally:
        client.close()


def next_sync_seconds(result: ModelResult, config: Settings) -> int:
    if result.outcome in ("partial", "dry_run"):
        return 0
    if result.outcome == "failed":
        return 0 if result.needs_reconnect else min(3600, max(60, config.sync_interval_s // 3))
    return max(0, config.sync_interval_s - 60)


def finish_model(db: Database, run_id: str, worker: str, result: ModelResult, config: Settings) -> None:
    """Records the model's outcome in the run history and releases its lease (fenced)."""
    finish_and_claim(db, worker, run_id=run_id, result=result, config=config, claim=None)


@dataclass(frozen=True, slots=True)
class Claim:
    """What the next claim looks like: the lease it takes and which models it may take."""

    kind: str
    lease_seconds: int
    not_attempted_since: datetime


def finish_and_claim(
    db: Database, worker: str, *, run_id: str | None, result: ModelResult | None, config: Settings, claim: Claim | None
) -> WorkItem | None:
    """One database call between two models: record and release the finished one, claim the next.

    When that call fails the lease is still released on its own (else it would block the model until
    it expires) and the error is raised."""
    args: dict[str, Any] = {"worker": worker, "claim": claim is not None}
    if result is not None:
        args.update(
            model_id=result.model_id,
            run_id=run_id,
            outcome=result.outcome,
            stats=result.stats(),
            error=result.error,
            next_sync_seconds=next_sync_seconds(result, config),
        )
    if claim is not None:
        args.update(kind=claim.kind, lease_seconds=claim.lease_seconds, not_attempted_since=claim.not_attempted_since)
    try:
        out = db.call("fanvue_finish_and_claim", **args)
    except BaseException:
        if result is not None:
            db.call(
                "fanvue_release_model",
                model_id=result.model_id,
                worker=worker,
                outcome=result.outcome,
                error=result.error,
                next_sync_seconds=next_sync_seconds(result, config),
            )
        raise
    work = out.get("work")
    return WorkItem.from_row(work) if work else None


def refresh_due_tokens(
    db: Database, summary: RunSummary, config: Settings, deadline: float, tokens: RunTokens | None = None
) -> None:
    """Proactively refreshes tokens near expiry and idle ones (daily), single-flight per connection."""
    ids = db.call(
        "fanvue_connections_due_refresh",
        margin_seconds=config.token_refresh_margin_s + 300,
        idle_seconds=config.token_idle_refresh_s,
        limit=50,
    )
    for connection_id in ids:
        if time.monotonic() > deadline:
            return
        current = db.call("fanvue_get_connection", connection_id=str(connection_id))
        if not current or current.get("status") != "active":
            continue
        provider = (
            tokens.get(str(connection_id))
            if tokens is not None
            else ConnectionTokens(db, str(connection_id), owner=summary.worker, config=config)
        )
        try:
            # seen_version: an overlapping tick that already rotated this token makes ours a no-op
            if provider.refresh(force=True, seen_version=int(current.get("token_version") or 0)).refreshed:
                summary.tokens_refreshed += 1
        except TokenError as exc:
            summary.token_errors.append(
                {"connection_id": str(connection_id), "error": str(exc), "needs_reconnect": exc.needs_reconnect}
            )


def run_sync(
    db: Database | None = None,
    *,
    kind: str = "cron",
    config: Settings | None = None,
    budget_s: float | None = None,
    options: SyncOptions | None = None,
    worker: str | None = None,
    max_models: int | None = None,
    refresh_tokens: bool = True,
    progress: Callable[[ModelResult], None] | None = None,
) -> RunSummary:
    """One cron (or reconcile) invocation. Stops claiming before the budget ends."""
    from lib.db import get_database

    db = db or get_database()
    config = config or settings()
    options = options or SyncOptions()
    budget = budget_s if budget_s is not None else config.sync_budget_s
    worker = worker or worker_id(kind)
    started = time.monotonic()
    deadline = started + budget
    run = db.call("fanvue_start_run", kind=kind, worker=worker, budget_seconds=int(budget))
    summary = RunSummary(run_id=str(run["id"]), kind=kind, worker=worker, budget_s=budget)
    run_end = datetime.now(UTC)
    lock = threading.Lock()
    claimed_count = [0]
    error: str | None = None
    tokens = RunTokens(db, worker=worker, config=config)
    http = _LazyHttp(max_connections=config.sync_concurrency * 2)
    claim = Claim(kind=kind, lease_seconds=int(config.sync_max_duration_s) + 60, not_attempted_since=run_end)

    try:
        if refresh_tokens:
            refresh_due_tokens(db, summary, config, deadline, tokens)
    except DbError as exc:
        summary.token_errors.append({"error": describe_exception(exc)})

    def may_claim() -> bool:
        if time.monotonic() >= deadline - 2:
            return False
        with lock:
            if max_models is not None and claimed_count[0] >= max_models:
                return False
            claimed_count[0] += 1
            return True

    def work_loop() -> None:
        work = (
            finish_and_claim(db, worker, run_id=None, result=None, config=config, claim=claim) if may_claim() else None
        )
        while work is not None:
            result = sync_one(
                db,
                work,
                worker=worker,
                config=config,
                run_end=run_end,
                deadline=deadline,
                options=options,
                http=http.get(),
                progress=progress,
                tokens=tokens,
            )
            with lock:
                summary.models.append(result)
            work = finish_and_claim(
                db, worker, run_id=summary.run_id, result=result, config=config, claim=claim if may_claim() else None
            )

    threads = [
        threading.Thread(target=_guard(work_loop, summary), name=f"sync-{i}", daemon=True)
        for i in range(config.sync_concurrency)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    except BaseException as exc:
        error = describe_exception(exc)
        raise
    finally:
        http.close()
        summary.duration_s = time.monotonic() - started
        summary.stopped_by_budget = time.monotonic() >= deadline - 2
        summary.status = _status(summary, error)
        db.call(
            "fanvue_finish_run",
            run_id=summary.run_id,
            status=summary.status,
            summary={k: v for k, v in summary.as_json().items() if k != "models"},
            error=error or summary.worker_error,
        )
    return summary


class _LazyHttp:
    """The run's one httpx client, built when the first model is claimed: building it loads the CA
    bundle (~0.1 s), which a tick with nothing due should not pay."""

    def __init__(self, *, max_connections: int) -> None:
        self._max = max_connections
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=20.0, limits=httpx.Limits(max_connections=self._max))
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()


def _guard(loop: Callable[[], None], summary: RunSummary) -> Callable[[], None]:
    def run() -> None:
        try:
            loop()
        except Exception as exc:
            log.error("sync worker failed: %s", describe_exception(exc))
            summary.worker_error = describe_exception(exc)

    return run


def _status(summary: RunSummary, error: str | None) -> str:
    if error or summary.worker_error:
        return "failed"
    if not summary.models:
        return "empty" if not summary.token_errors else "partial"
    outcomes = {m.outcome for m in summary.models}
    if outcomes <= {"ok", "dry_run"} and not summary.token_errors:
        return "ok"
    if outcomes == {"failed"}:
        return "failed"
    return "partial"


@dataclass(frozen=True, slots=True)
class Synced:
    """Force sync ran (whatever its outcome) and was recorded as run ``run_id``."""

    result: ModelResult
    run_id: str


ForceSyncResult = Synced | LeaseHeld


def force_sync(
    db: Database, model_id: str, *, options: SyncOptions, config: Settings | None = None, budget_s: float | None = None
) -> ForceSyncResult:
    """Syncs one model now under its lease, or says who holds the lease."""
    config = config or settings()
    budget = budget_s if budget_s is not None else config.sync_budget_s
    worker = worker_id("force")
    acquired = parse_acquired(
        db.call("fanvue_acquire_model", model_id=model_id, worker=worker, lease_seconds=int(budget) + 60, kind="force")
    )
    if isinstance(acquired, LeaseHeld):
        return acquired
    run = db.call("fanvue_start_run", kind="force", worker=worker, budget_seconds=int(budget))
    deadline = time.monotonic() + budget
    http = _LazyHttp(max_connections=10)
    try:
        result = sync_one(
            db,
            acquired,
            worker=worker,
            config=config,
            run_end=datetime.now(UTC),
            deadline=deadline,
            options=options,
            http=http.get() if acquired.syncable else None,
        )
    finally:
        http.close()
    if result.outcome == "ok":
        # Under the lease: make the stored totals and the daily roll-up equal the ledger again, even if
        # something bypassed the trigger (diagnose's ledger_equals_stored fix).
        repaired = db.call("fanvue_recompute_revenue", model_id=model_id)
        result.revenue_after_cents = repaired["after_gross_cents"]
    finish_model(db, str(run["id"]), worker, result, config)
    status = {"ok": "ok", "dry_run": "ok", "partial": "partial"}.get(result.outcome, "failed")
    db.call(
        "fanvue_finish_run",
        run_id=str(run["id"]),
        status=status,
        summary=result.as_json(),
        error=result.error if result.outcome == "failed" else None,
    )
    return Synced(result, str(run["id"]))
