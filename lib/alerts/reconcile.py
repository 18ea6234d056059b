"""The reconcile's comparison with Fanvue's own totals, for each model the reconcile synced.

Two summary requests per model: [window start, window end) gives Fanvue's gross for the reconciled
window, and [window end, now) gives what Fanvue earned after it, so Fanvue's all-time gross before the
window end follows from `totals.allTime`. Both are compared with the ledger over the same ranges. A
difference equal to the ledger's pending orders (Fanvue may count them only once paid) is explained;
sales after the window end never count, because both sides stop there. Anything else is unexplained.
"""

from __future__ import annotations

import time
from typing import Any

from lib.config import Settings
from lib.db import Database
from lib.fanvue.routes import creator_route
from lib.safe_log import describe_exception
from lib.sync.work import WorkItem
from lib.timeutil import parse_utc


def _cents(value: Any) -> int | None:
    try:
        return None if value is None else round(float(value))
    except (TypeError, ValueError):
        return None


def range_gross(summary: dict[str, Any]) -> int | None:
    """Gross over the summary's date range: the source breakdown, else the sum of the chart series."""
    for key in ("breakdownBySource", "overTime"):
        part = summary.get(key)
        values = list(part.values()) if isinstance(part, dict) else part if isinstance(part, list) else None
        if values:
            cents = [_cents((v or {}).get("gross")) if isinstance(v, dict) else None for v in values]
            if all(c is not None for c in cents):
                return sum(cents)  # type: ignore[arg-type]
    return 0 if isinstance(summary.get("breakdownBySource"), dict) else None


def _explained(diff: int | None, pending: int) -> bool:
    return diff is None or diff == 0 or abs(diff) == pending


def compare_models(
    db: Database, config: Settings, results: list[Any], deadline: float, worker: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """(entries for fanvue_evaluate_incidents, errors). A model Fanvue could not answer for is left out
    (its incident neither opens nor clears)."""
    from lib.sync.runner import make_client

    entries: list[dict[str, Any]] = []
    errors: list[str] = []
    for result in results:
        if result.outcome != "ok" or not result.window_start or not result.window_end:
            continue
        if time.monotonic() > deadline - 2:
            errors.append("time budget reached before every model was compared")
            break
        start, end = result.window_start, result.window_end
        rows = db.call("fanvue_reconcile_ledger", model_id=result.model_id, start=start, end=end)
        if not rows:
            continue
        row = rows[0]
        work = WorkItem(
            model_id=str(result.model_id),
            name=str(row["name"]),
            connection_id=str(row["connection_id"]),
            connection_user_uuid=str(row["connection_user_uuid"]),
        )
        creator = creator_route(row["connection_kind"], row["connection_user_uuid"], row["fanvue_user_uuid"])
        client = make_client(db, work, worker=worker, config=config, deadline=deadline)
        try:
            window = client.earnings_summary(creator, start=start, end=end)
            after = client.earnings_summary(creator, start=end)
        except Exception as exc:
            errors.append(f"{row['name']}: {describe_exception(exc)}")
            continue
        finally:
            client.close()
        fanvue_window = range_gross(window)
        all_time = _cents(((window.get("totals") or {}).get("allTime") or {}).get("gross"))
        fanvue_after = range_gross(after)
        fanvue_total = None if all_time is None or fanvue_after is None else all_time - fanvue_after
        ledger_window, ledger_total = int(row["window_gross_cents"]), int(row["before_end_gross_cents"])
        window_diff = None if fanvue_window is None else fanvue_window - ledger_window
        total_diff = None if fanvue_total is None else fanvue_total - ledger_total
        entries.append(
            {
                "model_id": result.model_id,
                "unexplained": not (
                    _explained(window_diff, int(row["window_pending_cents"]))
                    and _explained(total_diff, int(row["before_end_pending_cents"]))
                ),
                "window_start": parse_utc(start).isoformat(),
                "window_end": parse_utc(end).isoformat(),
                "fanvue_window_cents": fanvue_window,
                "ledger_window_cents": ledger_window,
                "fanvue_total_cents": fanvue_total,
                "ledger_total_cents": ledger_total,
                "pending_cents": int(row["before_end_pending_cents"]),
            }
        )
    return entries, errors
