"""Money leaves integer cents only here, as text, at the last moment (no float arithmetic)."""

from __future__ import annotations


def decimal_str(cents: int | None) -> str | None:
    """`670467` → `"6704.67"` (JSON's dollar strings); None stays None."""
    if cents is None:
        return None
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{rest:02d}"


def usd(cents: int | None, missing: str = "n/a") -> str:
    """`670467` → `"$6,704.67"`, `-5` → `"-$0.05"` (what people read)."""
    if cents is None:
        return missing
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}${whole:,}.{rest:02d}"
