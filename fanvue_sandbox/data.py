"""Seeded, memory-light item store: earnings and spending ledgers per user.

A ledger keeps only a sorted `array('q')` of item timestamps (unix ms). Every other
field of item `i` is re-derived from (seed, owner, i) with a 64-bit mixer, so a creator
with 1,000,000 items costs ~8 MB and a page is a bisect plus `size` derivations.
Sales added later are appended (dated at wall-clock now), so indices never shift and an
item's identity is stable for the life of the sandbox.

Aggregates (ground truth, summary, account totals) need per-item amounts; those are
materialised lazily into compact columns (source byte + gross/net int arrays) on first use.
"""

from __future__ import annotations

import json
import math
import random
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

from .people import FanPool
from .rng import key64, mix64, uuid_from
from .timeutil import _HM, _MSZ, _SS, DAY_MS, _day_prefix, iso_ms

# Earning sources. Codes index this tuple; the last one is an undocumented new value.
KNOWN_SOURCES: tuple[str, ...] = (
    "subscription",
    "renewal",
    "message",
    "post",
    "tip",
    "referral",
    "affiliate",
    "mediaLink",
    "checkoutLink",
    "appStore",
    "giveaway",
)
#: filter values accepted by the API (EarningSource enum, `all` = no filter)
EARNING_SOURCE_ENUM: tuple[str, ...] = ("all", *KNOWN_SOURCES)
SPENDING_SOURCE_ENUM: tuple[str, ...] = ("all", "refund", "chargeback")
UNKNOWN_CODE = len(KNOWN_SOURCES)
FANLESS = frozenset({KNOWN_SOURCES.index("referral"), KNOWN_SOURCES.index("affiliate")})
_MSG = KNOWN_SOURCES.index("message")
_POST = KNOWN_SOURCES.index("post")
_REFERRAL = KNOWN_SOURCES.index("referral")
_APPSTORE = KNOWN_SOURCES.index("appStore")

#: base mix in percent (referral + affiliate = fan-less share)
_BASE_WEIGHTS: dict[str, float] = {
    "subscription": 17,
    "renewal": 25,
    "message": 22,
    "post": 10,
    "tip": 12,
    "referral": 2,
    "affiliate": 1.5,
    "mediaLink": 3.5,
    "checkoutLink": 2.5,
    "appStore": 1.5,
    "giveaway": 1.5,
}
_SUB_PRICES = (499, 799, 999, 1299, 1499, 1999)
_PRICES: tuple[tuple[int, ...], ...] = (
    _SUB_PRICES,  # subscription
    _SUB_PRICES,  # renewal
    tuple(range(300, 5001, 100)),  # message
    tuple(range(500, 3001, 250)),  # post
    (100, 200, 300, 500, 500, 1000, 1000, 2000, 5000, 10000, 25000),  # tip
    tuple(range(50, 2001, 50)),  # referral
    tuple(range(100, 5001, 100)),  # affiliate
    tuple(range(500, 9901, 100)),  # mediaLink
    tuple(range(1000, 9901, 100)),  # checkoutLink
    (199, 499, 999, 2999),  # appStore
    (100, 500),  # giveaway
    tuple(range(500, 5001, 100)),  # unknown new source
)
#: ',"currency":...,"source":"' prefix by the 8 currency hash bits (mirrors _parts)
_CURRENCY_SOURCE = tuple(
    ',"currency":"BRL","source":"'
    if c < 10
    else ',"currency":"EUR","source":"'
    if c < 20
    else ',"currency":"GBP","source":"'
    if c < 23
    else ',"currency":null,"source":"'
    for c in range(256)
)


def _net(code: int, gross: int) -> int:
    if code == _REFERRAL:
        return gross
    if code == _APPSTORE:
        return gross * 70 // 100
    return gross * 80 // 100


