"""Sale -> revenue_total latency through the signed webhook, and what a burst of webhooks costs.

Setup (not measured): the benchmarks' embedded Postgres, a Fanvue sandbox with 50 ms latency per
response and the published rate limit, one agency connection managing one creator (`--items` of
history), backfilled by one cron call. Every api/ file is served over HTTP by devstack's
FunctionServer, in this process, exactly as the local stack serves it.

Measured:
  single   `--sales` times: create one sale in the sandbox (control API), deliver the signed webhook
           Fanvue would send, and poll models.revenue_total until it includes the sale. Reported:
           sale -> revenue_total latency p50/p95/max and Fanvue requests per sale.
  burst    100 sales and their 100 webhooks spread over one second (concurrently). Reported:
           immediate syncs run, Fanvue requests, how many sales were in revenue when the burst's
           last webhook was answered.

    .venv/bin/python benchmarks/freshness.py --sales 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Postgres, connect_agency, machine_note, save_results, sql_one, table

DB_NAME = "bench_freshness"
SECRET = "bench-webhook-secret-" + uuid.uuid4().hex
CRON_SECRET = "bench-cron-secret-" + uuid.uuid4().hex


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sales", type=int, default=30)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--name", default="freshness")
    a = ap.parse_args()

    import httpx

    from devstack.server import FunctionServer
    from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
    from lib.config import reset_settings
    from lib.crypto import new_key_text
    from lib.db import reset_database
    from lib.webhooks import sign

    handle = "m0001"
    cfg = SandboxConfig(
        seed=a.seed,
        creators=[CreatorSpec(handle=handle, items=a.items, history_days=365)],
        agency_manages=[handle],
        rate_limit=200,
        rate_window_s=60.0,
        latency_ms=a.latency_ms,
        token_ttl_s=6 * 3600,
    )
    before = machine_note()
    pg = Postgres()
    sb = FanvueSandbox(cfg)
    sb.start()
    key = new_key_text("bench")
    server = FunctionServer(("127.0.0.1", 0))
    try:
        url = pg.fresh_database(DB_NAME)
        agency = connect_agency(url, sb, [handle], key)
        model_id, creator = agency.models[handle], agency.creator_uuids[handle]
        os.environ.update(
            {
                "DATABASE_URL": url,
                "FANVUE_API_BASE": sb.base_url,
                "FANVUE_AUTH_BASE": sb.base_url,
                "FANVUE_CLIENT_ID": cfg.client_id,
                "FANVUE_CLIENT_SECRET": cfg.client_secret,
                "TOKEN_ENCRYPTION_KEY": key,
                "FANVUE_WEBHOOK_SECRET": SECRET,
                "CRON_SECRET": CRON_SECRET,
                "PUBLIC_BASE_URL": server.base_url,
            }
        )
        os.environ.pop("ALERT_WEBHOOK_URL", None)
        reset_settings()
        reset_database()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        http = httpx.Client(timeout=60.0)
        r = http.get(
            server.base_url + "/api/cron/sync-transactions", headers={"Authorization": f"Bearer {CRON_SECRET}"}
        )
        assert r.status_code == 200 and r.json()["outcomes"] == {"ok": 1}, r.text
        print(f"setup: backfilled {sql_one(url, 'select count(*) from fanvue_transactions'):,} rows")

        def revenue() -> int:
            return int(sql_one(url, "select revenue_gross_cents from models where id = %s", (model_id,)))

        def requests() -> int:
            return int(sb.stats()["requests"]["total"])

        def syncs() -> int:
            return int(sql_one(url, "select count(*) from sync_runs where kind = 'force'"))

        def deliver(sale: dict[str, Any]) -> dict[str, Any]:
            body = json.dumps(
                {
                    "context": "post",
                    "postUuid": str(uuid.uuid4()),
                    "recipientUuid": creator,
                    "senderUuid": str(uuid.uuid4()),
                    "price": sale["gross"],
                    "timestamp": sale["date"],
                }
            ).encode()
            answer = http.post(
                server.base_url + "/api/webhooks/fanvue",
                content=body,
                headers={"Content-Type": "application/json", "X-Fanvue-Signature": sign(SECRET, body)},
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        latencies, answer_s, spent, synced = [], [], [], 0
        for _ in range(a.sales):
            time.sleep(1.1)  # one sale at a time, each in a new signed second
            expected = revenue()
            r0 = requests()
            t0 = time.perf_counter()
            sale = sb.add_sales(handle, 1)[0]
            expected += int(sale["gross"])
            out = deliver(sale)
            answer_s.append(time.perf_counter() - t0)
            while revenue() < expected:
                time.sleep(0.01)
            latencies.append(time.perf_counter() - t0)
            spent.append(requests() - r0)
            synced += bool(out.get("synced"))
        single = {
            "sales": a.sales,
            "synced_in_webhook": synced,
            "latency_p50_s": round(percentile(latencies, 50), 3),
            "latency_p95_s": round(percentile(latencies, 95), 3),
            "latency_max_s": round(max(latencies), 3),
            "answer_p95_s": round(percentile(answer_s, 95), 3),
            "requests_per_sale_mean": round(sum(spent) / len(spent), 2),
            "requests_total": sum(spent),
        }

        time.sleep(1.1)
        s0, r0, rev0 = syncs(), requests(), revenue()
        start = time.perf_counter()
        added: list[dict[str, Any]] = []
        lock = threading.Lock()

        def one(i: int) -> dict[str, Any]:
            time.sleep(max(0.0, start + i / a.burst - time.perf_counter()))
            sale = sb.add_sales(handle, 1)[0]
            with lock:
                added.append(sale)
            return deliver(sale)

        with ThreadPoolExecutor(a.burst) as pool:
            answers = list(pool.map(one, range(a.burst)))
        burst_s = time.perf_counter() - start
        ids = [s["transactionOrderId"] for s in added]
        stored = int(
            sql_one(
                url,
                "select count(*) from fanvue_transactions where model_id = %s and order_id = any(%s)",
                (model_id, ids),
            )
        )
        reasons: dict[str, int] = {}
        for ans in answers:
            for s in ans.get("syncs") or []:
                reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
        burst = {
            "webhooks": a.burst,
            "seconds": round(burst_s, 2),
            "syncs_run": syncs() - s0,
            "fanvue_requests": requests() - r0,
            "sales_in_revenue_at_end": stored,
            "revenue_added_cents": revenue() - rev0,
            "reasons": reasons,
        }
    finally:
        server.shutdown()
        server.server_close()
        sb.stop()
        reset_database()
        pg.drop_database(DB_NAME)
    print(
        table(
            ["sales", "synced in webhook", "p50 s", "p95 s", "max s", "answer p95 s", "requests/sale"],
            [
                [
                    single["sales"],
                    single["synced_in_webhook"],
                    single["latency_p50_s"],
                    single["latency_p95_s"],
                    single["latency_max_s"],
                    single["answer_p95_s"],
                    single["requests_per_sale_mean"],
                ]
            ],
        )
    )
    print(
        table(
            ["burst webhooks", "seconds", "syncs run", "Fanvue requests", "sales stored at end", "reasons"],
            [
                [
                    burst["webhooks"],
                    burst["seconds"],
                    burst["syncs_run"],
                    burst["fanvue_requests"],
                    burst["sales_in_revenue_at_end"],
                    json.dumps(burst["reasons"]),
                ]
            ],
        )
    )
    print(
        f"\n{a.items} items of history, latency {a.latency_ms} ms; machine {before['cores']} cores, "
        f"load {before['load']}"
    )
    save_results(a.name, {"machine_before": before, "single": single, "burst": burst, "settings": vars(a)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
