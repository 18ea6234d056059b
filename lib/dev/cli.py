"""Argument parsing for `python -m lib.dev`: up (default), migrate, sandbox, sync, diagnose, rotate-key."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional


def cmd_migrate(args: argparse.Namespace) -> int:
    from lib.db.migrate import migrate

    url = os.environ.get("DATABASE_URL")
    if not url:
        from lib.dev.embedded import ensure_database, start_embedded

        server = start_embedded()
        url = ensure_database(server, "fanvue_sync")
        print("using the embedded Postgres in .data/pg (database fanvue_sync)")
    report = migrate(url)
    print(report.describe())
    for notice in report.notices:
        print(f"notice: {notice}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.dev", description="Local stack of the Fanvue revenue sync.")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("migrate", help="apply migrations to DATABASE_URL or the embedded Postgres")
    p.set_defaults(func=cmd_migrate)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
