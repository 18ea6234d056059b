"""Pydantic models of what we read from Fanvue.

Tolerant by design: unknown fields are ignored, optional fields may be missing, and enum-like
values (``source``, ``transactionOrderStatus``, ``role``) are plain strings, because Fanvue adds
values (``appStore``, ``checkoutLink``) after SDKs are generated and a strict enum would stop a sync.
Money is strict instead: integer USD cents, and a non-integral amount is rejected rather than rounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

__all__ = [
    "Cents",
    "UtcDatetime",
    "Fan",
    "EarningItem",
    "SpendingItem",
    "FanvueUser",
    "AccountEarnings",
    "AccountFans",
    "AccountDetails",
    "Account",
    "Creator",
    "Line",
    "parse_lines",
    "EarningsPage",
    "SpendingPage",
    "EARNING_SOURCES",
    "SPENDING_SOURCES",
    "TokenSet",
    "EARNING_ITEMS",
    "SPENDING_ITEMS",
    "CREATORS",
]


def _exact_cents(value: Any) -> int:
    """JSON numbers (``399`` or ``399.0``) -> int; anything fractional or non-numeric is an error."""
    if isinstance(value, bool):
        raise ValueError("amount must be a number of cents, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"amount {value!r} is not a whole number of cents")
    raise ValueError("amount must be a JSON number of cents")


def _as_utc(value: datetime) -> datetime:
    """Fanvue sends UTC (``...Z``); a naive value is taken as UTC, an offset is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


Cents = Annotated[int, BeforeValidator(_exact_cents)]
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


#: Filter values of ``source`` on ``/insights/earnings`` (``EarningSource`` in Fanvue's OpenAPI document,
#: https://api.fanvue.com/openapi), without ``all``. Items may carry values added later; these are only
#: the ones a request may name.
EARNING_SOURCES: tuple[str, ...] = ("affiliate", "appStore", "checkoutLink", "mediaLink", "message", "post",
                                    "referral", "renewal", "subscription", "tip", "giveaway")
#: Filter values of ``source`` on ``/insights/spending`` (``SpendingType``), without ``all``.
SPENDING_SOURCES: tuple[str, ...] = ("refund", "chargeback")


@dataclass(frozen=True, slots=True)
class Line:
    """One earnings or spending line as the sync uses it, checked straight from the JSON dict.

    The page walk reads thousands of lines a second, so a page is not copied into pydantic models:
    :func:`parse_lines` applies the checks :class:`EarningItem`/:class:`SpendingItem` make on the
    fields we store (a date, integer cents, a source, strings or null elsewhere, a fan with a uuid)
    and keeps the dict itself as ``raw``."""

    date: datetime
    gross: int
    net: int
    source: str
    currency: str | None
    transaction_order_id: str | None
    transaction_order_status: str | None
    message_uuid: str | None
    post_uuid: str | None
    fan_uuid: str | None
    fan_handle: str | None


_UTC = timezone.utc


def _date(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("date must be an ISO-8601 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_UTC)
    return parsed if parsed.tzinfo is _UTC else parsed.astimezone(_UTC)


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{key} must be a string or null")


def parse_lines(data: list[Any], *, with_order: bool) -> list[Line]:
    """Lines of one ``/insights/earnings`` (``with_order``) or ``/insights/spending`` page.

    Raises ValueError naming the item and field that breaks the contract."""
    lines: list[Line] = []
    for n, raw in enumerate(data):
        try:
            if not isinstance(raw, dict):
                raise ValueError("item is not an object")
            source = raw.get("source")
            if not isinstance(source, str):
                raise ValueError("source must be a string")
            user = raw.get("user")
            if user is None:
                fan_uuid = fan_handle = None
            elif isinstance(user, dict) and isinstance(user.get("uuid"), str):
                fan_uuid, fan_handle = user["uuid"], _text(user, "handle")
            else:
                raise ValueError("user must be an object with a uuid, or null")
            lines.append(Line(
                date=_date(raw.get("date")), gross=_exact_cents(raw.get("gross")), net=_exact_cents(raw.get("net")),
                source=source, currency=_text(raw, "currency"),
                transaction_order_id=_text(raw, "transactionOrderId") if with_order else None,
                transaction_order_status=_text(raw, "transactionOrderStatus") if with_order else None,
                message_uuid=_text(raw, "messageUuid"), post_uuid=_text(raw, "postUuid"),
                fan_uuid=fan_uuid, fan_handle=fan_handle))
        except ValueError as exc:
            raise ValueError(f"item {n}: {exc}") from None
    return lines


@dataclass(frozen=True, slots=True)
class EarningsPage:
    """The answer to one ``/insights/earnings`` request: parsed ``items``, the matching ``raw`` dicts
    (for the ledger's raw column) and the server's ``next_cursor`` (``None`` on the last page)."""

    items: list[Line]
    raw: list[dict[str, Any]] = field(repr=False)
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SpendingPage:
    """Like :class:`EarningsPage`, for refund/chargeback lines."""

    items: list[Line]
    raw: list[dict[str, Any]] = field(repr=False)
    next_cursor: str | None


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
    def from_token_response(cls, data: dict[str, Any], *, now: datetime | None = None) -> "TokenSet":
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
        now = now or datetime.now(timezone.utc)
        return cls(
            access_token=access,
            refresh_token=refresh or None,
            expires_at=now + timedelta(seconds=float(expires_in)),
            scope=scope if isinstance(scope, str) else None,
            token_type=str(token_type),
        )

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        """True when the access token expires in less than ``seconds`` (refresh ~300 s early)."""
        now = now or datetime.now(timezone.utc)
        return self.expires_at - now < timedelta(seconds=seconds)

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset((self.scope or "").split())
