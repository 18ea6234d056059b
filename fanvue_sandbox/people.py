"""Sandbox users (creators + the agency admin) and the fans who pay them.

Fans are never stored: a fan is a global id derived from (seed, gid), so a creator with a
million items does not need a million fan objects. Neighbouring creators share part of
their fan population (real fans follow several creators), which exposes clients that key
fan rows by uuid but store per-creator fields such as `isTopSpender`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .rng import key64, mix64, uuid_for, uuid_from
from .timeutil import DAY_MS, iso_ms

_FIRST = (
    "Liam",
    "Noah",
    "Oliver",
    "Elijah",
    "James",
    "Lucas",
    "Mateo",
    "Leo",
    "Ethan",
    "Kai",
    "Hugo",
    "Felix",
    "Arjun",
    "Diego",
    "Yusuf",
    "Tomasz",
    "Jonas",
    "Marco",
    "Sven",
    "Rafael",
    "Olivia",
    "Emma",
    "Mia",
    "Sofia",
    "Isla",
    "Chloe",
    "Zoe",
    "Lea",
    "Ana",
    "Priya",
)
_LAST = "ABCDEFGHIJKLMNOPRSTVWZ"
_NICK = ("bigtipper", "nightowl", "lurker", "vip", "fan1", "shy_guy", "gamer", "dreamer")


@dataclass
class SandboxUser:
    """A Fanvue account in the sandbox; supports both `u.uuid` and `u["uuid"]`."""

    uuid: str
    handle: str
    display_name: str
    email: str
    bio: str
    registered_at_ms: int
    is_creator: bool
    is_agency: bool = False
    role: str = "creator"
    avatar_url: str | None = None
    banner_url: str | None = None
    followers: int = 0
    subscribers: int = 0
    likes: int = 0
    content_counts: dict[str, int] = field(default_factory=dict)
    status: str = "active"
    #: uuids of creators this (agency) user manages
    managed: list[str] = field(default_factory=list)
    managed_by_agency: bool = False

    def __getitem__(self, key: str) -> Any:
        return self.info()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.info().get(key, default)

    def info(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "handle": self.handle,
            "displayName": self.display_name,
            "email": self.email,
            "registeredAt": iso_ms(self.registered_at_ms),
            "isCreator": self.is_creator,
            "isAgency": self.is_agency,
            "role": self.role,
            "managedByAgency": self.managed_by_agency,
            "managed": list(self.managed),
        }

    # ---- API representations ----
    def profile(self) -> dict[str, Any]:
        """Common fields of /users/me and the account views."""
        return {
            "uuid": self.uuid,
            "email": self.email,
            "handle": self.handle,
            "bio": self.bio,
            "displayName": self.display_name,
            "isCreator": self.is_creator,
            "createdAt": iso_ms(self.registered_at_ms),
            "updatedAt": iso_ms(self.registered_at_ms + 30 * DAY_MS),
            "avatarUrl": self.avatar_url,
            "bannerUrl": self.banner_url,
        }

    def me(self) -> dict[str, Any]:
        out = self.profile()
        out["likesCount"] = self.likes
        out["fanCounts"] = {"followersCount": self.followers, "subscribersCount": self.subscribers}
        out["contentCounts"] = dict(self.content_counts)
        return out

    def creator_row(self) -> dict[str, Any]:
        """A row of GET /creators."""
        return {
            "uuid": self.uuid,
            "handle": self.handle,
            "displayName": self.display_name,
            "nickname": None,
            "isTopSpender": False,
            "avatarUrl": self.avatar_url,
            "registeredAt": iso_ms(self.registered_at_ms),
            "role": self.role,
        }


def make_user(
    seed: int,
    handle: str,
    display_name: str | None,
    registered_at_ms: int,
    *,
    is_creator: bool,
    is_agency: bool = False,
    fixed_uuid: str | None = None,
    size_hint: int = 0,
) -> SandboxUser:
    """Deterministic profile for a sandbox account."""
    k = key64(seed, "user", handle)
    posts = 20 + (k % 400)
    return SandboxUser(
        uuid=fixed_uuid or uuid_for(seed, "user", handle),
        handle=handle,
        display_name=display_name or handle.capitalize(),
        email=f"{handle}@sandbox.fanvue.invalid",
        bio=("Agency account" if is_agency else f"Hi, I'm {display_name or handle}! Sandbox creator."),
        registered_at_ms=registered_at_ms,
        is_creator=is_creator,
        is_agency=is_agency,
        role="agencyAdmin" if is_agency else "creator",
        avatar_url=f"https://media.sandbox.fanvue.invalid/avatars/{handle}.jpg",
        banner_url=None if is_agency else f"https://media.sandbox.fanvue.invalid/banners/{handle}.jpg",
        followers=0 if is_agency else 100 + size_hint // 2 + (k >> 8) % 5000,
        subscribers=0 if is_agency else 10 + size_hint // 10 + (k >> 20) % 500,
        likes=0 if is_agency else (k >> 32) % 20000,
        content_counts={
            "imageCount": 0 if is_agency else posts * 2,
            "videoCount": 0 if is_agency else posts // 3,
            "audioCount": 0 if is_agency else posts // 20,
            "postCount": 0 if is_agency else posts,
            "payToViewPostCount": 0 if is_agency else posts // 5,
        },
    )


class FanPool:
    """The fans of one creator: local rank k (0 = biggest spender) -> global fan id.

    `json(k)` returns the pre-encoded `user` object, cached per fan (pools are capped at
    MAX_POOL fans, so the cache stays a few MB even for a million-item creator).
    """

    MAX_POOL = 25_000

    def __init__(self, seed: int, size: int, offset: int, population: int, registered_before_ms: int) -> None:
        self.size = max(1, size)
        self.offset = offset
        self.population = max(population, self.size)
        self.top = max(1, self.size * 3 // 100)
        self._key = key64(seed, "fans")
        self._reg_before = registered_before_ms
        self._cache: list[str | None] = [None] * self.size

    def gid(self, k: int) -> int:
        return (self.offset + k) % self.population

    def dict(self, k: int) -> dict[str, Any]:
        g = self.gid(k)
        r1 = mix64(self._key ^ (g * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF))
        r2 = mix64(r1 ^ 0x5851F42D4C957F2D)
        first = _FIRST[r1 % len(_FIRST)]
        nick = None if (r1 >> 8) % 10 < 6 else _NICK[(r1 >> 12) % len(_NICK)] + str(g % 97)
        uuid = uuid_from(r1, r2)
        return {
            "uuid": uuid,
            "handle": f"{first.lower()}-{g}",
            "displayName": f"{first} {_LAST[(r1 >> 16) % len(_LAST)]}.",
            "nickname": nick,
            "isTopSpender": k < self.top,
            "avatarUrl": None if (r1 >> 24) % 10 < 3 else f"https://media.sandbox.fanvue.invalid/avatars/{uuid}.jpg",
            "registeredAt": iso_ms(self._reg_before - (r2 % (700 * DAY_MS))),
        }

    def json(self, k: int) -> str:
        s = self._cache[k]
        if s is None:
            d = self.dict(k)
            # names come from fixed ASCII lists, so no escaping is needed (a test compares with json.dumps)
            s = (
                '{{"uuid":"{}","handle":"{}","displayName":"{}","nickname":{},"isTopSpender":{},'
                '"avatarUrl":{},"registeredAt":"{}"}}'
            ).format(
                d["uuid"],
                d["handle"],
                d["displayName"],
                "null" if d["nickname"] is None else '"' + d["nickname"] + '"',
                "true" if d["isTopSpender"] else "false",
                "null" if d["avatarUrl"] is None else '"' + d["avatarUrl"] + '"',
                d["registeredAt"],
            )
            self._cache[k] = s
        return s
