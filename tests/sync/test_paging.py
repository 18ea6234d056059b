"""The engine's paging walk (lib/sync/paging.py): complete history against the real sandbox over HTTP,
and the page-wide tie policy against each cursor behaviour Fanvue's contract allows."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fanvue_sandbox import FanvueSandbox, SandboxConfig
from lib.fanvue.models import EARNING_ITEMS, EARNING_SOURCES, EarningsPage
from lib.sync.paging import walk
from tests.fanvue.test_client import EPOCH, _end, assert_same_ledger, client_for, grant, pages, pull, truth


@pytest.fixture(scope="module")
def demo() -> Iterator[FanvueSandbox]:
    sb = FanvueSandbox(SandboxConfig.demo(rate_limit=100_000))
    sb.start(port=0)
    yield sb
    sb.stop()


# --------------------------------------------------------------------------- complete history (sandbox)


def test_full_history_of_a_big_creator_equals_ground_truth(demo: FanvueSandbox) -> None:
    ava = demo.creator("ava")
    expected = truth(demo, "ava")
    assert expected["count"] > 5000
    with client_for(demo, grant(demo, "agency"), "agency") as client:
        assert_same_ledger(pull(client, ava.uuid), expected)
        # ~2 % extra requests for re-reading page boundaries, never a cap
        assert expected["count"] / 50 <= client.requests_made <= expected["count"] / 50 * 1.1
        # Following nextCursor verbatim loses the lines that tie with a page's last timestamp.
        naive: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = client.earnings_page(ava.uuid, EPOCH, _end(), 50, cursor=cursor)
            naive.extend(page.raw)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert len({r["transactionOrderId"] for r in naive}) < expected["count"]


def test_resume_after_a_stored_page_loses_nothing(demo: FanvueSandbox) -> None:
    bella = demo.creator("bella")
    expected = truth(demo, "bella")
    with client_for(demo, grant(demo, "agency"), "agency") as client:
        first: list[dict[str, Any]] = []
        walked = pages(client, bella.uuid)
        for _ in range(3):
            page = next(walked)
            first.extend(page.raw)
        walked.close()
        assert page.resume_end is not None and not page.last
        rest = pull(client, bella.uuid, EPOCH, page.resume_end)
    merged = {r["transactionOrderId"]: r for r in first + rest}
    assert set(merged) == {r["transactionOrderId"] for r in expected["items"]}


def test_window_is_start_inclusive_end_exclusive(demo: FanvueSandbox) -> None:
    items = truth(demo, "bella")["items"]
    newest, older = items[0]["date"], items[300]["date"]
    start = datetime.fromisoformat(older.replace("Z", "+00:00"))
    end = datetime.fromisoformat(newest.replace("Z", "+00:00"))
    want = [r for r in items if older <= r["date"] < newest]
    with client_for(demo, grant(demo, "agency"), "agency") as client:
        got = pull(client, demo.creator("bella").uuid, start, end)
    assert list({r["transactionOrderId"]: r for r in got}.values()) == want


# --------------------------------------------------------------------------- page-wide ties


class DateKeyedFanvue:
    """Fanvue's earnings listing as its contract allows it to behave: newest first, `endDate` exclusive,
    a `source` filter, and a cursor that is either date-only (`date < cursor` "skip", `date <= cursor`
    "repeat", the shape of the published example) or carries a tiebreaker ("exact")."""

    def __init__(self, lines: list[dict[str, Any]], cursor: str) -> None:
        self.lines = sorted(lines, key=lambda r: (r["date"], r["transactionOrderId"]), reverse=True)
        self.cursor = cursor
        self.requests = 0

    def __call__(
        self, start: datetime, end: datetime, cursor: str | None, sources: Sequence[str] | None
    ) -> EarningsPage:
        self.requests += 1
        assert self.requests < 500, "the walk does not terminate"
        rows = [r for r in self.lines if _ts(start) <= r["date"] < _ts(end) and (not sources or r["source"] in sources)]
        if cursor:
            date, last_id = json.loads(base64.urlsafe_b64decode(cursor))
            if self.cursor == "skip":
                rows = [r for r in rows if r["date"] < date]
            elif self.cursor == "repeat":
                rows = [r for r in rows if r["date"] <= date]
            else:
                rows = [r for r in rows if (r["date"], r["transactionOrderId"]) < (date, last_id)]
        page, token = rows[:50], None
        if len(rows) > 50:
            last = [page[-1]["date"], page[-1]["transactionOrderId"]]
            token = base64.urlsafe_b64encode(json.dumps(last).encode()).decode()
        return EarningsPage(items=EARNING_ITEMS.validate_python(page), raw=page, next_cursor=token)


T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _lines(tied: int, sources: Sequence[str]) -> list[dict[str, Any]]:
    """`tied` lines at T0 (sources round-robin) between 120 lines spread over the hours around it."""
    lines = [
        {
            "date": _ts(T0),
            "gross": 500,
            "net": 400,
            "source": sources[i % len(sources)],
            "transactionOrderId": f"FV-T{i:04d}",
        }
        for i in range(tied)
    ]
    for i in range(120):
        when = T0 + timedelta(minutes=i - 60, milliseconds=7)
        lines.append({"date": _ts(when), "gross": 100, "net": 80, "source": "tip", "transactionOrderId": f"FV-{i:04d}"})
    return lines


def _walk_all(fanvue: DateKeyedFanvue) -> tuple[list[dict[str, Any]], list[Any]]:
    raw, ties = [], []
    for page in walk(fanvue, T0 - timedelta(days=1), T0 + timedelta(days=1), sources=EARNING_SOURCES):
        raw.extend(page.raw)
        if page.tie:
            ties.append(page.tie)
    return raw, ties


@pytest.mark.parametrize("cursor, how", [("exact", "cursor"), ("skip", "source split"), ("repeat", "source split")])
def test_a_millisecond_wider_than_a_page_is_read_completely_once(cursor: str, how: str) -> None:
    lines = _lines(131, ["subscription", "message", "tip", "renewal"])
    fanvue = DateKeyedFanvue(lines, cursor)
    raw, ties = _walk_all(fanvue)
    assert {r["transactionOrderId"] for r in raw} == {r["transactionOrderId"] for r in lines}
    assert [(t.at, t.items, t.complete, t.how) for t in ties] == [(T0, 131, True, how)]
    assert fanvue.requests < 30


def test_a_single_source_wider_than_a_page_is_reported_incomplete_and_the_walk_goes_on() -> None:
    lines = _lines(80, ["renewal"])
    raw, ties = _walk_all(DateKeyedFanvue(lines, "skip"))
    ids = {r["transactionOrderId"] for r in raw}
    assert {f"FV-{i:04d}" for i in range(120)} <= ids  # every line outside the millisecond
    assert [(t.items, t.complete) for t in ties] == [(50, False)]
    assert "cannot list them all" in ties[0].note()


def test_a_group_of_exactly_one_page_needs_no_split() -> None:
    lines = _lines(50, ["tip"])
    raw, ties = _walk_all(DateKeyedFanvue(lines, "skip"))
    assert {r["transactionOrderId"] for r in raw} == {r["transactionOrderId"] for r in lines}
    assert all(t.complete and t.how == "cursor" for t in ties)
