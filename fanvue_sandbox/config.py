"""Sandbox configuration: the shape of the simulated Fanvue world and its knobs.

Everything the sandbox does is driven from one immutable-ish `SandboxConfig`, so a
test can build exactly the world it needs (a 1M-item creator, a 2 s rate window,
legacy rows, ...) and the demo/CLI path can start from `SandboxConfig.demo()`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fixed import Sale

#: The only API version value documented anywhere (https://api.fanvue.com/docs/versions/overview).
CURRENT_API_VERSION = "2025-06-26"

#: All scopes a Fanvue app can be granted, plus the Ory "system" scopes.
ALL_SCOPES: tuple[str, ...] = (
    "openid",
    "offline_access",
    "offline",
    "read:self",
    "read:chat",
    "write:chat",
    "read:fan",
    "read:creator",
    "write:creator",
    "read:media",
    "write:media",
    "read:post",
    "write:post",
    "read:insights",
    "read:tracking_links",
    "write:tracking_links",
    "read:agency",
    "write:agency",
    "read:notification",
)

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_REDIRECT_URIS: tuple[str, ...] = ("http://127.0.0.1:3000/api/auth/fanvue/callback",)


@dataclass
class CreatorSpec:
    """One simulated creator. Only `handle` and `items` matter for most tests.

    `items` is the number of earning line items generated up front; they are spread
    over the last `history_days` (denser towards now, like a growing creator).
    """

    handle: str
    items: int = 1000
    history_days: int = 365
    display_name: str | None = None
    #: extra share of fan-less items (referral/affiliate, `user: null`); None = base mix (~3.5 %)
    fanless_share: float | None = None
    #: number of refund/chargeback rows on /insights/spending; None = items // 150 (min 2)
    refunds: int | None = None
    #: fixed uuid instead of the seed-derived one
    uuid: str | None = None
    #: explicit line items instead of `items` generated ones (see fixed.py)
    sales: Sequence[Sale] | None = None


@dataclass
class GrantSpec:
    """An OAuth grant that exists before the sandbox starts (tokens another app already holds).

    It belongs to the configured client. The access token expires at `access_expires_ms`;
    a revoked grant (`revoked_reason` set) answers `invalid_grant` to its refresh token.
    """

    handle: str
    access_token: str
    refresh_token: str
    access_expires_ms: int
    scopes: str = "openid offline_access offline read:self read:insights read:creator"
    created_ms: int = 0
    revoked_reason: str | None = None


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


@dataclass
class SandboxConfig:
    """The whole sandbox world + behaviour switches (what a faithful Fanvue simulator must reproduce: auth server, API, limits, faults)."""

    seed: int = 42
    creators: list[CreatorSpec] = field(default_factory=list)
    #: handles of creators the agency user manages (the others are personal-connection only)
    agency_manages: list[str] = field(default_factory=list)
    rate_limit: int = 200
    rate_window_s: float = 60.0
    token_ttl_s: int = 3600
    #: refresh-token lifetime; None = never expires (Fanvue does not document it)
    refresh_ttl_s: int | None = None
    latency_ms: int = 0
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    redirect_uris: list[str] = field(default_factory=lambda: list(DEFAULT_REDIRECT_URIS))
    #: background sales while the server runs (0 = off)
    new_sales_per_minute: float = 0.0
    #: an earning is `pendingBalance` for this many days after its date, then `availableForPayout`
    pending_days: float = 7
    #: what `account.earnings.total` sums: "paid" (as published: paid invoices, i.e. items no longer
    #: `pendingBalance`) or "all" (every item, pending included: the other reading of the contract)
    account_total: str = "paid"
    #: emit old rows without transactionOrderId/transactionOrderStatus (older API behaviour)
    legacy_items_without_order_id: bool = False
    #: require X-Fanvue-API-Version (400/410 rules); False = ignore the header entirely
    enforce_version: bool = True

    # ---- extras (not in the original brief; all have safe defaults) ----
    agency_handle: str = "agency"
    #: fan-less referral/affiliate items the agency user earns itself (shown by the personal routes)
    agency_items: int = 8
    api_versions: list[str] = field(default_factory=lambda: [CURRENT_API_VERSION])
    #: version -> ISO date it was sunset (answers 410)
    sunset_versions: dict[str, str] = field(default_factory=dict)
    #: version -> HTTP-date of its planned sunset (accepted, but answers with Deprecation/Sunset headers)
    deprecated_versions: dict[str, str] = field(default_factory=dict)
    auth_code_ttl_s: int = 60
    #: "skip" (strict `date < cursor`, the faithful default) or "repeat" (`date <= cursor`)
    cursor_tie_mode: str = "skip"
    #: share of items whose source is an undocumented new value ("liveStream")
    unknown_source_share: float = 0.005
    unknown_source_value: str = "liveStream"
    #: share of items that are part of a same-millisecond tie group (groups of 2..5)
    tie_share: float = 0.03
    #: with legacy rows on: items older than this many days may lack the order id ...
    legacy_before_days: float = 365
    #: ... with this probability
    legacy_share: float = 0.5
    #: Ory/fosite revokes the previous access token of the grant on each refresh
    revoke_access_on_refresh: bool = True
    #: token endpoint client auth methods accepted ("client_secret_basic", "client_secret_post")
    client_auth_methods: list[str] = field(default_factory=lambda: ["client_secret_basic"])
    #: accept only the literal "Bearer" scheme (a lowercase "bearer" -> 401)
    bearer_case_sensitive: bool = True
    #: scopes the registered app may request
    client_scopes: list[str] = field(default_factory=lambda: list(ALL_SCOPES))
    #: more OAuth clients (client_id -> secret), same redirect URIs; to test code/client binding
    extra_clients: dict[str, str] = field(default_factory=dict)
    #: item dates are generated up to this unix-ms instant (None = wall-clock now at construction)
    anchor_ms: int | None = None
    #: render the likely next earnings page in a background thread (speed only, never content)
    prefetch: bool = True
    #: handle of a creator whose own account is the agency account (no separate agency user)
    agency_account: str | None = None
    #: grants installed at start (see GrantSpec)
    grants: list[GrantSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        handles = [c.handle for c in self.creators]
        if len(set(handles)) != len(handles):
            raise ValueError("creator handles must be unique")
        if self.agency_handle in handles:
            raise ValueError(f"{self.agency_handle!r} is reserved for the agency user")
        missing = [h for h in self.agency_manages if h not in handles]
        if missing:
            raise ValueError(f"agency_manages names unknown creators: {missing}")
        if self.agency_account is not None and self.agency_account not in handles:
            raise ValueError(f"agency_account names an unknown creator: {self.agency_account!r}")
        unknown = [g.handle for g in self.grants if g.handle not in handles and g.handle != self.agency_handle]
        if unknown:
            raise ValueError(f"grants name unknown users: {unknown}")
        if self.account_total not in ("paid", "all"):
            raise ValueError("account_total must be 'paid' or 'all'")
        if self.cursor_tie_mode not in ("skip", "repeat"):
            raise ValueError("cursor_tie_mode must be 'skip' or 'repeat'")

    @classmethod
    def demo(cls, **overrides: Any) -> SandboxConfig:
        """Default demo world: ava/bella/cleo managed by `agency`, dora personal-only.

        FANVUE_CLIENT_ID / FANVUE_CLIENT_SECRET / FANVUE_REDIRECT_URIS (comma separated)
        override the OAuth client so a locally running app can point at the sandbox.
        """
        env: dict[str, Any] = {}
        if os.environ.get("FANVUE_CLIENT_ID"):
            env["client_id"] = os.environ["FANVUE_CLIENT_ID"]
        if os.environ.get("FANVUE_CLIENT_SECRET"):
            env["client_secret"] = os.environ["FANVUE_CLIENT_SECRET"]
        uris = _env_list("FANVUE_REDIRECT_URIS")
        if uris:
            env["redirect_uris"] = uris
        base = cls(
            seed=42,
            creators=[
                CreatorSpec(handle="ava", items=6000, history_days=3 * 365, display_name="Ava Sterling"),
                CreatorSpec(handle="bella", items=1500, history_days=540, display_name="Bella Moreau"),
                CreatorSpec(handle="cleo", items=800, history_days=300, display_name="Cleo Hart", fanless_share=0.12),
                CreatorSpec(handle="dora", items=300, history_days=180, display_name="Dora Lind"),
            ],
            agency_manages=["ava", "bella", "cleo"],
            **env,
        )
        return replace(base, **overrides) if overrides else base
