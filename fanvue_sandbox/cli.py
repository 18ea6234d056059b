"""`python -m fanvue_sandbox` (also `python -m lib.dev sandbox`):
run the demo sandbox in the foreground and print what a local app needs to point at it."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from .config import SandboxConfig
from .onyxos import onyxos_config
from .sandbox import FanvueSandbox


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sandbox", description="Run a local Fanvue sandbox (auth server + API).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787, help="0 = pick a free port")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--latency-ms", type=int, default=None)
    p.add_argument("--rate-limit", type=int, default=None, help="requests per window (Fanvue: 200)")
    p.add_argument("--rate-window", type=float, default=None, help="window seconds (Fanvue: 60)")
    p.add_argument("--token-ttl", type=int, default=None, help="access token lifetime, seconds (Fanvue: 3600)")
    p.add_argument("--new-sales-per-minute", type=float, default=None)
    p.add_argument(
        "--onyxos", action="store_true", help="play the OnyxOS fixture's creators and tokens (fanvue_sandbox/onyxos.py)"
    )
    p.add_argument(
        "--onyxos-agency-alive",
        action="store_true",
        help="with --onyxos: keep the fixture's agency refresh token alive",
    )
    p.add_argument(
        "--account-total",
        choices=("paid", "all"),
        default=None,
        help="account.earnings.total sums paid items (as published, default) or all items",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    overrides: dict[str, Any] = {}
    for attr, key in (
        ("seed", "seed"),
        ("latency_ms", "latency_ms"),
        ("rate_limit", "rate_limit"),
        ("rate_window", "rate_window_s"),
        ("token_ttl", "token_ttl_s"),
        ("new_sales_per_minute", "new_sales_per_minute"),
        ("account_total", "account_total"),
    ):
        val = getattr(args, attr)
        if val is not None:
            overrides[key] = val
    if args.onyxos:
        return onyxos_config(agency_grant_alive=args.onyxos_agency_alive, **overrides)
    return SandboxConfig.demo(**overrides)


def main(
    argv: list[str] | None = None, *, ready: threading.Event | None = None, stop: threading.Event | None = None
) -> int:
    """Start, print the base URL, client and demo users, serve until Ctrl-C (or `stop`)."""
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    sb = FanvueSandbox(cfg)
    base = sb.start(args.host, args.port)
    out = sys.stdout
    print(f"Fanvue sandbox listening on {base}", file=out)
    print(f"  FANVUE_API_BASE={base}", file=out)
    print(f"  FANVUE_AUTH_BASE={base}", file=out)
    print(f"  FANVUE_CLIENT_ID={cfg.client_id}", file=out)
    print(f"  FANVUE_CLIENT_SECRET={cfg.client_secret}", file=out)
    print(f"  FANVUE_REDIRECT_URIS={','.join(cfg.redirect_uris)}", file=out)
    print(f"  X-Fanvue-API-Version: {cfg.api_versions[-1]}", file=out)
    print(
        f"  rate limit {cfg.rate_limit}/{cfg.rate_window_s:g}s, token ttl {cfg.token_ttl_s}s, "
        f"latency {cfg.latency_ms}ms, seed {cfg.seed}",
        file=out,
    )
    print("  users (pass the handle as login_hint on /oauth2/auth):", file=out)
    for u in sb.world.users:
        role = (
            "agency admin, manages " + ", ".join(sb.world.by_uuid[m].handle for m in u.managed)
            if u.is_agency
            else ("managed by agency" if u.managed_by_agency else "personal connection only")
        )
        print(f"    {u.handle:<8} {u.uuid}  {len(sb.world.earnings[u.uuid]):>7} earnings  ({role})", file=out)
    print(f"  control: {base}/_sandbox/info | ground-truth | stats | faults | clock | sales | latency", file=out)
    out.flush()
    if ready is not None:
        ready.set()
    waiter = stop or threading.Event()
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("stopping", file=out)
    finally:
        sb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
