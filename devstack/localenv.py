"""Secrets and addresses of the local stack, generated once and kept in .data/ so a restart reuses
the encrypted tokens, the cron secret and the dashboard token key."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from lib.crypto import new_key_text

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LOCAL_DATA_DIR") or ROOT / ".data")  # tests point it elsewhere
ENV_FILE = DATA / "local-env.json"
STACK_FILE = DATA / "stack.json"

DEMO_AGENCY_ID = "00000000-0000-4000-8000-00000000a001"
DEMO_ADMIN_ID = "00000000-0000-4000-8000-00000000a002"
DEMO_MEMBER_ID = "00000000-0000-4000-8000-00000000a003"
LOCAL_ISSUER = "http://127.0.0.1:54321/auth/v1"


def local_secrets() -> dict[str, str]:
    DATA.mkdir(parents=True, exist_ok=True)
    if ENV_FILE.exists():
        return json.loads(ENV_FILE.read_text())
    values = {
        "TOKEN_ENCRYPTION_KEY": new_key_text("local1"),
        "CRON_SECRET": secrets.token_urlsafe(24),
        "SUPABASE_JWT_SECRET": secrets.token_urlsafe(40),
        "SUPABASE_JWT_ISSUER": LOCAL_ISSUER,
        "FANVUE_WEBHOOK_SECRET": secrets.token_urlsafe(24),
    }
    ENV_FILE.write_text(json.dumps(values, indent=2))
    ENV_FILE.chmod(0o600)
    return values


def apply_env(values: dict[str, str], *, override: bool = False) -> None:
    """Environment overrides every default: only unset variables are filled in."""
    for key, value in values.items():
        if override or not os.environ.get(key):
            os.environ[key] = value
    from lib.config import reset_settings
    from lib.db import reset_database

    reset_settings()
    reset_database()


def save_stack(info: dict[str, Any]) -> None:
    STACK_FILE.write_text(json.dumps(info, indent=2))


def load_stack() -> dict[str, Any] | None:
    return json.loads(STACK_FILE.read_text()) if STACK_FILE.exists() else None


def clear_stack() -> None:
    STACK_FILE.unlink(missing_ok=True)
