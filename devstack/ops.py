"""Terminal versions of the endpoints: sync, diagnose, rotate-key. They use the running local
stack's settings (.data/) when there is one, else the environment."""

from __future__ import annotations

import os
import sys

from devstack import localenv


def _environment() -> None:
    stack = localenv.load_stack()
    if stack:
        localenv.apply_env(localenv.local_secrets())
        localenv.apply_env(stack["env"])
    elif localenv.ENV_FILE.exists():
        localenv.apply_env(localenv.local_secrets())
    if not os.environ.get("DATABASE_URL") and not os.environ.get("SUPABASE_URL"):
        from devstack.embedded import ensure_database, start_embedded

        localenv.apply_env({"DATABASE_URL": ensure_database(start_embedded(), "fanvue_sync")}, override=True)


def _find_model(name: str) -> dict | None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "select id::text, name, agency_id::text from models where lower(name) = lower(%s)", (name,)
        ).fetchall()
    if not rows:
        print(f"no model named {name!r}", file=sys.stderr)
        return None
    if len(rows) > 1:
        print(f"{len(rows)} models named {name!r}: " + ", ".join(r[0] for r in rows), file=sys.stderr)
        return None
    return {"id": rows[0][0], "name": rows[0][1], "agency_id": rows[0][2]}


def sync(model_name: str | None, full: bool) -> int:
    _environment()
    from rich.console import Console

    from lib.db import get_database
    from lib.sync.engine import SyncOptions
    from lib.sync.runner import force_sync
    from lib.sync.work import LeaseHeld

    console = Console()
    if not model_name:
        from devstack.stack import first_backfill

        summary = first_backfill(None)
        for m in summary.models:
            console.print(
                f"{m.name:<20} {m.outcome:<8} fetched {m.fetched:>7} inserted {m.inserted:>7} "
                f"updated {m.updated:>5}  revenue ${(m.revenue_after_cents or 0) / 100:,.2f}"
                + (f"  error: {m.error}" if m.error else "")
            )
        console.print(f"run {summary.run_id}: {summary.status} in {summary.duration_s:.1f} s")
        return 0 if summary.status in ("ok", "empty") else 1
    model = _find_model(model_name)
    if model is None:
        return 2
    with console.status(f"syncing {model['name']}{' (full history)' if full else ''}..."):
        outcome = force_sync(get_database(), str(model["id"]), options=SyncOptions(full=full))
    if isinstance(outcome, LeaseHeld):
        console.print(
            f"a {outcome.lease_kind or ''} sync of {model['name']} holds it until "
            f"{outcome.lease_expires_at}; try again later"
        )
        return 3
    result = outcome.result
    console.print(
        f"{result.name}: {result.outcome}; fetched {result.fetched}, inserted {result.inserted}, "
        f"updated {result.updated}, unchanged {result.unchanged}; revenue "
        f"${(result.revenue_before_cents or 0) / 100:,.2f} -> ${(result.revenue_after_cents or 0) / 100:,.2f} "
        f"in {result.duration_s:.1f} s" + (f"\nerror: {result.error}" if result.error else "")
    )
    return 0 if result.outcome == "ok" else 1


def diagnose(name: str, probe: bool = True) -> int:
    _environment()
    from lib.config import settings
    from lib.db import get_database
    from lib.diagnose.render import as_text
    from lib.diagnose.report import build_report

    model = _find_model(name)
    if model is None:
        return 2
    report = build_report(
        get_database(), model["id"], probe=probe, config=settings(), base_url=settings().public_base_url
    )
    print(as_text(report), end="")
    return 0 if report["verdict"]["status"] == "healthy" else 1


def rotate_key() -> int:
    """Re-encrypts every stored token under the first key of TOKEN_ENCRYPTION_KEY (version-checked)."""
    _environment()
    from lib.crypto import token_cipher
    from lib.db import get_database
    from lib.tokens import ACCESS, REFRESH

    db, cipher = get_database(), token_cipher()
    done = skipped = 0
    while True:
        rows = db.call("fanvue_token_ciphertexts", not_key_id=cipher.current.kid)
        rows = [r for r in rows if r["id"] not in _seen]
        if not rows:
            break
        for row in rows:
            _seen.add(row["id"])
            access = (
                cipher.encrypt(cipher.decrypt(row["access_token_enc"], ACCESS), ACCESS)
                if row["access_token_enc"]
                else None
            )
            refresh = (
                cipher.encrypt(cipher.decrypt(row["refresh_token_enc"], REFRESH), REFRESH)
                if row["refresh_token_enc"]
                else None
            )
            replaced = db.call(
                "fanvue_replace_token_ciphertexts",
                connection_id=row["id"],
                expected_version=row["token_version"],
                access_enc=access,
                refresh_enc=refresh,
                key_id=cipher.current.kid,
            )["replaced"]
            done += replaced
            skipped += not replaced
    print(
        f"re-encrypted {done} connection(s) under key {cipher.current.kid}"
        + (f"; {skipped} changed meanwhile (refreshed, so already under the new key)" if skipped else "")
    )
    return 0


_seen: set = set()
