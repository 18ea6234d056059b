"""The sandbox playing the OnyxOS fixture (fanvue_sandbox.onyxos) over real HTTP.

The legacy sales are re-derived here from the fixture's SQL (tests/fixtures/onyxos/onyxos-data.sql),
independently of the reviewed table in fanvue_sandbox/onyxos_sales.py, and every history is pulled
with the real FanvueClient, so the sandbox cannot drift from the fixture unnoticed.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from fanvue_sandbox import FanvueSandbox
from fanvue_sandbox.cli import main as cli_main
from fanvue_sandbox.onyxos import (
    AGENCY_GRANT,
    LANA,
    LEXI,
    LEXI_GRANT,
    MIA,
    MISFILED_ROW_IDS,
    OLIVIA,
    OLIVIA_GRANT,
    expected_totals,
    legacy_sales,
    never_fetched_sales,
    onyxos_config,
)
from fanvue_sandbox.testkit import API_VERSION_HEADER
from lib.fanvue import oauth
from lib.fanvue.client import FanvueClient
from lib.fanvue.errors import InvalidGrant
from lib.fanvue.models import EARNING_SOURCES, TokenSet
from lib.fanvue.ratelimit import Pacer
from lib.sync.paging import earnings_fetch, walk

DATA_SQL = Path(__file__).resolve().parents[1] / "fixtures" / "onyxos" / "onyxos-data.sql"
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
LEGACY_CURSOR = "2024-01-01T00:00:00.000Z"
MODEL_HANDLE = {LANA.model_id: LANA.handle, OLIVIA.model_id: OLIVIA.handle, LEXI.model_id: LEXI.handle}
Key = tuple[str, str, int, str | None]  # date, source, gross cents, fan uuid


# --------------------------------------------------------------------------- the fixture's rows

_LITERAL = re.compile(r"\s*(NULL|'(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*(,|\))")


def _tuples(values: str) -> Iterator[list[str | None]]:
    """SQL VALUES tuples -> lists of literals (strings unquoted, NULL -> None, numbers as text)."""
    pos = 0
    while True:
        start = values.find("(", pos)
        if start < 0:
            return
        pos, row = start + 1, []
        while True:
            m = _LITERAL.match(values, pos)
            assert m, f"unparsable literal at {values[pos : pos + 40]!r}"
            lit = m.group(1)
            row.append(None if lit == "NULL" else lit[1:-1].replace("''", "'") if lit[0] == "'" else lit)
            pos = m.end()
            if m.group(2) == ")":
                break
        yield row


def legacy_rows() -> list[dict[str, Any]]:
    """Every fanvue_transactions row the fixture inserts, as dicts."""
    sql = DATA_SQL.read_text()
    rows = []
    for m in re.finditer(r"INSERT INTO public\.fanvue_transactions \(([^)]*)\) VALUES(.*?);\n", sql, re.DOTALL):
        cols = [c.strip() for c in m.group(1).split(",")]
        rows += [dict(zip(cols, t, strict=True)) for t in _tuples(m.group(2))]
    return rows


def sale_key(date: str, source: str, gross_cents: int, fan: str | None) -> Key:
    return date, source, gross_cents, fan


def distinct_legacy_sales() -> dict[str, dict[Key, int]]:
    """{handle: {sale key: net cents}}: legacy rows deduped across K1/K2/K3 keys, the misfiled
    rows attributed to Olivia (the fixture says they are her sales)."""
    out: dict[str, dict[Key, int]] = defaultdict(dict)
    for r in legacy_rows():
        handle = OLIVIA.handle if r["id"] in MISFILED_ROW_IDS else MODEL_HANDLE[r["model_id"]]
        gross = int(Decimal(r["amount"]) * 100)
        net = int((Decimal(r["amount"]) - Decimal(r["platform_fee"])) * 100)
        key = sale_key(r["transaction_date"], r["description"], gross, r["fan_id"])
        assert out[handle].get(key, net) == net, f"duplicates of {key} disagree on the net"
        out[handle][key] = net
    return dict(out)


def history_keys(items: list[dict[str, Any]]) -> dict[Key, int]:
    keys = {sale_key(i["date"], i["source"], i["gross"], (i["user"] or {}).get("uuid")): i["net"] for i in items}
    assert len(keys) == len(items), "two Fanvue items with the same date, source, gross and fan"
    return keys


# --------------------------------------------------------------------------- helpers


def token_request(sb: FanvueSandbox, refresh_token: str) -> httpx.Response:
    cfg = sb.config
    return httpx.post(
        f"{sb.base_url}/oauth2/token",
        auth=(cfg.client_id, cfg.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        timeout=10,
    )


def get(sb: FanvueSandbox, path: str, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{sb.base_url}{path}", timeout=10, headers={"Authorization": f"Bearer {access_token}", **API_VERSION_HEADER}
    )


class Refreshing:
    """TokenProvider over one grant: refreshes for real on a 401 (the fixture's tokens are expired)."""

    def __init__(self, sb: FanvueSandbox, access: str, refresh: str) -> None:
        self.sb, self.refreshes = sb, 0
        self.tokens = TokenSet(access_token=access, refresh_token=refresh, expires_at=datetime.now(UTC))

    def access_token(self) -> str:
        return self.tokens.access_token

    def refresh_after_unauthorized(self, rejected: str) -> str:
        cfg = self.sb.config
        with httpx.Client(timeout=10) as http:
            self.tokens = oauth.refresh(
                http, self.sb.base_url or "", cfg.client_id, cfg.client_secret, self.tokens.refresh_token or ""
            )
        self.refreshes += 1
        return self.tokens.access_token


def pull(sb: FanvueSandbox, tokens: Refreshing, owner_uuid: str, creator_uuid: str | None) -> list[dict[str, Any]]:
    end = datetime.now(UTC) + timedelta(minutes=5)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    with FanvueClient(tokens, owner_uuid=owner_uuid, api_base=sb.base_url or "", pacer=Pacer()) as client:
        # The engine's walk re-reads page boundaries; the ledger's upsert keys on the order id, so do we.
        for page in walk(earnings_fetch(client, creator_uuid), EPOCH, end, sources=EARNING_SOURCES):
            for raw in page.raw:
                if raw["transactionOrderId"] not in seen:
                    seen.add(raw["transactionOrderId"])
                    rows.append(raw)
    return rows


def truth_items(sb: FanvueSandbox, handle: str) -> dict[str, Any]:
    return sb.ground_truth(creator=handle)[sb.creator(handle).uuid]["earnings"]


@pytest.fixture(scope="module")
def live() -> Iterator[FanvueSandbox]:
    """The fixture's world with the agency grant kept alive (read-only use)."""
    with FanvueSandbox(onyxos_config(agency_grant_alive=True, rate_limit=100_000)) as sb:
        yield sb


@pytest.fixture()
def fresh() -> Iterator[FanvueSandbox]:
    """The fixture's world as the fixture implies it (agency grant dead); one per test: tokens rotate."""
    with FanvueSandbox(onyxos_config()) as sb:
        yield sb


# --------------------------------------------------------------------------- the table vs the SQL


def test_reviewed_table_is_exactly_the_fixtures_distinct_sales() -> None:
    derived = distinct_legacy_sales()
    for handle in (LANA.handle, OLIVIA.handle, LEXI.handle):
        table = {
            sale_key(
                datetime.fromtimestamp(s.date_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{s.date_ms % 1000:03d}Z",
                s.source,
                s.gross,
                s.fan_uuid,
            ): s.net
            for s in legacy_sales(handle)
        }
        assert table == derived[handle], handle
    # the numbers the fixture's header states: distinct sales and their gross per creator
    assert {h: (len(v), sum(k[2] for k in v)) for h, v in derived.items()} == {
        "lanaa": (100, 142163),
        "oliviarae": (72, 79604),
        "lexi.vale": (12, 30495),
    }
    rows = {r["id"]: r for r in legacy_rows()}
    assert len(rows) == 292
    assert {rows[i]["model_id"] for i in MISFILED_ROW_IDS} == {LANA.model_id}


def test_never_fetched_sales_lie_outside_what_the_legacy_sync_read() -> None:
    last_read = {
        LANA.handle: "2026-02-06T13:40:09.770Z",
        OLIVIA.handle: "2026-02-06T20:31:12.377Z",
        LEXI.handle: "2026-02-04T17:05:20.117Z",
    }
    cursor_ms = int(datetime.fromisoformat(LEGACY_CURSOR).timestamp() * 1000)
    for handle, after in last_read.items():
        after_ms = int(datetime.fromisoformat(after).timestamp() * 1000)
        extra = never_fetched_sales(handle)
        assert extra and all(s.date_ms < cursor_ms or s.date_ms > after_ms for s in extra), handle
        assert max(s.date_ms for s in legacy_sales(handle)) <= after_ms
    # Olivia's stored revenue_total (796.04, Fanvue's all-time gross when written) stays true
    assert all(s.date_ms > cursor_ms for s in never_fetched_sales(OLIVIA.handle))
    assert never_fetched_sales(MIA.handle) and not legacy_sales(MIA.handle)


# --------------------------------------------------------------------------- accounts and tokens


def test_fixture_access_tokens_are_expired(fresh: FanvueSandbox) -> None:
    for g in (AGENCY_GRANT, OLIVIA_GRANT, LEXI_GRANT):
        assert get(fresh, "/users/me", g.access_token).status_code == 401, g.handle


def test_olivias_refresh_token_works_and_rotates(fresh: FanvueSandbox) -> None:
    r = token_request(fresh, OLIVIA_GRANT.refresh_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["refresh_token"] != OLIVIA_GRANT.refresh_token
    me = get(fresh, "/users/me", body["access_token"]).json()
    assert (me["uuid"], me["handle"]) == (OLIVIA.uuid, OLIVIA.handle)
    again = token_request(fresh, OLIVIA_GRANT.refresh_token)  # the used token: reuse detection
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_dead_refresh_tokens_answer_invalid_grant(fresh: FanvueSandbox) -> None:
    for g in (LEXI_GRANT, AGENCY_GRANT):  # the fixture's agency grant already failed with invalid_grant
        r = token_request(fresh, g.refresh_token)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", g.handle
        with httpx.Client(timeout=10) as http, pytest.raises(InvalidGrant):
            oauth.refresh(
                http, fresh.base_url or "", fresh.config.client_id, fresh.config.client_secret, g.refresh_token
            )


def test_agency_grant_kept_alive_is_lanas_account_managing_herself() -> None:
    with FanvueSandbox(onyxos_config(agency_grant_alive=True)) as sb:
        r = token_request(sb, AGENCY_GRANT.refresh_token)
        assert r.status_code == 200, r.text
        assert r.json()["refresh_token"] != AGENCY_GRANT.refresh_token
        token = r.json()["access_token"]
        me = get(sb, "/users/me", token).json()
        assert (me["uuid"], me["handle"]) == (LANA.uuid, LANA.handle)
        creators = get(sb, "/creators?size=50", token).json()["data"]
        assert [(c["uuid"], c["handle"]) for c in creators] == [(LANA.uuid, LANA.handle)]
        assert get(sb, f"/creators/{OLIVIA.uuid}/insights/earnings", token).status_code == 404


def test_every_creator_answers_with_the_fixtures_uuid_and_handle(fresh: FanvueSandbox) -> None:
    for c in (LANA, OLIVIA, LEXI, MIA):  # a reconnect (new authorization) reaches each account
        token = fresh.issue_grant(c.handle, "openid offline_access read:self read:insights")["access_token"]
        me = get(fresh, "/users/me", token).json()
        assert (me["uuid"], me["handle"], me["displayName"]) == (c.uuid, c.handle, c.name)


# --------------------------------------------------------------------------- histories


def test_histories_hold_every_distinct_legacy_sale_under_the_right_creator(live: FanvueSandbox) -> None:
    derived = distinct_legacy_sales()
    misfiled = {
        sale_key(r["transaction_date"], r["description"], int(Decimal(r["amount"]) * 100), r["fan_id"])
        for r in legacy_rows()
        if r["id"] in MISFILED_ROW_IDS
    }
    assert len(misfiled) == 4
    agency = Refreshing(live, AGENCY_GRANT.access_token, AGENCY_GRANT.refresh_token)
    lana_agency_route = pull(live, agency, LANA.uuid, LANA.uuid)
    lana_personal_route = pull(live, agency, LANA.uuid, None)
    assert agency.refreshes == 1  # the fixture's expired access token forced exactly one refresh
    assert lana_agency_route == lana_personal_route  # her own account runs the agency
    olivia = Refreshing(live, OLIVIA_GRANT.access_token, OLIVIA_GRANT.refresh_token)
    histories = {LANA.handle: lana_agency_route, OLIVIA.handle: pull(live, olivia, OLIVIA.uuid, None)}
    for c in (LEXI, MIA):  # dead or never granted: read through a fresh authorization
        g = live.issue_grant(c.handle, "openid offline_access read:self read:insights")
        histories[c.handle] = pull(live, Refreshing(live, g["access_token"], g["refresh_token"]), c.uuid, None)

    totals = expected_totals()
    for c in (LANA, OLIVIA, LEXI, MIA):
        items = histories[c.handle]
        truth = truth_items(live, c.handle)
        assert items == truth["items"], c.handle  # the client read exactly the truth, newest first
        keys = history_keys(items)
        legacy = derived.get(c.handle, {})
        assert {k: keys.get(k) for k in legacy} == legacy, c.handle  # same date, source, gross, fan, net
        assert len(keys) == len(legacy) + len(never_fetched_sales(c.handle)), c.handle
        assert truth["gross"] == sum(i["gross"] for i in items) == totals[c.handle]["gross"]
        assert truth["net"] == sum(i["net"] for i in items) == totals[c.handle]["net"]
        assert truth["count"] == len(items) == totals[c.handle]["count"]
    assert misfiled <= set(history_keys(histories[OLIVIA.handle]))
    assert not misfiled & set(history_keys(histories[LANA.handle]))
    assert {h: (t["count"], t["gross"]) for h, t in totals.items()} == {
        "lanaa": (110, 154110),
        "oliviarae": (76, 82803),
        "lexi.vale": (17, 38493),
        "mia.rose": (3, 2999),
    }


def test_cli_onyxos_switch_serves_the_fixtures_creators(capsys: pytest.CaptureFixture[str]) -> None:
    ready, stop = threading.Event(), threading.Event()
    rc: list[int] = []
    th = threading.Thread(target=lambda: rc.append(cli_main(["--port", "0", "--onyxos"], ready=ready, stop=stop)))
    th.start()
    try:
        assert ready.wait(10)
        out = capsys.readouterr().out
        base = out.split("listening on ")[1].split()[0]
        assert f"lanaa    {LANA.uuid}" in out and "agency admin, manages lanaa" in out
        info = httpx.get(base + "/_sandbox/info", timeout=10).json()
        assert {u["handle"]: u["uuid"] for u in info["users"]} == {c.handle: c.uuid for c in (LANA, OLIVIA, LEXI, MIA)}
        with httpx.Client(timeout=10) as http:
            tokens = oauth.refresh(http, base, info["client_id"], info["client_secret"], OLIVIA_GRANT.refresh_token)
        assert tokens.refresh_token != OLIVIA_GRANT.refresh_token
    finally:
        stop.set()
        th.join(10)
    assert rc == [0]
