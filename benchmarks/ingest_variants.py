"""Server-side cost of fanvue_ingest_page per 1,000 rows, as migrated vs with each proposed SQL change
(benchmarks/proposed/*.sql), on identical batches of real sandbox rows (lib.sync.rows.earning_rows).

For each variant: a fresh migrated database, the variant's SQL applied, the same `--batches` batches
of `--pages` x 50 rows ingested in order by one connection; the time is pg_stat_statements'
total_exec_time of the top-level call (client JSON encoding excluded), best of `--rounds`.

    .venv/bin/python benchmarks/ingest_variants.py --batches 100 --pages 10
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import AGENCY_SCOPES, Postgres, connect_agency, sql_exec, sql_one, table  # noqa: E402

DB = "bench_variants"
PROPOSED = Path(__file__).resolve().parent / "proposed"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--pages", type=int, default=10, help="pages of 50 rows per batch")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--variants", default="all", help="comma list of proposed/*.sql names, or 'all'")
    a = p.parse_args(argv)

    import psycopg
    from psycopg.types.json import Jsonb

    import _proposed
    from lib.crypto import new_key_text
    from lib.fanvue.client import FanvueClient
    from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
    from lib.sync.rows import earning_rows

    files = sorted(PROPOSED.glob("*.sql"))
    if a.variants != "all":
        files = [f for f in files if f.name in a.variants.split(",")]
    variants = [("as migrated", [])] + [(f.name, [f]) for f in files]
    if len(files) > 1:
        variants.append(("all proposed", files))
    n_pages = a.batches * a.pages
    sb = FanvueSandbox(SandboxConfig(seed=7, creators=[CreatorSpec(handle="c", items=n_pages * 50, history_days=1500)],
                                     agency_manages=["c"], rate_limit=10**9))
    sb.start()
    pg = Postgres()
    results = []
    try:
        token = sb.issue_grant("agency", AGENCY_SCOPES)["access_token"]

        class Tok:
            def access_token(self) -> str:
                return token

        client = FanvueClient(Tok(), owner_uuid=sb.agency_user.uuid, api_base=sb.base_url)
        start, end = datetime(2019, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc)
        uuid = sb.creator("c").uuid
        batches, cur = [], []
        for page in client.earnings_pages(uuid, start, end, 50):
            cur.extend(earning_rows(page.items, page.raw))
            if len(cur) >= a.pages * 50:
                batches.append(cur)
                cur = []
        if cur:
            batches.append(cur)
        client.close()
        rows_total = sum(len(b) for b in batches)
        for label, sql_files in variants:
            best = None
            for _ in range(a.rounds):
                url = pg.fresh_database(DB)
                for f in sql_files:
                    sql_exec(url, f.read_text())
                agency = connect_agency(url, sb, ["c"], new_key_text("bench"))
                model = agency.models["c"]
                with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
                    conn.execute("update fanvue_sync_state set lease_owner = 'v', lease_expires_at = now() + "
                                 "interval '1 hour' where model_id = %s", (model,))
                    conn.execute("select pg_stat_statements_reset()")
                    for rows in batches:
                        conn.execute("select public.fanvue_ingest_page(p_model_id => %s, p_worker => 'v',"
                                     " p_stream => 'earnings', p_items => %s, p_window_start => %s,"
                                     " p_window_end => %s, p_resume_end => %s)",
                                     (model, Jsonb(rows, dumps=_proposed.FAST_DUMPS), start, end, end))
                    ms = float(conn.execute("select sum(total_exec_time) from pg_stat_statements where toplevel"
                                            " and query like '%fanvue_ingest_page%'").fetchone()[0])
                    stored = sql_one(url, "select count(*) from fanvue_transactions")
                    total = sql_one(url, "select revenue_gross_cents from models where id = %s", (model,))
                    daily = sql_one(url, "select sum(gross_cents) from fanvue_ledger_daily where model_id = %s", (model,))
                assert stored == rows_total, (stored, rows_total)
                assert int(total) == int(daily), (total, daily)
                best = ms if best is None else min(best, ms)
            results.append([label, rows_total, best / 1000, best / rows_total * 1000,
                            f"{results[0][3] / (best / rows_total * 1000):.2f}x" if results else "1.00x"])
    finally:
        sb.stop()
        pg.drop_database(DB)
    print(table(["variant", "rows", "server s", "ms / 1000 rows", "speed-up"], results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
