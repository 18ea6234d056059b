"""Minimized from the chaos suite: overlapping cron ticks must not rotate one connection's token twice.

Every cron tick starts with `refresh_due_tokens` (lib/sync/runner.py): it lists the connections whose
access token expires within TOKEN_REFRESH_MARGIN_S + 300 s (or that have been idle for a day), then
calls `ConnectionTokens(...).refresh(force=True)` on each. A fresh ConnectionTokens has no
`_version`, so the claim is made with `p_force = true, p_seen_version = null`, which
`fanvue_claim_token_refresh` treats as "refresh no matter what". Two ticks that overlap both list the
connection before either stores its rotation; the second one waits out the first one's refresh lease
('busy') and then rotates the brand-new token again. Each extra rotation revokes the access token
every in-flight sync of that connection was just handed (Fanvue/Ory revoke a grant's previous access
tokens on refresh), so those syncs take a 401, and a retry that lands after yet another rotation fails
the model ("still unauthorized after refreshing the token"); each rotation is also one more chance to
lose a rotated pair to a crash. Single-flight means one rotation per expiry, however many ticks overlap.
"""

from __future__ import annotations

import threading

import pytest


@pytest.mark.parametrize("why", ["expiring", "idle"])
def test_overlapping_cron_ticks_rotate_a_due_token_once(one_creator, why):
    stack, _ = one_creator()
    status, body = stack.cron()
    assert status == 200 and body["status"] == "ok", body
    sql = stack.sql()
    before = stack.sandbox.stats()["refreshes"]
    if why == "expiring":  # 8 minutes left: inside the cron's proactive margin (300 + 300 s), not a sync's
        sql.execute("update fanvue_connections set expires_at = now() + interval '8 minutes'")
    else:  # unused for two days: the cron rotates it so the refresh token never goes stale
        sql.execute("update fanvue_connections set last_refresh_at = now() - interval '2 days'")
    # Fanvue's token endpoint answering in 300 ms (Ory over the internet) is what lets the ticks overlap
    stack.sandbox.set_faults(slow_ms={"ms": 300, "path_regex": "^/oauth2/token"})
    results = []
    ticks = [threading.Thread(target=lambda: results.append(stack.cron())) for _ in range(3)]
    for t in ticks:
        t.start()
    for t in ticks:
        t.join()
    stack.sandbox.clear_faults()
    assert [status for status, _ in results] == [200, 200, 200]
    stats = stack.sandbox.stats()
    assert stats["refresh_token_reuses"] == 0
    assert stats["refreshes"] - before == 1, (
        f"{stats['refreshes'] - before} rotations for one due token; the ticks report "
        f"{[body['tokens_refreshed'] for _, body in results]} refreshed"
    )
