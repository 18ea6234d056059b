"""More lines in one millisecond than fit on a page (batch jobs stamp renewals or mass-message unlocks
with one instant).

The walk (lib/sync/paging.py) narrows `endDate` to (oldest date on the page + 1 ms); a page entirely at
one millisecond T cannot narrow. The sandbox's cursor encodes only the date, as Fanvue's published
example does, so it is unreliable for such a group in both of its modes: `date < cursor` ("skip") jumps
below T and `date <= cursor` ("repeat") returns the same page forever. The walk must then read the group
by source, store every line exactly once, continue below T, and say so in the run record; when even one
source holds more than a page at T it must store what it can, sync the rest, and fail loudly.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest


def _earnings_requests(stack: Any) -> int:
    routes = stack.sandbox.stats()["requests"]["by_route"]
    return sum(n for route, n in routes.items() if "earnings" in route and "summary" not in route)


def _lines(items: list[dict[str, Any]]) -> Counter[str]:
    """Lines as a multiset of their full content (some lines have no order id)."""
    return Counter(json.dumps(item, sort_keys=True) for item in items)


def _stored(stack: Any, model: str) -> Counter[str]:
    rows = (
        stack.sql()
        .execute("select raw from fanvue_transactions where model_id = %s and kind = 'earning'", (model,))
        .fetchall()
    )
    return _lines([r[0] for r in rows])


def _run_summary(stack: Any, run_id: str) -> dict[str, Any]:
    return stack.sql().execute("select summary from sync_runs where id = %s", (run_id,)).fetchone()[0]


@pytest.mark.parametrize("cursor_tie_mode", ["skip", "repeat"])
def test_a_group_wider_than_a_page_is_stored_exactly_once_and_recorded(one_creator, cursor_tie_mode):
    stack, model = one_creator(
        items=200, history_days=100, tie_share=0.0, unknown_source_share=0.0, cursor_tie_mode=cursor_tie_mode
    )
    ava = stack.sandbox.creator("ava").uuid
    ledger = stack.sandbox.world.earnings[ava]
    ledger.add(70, 0)  # 70 more sales stamped with the newest existing millisecond
    assert sum(1 for t in ledger.ts if t == ledger.ts[-1]) > 50
    before = _earnings_requests(stack)
    status, body = stack.cron()
    assert status == 200, body
    requests = _earnings_requests(stack) - before
    result = body["models"][0]
    truth = stack.sandbox.ground_truth(include_items=True, creator="ava")[ava]["earnings"]
    stored = _stored(stack, model)
    assert result["outcome"] == "ok", result
    assert stored == _lines(truth["items"])  # every line, each exactly once
    assert stored.total() == truth["count"]
    assert requests < 30, f"{requests} requests for {truth['count']} lines"
    assert result["tie_fallbacks"] == 1
    assert "71 lines share" in result["notes"][0] and "one request per source" in result["notes"][0]
    summary = _run_summary(stack, body["run_id"])  # the run history keeps it
    assert summary["totals"]["tie_fallbacks"] == 1
    assert summary["notes"] == [{"model_id": model, "name": "Ava", "note": result["notes"][0]}]


def test_a_single_source_wider_than_a_page_fails_loudly_after_syncing_the_rest(one_creator):
    # nearly every line is a referral, so the one millisecond holds more than a page of a single source
    stack, model = one_creator(
        items=200, history_days=100, tie_share=0.0, unknown_source_share=0.0, spec={"fanless_share": 0.95}
    )
    ava = stack.sandbox.creator("ava").uuid
    ledger = stack.sandbox.world.earnings[ava]
    ledger.add(150, 0)
    tied = sum(1 for t in ledger.ts if t == ledger.ts[-1])
    status, body = stack.cron()
    assert status == 200, body
    result = body["models"][0]
    truth = stack.sandbox.ground_truth(include_items=True, creator="ava")[ava]["earnings"]
    stored = _stored(stack, model)
    assert result["outcome"] == "failed" and "cannot list them all" in result["error"], result
    assert stored <= _lines(truth["items"])  # nothing twice, nothing invented
    assert _lines(truth["items"][tied:]) <= stored  # not stuck: everything below the millisecond was synced
    assert truth["count"] - tied < stored.total() < truth["count"]
    run_error = (
        stack.sql().execute("select error from sync_run_models where run_id = %s", (body["run_id"],)).fetchone()[0]
    )
    assert "cannot list them all" in run_error
