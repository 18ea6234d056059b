"""Latency of GET /api/fanvue/diagnose-revenue?probe=false for one model with N transactions.

    python benchmarks/diagnose_latency.py [--rows 1000000] [--requests 200] [--warmup 10] [--explain]
                                          [--apply-sql extra.sql]

Starts its own embedded Postgres (data dir benchmarks/.work/pg-diagnose, git-ignored), creates a fresh
database, applies the migrations, creates one agency / connection / model and bulk-loads N ledger
rows as superuser (INSERT ... SELECT generate_series; the statement-level trigger maintains the model
totals and the daily roll-up). It then serves api/ through devstack.server.FunctionServer and measures
the endpoint over real HTTP (keep-alive, one client), then the SQL call fanvue_diagnosis_facts alone
(psycopg, same count). Target: p50 < 50 ms at 1,000,000 rows. --explain prints EXPLAIN ANALYZE of
every sub-query of fanvue_diagnosis_facts.
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

WORK = ROOT / "benchmarks" / ".work"
DATA_DIR = WORK / "pg-diagnose"
DB_NAME = "bench_diagnose"
JWT_SECRET = "bench-jwt-secret-" + uuid.uuid4().hex + uuid.uuid4().hex
ISSUER = "http://127.0.0.1:54321/auth/v1"
BATCH = 100_000  # rows per INSERT: the trigger's transition table is aggregated as one jsonb

SOURCES = [
    "subscription",
    "renewal",
    "message",
    "tip",
    "post",
    "mediaLink",
    "checkoutLink",
    "affiliate",
    "referral",
    "appStore",
    "liveStream",
    "giveaway",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def fresh_database(admin_url: str, name: str = DB_NAME) -> str:
    """A new database `name` on the server of `admin_url`, migrated; returns its URL."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from devstack.migrate import migrate

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    params = conninfo_to_dict(admin_url)
    params["dbname"] = name
    url = make_conninfo(**params)
    assert migrate(url).applied, "migrations did not apply"
    return url


