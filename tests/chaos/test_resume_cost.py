"""Minimized from the chaos suite: resuming an interrupted first backfill must not read history twice.

A first backfill that stops early (time budget -> outcome "partial", or a killed process) leaves
`progress = {"earnings": {"start": history_start, "end": E1, "resume_end": r}}` with no watermark.
The next run's `ModelSync._windows` (lib/sync/engine.py) resumes that window ([history_start, r)) and
then adds a second window [start, E2) where, with no watermark, start = history_start; the adjustment
`start = min(start, windows[0].end - lookback)` can only move it earlier. So after finishing the
interrupted window the run reads the whole history again: a backfill that needs more than one
invocation costs about twice the requests (and twice the rate-limit budget, i.e. twice the wall time)
of an uninterrupted one. The ledger stays right (upserts are idempotent); only the cost doubles.
"""

from __future__ import annotations


def _earnings_requests(stack) -> int:
    routes = stack.sandbox.stats()["requests"]["by_route"]
    return sum(n for route, n in routes.items() if "earnings" in route and "summary" not in route)


def test_resumed_backfill_reads_each_page_about_once(one_creator):
    stack, model = one_creator(items=3000, history_days=400, tie_share=0.0)
    sql = stack.sql()
    before = _earnings_requests(stack)
    status, body = stack.cron()
    assert status == 200 and body["status"] == "ok", body
    uninterrupted = _earnings_requests(stack) - before
    # The exact state a first backfill leaves when it stops after its newest pages (10 days stored).
    sql.execute(
        """update fanvue_sync_state
                      set watermark = null, backfill_completed_at = null,
                          progress = jsonb_build_object('earnings', jsonb_build_object(
                            'start', history_start, 'end', watermark,
                            'resume_end', watermark - interval '10 days'))
                    where model_id = %s""",
        (model,),
    )
    before = _earnings_requests(stack)
    status, body = stack.cron()
    assert status == 200 and body["status"] == "ok", body
    resumed = _earnings_requests(stack) - before
    fetched = body["models"][0]["fetched"]
    assert resumed <= 1.15 * uninterrupted, (
        f"resuming took {resumed} requests and fetched {fetched} items; the whole backfill takes "
        f"{uninterrupted} requests for 3000 items"
    )
