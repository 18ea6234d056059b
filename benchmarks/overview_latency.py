"""Latency of the agency overview: GET /api/fanvue/diagnose-revenue without modelId/modelName.

    python benchmarks/overview_latency.py [--models 200] [--rows-per-model 2000] [--requests 200]
                                          [--warmup 10] [--format json]

Starts its own embedded Postgres (data dir benchmarks/.work/pg-overview, git-ignored), creates a fresh
database, applies the migrations and creates one agency with `--models` models: most linked to one
agency connection, a few creator connections that need a reconnect, a few never connected, one model
whose stored total drifted from its ledger, one mid-backfill. Each model gets `--rows-per-model`
ledger rows over the last year (12 sources, 0.5% refunds), bulk-loaded as superuser through the ledger
trigger. It serves api/ through devstack.server.FunctionServer and measures the endpoint over real
HTTP (keep-alive, one client), then fanvue_agency_overview alone. Target: p50 <= 100 ms at 200 models.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.diagnose_latency import SOURCES, fresh_database, measure_sql, percentile  # noqa: E402

WORK = ROOT / "benchmarks" / ".work"
DATA_DIR = WORK / "pg-overview"
DB_NAME = "bench_overview"
JWT_SECRET = "bench-jwt-secret-" + uuid.uuid4().hex + uuid.uuid4().hex
ISSUER = "http://127.0.0.1:54321/auth/v1"
MODELS_PER_INSERT = 25


def seed(url: str, models: int, rows: int) -> dict[str, str]:
    """One agency with `models` models of `rows` ledger rows each, in a realistic mix of states."""
    import psycopg

    agency_id, admin_id = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(url, autocommit=True) as sql:
        sql.execute("insert into agencies (id, name) values (%s, 'Bench agency')", (agency_id,))
        sql.execute("insert into profiles (id, agency_id, role) values (%s, %s, 'admin')", (admin_id, agency_id))
        agency_conn = sql.execute(
            "insert into fanvue_connections (agency_id, kind, fanvue_user_uuid, fanvue_handle, access_token_enc,"
            " refresh_token_enc, token_key_id, expires_at, scopes, last_refresh_at, last_refresh_outcome)"
            " values (%s, 'agency', %s, 'agency', 'v1:bench:a', 'v1:bench:r', 'bench', now() + interval '1 hour',"
            " '{openid,read:creator,read:insights}', now(), 'connected') returning id",
            (agency_id, str(uuid.uuid4())),
        ).fetchone()[0]
        ids = []
        for i in range(models):
            connection = agency_conn
            if i % 40 == 7:  # a creator connection whose refresh token was revoked
                connection = sql.execute(
                    "insert into fanvue_connections (agency_id, kind, fanvue_user_uuid, status, status_reason,"
                    " token_key_id, expires_at) values (%s, 'creator', %s, 'needs_reconnect',"
                    " 'refresh token revoked (invalid_grant)', 'bench', now() - interval '2 days') returning id",
                    (agency_id, str(uuid.uuid4())),
                ).fetchone()[0]
            elif i % 40 == 13:
                connection = None
            ids.append(
                str(
                    sql.execute(
                        "insert into models (agency_id, name, fanvue_user_uuid, fanvue_handle, connection_id)"
                        " values (%s, %s, %s, %s, %s) returning id",
                        (agency_id, f"Creator {i:03d}", str(uuid.uuid4()), f"creator{i:03d}", connection),
                    ).fetchone()[0]
                )
            )
        started = time.perf_counter()
        for lo in range(0, models, MODELS_PER_INSERT):
            chunk = ids[lo : lo + MODELS_PER_INSERT]
            sql.execute(
                """insert into fanvue_transactions (model_id, dedupe_key, kind, transaction_date, source, gross_cents,
                                                    net_cents, currency, order_id, order_status, fan_uuid, raw)
                   select m, case when g %% 200 = 0 then 'r:' || g else 'o:' || g end,
                          case when g %% 200 = 0 then 'refund' else 'earning' end, ts,
                          (%(sources)s::text[])[1 + g %% 12],
                          case when g %% 200 = 0 then -(100 + g %% 900) else 100 + (g * 7919) %% 9900 end,
                          case when g %% 200 = 0 then -(80 + g %% 700) else 80 + (g * 7919) %% 7900 end,
                          'USD', case when g %% 200 = 0 then null else 'ord-' || g end,
                          case when g %% 200 = 0 then null else 'available' end, md5((g %% 500)::text),
                          jsonb_build_object('uuid', md5(m::text || g), 'date', ts, 'gross', 100 + (g * 7919) %% 9900,
                                             'currency', 'USD', 'source', (%(sources)s::text[])[1 + g %% 12])
                     from unnest(%(models)s::uuid[]) m, generate_series(1, %(rows)s) g,
                          lateral (select now() - make_interval(secs => 365.0 * 86400 * (%(rows)s - g) / %(rows)s
                                                                 + 3600) as ts) t""",
                {"models": chunk, "rows": rows, "sources": SOURCES},
            )
            print(
                f"  loaded {min(models, lo + MODELS_PER_INSERT) * rows:>9,} rows "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        sql.execute(
            "update fanvue_sync_state set history_start = now() - interval '2 years', watermark = now(),"
            " backfill_completed_at = now(), last_attempt_at = now(), last_success_at = now(),"
            " last_outcome = 'ok', next_sync_at = now() + interval '15 minutes'"
            " where model_id in (select id from models where connection_id is not null)"
        )
        sql.execute(
            "update fanvue_sync_state set backfill_completed_at = null, progress = jsonb_build_object("
            "'earnings', jsonb_build_object('start', now() - interval '2 years', 'end', now(),"
            " 'resume_end', now() - interval '200 days')) where model_id = %s",
            (ids[3],),
        )
        sql.execute("update models set revenue_gross_cents = revenue_gross_cents + 1234 where id = %s", (ids[5],))
        sql.execute("insert into sync_runs (kind, worker, status, finished_at) values ('cron', 'bench', 'ok', now())")
        sql.execute("vacuum (analyze)")
    return {"agency_id": agency_id, "admin_id": admin_id}


def measure_http(functions: str, token: str, fmt: str, warmup: int, count: int) -> tuple[list[float], object]:
    import httpx

    url = functions + "/api/fanvue/diagnose-revenue"
    params = {} if fmt == "json" else {"format": fmt}
    headers = {"Authorization": f"Bearer {token}"}
    times: list[float] = []
    body: object = None
    with httpx.Client(timeout=60) as client:
        for i in range(warmup + count):
            started = time.perf_counter()
            response = client.get(url, params=params, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text[:500]
            if i >= warmup:
                times.append(elapsed)
            body = response.json() if fmt == "json" else response.text
    return times, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--rows-per-model", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--formats", default="json,html,text", help="comma-separated formats to measure")
    args = parser.parse_args()

    from devstack.embedded import start_embedded
    from devstack.server import FunctionServer
    from devstack.tokens import mint_dashboard_token
    from lib.config import reset_settings
    from lib.crypto import new_key_text
    from lib.db import reset_database

    command = f"python benchmarks/overview_latency.py --models {args.models} --rows-per-model {args.rows_per_model}"
    print(f"$ {command}")
    server = start_embedded(DATA_DIR)
    url = fresh_database(server.get_uri("postgres"), DB_NAME)
    started = time.perf_counter()
    ids = seed(url, args.models, args.rows_per_model)
    print(f"seeded {args.models} models x {args.rows_per_model:,} rows in {time.perf_counter() - started:.0f} s")

    os.environ.update(
        {
            "DATABASE_URL": url,
            "SUPABASE_JWT_SECRET": JWT_SECRET,
            "SUPABASE_JWT_ISSUER": ISSUER,
            "TOKEN_ENCRYPTION_KEY": new_key_text("bench"),
            "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
        }
    )
    reset_settings()
    reset_database()
    functions = FunctionServer(("127.0.0.1", 0))
    threading.Thread(target=functions.serve_forever, daemon=True).start()
    result: dict[str, object] = {
        "models": args.models,
        "rows_per_model": args.rows_per_model,
        "requests": args.requests,
    }
    try:
        token = mint_dashboard_token(ids["admin_id"], JWT_SECRET, ISSUER)
        for fmt in args.formats.split(","):
            ms, body = measure_http(functions.base_url, token, fmt, args.warmup, args.requests)
            result[f"http_{fmt}_p50_ms"] = round(percentile(ms, 50), 1)
            result[f"http_{fmt}_p95_ms"] = round(percentile(ms, 95), 1)
            result[f"http_{fmt}_mean_ms"] = round(statistics.mean(ms), 1)
            if fmt == "json":
                assert isinstance(body, dict) and body["summary"]["models_total"] == args.models, body
                result["summary"] = body["summary"]
        sql_ms = measure_sql(
            url, ids["agency_id"], args.warmup, args.requests, "select public.fanvue_agency_overview(%s)"
        )
        result["sql_p50_ms"] = round(percentile(sql_ms, 50), 1)
        result["sql_p95_ms"] = round(percentile(sql_ms, 95), 1)
    finally:
        functions.shutdown()
        functions.server_close()
    result["machine"] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"\nGET /api/fanvue/diagnose-revenue (agency overview), {args.models} models x "
        f"{args.rows_per_model:,} rows, {args.requests} requests after {args.warmup} warm-ups"
    )
    for fmt in args.formats.split(","):
        print(
            f"  HTTP {fmt:<5} p50 {result[f'http_{fmt}_p50_ms']:7.1f} ms   p95 {result[f'http_{fmt}_p95_ms']:7.1f} ms"
        )
    print(
        f"  SQL        p50 {result['sql_p50_ms']:7.1f} ms   p95 {result['sql_p95_ms']:7.1f} ms "
        "(fanvue_agency_overview alone)"
    )
    target = "met" if float(result.get("http_json_p50_ms", 0)) <= 100 else "MISSED"
    print(f"  target p50 <= 100 ms: {target}")
    (WORK / "results").mkdir(parents=True, exist_ok=True)
    (WORK / "results" / f"overview_latency_{args.models}.json").write_text(json.dumps(result, indent=2))
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
