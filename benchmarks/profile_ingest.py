"""Where one fanvue_ingest_page call spends its time: EXPLAIN ANALYZE of every statement inside it
(auto_explain, nested statements) and the client-side cost of preparing the same batch.

Builds the rows of `--pages` real sandbox pages (50 items each) with our own normalisation
(lib.sync.rows.earning_rows), stores `--warm` batches first (so the table and its indexes are not
empty), then calls fanvue_ingest_page once more with auto_explain on and prints each plan.

    .venv/bin/python benchmarks/profile_ingest.py --pages 14 --warm 100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import AGENCY_SCOPES, Postgres, connect_agency

DB = "bench_ingest"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=14, help="pages per batch (the engine drains ~13-20 at full speed)")
    p.add_argument("--warm", type=int, default=100, help="batches stored before the explained one")
    p.add_argument(
        "--sql",
        action="append",
        default=[],
        help="extra SQL file applied to the database first (to measure a function change without touching supabase/)",
    )
    a = p.parse_args(argv)

    import psycopg

    from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
    from lib.crypto import new_key_text
    from lib.db.postgres import PostgresDatabase
    from lib.db.transport import to_json_value
    from lib.fanvue.client import FanvueClient
    from lib.sync.rows import earning_rows

    total_pages = a.pages * (a.warm + 1)
    sb = FanvueSandbox(
        SandboxConfig(
            seed=7,
            creators=[CreatorSpec(handle="c", items=total_pages * 50 + 50, history_days=1500)],
            agency_manages=["c"],
            rate_limit=10**9,
        )
    )
    sb.start()
    pg = Postgres()
    try:
        url = pg.fresh_database(DB)
        for path in a.sql:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(Path(path).read_text())
        key = new_key_text("bench")
        agency = connect_agency(url, sb, ["c"], key)
        token = sb.issue_grant("agency", AGENCY_SCOPES)["access_token"]

        class Tok:
            def access_token(self) -> str:
                return token

        client = FanvueClient(Tok(), owner_uuid=sb.agency_user.uuid, api_base=sb.base_url)
        start, end = datetime(2019, 1, 1, tzinfo=UTC), datetime.now(UTC)
        pages = []
        from lib.fanvue.models import EARNING_SOURCES
        from lib.sync.paging import earnings_fetch, walk

        for page in walk(earnings_fetch(client, agency.creator_uuids["c"]), start, end, sources=EARNING_SOURCES):
            pages.append(page)
            if len(pages) >= total_pages:
                break
        client.close()
        model = agency.models["c"]
        worker = "bench-profile"
        db = PostgresDatabase(url, max_connections=2)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "update fanvue_sync_state set lease_owner = %s, lease_expires_at = now() + interval '1 hour'"
                " where model_id = %s",
                (worker, model),
            )

        def batch(i: int) -> list[dict]:
            rows: list[dict] = []
            for page in pages[i * a.pages : (i + 1) * a.pages]:
                rows.extend(earning_rows(page.items, page.raw))
            return rows

        def ingest(rows: list[dict]) -> dict:
            return db.call(
                "fanvue_ingest_page",
                model_id=model,
                worker=worker,
                stream="earnings",
                items=rows,
                window_start=start,
                window_end=end,
                last_page=False,
                dry_run=False,
                lease_seconds=600,
                resume_end=end,
            )

        t = time.perf_counter()
        for i in range(a.warm):
            ingest(batch(i))
        warm_s = time.perf_counter() - t
        rows = batch(a.warm)
        t = time.perf_counter()
        payload = json.dumps(to_json_value(rows))
        prep_s = time.perf_counter() - t
        print(
            f"warm-up: {a.warm} batches of ~{len(rows)} rows in {warm_s:.2f}s "
            f"({a.warm * len(rows) / warm_s:,.0f} rows/s end to end)"
        )
        print(
            f"client: to_json_value + json.dumps of {len(rows)} rows: {prep_s * 1000:.1f} ms, "
            f"{len(payload) / 1024:.0f} KiB ({len(payload) / len(rows):.0f} B/row)"
        )

        plans: list[str] = []
        with psycopg.connect(url, autocommit=True) as conn:
            conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
            conn.execute("load 'auto_explain'")
            for setting, value in (
                ("auto_explain.log_min_duration", "0"),
                ("auto_explain.log_analyze", "on"),
                ("auto_explain.log_nested_statements", "on"),
                ("auto_explain.log_buffers", "on"),
                ("auto_explain.log_timing", "on"),
                ("auto_explain.log_triggers", "on"),
                ("auto_explain.log_level", "notice"),
                ("client_min_messages", "notice"),
            ):
                conn.execute(f"set {setting} = '{value}'")
            from psycopg.types.json import Jsonb

            t = time.perf_counter()
            conn.execute(
                "select public.fanvue_ingest_page(p_model_id => %s, p_worker => %s, p_stream => 'earnings',"
                " p_items => %s, p_window_start => %s, p_window_end => %s, p_resume_end => %s,"
                " p_lease_seconds => 600)",
                (model, worker, Jsonb(rows), start, end, end),
            )
            call_s = time.perf_counter() - t
        print(f"explained call: {call_s * 1000:.1f} ms (with auto_explain overhead)\n")
        import re

        fk = [pl for pl in plans if "FOR KEY SHARE" in pl]
        fk_ms = sum(float(m.group(1)) for pl in fk for m in [re.search(r"duration: ([0-9.]+) ms", pl)] if m)
        print(
            f"{len(fk)} foreign-key checks (one per inserted row: SELECT 1 FROM models ... FOR KEY SHARE), "
            f"{fk_ms:.1f} ms in all\n"
        )
        for plan in plans:
            if "FOR KEY SHARE" in plan:
                continue
            print(plan)
            print("-" * 100)
        db.close()
    finally:
        sb.stop()
        pg.drop_database(DB)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
