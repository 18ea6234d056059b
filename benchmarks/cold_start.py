"""Cold start of each api/**/*.py: a fresh `python -c` process that loads the file the way
devstack.server.load_handler (and Vercel) does - by path, spec_from_file_location + exec_module,
its top-level `handler` - and serves ONE request to it over a socket pair. Whole-process wall time,
median of `--runs`, next to `python -c pass`. DATABASE_URL (the direct transport) is set and points at
a migrated database with one agency, one admin and one model, so "real" requests do real work.

Requests per file:
  unauth  no credentials (a cheap refusal; the callback, which takes no auth, gets a bad state)
  real    valid credentials (cron secret, or an HS256 dashboard JWT of the admin):
          cron -> a tick with nothing due; connect -> authorization URL; diagnose -> report of the
          model (probe=false); force-sync -> dry run of a model without a connection; refresh ->
          unknown connection; callback -> tampered state

    .venv/bin/python benchmarks/cold_start.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import OURS_PY, ROOT, Postgres, busy_other_cpu, machine_note, median, save_results, table

DB_NAME = "bench_cold"

# The child: load like devstack.server.load_handler, then serve one request on a socketpair.
CHILD = r"""
import importlib.util, os, socket, sys
from http.server import BaseHTTPRequestHandler
path = os.environ["BENCH_FILE"]
spec = importlib.util.spec_from_file_location("vercel_fn", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
handler = module.handler
assert isinstance(handler, type) and issubclass(handler, BaseHTTPRequestHandler)
client, server_side = socket.socketpair()
head = os.environ["BENCH_METHOD"] + " " + os.environ["BENCH_TARGET"] + " HTTP/1.1\r\nHost: localhost\r\n"
if os.environ.get("BENCH_AUTH"):
    head += "Authorization: Bearer " + os.environ["BENCH_AUTH"] + "\r\n"
if os.environ["BENCH_METHOD"] == "POST":
    head += "Content-Length: 0\r\n"
client.sendall((head + "Connection: close\r\n\r\n").encode())
class _Server:  # what a handler may look at on its server
    server_name, server_port = "localhost", 3000
handler(server_side, ("127.0.0.1", 0), _Server())
server_side.close()
data = b""
while True:
    chunk = client.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n", 1)[0].decode())
"""


def setup(pg: Postgres) -> tuple[str, dict[str, str], dict[str, str]]:
    import psycopg

    from devstack.tokens import mint_dashboard_token
    from lib.crypto import new_key_text

    url = pg.fresh_database(DB_NAME)
    agency, admin, model = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into agencies (id, name) values (%s, 'Cold agency')", (agency,))
        conn.execute("insert into profiles (id, agency_id, role) values (%s, %s, 'admin')", (admin, agency))
        conn.execute(
            "insert into models (id, agency_id, name, fanvue_user_uuid) values (%s, %s, 'Cold model', %s)",
            (model, agency, str(uuid.uuid4())),
        )
    jwt_secret, issuer, cron = (
        "bench-jwt-" + uuid.uuid4().hex * 2,
        "http://127.0.0.1:54321/auth/v1",
        "bench-cron-" + uuid.uuid4().hex,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANVUE_", "SYNC_", "SUPABASE_", "DATABASE_"))}
    env.update(
        {
            "DATABASE_URL": url,
            "CRON_SECRET": cron,
            "SUPABASE_JWT_SECRET": jwt_secret,
            "SUPABASE_JWT_ISSUER": issuer,
            "TOKEN_ENCRYPTION_KEY": new_key_text("cold"),
            "FANVUE_CLIENT_ID": "cold-client",
            "FANVUE_CLIENT_SECRET": "cold-secret",
            "FANVUE_API_BASE": "http://127.0.0.1:9",
            "FANVUE_AUTH_BASE": "http://127.0.0.1:9",
            "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
        }
    )
    user_jwt = mint_dashboard_token(admin, jwt_secret, issuer)
    ids = {"agency": agency, "model": model, "jwt": user_jwt, "cron": cron}
    return url, env, ids


def requests_for(route: str, ids: dict[str, str]) -> dict[str, tuple[str, str, str]]:
    """{kind: (method, target, bearer)} for one route."""
    jwt, cron, model, agency = ids["jwt"], ids["cron"], ids["model"], ids["agency"]
    real = {
        "/api/cron/sync-transactions": ("GET", route, cron),
        "/api/auth/fanvue/connect": ("GET", f"{route}?agencyId={agency}", jwt),
        "/api/auth/fanvue/callback": ("GET", f"{route}?code=x&state=tampered", ""),
        "/api/auth/fanvue/refresh": ("POST", f"{route}?connectionId={uuid.uuid4()}", cron),
        "/api/fanvue/diagnose-revenue": ("GET", f"{route}?modelId={model}&probe=false&format=json", jwt),
        "/api/fanvue/force-sync-revenue": ("POST", f"{route}?modelId={model}&dryRun=true", jwt),
    }
    method = real.get(route, ("GET", route, ""))[0]
    out = {"unauth": (method, route if route != "/api/auth/fanvue/callback" else f"{route}?code=x&state=y", "")}
    if route in real:
        out["real"] = real[route]
    return out


def run_once(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    wall, status, _ = run_measured(argv, env, cwd)
    return wall, status


def run_measured(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str, float]:
    """Wall time, status line and CPU seconds (user + system) of one child process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=str(cwd), capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    status = (
        proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else f"rc={proc.returncode} {proc.stderr[-200:]}"
    )
    return wall, status, cpu


def import_profile(path: Path, env: dict[str, str], request: tuple[str, str, str], top: int) -> list[tuple[float, str]]:
    """Cumulative import time (-X importtime) of the heaviest top-level packages for one request."""
    method, target, auth = request
    e = dict(env, BENCH_FILE=str(path), BENCH_METHOD=method, BENCH_TARGET=target, BENCH_AUTH=auth)
    proc = subprocess.run(
        [str(OURS_PY), "-X", "importtime", "-c", CHILD],
        env=e,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            cumulative = int(parts[1].strip())
        except ValueError:
            continue
        name = parts[2]
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:
            rows.append((cumulative / 1000, name.strip()))
    rows.sort(reverse=True)
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--imports", type=int, default=8, help="show the N heaviest imports of each real request")
    p.add_argument("--name", default="cold_start")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every child (to measure another setting)",
    )
    p.add_argument("--only", default="", help="comma list of route substrings to measure (default: all)")
    p.add_argument(
        "--base-root",
        type=Path,
        help="another checkout: each run of ours is followed by one of its "
        "same api/ file, and the table shows both medians and the ratio",
    )
    a = p.parse_args(argv)

    from devstack.server import route_table

    before = machine_note()
    other_cpu = busy_other_cpu()
    pg = Postgres()
    rows: list[list[Any]] = []
    profiles: dict[str, list[tuple[float, str]]] = {}
    raw: dict[str, Any] = {}
    try:
        _url, env, ids = setup(pg)
        env.update(dict(kv.split("=", 1) for kv in a.env))
        base_env = {k: v for k, v in env.items()}
        run_once([str(OURS_PY), "-c", "pass"], base_env)
        baseline = [run_once([str(OURS_PY), "-c", "pass"], base_env)[0] for _ in range(a.runs)]
        base_ms = median(baseline) * 1000
        rows.append(
            ["python -c pass", "", "", base_ms, min(baseline) * 1000, "", ""] + (["", "", ""] if a.base_root else [])
        )
        for route, path in route_table().items():
            if a.only and not any(part in route for part in a.only.split(",")):
                continue
            for kind, (method, target, auth) in requests_for(route, ids).items():
                e = dict(env, BENCH_FILE=str(path), BENCH_METHOD=method, BENCH_TARGET=target, BENCH_AUTH=auth)
                run_once([str(OURS_PY), "-c", CHILD], e)  # compile .pyc once, as a deployed bundle would have
                other = None
                if a.base_root:
                    other = dict(e, BENCH_FILE=str(a.base_root / path.relative_to(ROOT)))
                    run_once([str(OURS_PY), "-c", CHILD], other, a.base_root)
                times, cpus, statuses, base_times, base_cpus = [], [], set(), [], []
                for _ in range(a.runs):
                    w, s, c = run_measured([str(OURS_PY), "-c", CHILD], e)
                    times.append(w)
                    cpus.append(c)
                    statuses.add(s.replace("HTTP/1.0 ", "").replace("HTTP/1.1 ", ""))
                    if other is not None:
                        w, _, c = run_measured([str(OURS_PY), "-c", CHILD], other, a.base_root)
                        base_times.append(w)
                        base_cpus.append(c)
                med = median(times) * 1000
                row = [
                    path.relative_to(ROOT).as_posix(),
                    kind,
                    " / ".join(sorted(statuses)),
                    med,
                    min(times) * 1000,
                    med - base_ms,
                    median(cpus) * 1000,
                ]
                if other is not None:
                    row += [
                        median(base_times) * 1000,
                        median(base_cpus) * 1000,
                        f"{med / (median(base_times) * 1000):.2f}",
                    ]
                rows.append(row)
                raw[f"{route} {kind}"] = {"times_ms": [round(t * 1000, 1) for t in times], "status": sorted(statuses)}
                if kind == "real" and a.imports:
                    profiles[f"{path.relative_to(ROOT).as_posix()} ({kind})"] = import_profile(
                        path, env, (method, target, auth), a.imports
                    )
    finally:
        pg.drop_database(DB_NAME)
    after = machine_note()
    print(
        table(
            ["file", "request", "answer", f"median ms ({a.runs})", "min ms", "over `pass` ms", "CPU ms"]
            + (["base median ms", "base CPU ms", "ours/base"] if a.base_root else []),
            rows,
        )
    )
    if profiles:
        print("\nheaviest imports (cumulative ms, -X importtime, one run):")
        for name, prof in profiles.items():
            print(f"  {name}: " + ", ".join(f"{mod} {ms:.0f}" for ms, mod in prof))
    print(
        f"\nDATABASE_URL direct transport; machine {after['cores']} cores, load before {before['load']} after "
        f"{after['load']}, other processes' CPU at start {other_cpu}%"
    )
    save_results(
        a.name, {"machine_before": before, "machine_after": after, "rows": rows, "raw": raw, "imports": profiles}
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
