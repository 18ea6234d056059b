"""Minimized from a chaos probe: a refresh whose answer is lost must not lead to a refresh-token reuse.

`ConnectionTokens._rotate` (lib/tokens.py) posts the stored refresh token RT1 to Fanvue's token
endpoint with a 15 s client timeout. When Fanvue rotates (RT1 is now spent, RT2 issued) but its answer
arrives after the timeout, `oauth.refresh` raises OAuthUnavailable ("token endpoint unreachable:
ReadTimeout"), `_rotate` records an ordinary failed refresh and RT1 stays stored as if nothing
happened. The next tick presents RT1 again: Fanvue (Ory) sees a reused refresh token and revokes the
whole grant, and the connection ends as needs_reconnect ("The refresh token was already used.").
RT2 existed only in the timed-out response, so the grant cannot be saved either way; what must not
happen is replaying a token that may be spent (that is what Ory's reuse detection treats as theft).
A timeout after the request was sent is an unknown outcome, not a failure.
"""

from __future__ import annotations


def test_a_timed_out_refresh_is_never_replayed(one_creator):
    stack, _ = one_creator()
    status, body = stack.cron()
    assert status == 200 and body["status"] == "ok", body
    stack.sandbox.advance_clock(3700)  # the access token expired at Fanvue: the next sync refreshes
    # Fanvue rotates at once but answers after 16 s, past the token client's 15 s timeout
    stack.sandbox.set_faults(slow_ms={"ms": 16_000, "path_regex": "^/oauth2/token"})
    status, first = stack.cron()
    stack.sandbox.clear_faults()
    assert status == 200 and first["models"][0]["outcome"] == "failed", first
    stack.sql().execute("update fanvue_sync_state set next_sync_at = now()")
    status, _second = stack.cron()
    assert status == 200
    stats = stack.sandbox.stats()
    connection = stack.sql().execute("select status, status_reason from fanvue_connections").fetchone()
    assert stats["refresh_token_reuses"] == 0, (
        f"the spent refresh token was presented again: {stats['refresh_token_reuses']} reuse(s), "
        f"{stats['grants_revoked']} grant(s) revoked by Fanvue; connection {connection}"
    )
