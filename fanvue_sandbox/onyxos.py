"""The sandbox playing the OnyxOS fixture's creators (tests/fixtures/onyxos/), so installing onto
an existing OnyxOS database can be tested end to end against a local Fanvue.

Who is who (from the fixture's `models` and `agency_fanvue_connections` rows):
- Lana (`lanaa`): the agency connection's account. Her own Fanvue account runs the agency and
  manages only herself, so her history is served on the personal route with the agency token
  AND on `/creators/{her uuid}/...`; `/creators` lists her alone. The fixture's agency grant
  failed to refresh with invalid_grant at 2026-02-06 14:20, so by default its refresh token is
  dead (`agency_grant_alive=True` keeps it alive); she can always reconnect through /oauth2/auth.
- Olivia (`oliviarae`): personal grant; the fixture's refresh token is alive and rotates.
- Lexi (`lexi.vale`): personal grant, dead since a refresh race on 2026-02-04: invalid_grant.
- Mia (`mia.rose`): never connected; the fixture has no Fanvue uuid for her. She exists on the
  sandbox Fanvue (sandbox-made uuid `MIA_UUID`, three sales) with no grant; `include_mia=False`
  leaves her out.
The fixture's access tokens all expired in February 2026, so every first use must refresh.

Each history is every distinct legacy sale of that creator (same date, source, gross, net, fan)
plus sales the legacy sync never fetched (onyxos_sales.py); Olivia's four sales that the legacy
sync filed under Lana (`MISFILED_ROW_IDS`) are in Olivia's history only. No refunds.
Grants belong to the configured OAuth client: the adopting app must use the Fanvue app (client
id/secret) that issued the OnyxOS tokens.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, replace
from typing import Any

from .config import CreatorSpec, GrantSpec, SandboxConfig
from .fixed import Sale
from .onyxos_sales import LEGACY, NEVER_FETCHED
from .timeutil import parse_iso

AGENCY_ID = "2fd2cf7c-daa0-466e-969d-c3295387b113"
#: the agency_fanvue_connections row
AGENCY_CONNECTION_ID = "a48cfe78-b653-4bc3-bd34-6e016dee7ec6"
#: Mia has no Fanvue uuid in the fixture; this one exists only in the sandbox
MIA_UUID = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "fanvue-sandbox:onyxos:mia.rose"))
#: legacy fanvue_transactions rows of Olivia's sales stored under Lana's model id (the 15:10 run
#: on 2026-02-06 fell back to Olivia's personal token); each is also stored under Olivia
MISFILED_ROW_IDS: frozenset[str] = frozenset(
    {
        "e6906168-d418-42d3-b407-378bdc383f20",
        "d3f7f838-bdc6-48d5-937f-bcfc66d3dfe4",
        "e6db1ea1-32a3-4478-bc29-b180df71929d",
        "d2d84628-e0e5-4515-b89a-2fdaf0134e70",
    }
)
GRANT_SCOPES = "openid offline_access offline read:self read:creator read:insights"


@dataclass(frozen=True)
class OnyxCreator:
    """A `models` row of the fixture and the Fanvue account behind it."""

    name: str
    model_id: str
    handle: str
    uuid: str
    #: "agency" (the agency connection's account), "personal" or "none"
    connection: str


LANA = OnyxCreator(
    "Lana", "8d7d7939-f6a0-4691-8965-10e0b57d229a", "lanaa", "77823af3-5886-4db1-b77d-a279197d5e31", "agency"
)
OLIVIA = OnyxCreator(
    "Olivia Rae",
    "af184b3f-ec2e-40cd-8966-08c599026ec4",
    "oliviarae",
    "3e48900b-8925-4394-a0fc-8cebbc1519f3",
    "personal",
)
LEXI = OnyxCreator(
    "Lexi Vale", "f0bb2bbb-d93f-4b78-b3fe-2e4bff17b79e", "lexi.vale", "fc0547b7-0905-4e23-8434-541a6bd01c75", "personal"
)
MIA = OnyxCreator("Mia Rose", "631ff7a3-7f48-4d94-bd13-b55662e953a3", "mia.rose", MIA_UUID, "none")
CREATORS: tuple[OnyxCreator, ...] = (LANA, OLIVIA, LEXI, MIA)


@dataclass(frozen=True)
class FixtureGrant:
    """Plaintext tokens of the fixture and what the sandbox does with their refresh token."""

    handle: str
    #: "agency_fanvue_connections" or "models"
    table: str
    row_id: str
    access_token: str
    refresh_token: str
    access_expires_at: str
    alive: bool


AGENCY_GRANT = FixtureGrant(
    "lanaa",
    "agency_fanvue_connections",
    AGENCY_CONNECTION_ID,
    "ory_at_mvAk5gsNKcgcQuc2bSbncLOBJw8vZcjeAiOyJ7vei1w.jZ3o9MSZvM7jyCpQqYefJ5F-Xx9SkOSQ7iesutXGuJl",
    "ory_rt_xURbrRXTV6kX6aCye_1vj-FKL3mOR5nsfPtilGa_yy9.3qsoJpTJvqytT3DHPg2T2iH6uVBXeC5EEHHpAX-EXt1",
    "2026-02-06T14:18:52.090Z",
    False,
)
OLIVIA_GRANT = FixtureGrant(
    "oliviarae",
    "models",
    OLIVIA.model_id,
    "ory_at_K2nM5TVs9S02cx1XlLcnSkkUox2k4a1tqJgwjLkMSDT.WddJtgtaut2CMIwpBEjXubIzFlRqD8IjyJba_I-FweO",
    "ory_rt__oaXsvhud_6Q1XSxY_WP2pnUjQHo0qVJ0nI5H6JCWJg.67f62ZXalE1UC8f8CBQjrMJGZXlbemU4QmbsbaoHQu4",
    "2026-02-06T21:30:05.214Z",
    True,
)
LEXI_GRANT = FixtureGrant(
    "lexi.vale",
    "models",
    LEXI.model_id,
    "ory_at_8TVNDJKp0rfq8VZcjwDVO81kosyEfHhRxN4NveTD3U3.OBIuUedMgpAS9TIHmGQgHy1RHEg9ymVtAXPdG5YbQyb",
    "ory_rt_8Nnn-PLgDCyyt6gT66UU6r8S0WALRHW4n6oDQAWXboq.jNz86rrhr1mP09hzvcWfmODM-_XN9vtgoG_Gc0Zqzba",
    "2026-02-04T18:12:40.551Z",
    False,
)
GRANTS: tuple[FixtureGrant, ...] = (AGENCY_GRANT, OLIVIA_GRANT, LEXI_GRANT)
_CREATED = {
    "lanaa": "2026-02-05T17:40:58.331Z",
    "oliviarae": "2026-02-03T09:12:33.870Z",
    "lexi.vale": "2026-02-03T09:20:41.102Z",
}
_DEAD_REASON = {
    "lanaa": "refresh failed with invalid_grant on 2026-02-06 14:20",
    "lexi.vale": "refresh token reused in a refresh race on 2026-02-04",
}


def _parse(table: str) -> list[Sale]:
    out = []
    for line in table.splitlines():
        date, source, gross, net, fan, handle, currency = line.split()
        out.append(
            Sale(
                parse_iso(date),
                source,
                int(gross),
                int(net),
                None if fan == "-" else fan,
                None if handle == "-" else handle,
                None if currency == "-" else currency,
            )
        )
    return out


def legacy_sales(handle: str) -> list[Sale]:
    """Distinct sales of the creator that the legacy rows hold (misfiled ones under their owner)."""
    return _parse(LEGACY.get(handle, ""))


def never_fetched_sales(handle: str) -> list[Sale]:
    """Sales of the creator that no legacy sync stored."""
    return _parse(NEVER_FETCHED.get(handle, ""))


def fanvue_sales(handle: str) -> list[Sale]:
    """The creator's whole Fanvue earnings history in the sandbox, oldest first."""
    return sorted(legacy_sales(handle) + never_fetched_sales(handle), key=lambda s: s.date_ms)


