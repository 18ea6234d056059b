"""Explicit earning line items: a creator whose history is given sale by sale (e.g. replayed
from another app's database) instead of generated from the seed.

`FixedLedger` behaves like `EarningsLedger` everywhere (pages, cursors, summary, ground truth,
sales added later, which are generated as usual); only items 0..len(sales)-1 come from the list.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .data import KNOWN_SOURCES, EarningsLedger, source_weights
from .people import FanPool
from .timeutil import DAY_MS, iso_ms, parse_iso

_STATUS = "\x00status\x00"
_FAN_REGISTERED_MS = parse_iso("2022-01-01T00:00:00Z")


@dataclass(frozen=True)
class Sale:
    """One earning line item as Fanvue renders it (amounts in cents, `fan_uuid` None = fan-less)."""

    date_ms: int
    source: str
    gross: int
    net: int
    fan_uuid: str | None = None
    fan_handle: str | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.source not in KNOWN_SOURCES:
            raise ValueError(f"unknown earning source {self.source!r}")
        if (self.fan_uuid is None) != (self.fan_handle is None):
            raise ValueError("fan_uuid and fan_handle go together")


def fan_json(uuid: str, handle: str) -> dict[str, Any]:
    """The `user` object of a sale by a named fan (stable: derived from uuid and handle only)."""
    days = int(uuid.replace("-", "")[:6], 16) % 365
    return {
        "uuid": uuid,
        "handle": handle,
        "displayName": " ".join(w.capitalize() for w in handle.split("-") if not w.isdigit()) or handle,
        "nickname": None,
        "isTopSpender": False,
        "avatarUrl": None,
        "registeredAt": iso_ms(_FAN_REGISTERED_MS + days * DAY_MS),
    }


class FixedLedger(EarningsLedger):
    """Earnings ledger whose first items are the given sales (sorted by date)."""

    def __init__(
        self,
        sales: Sequence[Sale],
        *,
        seed: int,
        owner_uuid: str,
        owner_index: int,
        n_owners: int,
        fans: FanPool,
        unknown_value: str,
    ) -> None:
        super().__init__(
            seed=seed,
            owner_uuid=owner_uuid,
            owner_index=owner_index,
            n_owners=n_owners,
            n_items=0,
            start_ms=0,
            end_ms=0,
            weights=source_weights(None, 0.0),
            fans=fans,
            tie_share=0.0,
            legacy=False,
            legacy_cutoff_ms=0,
            legacy_share=0.0,
            unknown_value=unknown_value,
        )
        self.sales: tuple[Sale, ...] = tuple(sorted(sales, key=lambda s: s.date_ms))
        self.ts = array("q", [s.date_ms for s in self.sales])
        self._order_base = 900_000_000 + owner_index * 1_000_000

    def _extra(self, i: int) -> tuple[str | None, str | None]:
        """(messageUuid, postUuid) of fixed item i: stable names derived from the sale."""
        s = self.sales[i]
        if s.source not in ("message", "post"):
            return None, None
        u = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"fanvue-sandbox:{self.owner_uuid}:{s.date_ms}:{s.source}"))
        return (u, None) if s.source == "message" else (None, u)

    def amounts(self, i: int) -> tuple[int, int, int]:
        if i < len(self.sales):
            s = self.sales[i]
            return KNOWN_SOURCES.index(s.source), s.gross, s.net
        return super().amounts(i)

    def _parts(self, i: int) -> tuple[Any, ...]:
        if i < len(self.sales):
            s = self.sales[i]
            msg, post = self._extra(i)
            return (
                s.date_ms,
                KNOWN_SOURCES.index(s.source),
                s.gross,
                s.net,
                s.currency,
                None,
                msg,
                post,
                self._order_base + i,
            )
        return super()._parts(i)

    def item_dict(self, i: int, pending_before_ms: int) -> dict[str, Any]:
        if i >= len(self.sales):
            return super().item_dict(i, pending_before_ms)
        s = self.sales[i]
        msg, post = self._extra(i)
        d: dict[str, Any] = {
            "date": iso_ms(s.date_ms),
            "gross": s.gross,
            "net": s.net,
            "currency": s.currency,
            "source": s.source,
            "transactionOrderId": f"FV-ORDER-{self._order_base + i}",
            "transactionOrderStatus": ("pendingBalance" if s.date_ms > pending_before_ms else "availableForPayout"),
        }
        if msg is not None:
            d["messageUuid"] = msg
        if post is not None:
            d["postUuid"] = post
        d["user"] = None if s.fan_uuid is None else fan_json(s.fan_uuid, s.fan_handle or "")
        return d

    def _render(self, indices: Sequence[int], cache: dict[int, tuple[str, str | None]]) -> None:
        n = len(self.sales)
        rest = [i for i in indices if i >= n]
        if rest:
            super()._render(rest, cache)
        for i in indices:
            if i < n:
                d = self.item_dict(i, 0)
                d["transactionOrderStatus"] = _STATUS
                head, tail = json.dumps(d, separators=(",", ":")).split(json.dumps(_STATUS)[1:-1])
                cache[i] = (head, tail)
