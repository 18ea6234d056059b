"""The chaos suite (tests/chaos/suite.py) and a one-creator stack built the same way; each seed or test
creates its own database on the test server (embedded Postgres, or TEST_DATABASE_URL), so only the
server's admin URL is needed here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.chaos import suite


@pytest.fixture(scope="session")
def chaos() -> ModuleType:
    return suite


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    from tests.conftest import _admin_url

    url, _server = _admin_url()
    yield url


@pytest.fixture()
def one_creator(admin_url: str) -> Iterator[Callable[..., tuple[suite.ChaosStack, str]]]:
    """Factory: a fresh database + sandbox with one creator ('ava') connected personally through the OAuth
    flow, served exactly as the chaos suite serves it. Returns (stack, model_id)."""
    from fanvue_sandbox import CreatorSpec, SandboxConfig

    stacks: list[suite.ChaosStack] = []

    def make(
        items: int = 120,
        history_days: int = 365,
        env: dict[str, str] | None = None,
        spec: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> tuple[suite.ChaosStack, str]:
        creator = CreatorSpec("ava", items=items, history_days=history_days, **(spec or {}))
        config = SandboxConfig(seed=5, creators=[creator], rate_window_s=2.0, **overrides)
        stack = suite.ChaosStack(admin_url, config, dict(env or {}), tag="regression").start()
        stacks.append(stack)
        sql = stack.sql()
        agency, admin = str(uuid.uuid4()), str(uuid.uuid4())
        sql.execute("insert into agencies (id, name) values (%s, 'Regression')", (agency,))
        sql.execute("insert into profiles (id, agency_id, role) values (%s, %s, 'admin')", (admin, agency))
        model = str(
            sql.execute("insert into models (agency_id, name) values (%s, 'Ava') returning id", (agency,)).fetchone()[0]
        )
        stack.connect(admin, model_id=model, login_hint="ava")
        return stack, model

    yield make
    for stack in stacks:
        stack.stop()
