"""Pydantic models of what we read from Fanvue.

Tolerant by design: unknown fields are ignored, optional fields may be missing, and enum-like
values (``source``, ``transactionOrderStatus``, ``role``) are plain strings, because Fanvue adds
values (``appStore``, ``checkoutLink``) after SDKs are generated and a strict enum would stop a sync.
Money is strict instead: integer USD cents, and a non-integral amount is rejected rather than rounded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from .lines import EARNING_SOURCES, SPENDING_SOURCES, EarningsPage, Line, SpendingPage, exact_cents, parse_lines

__all__ = [
    "CREATORS",
    "EARNING_ITEMS",
    "EARNING_SOURCES",
    "SPENDING_ITEMS",
    "SPENDING_SOURCES",
    "Account",
    "AccountDetails",
    "AccountEarnings",
    "AccountFans",
    "Cents",
    "Creator",
    "EarningItem",
    "EarningsPage",
    "Fan",
    "FanvueUser",
    "Line",
    "SpendingItem",
    "SpendingPage",
    "TokenSet",
    "UtcDatetime",
    "parse_lines",
]


def _as_utc(value: datetime) -> datetime:
    """Fanvue sends UTC (``...Z``); a naive value is taken as UTC, an offset is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


Cents = Annotated[int, BeforeValidator(exact_cents)]
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class _Wire(BaseModel):
    """Base for response models: camelCase on the wire, snake_case in Python, extras ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


class Fan(_Wire):
    """The paying fan attached to an earning or spending line (``user``)."""

    uuid: str
    handle: str | None = None
    display_name: str | None = None
    nickname: str | None = None
    is_top_spender: bool | None = None
    avatar_url: str | None = None
    registered_at: UtcDatetime | None = None


class EarningItem(_Wire):
    """One invoice line of ``/insights/earnings``. ``transaction_order_id`` is the dedupe key when
    present; ``transaction_order_status`` is mutable (pendingBalance -> availableForPayout)."""

    date: UtcDatetime
    gross: Cents
    net: Cents
    currency: str | None = None  # informational only: amounts are USD cents regardless
    source: str
    transaction_order_id: str | None = None
    transaction_order_status: str | None = None
    message_uuid: str | None = None
    post_uuid: str | None = None
    user: Fan | None = None


class SpendingItem(_Wire):
    """One refund/chargeback line of ``/insights/spending`` (negative amounts, no order id)."""

    date: UtcDatetime
    gross: Cents
    net: Cents
    currency: str | None = None
    source: str
    message_uuid: str | None = None
    post_uuid: str | None = None
    user: Fan | None = None


class FanvueUser(_Wire):
    """``GET /users/me``: who the token belongs to (no earnings here)."""

    uuid: str
    handle: str | None = None
    display_name: str | None = None
    email: str | None = None
    is_creator: bool | None = None
    bio: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    avatar_url: str | None = None
    banner_url: str | None = None


class AccountEarnings(_Wire):
    """All-time gross of paid invoices, withdrawable balance (both USD cents), last payout."""

    total: Cents
    available_balance: Cents | None = None
    last_payout_at: UtcDatetime | None = None


class AccountFans(_Wire):
    followers: int | None = None
    subscribers: int | None = None


class AccountDetails(_Wire):
    status: str | None = None  # "active" | "suspended" (kept open)
    earnings: AccountEarnings
    fans: AccountFans | None = None


class Account(_Wire):
    """``GET /users/account`` and ``GET /creators/{uuid}/account``: the reconciliation target."""

    uuid: str
    handle: str | None = None
    display_name: str | None = None
    is_creator: bool | None = None
    account: AccountDetails

    @property
    def status(self) -> str | None:
        return self.account.status

    @property
    def earnings_total(self) -> int:
        return self.account.earnings.total

    @property
    def available_balance(self) -> int | None:
        return self.account.earnings.available_balance

    @property
    def last_payout_at(self) -> datetime | None:
        return self.account.earnings.last_payout_at


class Creator(_Wire):
    """One row of ``GET /creators`` (creators managed by the caller's agency)."""

    uuid: str
    handle: str | None = None
    display_name: str | None = None
    nickname: str | None = None
    is_top_spender: bool | None = None
    avatar_url: str | None = None
    registered_at: UtcDatetime | None = None
    role: str | None = None


# Built once: validating a page of 50 is one call into pydantic-core, no per-item model dispatch.
EARNING_ITEMS: TypeAdapter[list[EarningItem]] = TypeAdapter(list[EarningItem])
SPENDING_ITEMS: TypeAdapter[list[SpendingItem]] = TypeAdapter(list[SpendingItem])
CREATORS: TypeAdapter[list[Creator]] = TypeAdapter(list[Creator])


class TokenSet(BaseModel):
    """An OAuth token response, with ``expires_at`` made absolute.

    The tokens are excluded from ``repr``/``str`` so a logged TokenSet (or an exception that shows
    one) does not leak them; ``model_dump()`` still includes them for encrypted storage.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires_at: UtcDatetime
    scope: str | None = None
    token_type: str = "bearer"

    @classmethod
    def from_token_response(cls, data: dict[str, Any], *, now: datetime | None = None) -> TokenSet:
        """Build from the token endpoint's JSON. Raises ValueError (secret-free) when malformed."""
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("token response has no access_token")
        refresh = data.get("refresh_token")
        if refresh is not None and not isinstance(refresh, str):
            raise ValueError("token response has a non-string refresh_token")
        expires_in = data.get("expires_in", 3600)
        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in < 0:
            raise ValueError("token response has an invalid expires_in")
        scope = data.get("scope")
        token_type = data.get("token_type") or "bearer"
        now = now or datetime.now(UTC)
        return cls(
            access_token=access,
            refresh_token=refresh or None,
            expires_at=now + timedelta(seconds=float(expires_in)),
            scope=scope if isinstance(scope, str) else None,
            token_type=str(token_type),
        )

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        """True when the access token expires in less than ``seconds`` (refresh ~300 s early)."""
        now = now or datetime.now(UTC)
        return self.expires_at - now < timedelta(seconds=seconds)

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset((self.scope or "").split())
