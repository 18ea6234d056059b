"""The simulated Fanvue world: accounts, who manages whom, and each account's ledgers.

Built once from `SandboxConfig`; the only mutations afterwards are appended sales.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

from .config import SandboxConfig
from .data import EarningsLedger, SpendingLedger, source_weights
from .fixed import FixedLedger
from .people import FanPool, SandboxUser, make_user
from .rng import key64
from .timeutil import DAY_MS, wall_ms


class World:
    """Accounts + ledgers; lookups by handle or uuid; ground truth."""

    def __init__(self, cfg: SandboxConfig) -> None:
        self.cfg = cfg
        self.anchor_ms = cfg.anchor_ms if cfg.anchor_ms is not None else wall_ms()
        rnd = random.Random(key64(cfg.seed, "world"))
        self._sales_rnd = random.Random(key64(cfg.seed, "sales"))
        self._lock = threading.Lock()
        specs = list(cfg.creators)
        n_owners = len(specs) + 1
        starts = [
            min(x.date_ms for x in s.sales) - DAY_MS if s.sales else self.anchor_ms - int(s.history_days * DAY_MS)
            for s in specs
        ]
        agency_start = self.anchor_ms - 365 * DAY_MS
        fans_before = min([*starts, agency_start]) - DAY_MS
        pools = [max(20, min(s.items // 6, FanPool.MAX_POOL)) for s in specs]
        population = max(1, sum(pools))
        self.users: list[SandboxUser] = []
        self.by_handle: dict[str, SandboxUser] = {}
        self.by_uuid: dict[str, SandboxUser] = {}
        self.earnings: dict[str, EarningsLedger] = {}
        self.spending: dict[str, SpendingLedger] = {}
        legacy_cutoff = self.anchor_ms - int(cfg.legacy_before_days * DAY_MS)
        offset = 0
        for idx, spec in enumerate(specs):
            start = starts[idx]
            user = make_user(
                cfg.seed,
                spec.handle,
                spec.display_name,
                start - rnd.randrange(3, 60) * DAY_MS - rnd.randrange(DAY_MS),
                is_creator=True,
                fixed_uuid=spec.uuid,
                size_hint=spec.items,
            )
            user.managed_by_agency = spec.handle in cfg.agency_manages
            fans = FanPool(cfg.seed, pools[idx], offset, population, fans_before)
            offset += pools[idx] - pools[idx] // 5  # 20 % overlap with the next creator
            end = self.anchor_ms - rnd.randrange(30_000, 600_000)
            ledger: EarningsLedger
            if spec.sales is not None:
                ledger = FixedLedger(
                    spec.sales,
                    seed=cfg.seed,
                    owner_uuid=user.uuid,
                    owner_index=idx,
                    n_owners=n_owners,
                    fans=fans,
                    unknown_value=cfg.unknown_source_value,
                )
            else:
                ledger = EarningsLedger(
                    seed=cfg.seed,
                    owner_uuid=user.uuid,
                    owner_index=idx,
                    n_owners=n_owners,
                    n_items=spec.items,
                    start_ms=start,
                    end_ms=end,
                    weights=source_weights(spec.fanless_share, cfg.unknown_source_share),
                    fans=fans,
                    tie_share=cfg.tie_share,
                    legacy=cfg.legacy_items_without_order_id,
                    legacy_cutoff_ms=legacy_cutoff,
                    legacy_share=cfg.legacy_share,
                    unknown_value=cfg.unknown_source_value,
                )
            refunds = spec.refunds if spec.refunds is not None else max(2, len(ledger) // 150)
            self._register(
                user, ledger, SpendingLedger(seed=cfg.seed, earnings=ledger, count=refunds, now_ms=self.anchor_ms)
            )
        self.creators: list[SandboxUser] = list(self.users)
        if cfg.agency_account is not None:
            # the agency connection belongs to one of the creators (her account runs the agency)
            agency = self.by_handle[cfg.agency_account]
            agency.is_agency = True
            agency.managed = [self.by_handle[h].uuid for h in cfg.agency_manages]
            self.agency = agency
            return
        agency = make_user(
            cfg.seed, cfg.agency_handle, "Sandbox Agency", agency_start - 40 * DAY_MS, is_creator=False, is_agency=True
        )
        agency.managed = [self.by_handle[h].uuid for h in cfg.agency_manages]
        ag_ledger = EarningsLedger(
            seed=cfg.seed,
            owner_uuid=agency.uuid,
            owner_index=len(specs),
            n_owners=n_owners,
            n_items=cfg.agency_items,
            start_ms=agency_start,
            end_ms=self.anchor_ms - 3_600_000,
            weights=source_weights(None, 0.0, fanless_only=True),
            fans=FanPool(cfg.seed, 1, 0, 1, fans_before),
            tie_share=0.0,
            legacy=False,
            legacy_cutoff_ms=0,
            legacy_share=0.0,
            unknown_value=cfg.unknown_source_value,
        )
        self._register(
            agency, ag_ledger, SpendingLedger(seed=cfg.seed, earnings=ag_ledger, count=0, now_ms=self.anchor_ms)
        )
        self.agency = agency

    def _register(self, user: SandboxUser, ledger: EarningsLedger, spending: SpendingLedger) -> None:
        self.users.append(user)
        self.by_handle[user.handle] = user
        self.by_uuid[user.uuid] = user
        self.earnings[user.uuid] = ledger
        self.spending[user.uuid] = spending

    def find(self, handle_or_uuid: str) -> SandboxUser | None:
        return self.by_handle.get(handle_or_uuid) or self.by_uuid.get(handle_or_uuid.lower())

    def pending_before(self, now_ms: int) -> int:
        """Items dated after this instant are still `pendingBalance`."""
        return now_ms - int(self.cfg.pending_days * DAY_MS)

    # ---- mutations ----
    def add_sales(self, handle_or_uuid: str | None, count: int, now_ms: int) -> list[tuple[str, int]]:
        """Append sales dated at wall-clock now; None spreads them over random creators."""
        if count <= 0:
            return []
        if handle_or_uuid is None:
            if not self.creators:
                raise KeyError("no creators")
            with self._lock:
                picks = [self._sales_rnd.randrange(len(self.creators)) for _ in range(count)]
            out: list[tuple[str, int]] = []
            for idx, n in sorted(Counter(picks).items()):
                user = self.creators[idx]
                out += [(user.uuid, i) for i in self.earnings[user.uuid].add(n, now_ms)]
            return out
        user = self.find(handle_or_uuid)
        if user is None:
            raise KeyError(f"unknown sandbox user {handle_or_uuid!r}")
        return [(user.uuid, i) for i in self.earnings[user.uuid].add(count, now_ms)]

    # ---- ground truth ----
    def ground_truth(self, now_ms: int, include_items: bool = True, only: str | None = None) -> dict[str, Any]:
        """Per-user counts and cent sums (+ the items newest first, as the API renders them)."""
        cut = self.pending_before(now_ms)
        out: dict[str, Any] = {}
        for user in self.users:
            if only is not None and only not in (user.uuid, user.handle):
                continue
            led = self.earnings[user.uuid]
            _, gross, net = led.columns()
            n = len(gross)
            earn: dict[str, Any] = {"count": n, "gross": sum(gross), "net": sum(net)}
            if include_items:
                earn["items"] = [led.item_dict(i, cut) for i in range(n - 1, -1, -1)]
            sp = self.spending[user.uuid]
            sg, sn = sp.sums()
            spend: dict[str, Any] = {"count": len(sp), "gross": sg, "net": sn}
            if include_items:
                spend["items"] = [sp.item_dict(i) for i in range(len(sp) - 1, -1, -1)]
            out[user.uuid] = {"handle": user.handle, "earnings": earn, "spending": spend}
        return out