#: pre-rendered ',"gross":g,"net":n' per (code, price index) -> (normal net, net == gross)
_AMOUNT_JSON: tuple[tuple[tuple[str, str], ...], ...] = tuple(
    tuple((',"gross":%d,"net":%d' % (g, _net(code, g)), ',"gross":%d,"net":%d' % (g, g)) for g in prices)
    for code, prices in enumerate(_PRICES)
)
_TABLE_BITS = 12
_TABLE_SIZE = 1 << _TABLE_BITS
_K2 = 0xD1B54A32D192ED03


def _source_table(weights: Sequence[float]) -> bytes:
    """4096-slot lookup table: 12 hash bits -> source code, proportional to weights."""
    total = sum(weights)
    out = bytearray()
    acc = 0.0
    for code, w in enumerate(weights):
        acc += w
        upto = round(acc / total * _TABLE_SIZE)
        out.extend([code] * (upto - len(out)))
    out.extend([len(weights) - 1] * (_TABLE_SIZE - len(out)))
    return bytes(out[:_TABLE_SIZE])


def source_weights(fanless_share: float | None, unknown_share: float, fanless_only: bool = False) -> list[float]:
    """Per-code weights (len KNOWN_SOURCES + 1) for one ledger."""
    w = [float(_BASE_WEIGHTS[s]) for s in KNOWN_SOURCES]
    if fanless_only:
        w = [0.0] * len(KNOWN_SOURCES)
        w[_REFERRAL], w[KNOWN_SOURCES.index("affiliate")] = 70.0, 30.0
        return [*w, 0.0]
    if fanless_share is not None:
        cur = sum(w[c] for c in FANLESS)
        rest = sum(w) - cur
        target = max(0.0, min(0.95, fanless_share))
        scale_f = (target * rest / (1 - target)) / cur if cur else 0.0
        for c in FANLESS:
            w[c] *= scale_f
    total = sum(w)
    u = max(0.0, min(0.5, unknown_share))
    w.append(total * u / (1 - u) if u else 0.0)
    return w


