"""The one paging walk over Fanvue's date-windowed, cursor-paged insights endpoints.

Why it narrows ``endDate`` instead of following ``nextCursor``: the cursor in Fanvue's published
example (https://api.fanvue.com/docs/api-reference/reference/insights/get-earnings) is base64url of
``{"date": "<date of the last line>"}``, a date with no tiebreaker, so lines sharing the boundary
millisecond can be skipped (``date < cursor``) or repeated (``date <= cursor``) by a cursor walk. After
each page the next request asks for ``[start, oldest + 1 ms)``: every page begins with the complete
group of lines sharing its newest millisecond, whatever the cursor does with ties, and each stored
page is a point to resume from (``resume_end``).

Page-wide ties (one page entirely at millisecond T and the server says there is more: narrowing
cannot move), decided here once:

1. Read the group on its own: request ``[T, T + 1 ms)`` and follow ``nextCursor`` until it is null.
   Assumptions: a non-null ``nextCursor`` means at least one more line exists in the request's window,
   and a cursor that orders ties (has a tiebreaker) hands every line of the group on once.
2. The cursor is unreliable for ties when a page it leads to brings no line not read already (a
   date-only ``date <= T`` cursor repeats the page; a ``date < T`` cursor jumps below T and returns
   nothing although more was promised) or when it repeats a cursor. Then the group is read again, one
   request per ``source`` filter value of the contract's enum, each ``[T, T + 1 ms)``; a source whose
   page ends with a null ``nextCursor`` is complete.
3. When one source alone holds more lines at T than a page, or the group holds a source the filter
   cannot name, this API cannot list the group completely: what was read is handed on, the walk
   continues below T (a creator is never stuck on one millisecond), and the report says
   ``complete=False`` (the engine fails the model with that note, after storing the rest).

The group is handed on as one page, so rows without an order id are numbered over the complete group
(see :mod:`lib.sync.rows`). Lines are matched across requests by order id and source, else by their full
content; two genuinely identical legacy lines (no order id) split across cursor pages would count as
one, which only matters for groups wider than a page made of identical legacy lines.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from lib.fanvue.errors import FanvueBadResponse
from lib.fanvue.lines import EarningsPage, Line, SpendingPage

if TYPE_CHECKING:
    from lib.fanvue.client import FanvueClient

ONE_MS = timedelta(milliseconds=1)

Item = Line
Page = EarningsPage | SpendingPage


class FetchPage(Protocol):
    """One request: lines dated in ``[start, end)``, from ``cursor``, only ``sources`` (None: all)."""

    def __call__(self, start: datetime, end: datetime, cursor: str | None, sources: Sequence[str] | None) -> Page: ...


def earnings_fetch(client: FanvueClient, creator_uuid: str | None, size: int = 50) -> FetchPage:
    """One earnings request per call, on the route ``creator_uuid`` selects (None: the personal route)."""

    def fetch(start: datetime, end: datetime, cursor: str | None, sources: Sequence[str] | None) -> Page:
        return client.earnings_page(creator_uuid, start, end, size, cursor=cursor, sources=sources)

    return fetch


def spending_fetch(client: FanvueClient, size: int = 50) -> FetchPage:
    """One spending (refunds, chargebacks) request per call."""

    def fetch(start: datetime, end: datetime, cursor: str | None, sources: Sequence[str] | None) -> Page:
        return client.spending_page(start, end, size, cursor=cursor, sources=sources)

    return fetch


class WalkStopped(Exception):
    """The caller asked the walk to stop (its consumer went away)."""


@dataclass(frozen=True, slots=True)
class TieGroup:
    """A millisecond holding more lines than a page, and how it was read."""

    at: datetime
    items: int
    complete: bool
    how: str  # "cursor" | "source split"

    def note(self) -> str:
        at = self.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if not self.complete:
            return (
                f"more lines share {at} than a page holds and Fanvue's cursor and source filter cannot list "
                f"them all; {self.items} were read and stored, the rest of the window was synced"
            )
        via = (
            "following nextCursor"
            if self.how == "cursor"
            else "one request per source (the cursor repeated or skipped lines)"
        )
        return f"{self.items} lines share {at}, more than a page: read in their own window, {via}"


@dataclass(frozen=True, slots=True)
class WalkedPage:
    """What the walk hands on: lines to store, where the next request ends (None on the last page),
    and the tie group this page is, if it is one."""

    items: list[Item]
    raw: list[dict[str, Any]] = field(repr=False)
    resume_end: datetime | None
    last: bool
    tie: TieGroup | None = None


def walk(
    fetch: FetchPage,
    start: datetime,
    end: datetime,
    *,
    sources: Sequence[str],
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[WalkedPage]:
    """Every line dated in ``[start, end)``, page by page, newest first; ``sources`` are the filter
    values the endpoint accepts (for the tie fallback)."""
    upper = end
    while True:
        if stop():
            raise WalkStopped()
        page = fetch(start, upper, None, None)
        if page.next_cursor is None or not page.items:
            yield WalkedPage(list(page.items), list(page.raw), None, True)
            return
        dates = [item.date for item in page.items]
        oldest = min(dates)
        if oldest != max(dates):
            narrowed = oldest + ONE_MS
            if narrowed >= upper:
                raise FanvueBadResponse(f"lines dated at or after endDate {upper.isoformat()} were returned")
            upper = narrowed
            yield WalkedPage(list(page.items), list(page.raw), upper, False)
            continue
        items, raw, tie = _read_group(fetch, oldest, page, sources)
        upper = oldest
        last = upper <= start
        yield WalkedPage(items, raw, None if last else upper, last, tie)
        if last:
            return


class _Group:
    """Lines of one millisecond read so far, as a multiset (see the module doc on identity)."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.items: list[Item] = []
        self.raw: list[dict[str, Any]] = []
        self.keys: Counter[str] = Counter()

    def add_new(self, items: Sequence[Item], raws: Sequence[dict[str, Any]]) -> int:
        """Adds the lines at ``at`` not read yet (as a multiset); returns how many were new."""
        seen = Counter(self.keys)
        added = 0
        for item, raw in zip(items, raws, strict=False):
            if item.date != self.at:
                continue
            key = _identity(raw)
            if seen[key] > 0:
                seen[key] -= 1
                continue
            self.keys[key] += 1
            self.items.append(item)
            self.raw.append(raw)
            added += 1
        return added


