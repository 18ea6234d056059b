"""Locally minted dashboard tokens (HS256, the legacy Supabase shape) for the local stack and tests."""

from __future__ import annotations

import time
from typing import Any


def mint_dashboard_token(
    user_id: str, secret: str, issuer: str, *, ttl_s: int = 3600, extra: dict[str, Any] | None = None
) -> str:
    from jose import jwt

    now = int(time.time())
    claims = {
        "sub": user_id,
        "aud": "authenticated",
        "role": "authenticated",
        "iss": issuer,
        "iat": now,
        "exp": now + ttl_s,
        "email": f"{user_id[:8]}@local.test",
    }
    claims.update(extra or {})
    return jwt.encode(claims, secret, algorithm="HS256")
