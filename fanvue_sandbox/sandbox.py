"""`FanvueSandbox`: the Python handle a test or the dev CLI uses to run and steer the fake
Fanvue (auth server + API on one base URL)."""

from __future__ import annotations

import threading
from typing import Any

from .api import FanvueApi
from .app import SandboxApp
from .config import SandboxConfig
from .faults import Faults
from .oauth import OAuthServer
from .people import SandboxUser
from .prefetch import Prefetcher
from .ratelimit import RateLimiter
from .server import HttpServerThread
from .timeutil import SandboxClock, wall_ms
from .world import World


class FanvueSandbox:
    """A local, deterministic Fanvue. `start()` returns the base URL to use for both
    FANVUE_API_BASE and FANVUE_AUTH_BASE. Usable as a context manager."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig.demo()
        self.clock = SandboxClock()
        self.world = World(self.config)
        self.faults = Faults()
        self.limiter = RateLimiter(self.config.rate_limit, self.config.rate_window_s)
        self.base_url: str | None = None
        self.oauth = OAuthServer(
            self.config, self.clock, self.world, issuer=lambda: self.base_url or "http://sandbox.invalid"
        )
        self.prefetcher = Prefetcher()
        self.api = FanvueApi(
            self.config,
            self.clock,
            self.world,
            self.oauth,
            self.limiter,
            self.prefetcher if self.config.prefetch else None,
        )
        self.app = SandboxApp(self)
        self.latency_ms = int(self.config.latency_ms)
        self._http: HttpServerThread | None = None
        self._stop_bg = threading.Event()
        self._bg: threading.Thread | None = None
        self._sales_added = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve in a background thread; returns "http://HOST:PORT"."""
        if self._http is not None:
            raise RuntimeError("sandbox already started")
        self._http = HttpServerThread(self.app.handle, host, port)
        h, p = self._http.address
        if h in ("0.0.0.0", ""):
            h = "127.0.0.1"
        elif ":" in h:
            h = f"[{'::1' if h == '::' else h}]"
        self.base_url = f"http://{h}:{p}"
        self._http.start()
        self.prefetcher.start()
        if self.config.new_sales_per_minute > 0:
            self._stop_bg.clear()
            self._bg = threading.Thread(target=self._background_sales, name="fanvue-sandbox-sales", daemon=True)
            self._bg.start()
        return self.base_url

    def stop(self) -> None:
        self._stop_bg.set()
        if self._bg is not None:
            self._bg.join(timeout=5)
            self._bg = None
        if self._http is not None:
            self._http.stop()
            self._http = None
        self.prefetcher.stop()

    def __enter__(self) -> FanvueSandbox:
        if self._http is None:
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _background_sales(self) -> None:
        rate = self.config.new_sales_per_minute / 60.0
        owed = 0.0
        last = wall_ms()
        while not self._stop_bg.wait(0.25):
            now = wall_ms()
            owed += rate * (now - last) / 1000.0
            last = now
            if owed >= 1:
                n = int(owed)
                owed -= n
                self.world.add_sales(None, n, now)
                self._sales_added += n

    # ------------------------------------------------------------------ steering
    def ground_truth(self, include_items: bool = True, creator: str | None = None) -> dict[str, Any]:
        """{user uuid: {"handle", "earnings": {count, gross, net, items?}, "spending": {...}}}."""
        if creator is not None and self.world.find(creator) is None:
            raise KeyError(f"unknown sandbox user {creator!r}")
        return self.world.ground_truth(self.clock.now_ms(), include_items=include_items, only=creator)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Merge faults into the active plan (shapes in faults.py); returns the active plan."""
        revoke = faults.pop("revoke_grant", None)
        active = self.faults.set(**faults)
        if revoke:
            self.faults.count_revoked(self.oauth.revoke_user(revoke, "revoked by fault injection"))
        return active

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_latency(self, ms: int) -> None:
        self.latency_ms = max(0, int(ms))

    def advance_clock(self, seconds: float) -> None:
        """Move sandbox time forward: expires tokens/codes, ages orders pending -> available."""
        self.clock.advance(seconds)

    def add_sales(self, handle_or_uuid: str | None, count: int) -> list[dict[str, Any]]:
        """Append `count` sales dated at wall-clock now (None = random creators). Each returned
        dict is the item exactly as the API renders it plus a "creatorUuid" key."""
        added = self.world.add_sales(handle_or_uuid, int(count), wall_ms())
        self._sales_added += len(added)
        cut = self.world.pending_before(self.clock.now_ms())
        out = []
        for owner, i in added:
            d = self.world.earnings[owner].item_dict(i, cut)
            d["creatorUuid"] = owner
            out.append(d)
        return out

    def issue_grant(self, login_hint: str, scopes: str) -> dict[str, Any]:
        """Token response as if `login_hint` completed the OAuth flow for the configured client."""
        return self.oauth.issue_grant(login_hint, scopes)

    # ------------------------------------------------------------------ introspection
    def creator(self, handle: str) -> SandboxUser:
        """A creator (or any sandbox user) by handle or uuid; `.uuid` / `["uuid"]`."""
        u = self.world.find(handle)
        if u is None:
            raise KeyError(f"unknown sandbox user {handle!r}")
        return u

    @property
    def agency_user(self) -> SandboxUser:
        return self.world.agency

    @property
    def creators(self) -> list[SandboxUser]:
        return list(self.world.creators)

    def stats(self) -> dict[str, Any]:
        oauth = self.oauth.stats()
        out: dict[str, Any] = {"requests": self.app.stats()}
        out.update(oauth)
        out["rate_limit"] = self.limiter.stats()
        out["faults"] = self.faults.stats()
        out["clock_offset_s"] = self.clock.offset_ms / 1000
        out["latency_ms"] = self.latency_ms
        out["sales_added"] = self._sales_added
        out["items"] = {u.handle: len(self.world.earnings[u.uuid]) for u in self.world.users}
        return out

    def info(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "base_url": self.base_url,
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "redirect_uris": list(cfg.redirect_uris),
            "api_version": cfg.api_versions[-1],
            "users": [dict(u.info(), items=len(self.world.earnings[u.uuid])) for u in self.world.users],
        }
