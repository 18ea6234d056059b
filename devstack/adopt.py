"""`python -m lib.dev adopt`: the data half of installing onto an existing dashboard database.

The migrations already altered the schema in place (the older ledger is fanvue_transactions_legacy,
revenue_total shows each model's old figure until its first full backfill). This step moves every
plaintext Fanvue grant into fanvue_connections, encrypted with TOKEN_ENCRYPTION_KEY, links the
models, schedules their full backfill and drops the plaintext columns: one SQL call
(public.fanvue_adopt) in one transaction, so a killed run changed nothing and a second run finds
nothing to do. Encryption happens here because the key is the application's, not the database's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lib.crypto import Cipher
from lib.tokens import ACCESS, REFRESH

LOCK_KEY = 727_001_2027


@dataclass
class Grant:
    """One plaintext grant found in the older tables (tokens stay in memory only)."""

    source: str  # "models.<id>" or "agency_fanvue_connections.<id>"
    agency_id: str
    kind: str  # "creator" or "agency"
    fanvue_user_uuid: str
    handle: str | None
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None
    created_by: str | None = None

    def plan(self, now: datetime) -> str:
        if not self.refresh_token and (self.expires_at is None or self.expires_at <= now):
            return "import as needs_reconnect (expired, no refresh token)"
        if self.expires_at is not None and self.expires_at <= now:
            return "import; expired, its first refresh decides"
        return "import"

    def encrypted(self, cipher: Cipher, now: datetime) -> dict[str, Any]:
        dead = not self.refresh_token and (self.expires_at is None or self.expires_at <= now)
        return {
            "agency_id": self.agency_id,
            "kind": self.kind,
            "fanvue_user_uuid": self.fanvue_user_uuid,
            "handle": self.handle,
            "created_by": self.created_by,
            "access_enc": cipher.encrypt(self.access_token, ACCESS) if self.access_token else None,
            "refresh_enc": cipher.encrypt(self.refresh_token, REFRESH) if self.refresh_token else None,
            "key_id": cipher.current.kid,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "status": "needs_reconnect" if dead else "active",
            "status_reason": "imported from the older app without a refresh token, already expired; reconnect"
            if dead
            else None,
        }


@dataclass
class AdoptReport:
    dry_run: bool
    grants: list[Grant] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    table: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        r = self.result or {}
        return bool(r.get("connections_created") or r.get("models_linked") or r.get("columns_dropped"))

    def describe(self) -> str:
        lines = list(self.plan)
        if self.dry_run:
            lines.append("dry run: nothing was written")
        elif not self.changed:
            lines.append("nothing to do: no plaintext grant left, every model already adopted")
        else:
            r = self.result or {}
            lines.append(
                f"adopted: {r['connections_created']} connection(s) created, "
                f"{len(r['models_linked'])} model(s) linked and scheduled for a full backfill, "
                f"plaintext columns dropped: {', '.join(r['columns_dropped']) or 'none'}"
            )
        lines.append("")
        lines.extend(render_table(self.table))
        return "\n".join(lines)


def _usd(cents: Any) -> str:
    return "-" if cents is None else f"{int(cents) / 100:,.2f}"


def model_row(facts: dict[str, Any]) -> dict[str, Any]:
    """One line of the per-model table, from public.fanvue_legacy_facts."""
    legacy = facts.get("legacy") or {}
    dup = legacy.get("duplicates") or {}
    if not facts["connected"]:
        status = "not connected"
    elif facts.get("connection_status") != "active":
        status = f"{facts['connection_status']}: {facts.get('connection_reason') or ''}".strip()
    elif facts.get("backfill_completed_at"):
        status = "backfilled; showing the ledger"
    else:
        status = "backfill pending; showing the legacy figure"
    done = bool(facts.get("backfill_completed_at"))
    return {
        "model": facts["model"]["name"],
        "legacy_figure": _usd(facts.get("legacy_figure_cents")),
        "legacy_rows": legacy.get("rows", 0),
        "duplicates": f"{dup.get('rows', 0)} ({_usd(dup.get('cents', 0))})",
        "ledger_total": _usd(facts.get("ledger_cents")) if done else "-",
        "status": status[:70],
    }


COLUMNS = [
    ("model", "model"),
    ("legacy_figure", "legacy figure"),
    ("legacy_rows", "legacy rows"),
    ("duplicates", "duplicates"),
    ("ledger_total", "new ledger"),
    ("status", "status"),
]


def render_table(rows: list[dict[str, Any]]) -> list[str]:
    widths = [max([len(title)] + [len(str(r[key])) for r in rows]) for key, title in COLUMNS]

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return [line(t for _, t in COLUMNS), line("-" * w for w in widths)] + [line(r[k] for k, _ in COLUMNS) for r in rows]


def _columns(cur: Any, table: str) -> set[str]:
    cur.execute(
        "select column_name from information_schema.columns where table_schema = 'public' and table_name = %s", (table,)
    )
    return {r[0] for r in cur.fetchall()}


def find_grants(cur: Any) -> list[Grant]:
    """Every plaintext grant left in the older tables."""
    grants: list[Grant] = []
    cols = _columns(cur, "models")
    if "fanvue_access_token" in cols:
        api_key = "m.fanvue_api_key" if "fanvue_api_key" in cols else "null"
        cur.execute(f"""
            select m.id::text, m.agency_id::text, m.fanvue_user_uuid::text, m.fanvue_username,
                   coalesce(nullif(m.fanvue_access_token, ''), nullif({api_key}, '')),
                   nullif(m.fanvue_refresh_token, ''), m.fanvue_token_expires_at
              from public.models m
             where m.fanvue_user_uuid is not null and m.agency_id is not null
               and (nullif(m.fanvue_access_token, '') is not null or nullif(m.fanvue_refresh_token, '') is not null)
             order by m.name, m.id""")
        for mid, agency, uuid, handle, access, refresh, expires in cur.fetchall():
            grants.append(Grant(f"models.{mid}", agency, "creator", uuid, handle, access, refresh, expires))
    if "fanvue_access_token" in _columns(cur, "agency_fanvue_connections"):
        cur.execute("""
            select c.id::text, c.agency_id::text, c.fanvue_user_id, nullif(c.fanvue_access_token, ''),
                   nullif(c.fanvue_refresh_token, ''), c.fanvue_token_expires_at, c.admin_user_id::text
              from public.agency_fanvue_connections c
             where c.fanvue_user_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
               and (nullif(c.fanvue_access_token, '') is not null or nullif(c.fanvue_refresh_token, '') is not null)
             order by c.connected_at, c.id""")
        for cid, agency, uuid, access, refresh, expires, admin in cur.fetchall():
            grants.append(
                Grant(
                    f"agency_fanvue_connections.{cid}",
                    agency,
                    "agency",
                    uuid.lower(),
                    None,
                    access,
                    refresh,
                    expires,
                    admin,
                )
            )
    return grants


def model_facts(cur: Any) -> list[dict[str, Any]]:
    cur.execute("select public.fanvue_legacy_facts(id) from public.models order by name, id")
    return [r[0] for r in cur.fetchall()]


def _plan_lines(cur: Any, grants: list[Grant], now: datetime) -> list[str]:
    by_user = {(g.agency_id, g.fanvue_user_uuid): g for g in grants if g.kind == "creator"}
    agency_grant = {g.agency_id: g for g in grants if g.kind == "agency"}
    cur.execute("""select m.name, m.agency_id::text, m.fanvue_user_uuid::text, m.connection_id is not null,
                          m.revenue_total, m.legacy_revenue_pending
                     from public.models m order by m.name, m.id""")
    lines = []
    for name, agency, uuid, linked, shown, pending in cur.fetchall():
        own, shared = by_user.get((agency, uuid)), agency_grant.get(agency)
        if linked:
            what = "already linked: nothing to do"
        elif uuid is None:
            what = "no Fanvue account on record: stays not connected (row kept)"
        elif own:
            what = f"personal grant from models: {own.plan(now)}; link; full backfill"
        elif shared:
            what = f"agency grant from agency_fanvue_connections: {shared.plan(now)}; link; full backfill"
        else:
            what = "no grant found: stays not connected (row kept)"
        keeps = " (keeps showing it until the backfill completes)" if pending else ""
        lines.append(f"{name}: revenue_total {shown}{keeps}; {what}")
    for g in grants:
        if g.kind == "agency":
            lines.append(f"agency grant {g.source} for Fanvue user {g.fanvue_user_uuid}: {g.plan(now)}")
    return lines


def adopt(url: str, cipher: Cipher | None, *, dry_run: bool) -> AdoptReport:
    import psycopg
    from psycopg.types.json import Jsonb

    report = AdoptReport(dry_run=dry_run)
    now = datetime.now(UTC)
    with psycopg.connect(url, prepare_threshold=None) as conn, conn.cursor() as cur:
        cur.execute("select to_regproc('public.fanvue_adopt') is not null")
        if not cur.fetchone()[0]:
            raise SystemExit("the migrations are not applied: run `python -m lib.dev migrate` first")
        if dry_run:
            cur.execute("set transaction read only")
        # one adopt at a time; the function itself runs in this same transaction
        cur.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        report.grants = find_grants(cur)
        report.plan = _plan_lines(cur, report.grants, now)
        if not dry_run:
            if report.grants and cipher is None:
                raise SystemExit("TOKEN_ENCRYPTION_KEY is not set: it is needed to encrypt the imported tokens")
            imports = [g.encrypted(cipher, now) for g in report.grants] if cipher else []
            cur.execute("select public.fanvue_adopt(%s)", (Jsonb(imports),))
            report.result = cur.fetchone()[0]
        report.table = [model_row(f) for f in model_facts(cur)]
        if dry_run:
            conn.rollback()
        else:
            conn.commit()
    return report