def _read_group(
    fetch: FetchPage, at: datetime, first: Page, sources: Sequence[str]
) -> tuple[list[Item], list[dict[str, Any]], TieGroup]:
    group = _Group(at)
    group.add_new(first.items, first.raw)
    cursor: str | None = None
    cursors: set[str] = set()
    while True:
        page = fetch(at, at + ONE_MS, cursor, None)
        added = group.add_new(page.items, page.raw)
        if cursor is not None and added == 0:
            break  # the cursor repeated or skipped lines: unreliable for ties
        if page.next_cursor is None:
            return group.items, group.raw, TieGroup(at, len(group.items), True, "cursor")
        if page.next_cursor in cursors:
            break
        cursors.add(page.next_cursor)
        cursor = page.next_cursor

    split = _Group(at)
    complete = not ({item.source for item in group.items} - set(sources))
    for source in sources:
        page = fetch(at, at + ONE_MS, None, [source])
        split.add_new(page.items, page.raw)
        if page.next_cursor is not None:
            complete = False
    split.add_new(group.items, group.raw)  # keep whatever the cursor read that the split did not
    return split.items, split.raw, TieGroup(at, len(split.items), complete, "source split")


def _identity(raw: dict[str, Any]) -> str:
    """Identity of a line across requests: its order id and source, else its full content."""
    order = raw.get("transactionOrderId")
    if isinstance(order, str) and order:
        return f"o:{order}:{raw.get('source')}"
    return "c:" + json.dumps(raw, sort_keys=True, separators=(",", ":"))