def seed(url: str, rows: int, key_text: str) -> dict[str, str]:
    """One agency, admin, agency connection, synced model and `rows` ledger rows over ~3 years."""
    import psycopg

    from lib.crypto import Cipher
    from lib.tokens import encrypt_token_pair

    agency_id, admin_id, creator_uuid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    access_enc, refresh_enc = encrypt_token_pair(Cipher.from_setting(key_text), "bench-access", "bench-refresh")
    with psycopg.connect(url, autocommit=True) as sql:
        sql.execute("insert into agencies (id, name) values (%s, 'Bench agency')", (agency_id,))
        sql.execute("insert into profiles (id, agency_id, role) values (%s, %s, 'admin')", (admin_id, agency_id))
        connection_id = sql.execute(
            "insert into fanvue_connections (agency_id, kind, fanvue_user_uuid, fanvue_handle, access_token_enc,"
            " refresh_token_enc, token_key_id, expires_at, scopes, last_refresh_at, last_refresh_outcome)"
            " values (%s, 'agency', %s, 'agency', %s, %s, %s, now() + interval '1 hour',"
            " '{openid,read:creator,read:insights}', now(), 'connected') returning id",
            (agency_id, str(uuid.uuid4()), access_enc, refresh_enc, key_text.split(":")[0]),
        ).fetchone()[0]
        model_id = sql.execute(
            "insert into models (agency_id, name, fanvue_user_uuid, fanvue_handle, connection_id)"
            " values (%s, 'Million Mia', %s, 'mia', %s) returning id",
            (agency_id, creator_uuid, connection_id),
        ).fetchone()[0]
        # 3 years back from now, evenly spaced; 0.5% refunds, 1% legacy rows without an order id,
        # the last 7 days pending; raw is a realistic ~250-byte item.
        span_s = 3 * 365 * 86400
        started = time.perf_counter()
        for lo in range(1, rows + 1, BATCH):
            hi = min(rows, lo + BATCH - 1)
            sql.execute(
                """insert into fanvue_transactions (model_id, dedupe_key, kind, transaction_date, source, gross_cents,
                                                    net_cents, currency, order_id, order_status, fan_uuid, raw)
                   select %(model)s,
                          case when g %% 200 = 0 then 'r:' || g || ':1'
                               when g %% 100 = 1 then 'h:' || md5(g::text) else 'o:' || g end,
                          case when g %% 200 = 0 then 'refund' else 'earning' end,
                          ts,
                          (%(sources)s::text[])[1 + g %% 12],
                          case when g %% 200 = 0 then -(100 + g %% 900) else 100 + (g * 7919) %% 9900 end,
                          case when g %% 200 = 0 then -(80 + g %% 700) else 80 + (g * 7919) %% 7900 end,
                          'USD',
                          case when g %% 200 = 0 or g %% 100 = 1 then null else 'ord-' || g end,
                          case when g %% 200 = 0 then null
                               when ts > now() - interval '7 days' then 'pendingBalance' else 'available' end,
                          md5((g %% 5000)::text),
                          jsonb_build_object('uuid', md5(g::text), 'date', ts, 'gross', 100 + (g * 7919) %% 9900,
                                             'net', 80 + (g * 7919) %% 7900, 'currency', 'USD',
                                             'source', (%(sources)s::text[])[1 + g %% 12],
                                             'user', jsonb_build_object('uuid', md5((g %% 5000)::text),
                                                                        'handle', 'fan' || g %% 5000))
                     from generate_series(%(lo)s::bigint, %(hi)s::bigint) g,
                          lateral (select now() - make_interval(secs => %(span)s::double precision
                                                                * (%(rows)s - g) / %(rows)s) as ts) t""",
                {"model": model_id, "sources": SOURCES, "lo": lo, "hi": hi, "span": span_s, "rows": rows},
            )
            print(f"  loaded {hi:>9,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
        sql.execute(
            "update fanvue_sync_state set history_start = now() - interval '4 years', watermark = now(),"
            " backfill_completed_at = now(), last_attempt_at = now(), last_success_at = now(),"
            " last_outcome = 'ok', next_sync_at = now() + interval '15 minutes' where model_id = %s",
            (model_id,),
        )
        run = sql.execute(
            "insert into sync_runs (kind, worker, status, finished_at) values"
            " ('cron', 'bench', 'ok', now()) returning id"
        ).fetchone()[0]
        sql.execute(
            "insert into sync_run_models (run_id, model_id, agency_id, outcome, started_at, finished_at)"
            " values (%s, %s, %s, 'ok', now(), now())",
            (run, model_id, agency_id),
        )
        sql.execute("vacuum (analyze) fanvue_transactions")
        sql.execute("vacuum (analyze) fanvue_ledger_daily")
        sql.execute("analyze")
        check = sql.execute(
            "select transaction_count + refund_count, (select count(*) from fanvue_transactions)"
            " from models where id = %s",
            (model_id,),
        ).fetchone()
        assert check[0] == check[1] == rows, check
    return {"agency_id": agency_id, "admin_id": admin_id, "model_id": str(model_id)}


def measure_http(functions: str, token: str, model_id: str, warmup: int, count: int) -> tuple[list[float], dict]:
    import httpx

    url = functions + "/api/fanvue/diagnose-revenue"
    params = {"modelId": model_id, "probe": "false"}
    headers = {"Authorization": f"Bearer {token}"}
    times: list[float] = []
    body: dict = {}
    with httpx.Client(timeout=60) as client:
        for i in range(warmup + count):
            started = time.perf_counter()
            response = client.get(url, params=params, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text[:500]
            if i >= warmup:
                times.append(elapsed)
            body = response.json() if i == warmup + count - 1 else body
    return times, body


def measure_sql(
    url: str, model_id: str, warmup: int, count: int, statement: str = "select public.fanvue_diagnosis_facts(%s)"
) -> list[float]:
    """Milliseconds of one SQL function call (after `warmup` calls), on one connection."""
    import psycopg

    times = []
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(warmup + count):
            started = time.perf_counter()
            conn.execute(statement, (model_id,)).fetchone()
            if i >= warmup:
                times.append((time.perf_counter() - started) * 1000)
    return times


EXPLAIN_PARTS = {
    "ledger (exact sum of the rows)": """select count(*) filter (where kind = 'earning'), sum(gross_cents) filter (where kind = 'earning'),
        sum(net_cents) filter (where kind = 'earning'), sum(gross_cents) filter (where kind <> 'earning'),
        count(*) filter (where kind <> 'earning') from fanvue_transactions where model_id = %(m)s""",
    "ledger (daily roll-up)": """select sum(gross_cents) filter (where kind = 'earning'), sum(item_count)
        from fanvue_ledger_daily where model_id = %(m)s""",
    "first/last date": """select (select min(transaction_date) from fanvue_transactions where model_id = %(m)s),
        (select max(transaction_date) from fanvue_transactions where model_id = %(m)s)""",
    "by_source": """select kind, source, sum(item_count), sum(gross_cents) from fanvue_ledger_daily
        where model_id = %(m)s group by kind, source""",
    "daily (90 days)": """select day, sum(gross_cents) from fanvue_ledger_daily where model_id = %(m)s
        and kind = 'earning' and day >= (now() at time zone 'UTC')::date - 90 group by day""",
    "pending (120 days)": """select count(*), sum(gross_cents) from fanvue_transactions where model_id = %(m)s
        and order_status = 'pendingBalance' and transaction_date >= now() - interval '120 days'""",
    "after_watermark": """select count(*), sum(gross_cents) from fanvue_transactions where model_id = %(m)s
        and kind = 'earning' and transaction_date >= %(w)s""",
    "fallback_keyed": """select count(*) from fanvue_transactions where model_id = %(m)s and order_id is null
        and kind = 'earning'""",
    "last_cron_run": """select * from sync_runs where kind in ('cron', 'reconcile') order by started_at desc limit 1""",
}


def explain(url: str, model_id: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        watermark = conn.execute("select watermark from fanvue_sync_state where model_id = %s", (model_id,)).fetchone()[
            0
        ]
        for name, query in EXPLAIN_PARTS.items():
            plan = conn.execute(
                "explain (analyze, buffers, format json) " + query, {"m": model_id, "w": watermark}
            ).fetchone()[0][0]
            top = plan["Plan"]
            print(
                f"  {name:<30} {plan['Execution Time']:8.2f} ms  {top['Node Type']}"
                f"{' / ' + top['Plans'][0]['Node Type'] if top.get('Plans') else ''}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every sub-query")
    parser.add_argument(
        "--apply-sql",
        type=Path,
        default=None,
        help="an extra SQL file applied after the migrations (to measure a change)",
    )
    args = parser.parse_args()

    from devstack.embedded import start_embedded
    from devstack.server import FunctionServer
    from devstack.tokens import mint_dashboard_token
    from lib.config import reset_settings
    from lib.crypto import new_key_text
    from lib.db import reset_database

    command = f"python benchmarks/diagnose_latency.py --rows {args.rows}"
    server = start_embedded(DATA_DIR)
    url = fresh_database(server.get_uri("postgres"))
    if args.apply_sql:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(args.apply_sql.read_text())
        command += f" --apply-sql {args.apply_sql}"
    print(f"$ {command}")
    key_text = new_key_text("bench")
    started = time.perf_counter()
    ids = seed(url, args.rows, key_text)
    print(f"seeded {args.rows:,} rows in {time.perf_counter() - started:.0f} s")

    os.environ.update(
        {
            "DATABASE_URL": url,
            "SUPABASE_JWT_SECRET": JWT_SECRET,
            "SUPABASE_JWT_ISSUER": ISSUER,
            "TOKEN_ENCRYPTION_KEY": key_text,
            "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
        }
    )
    reset_settings()
    reset_database()
    functions = FunctionServer(("127.0.0.1", 0))
    thread = threading.Thread(target=functions.serve_forever, daemon=True)
    thread.start()
    try:
        token = mint_dashboard_token(ids["admin_id"], JWT_SECRET, ISSUER)
        http_ms, body = measure_http(functions.base_url, token, ids["model_id"], args.warmup, args.requests)
        sql_ms = measure_sql(url, ids["model_id"], args.warmup, args.requests)
    finally:
        functions.shutdown()
        functions.server_close()
    assert body["revenue"]["transaction_count"] + body["revenue"]["ledger"]["refund_count"] == args.rows
    failing = [c["id"] for c in body["checks"] if c["status"] == "fail"]
    assert not failing, failing

    result = {
        "rows": args.rows,
        "requests": args.requests,
        "ledger_method": body["revenue"]["ledger"]["method"],
        "http_p50_ms": round(percentile(http_ms, 50), 1),
        "http_p95_ms": round(percentile(http_ms, 95), 1),
        "http_p99_ms": round(percentile(http_ms, 99), 1),
        "http_mean_ms": round(statistics.mean(http_ms), 1),
        "sql_p50_ms": round(percentile(sql_ms, 50), 1),
        "sql_p95_ms": round(percentile(sql_ms, 95), 1),
        "sql_p99_ms": round(percentile(sql_ms, 99), 1),
        "server_duration_ms_last": body["duration_ms"],
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load": [round(x, 2) for x in os.getloadavg()],
        },
    }
    print(
        f"\nGET /api/fanvue/diagnose-revenue?probe=false, {args.rows:,} transactions, "
        f"{args.requests} requests after {args.warmup} warm-ups (ledger method: {result['ledger_method']})"
    )
    print(
        f"  HTTP  p50 {result['http_p50_ms']:7.1f} ms   p95 {result['http_p95_ms']:7.1f} ms   "
        f"p99 {result['http_p99_ms']:7.1f} ms"
    )
    print(
        f"  SQL   p50 {result['sql_p50_ms']:7.1f} ms   p95 {result['sql_p95_ms']:7.1f} ms   "
        f"p99 {result['sql_p99_ms']:7.1f} ms   (fanvue_diagnosis_facts alone)"
    )
    target = "met" if result["http_p50_ms"] < 50 else "MISSED"
    print(f"  target p50 < 50 ms: {target}")
    if args.explain or target == "MISSED":
        print("\nEXPLAIN ANALYZE of the parts of fanvue_diagnosis_facts:")
        explain(url, ids["model_id"])
    print("\nREADME row:")
    print("| rows | HTTP p50 | HTTP p95 | HTTP p99 | SQL p50 | command |")
    print(
        f"| {args.rows:,} | {result['http_p50_ms']} ms | {result['http_p95_ms']} ms | {result['http_p99_ms']} ms "
        f"| {result['sql_p50_ms']} ms | `{command}` |"
    )
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results").mkdir(exist_ok=True)
    suffix = "_" + args.apply_sql.stem if args.apply_sql else ""
    (WORK / "results" / f"diagnose_latency_{args.rows}{suffix}.json").write_text(json.dumps(result, indent=2))
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
