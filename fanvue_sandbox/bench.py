"""Throughput probe: how many earnings pages/s a sequential keep-alive client pulls.

    python -m fanvue_sandbox.bench [--items 200000] [--pages 3000] [--in-process]

By default the sandbox runs in a child process (its own core, as in a real dev setup) and
the client loop runs here, so the number is client cost + server cost + socket round trip.
Three clients are measured: httpx.Client + .json() (what the sync uses), httpx without JSON
decoding, and stdlib http.client + json (a cheap client, closest to the server's own limit).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from .config import CreatorSpec, SandboxConfig
from .sandbox import FanvueSandbox


def _config(items: int, prefetch: bool = True) -> SandboxConfig:
    return SandboxConfig(
        seed=1,
        creators=[CreatorSpec(handle="big", items=items, history_days=1500)],
        agency_manages=["big"],
        rate_limit=10**9,
        prefetch=prefetch,
    )


def _serve(items: int, q: Any, stop: Any, prefetch: bool = True) -> None:
    sb = FanvueSandbox(_config(items, prefetch))
    base = sb.start()
    tok = sb.issue_grant("agency", "read:self read:insights read:creator")["access_token"]
    q.put((base, tok, sb.creator("big").uuid))
    stop.wait()
    sb.stop()


def _run_httpx(base: str, token: str, path: str, pages: int, decode: bool) -> float:
    import httpx

    headers = {"Authorization": f"Bearer {token}", "X-Fanvue-API-Version": "2025-06-26"}
    with httpx.Client(base_url=base, headers=headers) as c:
        cursor = None
        t = time.perf_counter()
        for _ in range(pages):
            r = c.get(path, params={"size": 50, **({"cursor": cursor} if cursor else {})})
            if decode:
                cursor = r.json()["nextCursor"]
            else:
                b = r.content
                i = b.rfind(b'"nextCursor":"')
                cursor = b[i + 14 : -2].decode() if i > 0 else None
        return pages / (time.perf_counter() - t)


def _run_stdlib(base: str, token: str, path: str, pages: int) -> float:
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    headers = {"Authorization": f"Bearer {token}", "X-Fanvue-API-Version": "2025-06-26"}
    cursor = None
    t = time.perf_counter()
    for _ in range(pages):
        conn.request(
            "GET", path + "?" + urlencode({"size": 50, **({"cursor": cursor} if cursor else {})}), headers=headers
        )
        cursor = json.loads(conn.getresponse().read())["nextCursor"]
    conn.close()
    return pages / (time.perf_counter() - t)


def measure(
    items: int = 200_000, pages: int = 3000, in_process: bool = False, rounds: int = 3, prefetch: bool = True
) -> dict[str, float]:
    """Best-of-`rounds` pages/s per client kind (the box may be shared, so best is the signal)."""
    stop: Any
    if in_process:
        sb = FanvueSandbox(_config(items, prefetch))
        base = sb.start()
        token = sb.issue_grant("agency", "read:self read:insights read:creator")["access_token"]
        uuid = sb.creator("big").uuid
        proc = None
    else:
        ctx = mp.get_context("spawn")
        q, stop = ctx.Queue(), ctx.Event()
        proc = ctx.Process(target=_serve, args=(items, q, stop, prefetch), daemon=True)
        proc.start()
        base, token, uuid = q.get(timeout=60)
    path = f"/creators/{uuid}/insights/earnings"
    pages = min(pages, items // 50)
    try:
        _run_stdlib(base, token, path, pages)  # warm the fan cache once
        out = {"httpx_json": 0.0, "httpx_raw": 0.0, "stdlib_json": 0.0}
        for _ in range(rounds):
            out["httpx_json"] = max(out["httpx_json"], _run_httpx(base, token, path, pages, True))
            out["httpx_raw"] = max(out["httpx_raw"], _run_httpx(base, token, path, pages, False))
            out["stdlib_json"] = max(out["stdlib_json"], _run_stdlib(base, token, path, pages))
        return out
    finally:
        if proc is not None:
            stop.set()
            proc.join(10)
        else:
            sb.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="sandbox-bench")
    p.add_argument("--items", type=int, default=200_000)
    p.add_argument("--pages", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--in-process", action="store_true")
    p.add_argument("--no-prefetch", action="store_true", help="disable background next-page rendering")
    a = p.parse_args(argv)
    res = measure(a.items, a.pages, a.in_process, a.rounds, prefetch=not a.no_prefetch)
    where = "same process" if a.in_process else "sandbox in a child process"
    for k, v in res.items():
        print(f"{k:<12} {v:7.0f} pages/s  (size=50, {where})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
