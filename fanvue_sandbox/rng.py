"""Cheap deterministic hashing so any item field can be re-derived from (seed, owner, index).

Storing a million items as dicts would cost gigabytes; storing only their timestamps and
recomputing everything else with a 64-bit mixer keeps the sandbox small and still
byte-for-byte reproducible for a given seed.
"""

from __future__ import annotations

import hashlib

MASK64 = (1 << 64) - 1


def mix64(x: int) -> int:
    """SplitMix64 finaliser: a fast, well-distributed 64-bit hash of an int."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def key64(*parts: object) -> int:
    """Stable 64-bit key from arbitrary labels (used once per owner, not per item)."""
    h = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big")


def uuid_from(a: int, b: int) -> str:
    """Format two 64-bit numbers as a version-4-looking UUID string."""
    h = f"{a & MASK64:016x}{b & MASK64:016x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def uuid_for(*parts: object) -> str:
    """Deterministic UUID for a named entity (user, fan, post)."""
    h = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return uuid_from(int.from_bytes(h[:8], "big"), int.from_bytes(h[8:16], "big"))
