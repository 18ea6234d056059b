"""The chaos suite runs benchmarks/chaos.py in its small size; each seed creates its own database on the
test server (embedded Postgres, or TEST_DATABASE_URL), so only the server's admin URL is needed here."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_chaos() -> ModuleType:
    """benchmarks/chaos.py as a module (benchmarks/ is not a package)."""
    name = "fanvue_chaos_suite"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "chaos.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def chaos() -> ModuleType:
    return load_chaos()


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    from tests.conftest import _admin_url

    url, _server = _admin_url()
    yield url


@pytest.fixture()
def one_creator(chaos, admin_url):
    """Factory: a fresh database + sandbox with one creator ('ava') connected personally through the OAuth
    flow, served exactly as the chaos suite serves it. Returns (stack, model_id)."""
    import uuid

    from fanvue_sandbox import CreatorSpec, SandboxConfig

    stacks = []

    def make(items: int = 120, history_days: int = 365, env: dict[str, str] | None = None, **overrides):
        config = SandboxConfig(seed=5, creators=[CreatorSpec("ava", items=items, history_days=history_days)],
                               rate_window_s=2.0, **overrides)
        stack = chaos.ChaosStack(admin_url, config, dict(env or {}), tag="regression").start()
        stacks.append(stack)
        sql = stack.sql()
        agency, admin = str(uuid.uuid4()), str(uuid.uuid4())
        sql.execute("insert into agencies (id, name) values (%s, 'Regression')", (agency,))
        sql.execute("insert into profiles (id, agency_id, role) values (%s, %s, 'admin')", (admin, agency))
        model = str(sql.execute("insert into models (agency_id, name) values (%s, 'Ava') returning id",
                                (agency,)).fetchone()[0])
        stack.connect(admin, model_id=model, login_hint="ava")
        return stack, model

    yield make
    for stack in stacks:
        stack.stop()
