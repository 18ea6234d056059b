"""Reading the Cookie header and writing Set-Cookie for the OAuth browser binding."""

from __future__ import annotations

from typing import Any

MAX_COOKIES = 64


def read_cookie(headers: Any, name: str) -> str | None:
    """The value of cookie `name` (first one wins), or None; malformed pairs are skipped, never raised."""
    values = headers.get_all("Cookie") if hasattr(headers, "get_all") else [headers.get("Cookie")]
    for header in values or []:
        for pair in str(header or "").split(";")[:MAX_COOKIES]:
            key, sep, value = pair.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"') or None
    return None


def set_cookie(name: str, value: str, *, path: str, max_age: int, secure: bool) -> str:
    """HttpOnly, SameSite=Lax (sent on Fanvue's top-level GET redirect back to us, not on cross-site
    subrequests), scoped to one path, Secure whenever the site is served over https."""
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie(name: str, *, path: str, secure: bool) -> str:
    return set_cookie(name, "", path=path, max_age=0, secure=secure)
