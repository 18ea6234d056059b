"""The browser tests never pass silently in CI: a missing browser skips locally and fails under CI=1."""

from __future__ import annotations

import pytest

from tests.browser.chromium import require_chromium


def test_missing_browser_fails_in_ci_and_skips_locally(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"cannot run in CI: CHROMIUM_PATH=.* is not executable"):
        require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="browser tests skipped"):
        require_chromium()