def generate_timestamps(rnd: random.Random, n: int, start_ms: int, end_ms: int) -> array:
    """n strictly increasing ms timestamps in [start, end], density growing linearly to `end`.

    Generated slab by slab so the transient memory stays small for millions of items.
    """
    out = array("q")
    if n <= 0:
        return out
    span = max(1, end_ms - start_ms)
    slabs = max(1, min(2048, n // 500 + 1))
    prev_cum = 0
    last = start_ms - 1
    rr = rnd.random
    sqrt = math.sqrt
    for b in range(1, slabs + 1):
        a_frac, b_frac = (b - 1) / slabs, b / slabs
        cum = n if b == slabs else round(n * b_frac * b_frac)
        cnt = cum - prev_cum
        prev_cum = cum
        if cnt <= 0:
            continue
        a2, d2 = a_frac * a_frac, b_frac * b_frac - a_frac * a_frac
        vals = sorted([start_ms + int(span * sqrt(a2 + rr() * d2)) for _ in range(cnt)])
        for v in vals:
            if v <= last:
                v = last + 1
            out.append(v)
            last = v
    return out


def make_ties(ts: array, rnd: random.Random, share: float, protect_newest: int = 0) -> None:
    """Turn runs of consecutive items into same-millisecond groups (2..5 items each).

    Groups are placed at random, plus three deliberate groups among the newest items that
    straddle page boundaries for page sizes 20 and 50 (descending positions 18-21, 48-52,
    97-100), so a date-keyed cursor meets ties on the very first pages.
    """
    n = len(ts)
    sizes = (2, 2, 2, 3, 3, 4, 5)
    if share > 0 and n > 4:
        rate = share / 3.0  # mean group size ~3 -> group starts per item
        limit = n - protect_newest - 6
        j = int(rnd.expovariate(rate)) if rate > 0 else limit
        while j < limit:
            k = sizes[rnd.randrange(len(sizes))]
            for t in range(1, k):
                ts[j + t] = ts[j]
            j += k + 1 + int(rnd.expovariate(rate))
    if protect_newest and n > 110:
        for d_start, length in ((18, 4), (48, 5), (97, 4)):
            lo_asc = n - 1 - (d_start + length - 1)
            for t in range(lo_asc + 1, lo_asc + length):
                ts[t] = ts[lo_asc]


class EarningsLedger:
    """Earning line items of one user (creator, or the agency user itself)."""

    def __init__(
        self,
        *,
        seed: int,
        owner_uuid: str,
        owner_index: int,
        n_owners: int,
        n_items: int,
        start_ms: int,
        end_ms: int,
        weights: Sequence[float],
        fans: FanPool,
        tie_share: float,
        legacy: bool,
        legacy_cutoff_ms: int,
        legacy_share: float,
        unknown_value: str,
    ) -> None:
        self.owner_uuid = owner_uuid
        self.fans = fans
        self.unknown_value = unknown_value
        self.source_names = (*KNOWN_SOURCES, unknown_value)
        self._k = key64(seed, "items", owner_uuid)
        self._kmsg = key64(seed, "messages", owner_uuid)
        self._kpost = key64(seed, "posts", owner_uuid)
        self._kclone = key64(seed, "clone", owner_uuid)
        self._kleg = key64(seed, "legacy", owner_uuid)
        self._table = _source_table(weights)
        self._order_stride = max(1, n_owners)
        self._order_offset = owner_index
        self._msg_pool = max(5, min(n_items // 25, 20_000))
        self._post_pool = max(5, min(n_items // 60, 5_000))
        self._msg_uuid: dict[int, str] = {}
        self._post_uuid: dict[int, str] = {}
        self.legacy = legacy
        self._legacy_cutoff = legacy_cutoff_ms
        self._legacy_permille = int(legacy_share * 1000)
        self._lock = threading.RLock()
        rnd = random.Random(key64(seed, "ts", owner_uuid))
        self.ts = generate_timestamps(rnd, n_items, start_ms, end_ms)
        make_ties(self.ts, rnd, tie_share, protect_newest=120 if n_items > 200 else 0)
        self._src: bytearray | None = None
        self._gross: array | None = None
        self._net: array | None = None
        #: index -> (json head, json tail) around the order status; see items_json
        self._rendered: dict[int, tuple[str, str | None]] = {}

    def __len__(self) -> int:
        return len(self.ts)

    # ---- per-item derivation ----
    def base(self, i: int) -> int:
        """Index whose fields item i copies (legacy identical duplicates), else i."""
        if not self.legacy:
            return i
        ts = self.ts
        j = i
        while j > 0 and ts[j] == ts[j - 1] and (mix64(self._kclone ^ j) & 1) == 0:
            j -= 1
        if j != i and self.is_legacy(j):
            return j
        return i

    def is_legacy(self, b: int) -> bool:
        return self.legacy and self.ts[b] < self._legacy_cutoff and mix64(self._kleg ^ b) % 1000 < self._legacy_permille

    def amounts(self, i: int) -> tuple[int, int, int]:
        """(source code, gross, net) of item i; the hot path of every aggregate."""
        r = mix64(self._k ^ self.base(i))
        code = self._table[r & 0xFFF]
        prices = _PRICES[code]
        gross = prices[(r >> 16) % len(prices)]
        if code == _REFERRAL or (r >> 56) < 8:
            net = gross
        elif code == _APPSTORE:
            net = gross * 70 // 100
        else:
            net = gross * 80 // 100
        return code, gross, net

    def _msg(self, m: int) -> str:
        u = self._msg_uuid.get(m)
        if u is None:
            u = self._msg_uuid[m] = uuid_from(mix64(self._kmsg ^ m), mix64(self._kmsg ^ ~m))
        return u

    def _post(self, p: int) -> str:
        u = self._post_uuid.get(p)
        if u is None:
            u = self._post_uuid[p] = uuid_from(mix64(self._kpost ^ p), mix64(self._kpost ^ ~p))
        return u

    def _parts(self, i: int) -> tuple[Any, ...]:
        """All fields of item i except the time-dependent order status."""
        b = self.base(i) if self.legacy else i
        r = mix64(self._k ^ b)
        code = self._table[r & 0xFFF]
        prices = _PRICES[code]
        gross = prices[(r >> 16) % len(prices)]
        if code == _REFERRAL or (r >> 56) < 8:
            net = gross
        elif code == _APPSTORE:
            net = gross * 70 // 100
        else:
            net = gross * 80 // 100
        c = (r >> 48) & 0xFF
        currency = "BRL" if c < 10 else "EUR" if c < 20 else "GBP" if c < 23 else None
        fan = None
        if code not in FANLESS:
            u = ((r >> 32) & 0xFFFF) / 65536.0
            fan = int(self.fans.size * u * u)
        msg = post = None
        if code == _MSG:
            msg = self._msg(mix64(r ^ _K2) % self._msg_pool)
        elif code == _POST:
            post = self._post(mix64(r ^ _K2) % self._post_pool)
        order = None if (self.legacy and self.is_legacy(b)) else b * self._order_stride + self._order_offset + 100_000
        return self.ts[i], code, gross, net, currency, fan, msg, post, order

    def item_json(self, i: int, pending_before_ms: int) -> str:
        """Wire JSON of item i; items dated after `pending_before_ms` are still pending."""
        return self.items_json((i,), pending_before_ms)

    def items_json(self, indices: Sequence[int], pending_before_ms: int) -> str:
        """Comma-joined wire JSON of several items: the hot path of every sync.

        Each item is (head, tail) static text around its order status, which is the only
        time-dependent field; parts pre-rendered by `prerender` (the server renders the
        likely next page while the client is busy parsing this one) are reused.
        """
        cache = self._rendered
        ts_arr = self.ts
        parts: dict[int, tuple[str, str | None]] = {}
        missing: list[int] = []
        for i in indices:
            p = cache.get(i)
            if p is None:
                missing.append(i)
            else:
                parts[i] = p
        if missing:
            fresh: dict[int, tuple[str, str | None]] = {}
            self._render(missing, fresh)
            parts.update(fresh)
            cache.update(fresh)  # the boundary items are re-read by overlap-reading clients
            if len(cache) > self._RENDER_CACHE_MAX:
                self._trim(cache)
        out: list[str] = []
        append = out.append
        for i in indices:
            head, tail = parts[i]
            if tail is None:
                append(head)
            elif ts_arr[i] > pending_before_ms:
                append(head + "pendingBalance" + tail)
            else:
                append(head + "availableForPayout" + tail)
        return ",".join(out)

    _RENDER_CACHE_MAX = 2048

    def _trim(self, cache: dict[int, tuple[str, str | None]]) -> None:
        try:
            for _ in range(len(cache) - self._RENDER_CACHE_MAX // 2):
                del cache[next(iter(cache))]
        except (StopIteration, KeyError, RuntimeError):  # a concurrent trim got there first
            pass

    def prerender(self, indices: Iterable[int]) -> None:
        """Render items into the cache ahead of a likely request (background thread)."""
        n = len(self.ts)
        todo = [i for i in indices if 0 <= i < n and i not in self._rendered]
        if todo:
            self._render(todo, self._rendered)
            if len(self._rendered) > self._RENDER_CACHE_MAX:
                self._trim(self._rendered)

    def _render(self, indices: Sequence[int], cache: dict[int, tuple[str, str | None]]) -> None:
        """Static (head, tail) text of items around the order status value.

        Hand-inlined copy of `_parts` with everything hoisted into locals and amounts
        pre-rendered; a test checks the result equals json.dumps(item_dict(i)) for every item.
        """
        ts_arr, table, key, legacy = self.ts, self._table, self._k, self.legacy
        names, fans_json, fan_size = self.source_names, self.fans.json, self.fans.size
        stride, offset = self._order_stride, self._order_offset + 100_000
        dp, hm, ss, msz = _day_prefix, _HM, _SS, _MSZ
        for i in indices:
            b = self.base(i) if legacy else i
            x = (key ^ b) + 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
            x = (x ^ (x >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
            r = x ^ (x >> 31)
            code = table[r & 0xFFF]
            amounts = _AMOUNT_JSON[code]
            d, rem = divmod(ts_arr[i], 86_400_000)
            day = dp.get(d)
            if day is None:
                day = iso_ms(d * 86_400_000)[:11]
            sec, milli = divmod(rem, 1000)
            mins, sec = divmod(sec, 60)
            head = (
                '{"date":"'
                + day
                + hm[mins]
                + ss[sec]
                + msz[milli]
                + '"'
                + amounts[(r >> 16) % len(amounts)][(r >> 56) < 8]
                + _CURRENCY_SOURCE[(r >> 48) & 0xFF]
                + names[code]
                + '"'
            )
            tail = '"'
            if code == _MSG:
                tail += ',"messageUuid":"' + self._msg(mix64(r ^ _K2) % self._msg_pool) + '"'
            elif code == _POST:
                tail += ',"postUuid":"' + self._post(mix64(r ^ _K2) % self._post_pool) + '"'
            if code in FANLESS:
                tail += ',"user":null}'
            else:
                u = ((r >> 32) & 0xFFFF) / 65536.0
                tail += ',"user":' + fans_json(int(fan_size * u * u)) + "}"
            if legacy and self.is_legacy(b):
                cache[i] = (head + tail[1:], None)
            else:
                cache[i] = (
                    head
                    + ',"transactionOrderId":"FV-ORDER-'
                    + str(b * stride + offset)
                    + '","transactionOrderStatus":"',
                    tail,
                )

    def item_dict(self, i: int, pending_before_ms: int) -> dict[str, Any]:
        ts, code, gross, net, cur, fan, msg, post, order = self._parts(i)
        d: dict[str, Any] = {
            "date": iso_ms(ts),
            "gross": gross,
            "net": net,
            "currency": cur,
            "source": self.source_names[code],
        }
        if order is not None:
            d["transactionOrderId"] = f"FV-ORDER-{order}"
            d["transactionOrderStatus"] = "pendingBalance" if ts > pending_before_ms else "availableForPayout"
        if msg is not None:
            d["messageUuid"] = msg
        if post is not None:
            d["postUuid"] = post
        d["user"] = None if fan is None else self.fans.dict(fan)
        return d

    # ---- columns for aggregates ----
    def columns(self) -> tuple[bytearray, array, array]:
        """(source codes, gross, net) for every item; built once, then kept in step with add()."""
        with self._lock:
            if self._src is None:
                n = len(self.ts)
                src, gross, net = bytearray(n), array("q", bytes(8 * n)), array("q", bytes(8 * n))
                am = self.amounts
                for i in range(n):
                    src[i], gross[i], net[i] = am(i)
                self._src, self._gross, self._net = src, gross, net
            return self._src, self._gross, self._net  # type: ignore[return-value]

    def code(self, i: int) -> int:
        src = self._src
        if src is not None and i < len(src):
            return src[i]
        return self.amounts(i)[0]

    # ---- queries ----
    def select(
        self, lo_ms: int | None, hi_ms: int | None, size: int, codes: frozenset[int] | None, inclusive_hi: bool = False
    ) -> tuple[list[int], bool]:
        """Newest-first indices with lo <= date < hi (<= hi if inclusive_hi), at most `size`.

        Returns (indices, more) where `more` says whether a further matching item exists.
        """
        ts = self.ts
        n = len(ts)
        lo = 0 if lo_ms is None else bisect_left(ts, lo_ms, 0, n)
        if hi_ms is None:
            hi = n
        elif inclusive_hi:
            hi = bisect_right(ts, hi_ms, 0, n)
        else:
            hi = bisect_left(ts, hi_ms, 0, n)
        if hi <= lo:
            return [], False
        if codes is None:
            stop = max(lo, hi - size)
            return list(range(hi - 1, stop - 1, -1)), stop > lo
        if len(codes) < 4:
            self.columns()
        code = self.code
        out: list[int] = []
        i = hi - 1
        while i >= lo:
            if code(i) in codes:
                if len(out) == size:
                    return out, True
                out.append(i)
            i -= 1
        return out, False

    def index_range(self, lo_ms: int | None, hi_ms: int | None) -> tuple[int, int]:
        ts = self.ts
        lo = 0 if lo_ms is None else bisect_left(ts, lo_ms)
        hi = len(ts) if hi_ms is None else bisect_left(ts, hi_ms)
        return lo, max(lo, hi)

    def add(self, count: int, now_ms: int) -> list[int]:
        """Append `count` new sales dated at `now_ms` (spread over the last ms so that big
        batches do not form one giant same-millisecond group); returns their indices."""
        with self._lock:
            ts = self.ts
            last = ts[-1] if len(ts) else now_ms - count
            lo = max(last + 1 if last < now_ms else last, now_ms - max(0, count - 1))
            hi = max(lo, now_ms)
            first = len(ts)
            for k in range(count):
                ts.append(lo + (k * (hi - lo)) // max(1, count - 1) if count > 1 else hi)
            if self._src is not None:
                for i in range(first, len(ts)):
                    c, g, n_ = self.amounts(i)
                    self._src.append(c)
                    self._gross.append(g)  # type: ignore[union-attr]
                    self._net.append(n_)  # type: ignore[union-attr]
            return list(range(first, len(ts)))


class SpendingLedger:
    """Refund/chargeback rows of one creator, each reversing one of its earnings."""

    def __init__(self, *, seed: int, earnings: EarningsLedger, count: int, now_ms: int) -> None:
        self.earnings = earnings
        rnd = random.Random(key64(seed, "spending", earnings.owner_uuid))
        n = len(earnings)
        rows: list[tuple[int, int, int]] = []
        if n:
            picks = rnd.sample(range(n), min(count, n))
            for j in picks:
                delay = rnd.randrange(3_600_000, 21 * DAY_MS)
                when = min(earnings.ts[j] + delay, now_ms - rnd.randrange(1000, 600_000))
                when = max(when, earnings.ts[j] + 1)
                rows.append((when, j, 1 if rnd.random() < 0.3 else 0))
        rows.sort()
        self.ts = array("q", [r[0] for r in rows])
        self.orig = array("q", [r[1] for r in rows])
        self.kind = bytes(r[2] for r in rows)

    def __len__(self) -> int:
        return len(self.ts)

    def item_dict(self, i: int) -> dict[str, Any]:
        _, _code, gross, net, cur, fan, msg, post, _ = self.earnings._parts(self.orig[i])
        d: dict[str, Any] = {
            "date": iso_ms(self.ts[i]),
            "gross": -gross,
            "net": -net,
            "currency": cur,
            "source": "chargeback" if self.kind[i] else "refund",
        }
        if msg is not None:
            d["messageUuid"] = msg
        if post is not None:
            d["postUuid"] = post
        d["user"] = None if fan is None else self.earnings.fans.dict(fan)
        return d

    def item_json(self, i: int) -> str:
        return json.dumps(self.item_dict(i), separators=(",", ":"))

    def select(
        self, lo_ms: int | None, hi_ms: int | None, size: int, kinds: frozenset[int] | None, inclusive_hi: bool = False
    ) -> tuple[list[int], bool]:
        ts = self.ts
        lo = 0 if lo_ms is None else bisect_left(ts, lo_ms)
        hi = len(ts) if hi_ms is None else bisect_right(ts, hi_ms) if inclusive_hi else bisect_left(ts, hi_ms)
        out: list[int] = []
        i = hi - 1
        while i >= lo:
            if kinds is None or self.kind[i] in kinds:
                if len(out) == size:
                    return out, True
                out.append(i)
            i -= 1
        return out, False

    def sums(self) -> tuple[int, int]:
        g = n = 0
        for j in self.orig:
            _, gg, nn = self.earnings.amounts(j)
            g -= gg
            n -= nn
        return g, n
