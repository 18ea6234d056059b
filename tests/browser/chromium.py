"""Finds the Chromium binary the browser tests drive, and launches it through Playwright.

Playwright's own browser download is not used: the binary comes from CHROMIUM_PATH (set by .ci/run),
else from the npm package @sparticuz/chromium installed under .ci/browser/ (its executablePath()
unpacks the build and prints where). Without a browser the tests skip locally with the reason, and
fail under CI=1 so CI never passes silently without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / ".ci" / "browser"
ARGS = [
    "--headless=shell",
    "--no-sandbox",
    "--single-process",
    "--no-zygote",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
UNPACK = "require('@sparticuz/chromium').default.executablePath().then(p => console.log(p))"


def find_chromium() -> tuple[str | None, str]:
    """(path, why not) of a runnable Chromium."""
    path = os.environ.get("CHROMIUM_PATH")
    if path:
        return (path, "") if os.access(path, os.X_OK) else (None, f"CHROMIUM_PATH={path} is not executable")
    if not (NPM_DIR / "node_modules" / "@sparticuz" / "chromium").is_dir():
        return None, (
            "no CHROMIUM_PATH and @sparticuz/chromium is not installed: run "
            "`npm install --prefix .ci/browser @sparticuz/chromium@153.0.0` (see .ci/run)"
        )
    if not shutil.which("node"):
        return None, "node is not installed, so @sparticuz/chromium cannot unpack its browser"
    try:
        out = subprocess.run(["node", "-e", UNPACK], cwd=NPM_DIR, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"unpacking @sparticuz/chromium failed: {exc}"
    path = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if out.returncode != 0 or not path or not os.access(path, os.X_OK):
        return None, f"unpacking @sparticuz/chromium failed: {out.stderr.strip()[-300:]}"
    return path, ""


def require_chromium() -> str:
    """The binary, or a skip (locally) / failure (CI=1) naming what is missing."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed (pip install -r requirements-dev.txt)"
    else:
        path, reason = find_chromium()
        if path:
            return path
    if os.environ.get("CI") == "1":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")
