"""Minimized from a chaos probe: more items in one millisecond than fit on a page.

`walk_window` (lib/sync/engine.py) narrows `endDate` to (oldest date on the page + 1 ms) after each
page; when a whole page shares one millisecond T that cannot move, so it follows `nextCursor`, which
encodes only the date. What happens next depends on Fanvue's tie rule, and both are wrong:
  * `date < cursor` (the sandbox default, "skip"): the rest of the group at T is skipped for good; the
    run ends "ok" and revenue is silently short;
  * `date <= cursor` ("repeat"): the same page comes back forever; every run spends its whole time
    budget and rate-limit bucket on it, ends "partial", resumes at the same spot, and the older history
    is never synced.
(ModelSync builds a new client walk per page, so the client's own repeated-cursor check never fires.)
Groups like this come from batch jobs (renewals, mass-message unlocks) stamped with one instant. The
sandbox's generated tie groups are 2-5 items, so the randomized chaos schedule never reaches this.
"""
from __future__ import annotations

import pytest


def _earnings_requests(stack) -> int:
    routes = stack.sandbox.stats()["requests"]["by_route"]
    return sum(n for route, n in routes.items() if "earnings" in route and "summary" not in route)


@pytest.mark.parametrize("cursor_tie_mode", ["skip", "repeat"])
def test_a_group_wider_than_a_page_is_stored_or_reported_never_lost_or_looped(one_creator, cursor_tie_mode):
    # a 5 s time budget, so the looping variant ends quickly (the loop spends whatever budget there is)
    stack, model = one_creator(items=200, history_days=100, tie_share=0.0, cursor_tie_mode=cursor_tie_mode,
                               env={"SYNC_MAX_DURATION_S": "15", "SYNC_SAFETY_MARGIN_S": "10"})
    ava = stack.sandbox.creator("ava").uuid
    ledger = stack.sandbox.world.earnings[ava]
    ledger.add(70, 0)  # 70 more sales stamped with the newest existing millisecond
    assert sum(1 for t in ledger.ts if t == ledger.ts[-1]) > 50
    before = _earnings_requests(stack)
    status, body = stack.cron()
    assert status == 200, body
    requests = _earnings_requests(stack) - before
    result = body["models"][0]
    stored = stack.sql().execute("select count(*) from fanvue_transactions where model_id = %s",
                                 (model,)).fetchone()[0]
    truth = stack.sandbox.ground_truth(include_items=False)[ava]["earnings"]["count"]
    assert requests < 60, f"{requests} requests for {truth} items: paging loops on the tied page"
    assert stored == truth or (result["outcome"] == "failed" and result["error"]), (
        f"outcome {result['outcome']!r} with {stored} of {truth} items stored")
