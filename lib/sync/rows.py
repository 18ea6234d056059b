"""Turns Fanvue items into ledger rows with a deterministic dedupe key (F3).

Key rules (documented in the README):
- an earning with a transactionOrderId: ``o:<transactionOrderId>:<source>``;
- an earning without one (legacy items): ``h:<sha256 of date-ms|source|fan|message|post|gross|net>:<n>``
  where n numbers genuinely identical items within one page; pages are requested so that every
  page starts with the complete group of items sharing its newest timestamp, so re-reading any
  window yields exactly the same keys and two identical purchases stay two rows;
- a refund or chargeback (never has an order id): ``r:<same hash incl. kind>:<n>``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from lib.fanvue.lines import Line, iso_utc


def _natural_hash(kind: str, item: Line, date: str) -> str:
    basis = "|".join(
        [
            kind,
            date,
            item.source,
            item.fan_uuid or "",
            item.message_uuid or "",
            item.post_uuid or "",
            str(item.gross),
            str(item.net),
        ]
    )
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def _row(key: str, kind: str, date: str, item: Line, raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "kind": kind,
        "date": date,
        "source": item.source,
        "gross": item.gross,
        "net": item.net,
        "currency": item.currency,
        "order_id": item.transaction_order_id,
        "order_status": item.transaction_order_status,
        "fan_uuid": item.fan_uuid,
        "fan_handle": item.fan_handle,
        "message_uuid": item.message_uuid,
        "post_uuid": item.post_uuid,
        "raw": raw,
    }


def earning_rows(items: Iterable[Line], raws: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    rows = []
    for item, raw in zip(items, raws, strict=False):
        date = iso_utc(item.date)
        order_id = item.transaction_order_id
        if order_id:
            key = f"o:{order_id}:{item.source}"
        else:
            digest = _natural_hash("earning", item, date)
            key = f"h:{digest}:{seen[digest]}"
            seen[digest] += 1
        rows.append(_row(key, "earning", date, item, raw))
    return rows


def spending_rows(items: Iterable[Line], raws: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    rows = []
    for item, raw in zip(items, raws, strict=False):
        date = iso_utc(item.date)
        kind = "chargeback" if item.source == "chargeback" else "refund"
        digest = _natural_hash(kind, item, date)
        key = f"r:{digest}:{seen[digest]}"
        seen[digest] += 1
        rows.append(_row(key, kind, date, item, raw))
    return rows
