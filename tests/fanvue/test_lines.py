"""The sync's line parser makes the same decisions as the published item models on what we store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from lib.fanvue.models import EarningItem, Line, parse_lines


def _item(**over: Any) -> dict[str, Any]:
    base = {
        "date": "2025-06-24T21:23:44.070Z",
        "gross": 399,
        "net": 319,
        "currency": None,
        "source": "subscription",
        "transactionOrderId": "FV-1",
        "transactionOrderStatus": "pendingBalance",
        "user": {"uuid": "u-1", "handle": "fan", "displayName": "Fan"},
        "messageUuid": None,
    }
    base.update(over)
    return base


def test_lines_equal_the_item_model_on_every_stored_field() -> None:
    raws = [
        _item(),
        _item(
            date="2025-06-24T23:23:44.070+02:00",
            gross=100.0,
            net=-0.0,
            source="liveStream",
            transactionOrderId=None,
            user=None,
            brandNewField={"x": 1},
            postUuid="p-1",
        ),
        _item(date="2025-06-24T21:23:44", currency="USD"),
    ]
    lines = parse_lines(raws, with_order=True)
    for line, raw in zip(lines, raws, strict=False):
        model = EarningItem.model_validate(raw)
        assert line == Line(
            date=model.date,
            gross=model.gross,
            net=model.net,
            source=model.source,
            currency=model.currency,
            transaction_order_id=model.transaction_order_id,
            transaction_order_status=model.transaction_order_status,
            message_uuid=model.message_uuid,
            post_uuid=model.post_uuid,
            fan_uuid=model.user.uuid if model.user else None,
            fan_handle=model.user.handle if model.user else None,
        )
        assert isinstance(line.gross, int) and line.date.tzinfo is UTC
    assert lines[1].date == datetime(2025, 6, 24, 21, 23, 44, 70000, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        {"gross": 399.5},
        {"gross": "399"},
        {"net": True},
        {"gross": None},
        {"date": None},
        {"date": "yesterday"},
        {"date": 1719264224},
        {"source": None},
        {"transactionOrderId": 7},
        {"user": {"handle": "no uuid"}},
        {"user": "u-1"},
        {"currency": 1},
    ],
)
def test_lines_reject_what_the_item_model_rejects(bad: dict[str, Any]) -> None:
    raw = _item(**bad)
    with pytest.raises(ValueError, match="item 1: "):
        parse_lines([_item(), raw], with_order=True)
    if bad != {"date": 1719264224}:  # pydantic also reads unix seconds; the contract says ISO-8601
        with pytest.raises(ValidationError):
            EarningItem.model_validate(raw)


def test_spending_lines_carry_no_order_fields() -> None:
    [line] = parse_lines([_item(source="refund", gross=-399, net=-319)], with_order=False)
    assert line.transaction_order_id is None and line.transaction_order_status is None and line.gross == -399
