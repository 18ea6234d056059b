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
from datetime import datetime, timezone
from typing import Any


def ms_iso(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _fan(item: Any) -> tuple[str | None, str | None]:
    user = getattr(item, "user", None)
    if user is None:
        return None, None
    return getattr(user, "uuid", None), getattr(user, "handle", None)


def _natural_hash(kind: str, item: Any, fan_uuid: str | None) -> str:
    basis = "|".join([kind, ms_iso(item.date), item.source, fan_uuid or "",
                      getattr(item, "message_uuid", None) or "", getattr(item, "post_uuid", None) or "",
                      str(item.gross), str(item.net)])
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def earning_rows(items: Iterable[Any], raws: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    rows = []
    for item, raw in zip(items, raws):
        fan_uuid, fan_handle = _fan(item)
        order_id = getattr(item, "transaction_order_id", None)
        if order_id:
            key = f"o:{order_id}:{item.source}"
        else:
            digest = _natural_hash("earning", item, fan_uuid)
            key = f"h:{digest}:{seen[digest]}"
            seen[digest] += 1
        rows.append({"key": key, "kind": "earning", "date": ms_iso(item.date), "source": item.source,
                     "gross": item.gross, "net": item.net, "currency": item.currency, "order_id": order_id,
                     "order_status": getattr(item, "transaction_order_status", None),
                     "fan_uuid": fan_uuid, "fan_handle": fan_handle,
                     "message_uuid": getattr(item, "message_uuid", None),
                     "post_uuid": getattr(item, "post_uuid", None), "raw": raw})
    return rows


def spending_rows(items: Iterable[Any], raws: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    rows = []
    for item, raw in zip(items, raws):
        fan_uuid, fan_handle = _fan(item)
        kind = "chargeback" if item.source == "chargeback" else "refund"
        digest = _natural_hash(kind, item, fan_uuid)
        key = f"r:{digest}:{seen[digest]}"
        seen[digest] += 1
        rows.append({"key": key, "kind": kind, "date": ms_iso(item.date), "source": item.source,
                     "gross": item.gross, "net": item.net, "currency": item.currency, "order_id": None,
                     "order_status": None, "fan_uuid": fan_uuid, "fan_handle": fan_handle,
                     "message_uuid": getattr(item, "message_uuid", None),
                     "post_uuid": getattr(item, "post_uuid", None), "raw": raw})
    return rows
