"""Helpers for the database API tests: ledger items, a model, and the ledger invariants.

The invariants are checked against the real tables with plain SQL aggregates, never against what the
functions report about themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from tests.factories import World, make_agency, make_connection, make_model


@dataclass
class Leased:
    world: World
    connection_id: str
    model_id: str
    worker: str


def item(
    key: str,
    gross: int = 1000,
    net: int | None = None,
    *,
    kind: str = "earning",
    date: str = "2026-01-10T12:00:00Z",
    source: str = "tip",
    **extra: Any,
) -> dict:
    """One normalized ledger item, as lib.sync hands it to fanvue_ingest_page."""
    out = {
        "key": key,
        "kind": kind,
        "date": date,
        "source": source,
        "gross": gross,
        "net": int(gross * 0.8) if net is None else net,
        "currency": "USD",
        "raw": {"key": key},
    }
    out.update(extra)
    return out


def new_model(sql: psycopg.Connection, *, kind: str = "creator", name: str | None = None) -> tuple[World, str, str]:
    world = make_agency(sql, name or f"Agency {uuid.uuid4().hex[:6]}")
    connection_id = make_connection(sql, world.agency_id, kind=kind)
    model_id = make_model(sql, world.agency_id, name or f"Model {uuid.uuid4().hex[:6]}", connection_id)
    return world, connection_id, model_id


def close_window(db, model_id: str, worker: str, start: Any, end: Any, stream: str = "earnings", **kw: Any) -> dict:
    """A window's empty last page: how a window with nothing in it is closed (the watermark moves)."""
    return db.call(
        "fanvue_ingest_page",
        items=[],
        last_page=True,
        model_id=model_id,
        worker=worker,
        stream=stream,
        window_start=start,
        window_end=end,
        **kw,
    )


def ingest(db, lease: Leased, items: list, **kw: Any) -> dict:
    kw.setdefault("stream", "earnings")
    return db.call("fanvue_ingest_page", model_id=lease.model_id, worker=lease.worker, items=items, **kw)


def sync_state(sql: psycopg.Connection, model_id: str) -> dict:
    cur = sql.execute("select * from fanvue_sync_state where model_id = %s", (model_id,))
    names = [d.name for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=False)) if row else {}


def ledger_rows(sql: psycopg.Connection, model_id: str) -> list[tuple]:
    return sql.execute(
        "select dedupe_key, kind, transaction_date, source, gross_cents, net_cents, order_status, raw, updated_at"
        " from fanvue_transactions where model_id = %s order by dedupe_key",
        (model_id,),
    ).fetchall()


TOTALS_FROM_LEDGER = """
select m.id,
       coalesce(sum(t.gross_cents) filter (where t.kind = 'earning'), 0)::bigint,
       coalesce(sum(t.net_cents) filter (where t.kind = 'earning'), 0)::bigint,
       coalesce(sum(t.gross_cents) filter (where t.kind <> 'earning'), 0)::bigint,
       coalesce(sum(t.net_cents) filter (where t.kind <> 'earning'), 0)::bigint,
       count(t.id) filter (where t.kind = 'earning'),
       count(t.id) filter (where t.kind <> 'earning')
  from models m left join fanvue_transactions t on t.model_id = m.id
 where m.id = any(%s::uuid[])
 group by m.id order by m.id
"""
TOTALS_STORED = """
select id, revenue_gross_cents, revenue_net_cents, revenue_refund_cents, refund_net_cents,
       transaction_count, refund_count
  from models where id = any(%s::uuid[]) order by id
"""


def all_model_ids(sql: psycopg.Connection) -> list[str]:
    return [str(r[0]) for r in sql.execute("select id from models").fetchall()]


def assert_totals_consistent(sql: psycopg.Connection, model_ids: list[str] | None = None) -> None:
    """models' cents, counts and dollar columns equal sums over fanvue_transactions."""
    ids = model_ids if model_ids is not None else all_model_ids(sql)
    expected = sql.execute(TOTALS_FROM_LEDGER, (ids,)).fetchall()
    stored = sql.execute(TOTALS_STORED, (ids,)).fetchall()
    assert stored == expected
    bad = sql.execute(
        "select id from models where id = any(%s::uuid[]) and ("
        " revenue_total <> revenue_gross_cents::numeric / 100 or net_revenue_total <> revenue_net_cents::numeric / 100"
        " or refund_total <> revenue_refund_cents::numeric / 100)",
        (ids,),
    ).fetchall()
    assert bad == []
    bad_rows = sql.execute(
        "select id from fanvue_transactions where model_id = any(%s::uuid[]) and (amount <> gross_cents::numeric / 100"
        " or net_amount <> net_cents::numeric / 100"
        " or platform_fee <> (gross_cents - net_cents)::numeric / 100 or fan_id is distinct from fan_uuid"
        " or fan_username is distinct from fan_handle"
        " or agency_id is distinct from (select m.agency_id from models m where m.id = model_id)"
        " or transaction_type <> case when kind <> 'earning' then 'other'"
        "   when source in ('subscription', 'renewal') then 'subscription'"
        "   when source in ('tip', 'ppv', 'message', 'post', 'stream') then source"
        "   when source = 'livestream' then 'stream' else 'other' end)",
        (ids,),
    ).fetchall()
    assert bad_rows == []


def assert_daily_consistent(sql: psycopg.Connection, model_ids: list[str] | None = None) -> None:
    """fanvue_ledger_daily and fanvue_ledger_monthly equal a GROUP BY over the ledger (all-zero roll-up
    rows count as absent)."""
    ids = model_ids if model_ids is not None else all_model_ids(sql)
    expected = sql.execute(
        "select model_id, (transaction_date at time zone 'UTC')::date, kind, source, count(*)::bigint,"
        "       sum(gross_cents)::bigint, sum(net_cents)::bigint"
        "  from fanvue_transactions where model_id = any(%s::uuid[]) group by 1, 2, 3, 4 order by 1, 2, 3, 4",
        (ids,),
    ).fetchall()
    stored = sql.execute(
        "select model_id, day, kind, source, item_count, gross_cents, net_cents from fanvue_ledger_daily"
        " where model_id = any(%s::uuid[]) and (item_count, gross_cents, net_cents) <> (0, 0, 0)"
        " order by 1, 2, 3, 4",
        (ids,),
    ).fetchall()
    assert stored == expected
    expected_months = sql.execute(
        "select model_id, date_trunc('month', transaction_date at time zone 'UTC')::date, kind, count(*)::bigint,"
        "       sum(gross_cents)::bigint, sum(net_cents)::bigint"
        "  from fanvue_transactions where model_id = any(%s::uuid[]) group by 1, 2, 3 order by 1, 2, 3",
        (ids,),
    ).fetchall()
    stored_months = sql.execute(
        "select model_id, month, kind, item_count, gross_cents, net_cents from fanvue_ledger_monthly"
        " where model_id = any(%s::uuid[]) and (item_count, gross_cents, net_cents) <> (0, 0, 0)"
        " order by 1, 2, 3",
        (ids,),
    ).fetchall()
    assert stored_months == expected_months


def assert_ledger_consistent(sql: psycopg.Connection, model_ids: list[str] | None = None) -> None:
    assert_totals_consistent(sql, model_ids)
    assert_daily_consistent(sql, model_ids)
