"""Argument parsing for `python -m lib.dev`: up (default), migrate, adopt, sandbox, sync, diagnose, rotate-key."""

from __future__ import annotations

import argparse
import sys


def cmd_migrate(args: argparse.Namespace) -> int:
    from devstack.migrate import migrate
    from lib.config import load_settings

    # DATABASE_URL, else the Vercel x Supabase integration's direct POSTGRES_URL_NON_POOLING (DDL and
    # advisory locks do not belong on the transaction pooler), else its pooled POSTGRES_URL
    url = load_settings().migration_database_url
    if not url:
        from devstack.embedded import ensure_database, start_embedded

        server = start_embedded()
        url = ensure_database(server, "fanvue_sync")
        print("using the embedded Postgres in .data/pg (database fanvue_sync)")
    report = migrate(url)
    print(report.describe())
    for notice in report.notices:
        print(f"notice: {notice}")
    return 0


def cmd_adopt(args: argparse.Namespace) -> int:
    import os

    from devstack.adopt import adopt
    from lib.config import load_settings
    from lib.crypto import Cipher

    url = load_settings().migration_database_url  # the same database `migrate` changed
    if not url:
        from devstack import localenv
        from devstack.embedded import ensure_database, start_embedded

        url = ensure_database(start_embedded(), "fanvue_sync")
        localenv.apply_env(localenv.local_secrets())
        print("using the embedded Postgres in .data/pg (database fanvue_sync)")
    key = os.environ.get("TOKEN_ENCRYPTION_KEY")
    report = adopt(url, Cipher.from_setting(key) if key else None, dry_run=args.dry_run)
    print(report.describe())
    return 0


def _add_up_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=3000, help="port of the functions (default 3000)")
    p.add_argument("--sandbox-port", type=int, default=3001, help="port of the Fanvue sandbox (default 3001)")
    p.add_argument("--no-sandbox", action="store_true", help="use FANVUE_* from the environment, no sandbox")
    p.add_argument("--reset", action="store_true", help="delete .data/ first (database, local secrets)")
    p.add_argument("--new-sales-per-minute", type=float, default=2.0, help="sandbox sales arriving while it runs")
    p.add_argument("--exit-after-ready", action="store_true", help=argparse.SUPPRESS)


def cmd_up(args: argparse.Namespace) -> int:
    from devstack.stack import up

    return up(args)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from fanvue_sandbox.cli import main as sandbox_main

    return sandbox_main(args.rest)


def cmd_sync(args: argparse.Namespace) -> int:
    from devstack.ops import sync

    return sync(args.model, args.full)


def cmd_diagnose(args: argparse.Namespace) -> int:
    from devstack.ops import diagnose

    return diagnose(args.name, probe=not args.no_probe)


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from devstack.ops import rotate_key

    return rotate_key()


def cmd_new_key(args: argparse.Namespace) -> int:
    from lib.crypto import new_key_text

    print(new_key_text(args.kid))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.dev", description="Local stack of the Fanvue revenue sync.")
    _add_up_flags(parser)
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("up", help="run the whole system locally (the default)")
    _add_up_flags(p)
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("migrate", help="apply migrations to DATABASE_URL or the embedded Postgres")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser(
        "adopt", help="move an existing dashboard database's Fanvue grants and history in (after migrate)"
    )
    p.add_argument("--dry-run", action="store_true", help="print what would happen per model; write nothing")
    p.set_defaults(func=cmd_adopt)
    p = sub.add_parser("sandbox", help="run only the Fanvue sandbox (flags: --port N, --help)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_sandbox)
    p = sub.add_parser("sync", help="sync now, like the cron (or one model, like force-sync)")
    p.add_argument("--model", help="model name (exact, case-insensitive)")
    p.add_argument("--full", action="store_true", help="re-read all history")
    p.set_defaults(func=cmd_sync)
    p = sub.add_parser("diagnose", help="diagnose-revenue for a model, as text")
    p.add_argument("name")
    p.add_argument("--no-probe", action="store_true", help="skip the live Fanvue calls")
    p.set_defaults(func=cmd_diagnose)
    p = sub.add_parser("rotate-key", help="re-encrypt every token under the first key of TOKEN_ENCRYPTION_KEY")
    p.set_defaults(func=cmd_rotate_key)
    p = sub.add_parser("new-key", help="print a new TOKEN_ENCRYPTION_KEY entry")
    p.add_argument("--kid", default=None)
    p.set_defaults(func=cmd_new_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:  # its flags (--port ...) belong to the sandbox's own parser
        from fanvue_sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        return cmd_up(args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
