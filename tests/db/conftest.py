"""Fixtures of the database API tests (helpers live in tests.db.helpers)."""

from __future__ import annotations

import uuid

import pytest

from tests.db.helpers import Leased, new_model


@pytest.fixture()
def leased(db, sql) -> Leased:
    """A fresh agency + creator connection + model whose lease is held by worker `w1`."""
    world, connection_id, model_id = new_model(sql)
    worker = f"w1-{uuid.uuid4().hex[:6]}"
    assert db.call("fanvue_acquire_model", model_id=model_id, worker=worker)["acquired"] is True
    return Leased(world, connection_id, model_id, worker)