def expected_totals(include_mia: bool = True) -> dict[str, dict[str, int]]:
    """{handle: {count, gross, net, legacy_count, legacy_gross}} in cents, without a server."""
    out = {}
    for c in CREATORS:
        if c is MIA and not include_mia:
            continue
        sales, legacy = fanvue_sales(c.handle), legacy_sales(c.handle)
        out[c.handle] = {
            "count": len(sales),
            "gross": sum(s.gross for s in sales),
            "net": sum(s.net for s in sales),
            "legacy_count": len(legacy),
            "legacy_gross": sum(s.gross for s in legacy),
        }
    return out


def onyxos_config(*, agency_grant_alive: bool = False, include_mia: bool = True, **overrides: Any) -> SandboxConfig:
    """A `SandboxConfig` whose Fanvue is the fixture's (see module doc); overrides as for demo()."""
    specs = [
        CreatorSpec(handle=c.handle, display_name=c.name, uuid=c.uuid, sales=fanvue_sales(c.handle), refunds=0, items=0)
        for c in CREATORS
        if include_mia or c is not MIA
    ]
    grants = []
    for g in GRANTS:
        alive = g.alive or (g is AGENCY_GRANT and agency_grant_alive)
        grants.append(
            GrantSpec(
                handle=g.handle,
                access_token=g.access_token,
                refresh_token=g.refresh_token,
                access_expires_ms=parse_iso(g.access_expires_at),
                scopes=GRANT_SCOPES,
                created_ms=parse_iso(_CREATED[g.handle]),
                revoked_reason=None if alive else _DEAD_REASON[g.handle],
            )
        )
    base = SandboxConfig.demo()
    cfg = replace(
        base, seed=20260206, creators=specs, agency_manages=[LANA.handle], agency_account=LANA.handle, grants=grants
    )
    return replace(cfg, **overrides) if overrides else cfg
