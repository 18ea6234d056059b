"""Browser fixtures: one Chromium per module (Playwright sync API), the served stack from tests/e2e."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import ARGS, require_chromium
from tests.e2e.conftest import stack  # noqa: F401 - the served functions and the sandbox


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
