"""Chaos suite: randomized seeds of faults, kills and races; then the ledger must equal the sandbox's
ground truth exactly and no refresh token may ever have been presented twice.

    python -m tests.chaos.suite --seeds 10 --size large           # local: ~55 s a seed, ~9-10 min
    python -m tests.chaos.suite --seeds 3 --size small             # ~15 s a seed (CI runs tests/chaos/)
    python -m tests.chaos.suite --seed-list 7,11 --size small -v   # replay given seeds, with a timeline

Per seed, everything is fresh and real: a new database on the embedded Postgres (migrated; or on
TEST_DATABASE_URL's server), a new Fanvue sandbox with a seeded world (several agency-managed creators,
one creator connected personally, one creator nobody connects; legacy items without order id in some
seeds; tie groups of 3-25 % of items, so ties straddle page boundaries; a cursor that skips or repeats
ties; a rate limit of 60 or 200 requests per 2-3 s), every api/ file served over HTTP by the local
function server, and both connections made through the real OAuth flow (our connect endpoint, the
sandbox's authorize step, our callback).

Then a random schedule of steps. Each step runs concurrently, in threads:
  * 1-4 overlapping cron invocations (GET /api/cron/sync-transactions, sometimes mode=reconcile);
  * 0-2 force-syncs (POST /api/fanvue/force-sync-revenue: full=true, incremental, since=, dryRun=true)
    racing the crons for the same leases;
  * a mutator: new sales (wall-clock now), late arrivals (dated at the newest existing millisecond,
    i.e. inside a window a sync may already have passed, and tied with the item there), sandbox clock
    advances (tokens expire, pending orders become available), and token ageing (sandbox clock and
    stored expiry move together into the cron's proactive-refresh margin, or a connection looks idle);
  * sometimes a sync subprocess (run_sync or force_sync) SIGKILLed after it stored a page, i.e. mid-window;
    its model lease and any refresh lease are then expired through SQL (time passing);
  * sometimes a grant revocation at Fanvue, followed by a reconnect through the OAuth flow;
and the step's sandbox faults: 5xx bursts, a random error rate, dropped connections, 429 storms, token
expiry mid-pagination, extra latency, 5xx/drops on the token endpoint, and (large size) real client
timeouts (responses held past the sync client's 20 s timeout).

After the schedule, convergence: faults cleared, cron ticks until every model's last outcome is ok from
the latest tick (bounded); at that point every item must already be in the ledger (statuses may lag);
then the reconcile pass, after which the checks are:
  * for every connected creator, the ledger holds exactly the ground-truth items, compared as a multiset
    of (date, source, gross, net, order id, order status) - which implies count, gross and net - and the
    personal creator's refunds/chargebacks likewise;
  * the model's stored totals (revenue, net, count, refunds) equal the sums of its ledger rows (also
    checked after every step), and no order id is stored twice;
  * the sandbox saw zero refresh-token reuses and zero authorization-code reuses, and no grant was
    revoked except the deliberate revocations;
  * no two recorded syncs of one model overlapped in time, no endpoint answered 5xx, no cron run
    crashed, every connection is active and no lease is held once all actions have ended.

A report follows: seeds, faults injected by kind (from the sandbox's counters), kills, items checked,
mismatches, reuses, wall time. Exit status 1 on any mismatch or violated invariant.

Not scheduled, because each has its own minimized test in tests/chaos/: a token-endpoint answer lost
after Fanvue rotated (test_lost_refresh_response.py) and more than a page of items in one millisecond
(test_wide_tie.py).
A SIGKILL between Fanvue's rotation and our store of the new pair loses the only copy of the new refresh
token (inherent to rotating refresh tokens without a server-side grace period), so the schedule never
arms token expiry or moves a clock while a kill is pending: a killed process never dies mid-rotation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ISSUER = "http://127.0.0.1:54321/auth/v1"
CLIENT_TIMEOUT_S = 20.0  # lib/sync/runner.py: httpx.Client(timeout=20.0)


# ---------------------------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class Size:
    agency_creators: tuple[int, int]
    items: tuple[int, int]
    history_days: tuple[int, int]
    personal_items: tuple[int, int]
    steps: tuple[int, int]
    max_kills: int
    max_revocations: int
    real_timeouts: int  # per seed, at most
    max_duration_s: tuple[int, ...]  # SYNC_MAX_DURATION_S choices (budget = value - 10 s)
    converge_rounds: int


SIZES = {
    "small": Size(
        agency_creators=(2, 3),
        items=(120, 600),
        history_days=(20, 400),
        personal_items=(60, 250),
        steps=(4, 5),
        max_kills=1,
        max_revocations=1,
        real_timeouts=0,
        max_duration_s=(120,),
        converge_rounds=12,
    ),
    "large": Size(
        agency_creators=(3, 6),
        items=(300, 4000),
        history_days=(20, 900),
        personal_items=(100, 1200),
        steps=(10, 14),
        max_kills=3,
        max_revocations=2,
        real_timeouts=1,
        max_duration_s=(120, 120, 30, 16),
        converge_rounds=30,
    ),
}


# ---------------------------------------------------------------------------------------------- report
@dataclass
class SeedReport:
    seed: int
    size: str
    creators: int = 0
    world_items: int = 0
    legacy: bool = False
    tie_share: float = 0.0
    cursor_tie_mode: str = ""
    steps: int = 0
    faults: Counter = field(default_factory=Counter)
    kills: int = 0
    timeouts: int = 0
    kills_missed: int = 0
    revocations: int = 0
    reconnects: int = 0
    crons: int = 0
    force_syncs: int = 0
    force_status: Counter = field(default_factory=Counter)
    sales_added: int = 0
    late_added: int = 0
    clock_advanced_s: float = 0.0
    token_agings: int = 0
    converge_rounds: int = 0
    items_checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    refresh_token_reuses: int = 0
    code_reuses: int = 0
    unexpected_revocations: int = 0
    violations: list[str] = field(default_factory=list)
    api_requests: int = 0
    rejected_429: int = 0
    refreshes: int = 0
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not self.mismatches
            and not self.violations
            and self.refresh_token_reuses == 0
            and self.code_reuses == 0
            and self.unexpected_revocations == 0
        )

    def as_json(self) -> dict[str, Any]:
        out = {k: (dict(v) if isinstance(v, Counter) else v) for k, v in self.__dict__.items()}
        out["ok"] = self.ok
        return out


FAULT_KINDS = (
    "error_5xx",
    "error_rate",
    "drop",
    "rate_limit_storm",
    "tokens_expired",
    "slow",
    "timeouts",
    "grants_revoked",
)


def format_report(reports: list[SeedReport], wall_s: float) -> str:
    lines = []
    size = reports[0].size if reports else "?"
    lines.append(f"chaos suite: size={size}, seeds run={len(reports)} ({', '.join(str(r.seed) for r in reports)})")
    head = (
        f"{'seed':>5} {'crt':>3} {'items':>6} {'leg':>3} {'tie':>4} {'steps':>5} {'kills':>5} {'rvk':>3} "
        f"{'crons':>5} {'force':>5} {'faults':>6} {'reqs':>6} {'429':>4} {'rnds':>4} {'checked':>7} "
        f"{'mism':>4} {'reuse':>5} {'wall':>6}"
    )
    lines.append(head)
    for r in reports:
        lines.append(
            f"{r.seed:>5} {r.creators:>3} {r.world_items:>6} {'y' if r.legacy else 'n':>3} "
            f"{r.tie_share:>4.2f} {r.steps:>5} {r.kills:>5} {r.revocations:>3} {r.crons:>5} "
            f"{r.force_syncs:>5} {sum(v for k, v in r.faults.items() if k != 'slow'):>6} "
            f"{r.api_requests:>6} {r.rejected_429:>4} {r.converge_rounds:>4} {r.items_checked:>7} "
            f"{len(r.mismatches):>4} {r.refresh_token_reuses:>5} {r.wall_s:>5.1f}s"
        )
    faults: Counter = Counter()
    force: Counter = Counter()
    for r in reports:
        faults.update(r.faults)
        force.update(r.force_status)
    lines.append("")
    lines.append("faults injected (sandbox counters): " + ", ".join(f"{k}={faults.get(k, 0)}" for k in FAULT_KINDS))
    lines.append(f"  ('slow' = requests given extra latency: {faults.get('slow', 0)})")
    lines.append(
        f"SIGKILLs of sync processes mid-window: {sum(r.kills for r in reports)} "
        f"(+{sum(r.kills_missed for r in reports)} processes that finished before the kill)"
    )
    lines.append(
        f"grant revocations + OAuth reconnects: {sum(r.revocations for r in reports)} / "
        f"{sum(r.reconnects for r in reports)}"
    )
    lines.append(
        f"cron invocations: {sum(r.crons for r in reports)} (overlapping in threads); force-syncs: "
        f"{sum(r.force_syncs for r in reports)} (HTTP {dict(sorted(force.items()))})"
    )
    lines.append(
        f"new sales: {sum(r.sales_added for r in reports)}, late arrivals: "
        f"{sum(r.late_added for r in reports)}, sandbox clock advanced: "
        f"{sum(r.clock_advanced_s for r in reports) / 86400:.1f} days, token agings (proactive refresh "
        f"margin or idle): {sum(r.token_agings for r in reports)}"
    )
    lines.append(
        f"Fanvue API requests: {sum(r.api_requests for r in reports)}, answered 429 by the bucket: "
        f"{sum(r.rejected_429 for r in reports)}, token refreshes: {sum(r.refreshes for r in reports)}"
    )
    lines.append(f"items checked: {sum(r.items_checked for r in reports)}")
    lines.append(f"mismatches: {sum(len(r.mismatches) for r in reports)}")
    lines.append(
        f"refresh-token reuses: {sum(r.refresh_token_reuses for r in reports)}; authorization-code reuses: "
        f"{sum(r.code_reuses for r in reports)}; grants revoked other than deliberately: "
        f"{sum(r.unexpected_revocations for r in reports)}"
    )
    lines.append(f"other violations: {sum(len(r.violations) for r in reports)}")
    for r in reports:
        for m in r.mismatches:
            lines.append(f"  seed {r.seed} MISMATCH {m}")
        for v in r.violations:
            lines.append(f"  seed {r.seed} VIOLATION {v}")
    lines.append(f"wall time: {wall_s:.1f} s")
    lines.append("RESULT: " + ("PASS" if all(r.ok for r in reports) else "FAIL"))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- world
def make_world(seed: int, size: Size, rng: random.Random) -> tuple[Any, list[str], str, dict[str, Any]]:
    """A seeded sandbox config: (config, agency-managed handles, personal handle, knobs)."""
    from fanvue_sandbox import CreatorSpec, SandboxConfig

    n = rng.randint(*size.agency_creators)
    creators = []
    managed = []
    for i in range(n):
        handle = f"c{i}"
        items = rng.randint(*size.items)
        creators.append(
            CreatorSpec(
                handle=handle, items=items, history_days=rng.randint(*size.history_days), refunds=rng.randint(2, 12)
            )
        )
        managed.append(handle)
    personal = "solo"
    creators.append(
        CreatorSpec(
            handle=personal,
            items=rng.randint(*size.personal_items),
            history_days=rng.randint(*size.history_days),
            refunds=rng.randint(3, 25),
        )
    )
    creators.append(CreatorSpec(handle="nobody", items=50, history_days=30))  # never connected
    knobs = {
        "legacy": rng.random() < 0.5,
        "tie_share": rng.choice([0.03, 0.1, 0.25]),
        "cursor_tie_mode": rng.choice(["skip", "repeat"]),
        "pending_days": rng.choice([1, 3, 7]),
        "rate_window_s": rng.choice([2.0, 2.5, 3.0]),
        "rate_limit": rng.choice([60, 200, 200]),
    }
    config = SandboxConfig(
        seed=100_000 + seed,
        creators=creators,
        agency_manages=managed,
        rate_limit=knobs["rate_limit"],
        rate_window_s=knobs["rate_window_s"],
        legacy_items_without_order_id=knobs["legacy"],
        legacy_before_days=rng.uniform(5, 200),
        legacy_share=0.5,
        pending_days=knobs["pending_days"],
        tie_share=knobs["tie_share"],
        cursor_tie_mode=knobs["cursor_tie_mode"],
        agency_items=rng.randint(0, 10),
    )
    return config, managed, personal, knobs


# ---------------------------------------------------------------------------------------------- stack
class ChaosStack:
    """One seed's system: a fresh database, the sandbox, and api/ served over HTTP in this process."""

    def __init__(self, admin_url: str, sandbox_config: Any, env_extra: dict[str, str], tag: str) -> None:
        self.admin_url = admin_url
        self.sandbox_config = sandbox_config
        self.env_extra = env_extra
        self.db_name = f"chaos_{tag}_{uuid.uuid4().hex[:8]}"
        self.cron_secret = "chaos-cron-" + uuid.uuid4().hex
        self.jwt_secret = "chaos-jwt-" + uuid.uuid4().hex + uuid.uuid4().hex
        self._saved_env: dict[str, str | None] = {}
        self.server = None
        self.sandbox = None
        self.database_url = ""
        self.env: dict[str, str] = {}
        self._local = threading.local()

    # -- lifecycle
    def start(self) -> ChaosStack:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        from devstack.migrate import migrate
        from devstack.server import FunctionServer
        from fanvue_sandbox import FanvueSandbox
        from lib.config import reset_settings
        from lib.crypto import new_key_text
        from lib.db import reset_database

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'create database "{self.db_name}"')
        params = conninfo_to_dict(self.admin_url)
        params["dbname"] = self.db_name
        self.database_url = make_conninfo(**params)
        report = migrate(self.database_url)
        if report.notices:
            raise RuntimeError(f"migrations raised notices: {report.notices}")
        self.server = FunctionServer(("127.0.0.1", 0))
        functions = self.server.base_url
        self.functions = functions
        self.sandbox_config.redirect_uris = [functions + "/api/auth/fanvue/callback"]
        self.sandbox = FanvueSandbox(self.sandbox_config)
        sandbox_url = self.sandbox.start(host="127.0.0.1", port=0)
        self.env = {
            "DATABASE_URL": self.database_url,
            "FANVUE_API_BASE": sandbox_url,
            "FANVUE_AUTH_BASE": sandbox_url,
            "FANVUE_CLIENT_ID": self.sandbox_config.client_id,
            "FANVUE_CLIENT_SECRET": self.sandbox_config.client_secret,
            "FANVUE_REDIRECT_URI": functions + "/api/auth/fanvue/callback",
            "PUBLIC_BASE_URL": functions,
            "TOKEN_ENCRYPTION_KEY": new_key_text("chaos1"),
            "CRON_SECRET": self.cron_secret,
            "SUPABASE_JWT_SECRET": self.jwt_secret,
            "SUPABASE_JWT_ISSUER": ISSUER,
            "SYNC_CONCURRENCY": "4",
            "SYNC_MAX_DURATION_S": "120",
            "SYNC_SAFETY_MARGIN_S": "10",
            "SYNC_INTERVAL_S": "0",
            **self.env_extra,
        }
        self._saved_env = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        reset_settings()
        reset_database()
        threading.Thread(target=self.server.serve_forever, name="chaos-functions", daemon=True).start()
        return self

    def stop(self, drop: bool = True) -> None:
        import psycopg

        from lib.config import reset_settings
        from lib.db import reset_database

        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.sandbox is not None:
            self.sandbox.stop()
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        reset_database()
        if drop and self.database_url:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{self.db_name}" with (force)')

    # -- helpers
    def sql(self):
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.database_url, autocommit=True)
            self._local.conn = conn
        return conn

    def http(self):
        import httpx

        client = getattr(self._local, "http", None)
        if client is None:
            client = httpx.Client(timeout=600.0)
            self._local.http = client
        return client

    def token(self, user_id: str) -> str:
        from devstack.tokens import mint_dashboard_token

        return mint_dashboard_token(user_id, self.jwt_secret, ISSUER)

    def cron(self, mode: str = "sync") -> tuple[int, Any]:
        r = self.http().get(
            self.functions + "/api/cron/sync-transactions",
            params={"mode": mode},
            headers={"Authorization": f"Bearer {self.cron_secret}"},
        )
        return r.status_code, _json(r)

    def force(self, user: str, model_id: str, **params: str) -> tuple[int, Any]:
        r = self.http().post(
            self.functions + "/api/fanvue/force-sync-revenue",
            params={"modelId": model_id, **params},
            headers={"Authorization": f"Bearer {self.token(user)}"},
        )
        return r.status_code, _json(r)

    def connect(
        self, user: str, *, model_id: str | None = None, agency_id: str | None = None, login_hint: str | None = None
    ) -> dict[str, Any]:
        from devstack.connect_flow import connect

        return connect(self.functions, self.token(user), model_id=model_id, agency_id=agency_id, login_hint=login_hint)


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"raw": response.text[:500]}


# ---------------------------------------------------------------------------------------------- one seed
class SeedRun:
    def __init__(
        self,
        seed: int,
        size_name: str,
        admin_url: str,
        *,
        verbose: bool = False,
        log: Callable[[str], None] = print,
        keep_db: bool = False,
    ) -> None:
        self.seed = seed
        self.size_name = size_name
        self.size = SIZES[size_name]
        self.admin_url = admin_url
        self.verbose = verbose
        self.log_fn = log
        self.keep_db = keep_db
        self.rng = random.Random(f"chaos-{seed}")
        self.report = SeedReport(seed=seed, size=size_name)
        self.lock = threading.Lock()
        self.stack: ChaosStack | None = None
        self.kill_pending = threading.Event()  # no token expiry / clock advance while set
        self.deliberate_revocations = 0
        self.timeouts_left = self.size.real_timeouts
        self.kills_left = self.size.max_kills
        self.revocations_left = self.size.max_revocations

    def log(self, msg: str) -> None:
        if self.verbose:
            self.log_fn(f"[seed {self.seed} +{time.monotonic() - self.t0:6.1f}s] {msg}")

    def violation(self, msg: str) -> None:
        with self.lock:
            self.report.violations.append(msg)
        self.log("VIOLATION " + msg)

    # -- main
    def run(self) -> SeedReport:
        self.t0 = time.monotonic()
        rng = self.rng
        config, managed, personal, knobs = make_world(self.seed, self.size, rng)
        self.managed, self.personal = managed, personal
        r = self.report
        r.creators = len(managed) + 1
        r.legacy, r.tie_share, r.cursor_tie_mode = knobs["legacy"], knobs["tie_share"], knobs["cursor_tie_mode"]
        env_extra = {
            "SYNC_CONCURRENCY": str(rng.choice([2, 3, 4])),
            "SYNC_MAX_DURATION_S": str(rng.choice(self.size.max_duration_s)),
        }
        self.stack = ChaosStack(self.admin_url, config, env_extra, tag=f"s{self.seed}")
        self.stack.start()
        try:
            self.log(
                f"world: {knobs}, env {env_extra}, creators "
                + ", ".join(f"{c.handle}={c.items}" for c in config.creators)
            )
            r.world_items = sum(len(self.stack.sandbox.world.earnings[u.uuid]) for u in self.stack.sandbox.creators)
            self.setup_connections()
            steps = rng.randint(*self.size.steps)
            for i in range(steps):
                self.step(i)
                r.steps += 1
                self.check_invariants(f"after step {i}")
            self.converge()
            self.final_checks()
        except Exception as exc:
            self.violation(f"harness error: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        finally:
            self.collect_stats()
            r.wall_s = time.monotonic() - self.t0
            self.stack.stop(drop=not self.keep_db)
        return r

    # -- setup
    def setup_connections(self) -> None:
        stack = self.stack
        sql = stack.sql()
        self.agency_id, self.admin_id = str(uuid.uuid4()), str(uuid.uuid4())
        sql.execute("insert into agencies (id, name) values (%s, %s)", (self.agency_id, f"Chaos {self.seed}"))
        sql.execute(
            "insert into profiles (id, agency_id, role) values (%s, %s, 'admin')", (self.admin_id, self.agency_id)
        )
        agency = stack.connect(self.admin_id, agency_id=self.agency_id, login_hint="agency")
        if agency["kind"] != "agency" or len(agency["models"]) != len(self.managed):
            raise RuntimeError(f"agency connect linked {len(agency['models'])} models, expected {len(self.managed)}")
        self.personal_model = str(
            sql.execute(
                "insert into models (agency_id, name) values (%s, 'Solo') returning id", (self.agency_id,)
            ).fetchone()[0]
        )
        creator = stack.connect(self.admin_id, model_id=self.personal_model, login_hint=self.personal)
        if creator["kind"] != "creator":
            raise RuntimeError(f"personal connect answered {creator}")
        self.personal_uuid = creator["fanvue_user"]["uuid"]
        self.model_ids = [str(row[0]) for row in sql.execute("select id from models order by name")]
        self.log(f"connected: {len(self.model_ids)} models")

    # -- faults
    def random_faults(self) -> dict[str, Any]:
        rng = self.rng
        plan: dict[str, Any] = {}
        kinds = rng.sample(
            ["5xx", "rate", "drop", "storm", "expiry", "slow", "token"], k=rng.choice([0, 1, 2, 2, 3, 4])
        )
        for kind in kinds:
            if kind == "5xx":
                plan["error_5xx"] = {"count": rng.randint(1, 8), "status": rng.choice([500, 502, 503, 504])}
            elif kind == "token":  # Fanvue's token endpoint fails (before rotating): never a reconnect
                key = "error_5xx" if "error_5xx" not in plan else "drop"
                plan[key] = {"count": rng.randint(1, 2), "path_regex": "^/oauth2/token"}
                if key == "error_5xx":
                    plan[key]["status"] = rng.choice([500, 503])
            elif kind == "rate":
                plan["error_rate"] = {
                    "p": rng.choice([0.03, 0.08, 0.15]),
                    "seed": rng.randrange(1 << 30),
                    "status": rng.choice([500, 502, 503]),
                }
            elif kind == "drop" and "drop" not in plan:
                plan["drop"] = {"count": rng.randint(1, 6)}
            elif kind == "storm":
                plan["rate_limit_storm"] = {"count": rng.randint(1, 8), "retry_after": rng.choice([1, 1, 2])}
            elif kind == "expiry":
                plan["expire_tokens_after"] = rng.randint(0, 40)
            elif kind == "slow":
                plan["slow_ms"] = rng.choice([5, 20, 60])
        return plan

    # -- one step: everything below runs at once
    def step(self, index: int) -> None:
        rng, stack = self.rng, self.stack
        kill = self.kills_left > 0 and rng.random() < 0.45
        revoke = self.revocations_left > 0 and rng.random() < 0.3
        plan = self.random_faults()
        if kill:  # no token expiry while a process that may be killed could be rotating (see the docstring)
            plan.pop("expire_tokens_after", None)
            stack.sandbox.set_faults(expire_tokens_after=None)  # nor one left over from the previous step
        if plan:
            stack.sandbox.set_faults(**plan)
        actions: list[tuple[str, Callable[[], None]]] = []
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            mode = "reconcile" if rng.random() < 0.15 else "sync"
            actions.append(("cron", lambda mode=mode, d=rng.uniform(0, 0.6): self.do_cron(mode, d)))
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            model = rng.choice(self.model_ids)
            variant = rng.choice(["full", "incremental", "since", "dry"])
            actions.append(
                (
                    "force",
                    lambda m=model, v=variant, d=rng.uniform(0, 1.0), r=rng.randrange(1 << 30): self.do_force(
                        m, v, d, random.Random(r)
                    ),
                )
            )
        if kill:
            self.kills_left -= 1
            self.kill_pending.set()
            actions.append(("kill", lambda s=rng.randrange(1 << 30): self.do_kill(random.Random(s))))
        if revoke:
            self.revocations_left -= 1
            actions.append(("revoke", lambda s=rng.randrange(1 << 30): self.do_revoke(random.Random(s))))
        actions.append(("mutate", lambda s=rng.randrange(1 << 30): self.do_mutate(random.Random(s))))
        if self.timeouts_left > 0 and rng.random() < 0.3:
            self.timeouts_left -= 1
            actions.append(("timeout", lambda d=rng.uniform(0.2, 1.5): self.do_timeout(d)))
        self.log(f"step {index}: faults {plan}, actions {[a for a, _ in actions]}")
        threads = [threading.Thread(target=self._guard(name, fn), name=f"chaos-{name}") for name, fn in actions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.kill_pending.clear()
        if rng.random() < 0.7:
            stack.sandbox.clear_faults()
        stack.sandbox.set_latency(0)

    def _guard(self, name: str, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except Exception as exc:
                self.violation(f"{name} action crashed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")

        return run

    # -- actions
    def do_cron(self, mode: str, delay: float) -> None:
        time.sleep(delay)
        status, body = self.stack.cron(mode)
        with self.lock:
            self.report.crons += 1
        if status != 200:
            self.violation(f"cron {mode} answered HTTP {status}: {str(body)[:300]}")
            return
        outcomes = Counter(m["outcome"] for m in body.get("models", []))
        self.log(
            f"cron {mode}: {body.get('status')} {dict(outcomes)} "
            + "; ".join(f"{m['name']}: {m['error']}" for m in body.get("models", []) if m.get("error"))[:400]
        )

    def do_force(self, model_id: str, variant: str, delay: float, rng: random.Random) -> None:
        time.sleep(delay)
        params: dict[str, str] = {}
        if variant == "full":
            params["full"] = "true"
        elif variant == "since":
            since = datetime.now(UTC) - timedelta(days=rng.uniform(0.01, 60))
            params["since"] = since.isoformat().replace("+00:00", "Z")
        elif variant == "dry":
            params["dryRun"] = "true"
            if rng.random() < 0.5:
                params["full"] = "true"
        status, body = self.stack.force(self.admin_id, model_id, **params)
        with self.lock:
            self.report.force_syncs += 1
            self.report.force_status[str(status)] += 1
        if status >= 500 and status != 502:
            self.violation(f"force-sync {variant} answered HTTP {status}: {str(body)[:300]}")
        if status == 200 and variant == "dry" and isinstance(body, dict) and body.get("outcome") != "dry_run":
            self.violation(f"dry run answered outcome {body.get('outcome')}")
        self.log(
            f"force {variant} {model_id[:8]}: HTTP {status} "
            f"{body.get('outcome') if isinstance(body, dict) else ''} "
            f"{(body.get('error') if isinstance(body, dict) else '') or ''}"[:300]
        )

    def do_mutate(self, rng: random.Random) -> None:
        sandbox = self.stack.sandbox
        for _ in range(rng.randint(1, 4)):
            time.sleep(rng.uniform(0, 1.2))
            roll = rng.random()
            if roll < 0.5:
                n = rng.randint(1, 25)
                sandbox.add_sales(None, n)
                with self.lock:
                    self.report.sales_added += n
            elif roll < 0.8:
                self.late_arrival(rng)
            elif not self.kill_pending.is_set() and roll < 0.9:
                seconds = rng.choice([600, 3700, 86400, 3 * 86400, 8 * 86400])
                sandbox.advance_clock(seconds)
                with self.lock:
                    self.report.clock_advanced_s += seconds
                self.log(f"clock +{seconds}s")
            elif not self.kill_pending.is_set():
                self.tokens_age(rng)

    def tokens_age(self, rng: random.Random) -> None:
        """Time passes for the tokens only: access tokens come within the cron's proactive-refresh margin
        (sandbox clock and stored expiry move together), or a connection looks idle for a day."""
        sql = self.stack.sql()
        if rng.random() < 0.7:
            rows = sql.execute(
                "select extract(epoch from min(expires_at) - now()) from fanvue_connections where status = 'active'"
            ).fetchone()
            remaining = float(rows[0] or 0)
            shift = int(remaining - rng.uniform(120, 560))
            if shift <= 0:
                return
            self.stack.sandbox.advance_clock(shift)
            sql.execute("update fanvue_connections set expires_at = expires_at - make_interval(secs => %s)", (shift,))
            with self.lock:
                self.report.clock_advanced_s += shift
                self.report.token_agings += 1
            self.log(f"tokens aged {shift}s (clock and stored expiry)")
        else:
            sql.execute("update fanvue_connections set last_refresh_at = now() - interval '2 days'")
            with self.lock:
                self.report.token_agings += 1
            self.log("connections look idle for 2 days")

    def late_arrival(self, rng: random.Random) -> None:
        """An item that shows up after a sync may have passed its date: dated at the creator's newest
        existing millisecond (so it also joins a tie), or within the last hour when that is newer."""
        sandbox = self.stack.sandbox
        user = rng.choice([u for u in sandbox.creators if u.handle != "nobody"])
        ledger = sandbox.world.earnings[user.uuid]
        ts = ledger.ts
        if len(ts) >= 8 and ts[-8] == ts[-1]:
            return  # keep tie groups far below a page (a whole page at one millisecond is unreadable)
        from fanvue_sandbox.timeutil import wall_ms

        at = 0 if rng.random() < 0.6 else wall_ms() - rng.randint(0, 3_600_000)
        n = rng.randint(1, 2)
        ledger.add(n, at)
        with self.lock:
            self.report.late_added += n

    def do_timeout(self, delay: float) -> None:
        """A response held past the client's timeout: the requests arriving in the next 0.8 s hang."""
        time.sleep(delay)
        sandbox = self.stack.sandbox
        previous = sandbox.faults.active().get("slow_ms")
        before = sandbox.faults.stats()["injected"]["slow"]
        sandbox.set_faults(slow_ms=int((CLIENT_TIMEOUT_S + 1.5) * 1000))
        time.sleep(0.8)
        sandbox.set_faults(slow_ms=previous["ms"] if previous else None)
        hung = sandbox.faults.stats()["injected"]["slow"] - before
        with self.lock:
            self.report.timeouts += hung
        self.log(f"real timeouts armed for 0.8 s: {hung} requests held past the client timeout")

    def do_revoke(self, rng: random.Random) -> None:
        """Fanvue revokes a grant (user removed the app); later the admin reconnects through OAuth."""
        stack = self.stack
        who = rng.choice(["agency", self.personal])
        time.sleep(rng.uniform(0, 1.5))
        before = stack.sandbox.faults.stats()["injected"]["grants_revoked"]
        stack.sandbox.set_faults(revoke_grant=who)
        revoked = stack.sandbox.faults.stats()["injected"]["grants_revoked"] - before
        with self.lock:
            self.report.revocations += 1
            self.deliberate_revocations += revoked
        self.log(f"revoked {revoked} grant(s) of {who}")
        if rng.random() < 0.5:  # let a sync notice first
            status, _body = stack.cron()
            with self.lock:
                self.report.crons += 1
            if status != 200:
                self.violation(f"cron after revocation answered HTTP {status}")
        else:
            time.sleep(rng.uniform(0, 2.0))
        self.reconnect(who)

    def reconnect(self, who: str) -> None:
        stack = self.stack
        last: Exception | None = None
        for attempt in range(6):
            try:
                if who == "agency":
                    out = stack.connect(self.admin_id, agency_id=self.agency_id, login_hint="agency")
                else:
                    out = stack.connect(self.admin_id, model_id=self.personal_model, login_hint=who)
                with self.lock:
                    self.report.reconnects += 1
                self.log(f"reconnected {who} (attempt {attempt + 1}): {out['status']}")
                return
            except Exception as exc:
                last = exc
                time.sleep(0.3 * (attempt + 1))
                if attempt >= 2:
                    stack.sandbox.clear_faults()
        raise RuntimeError(f"reconnect of {who} failed 6 times: {last}")

    def do_kill(self, rng: random.Random) -> None:
        """Up to three tries at killing a sync process mid-window (one that finishes first is a miss)."""
        self.stack.sandbox.set_latency(rng.choice([10, 20, 30]))
        for _ in range(3):
            if self.kill_once(rng):
                return

    def kill_once(self, rng: random.Random) -> bool:
        """A sync process SIGKILLed after it stored a page (mid-window); its lease then expires."""
        stack = self.stack
        variant = rng.choice(["cron-full", "cron-full", "force-full", "force-full", "cron", "force"])
        model = rng.choice(self.model_ids)
        if variant.startswith("cron"):
            code = (
                "from lib.sync.runner import run_sync; from lib.sync.engine import SyncOptions;"
                f"run_sync(options=SyncOptions(full={variant == 'cron-full'}), max_models=1)"
            )
        else:
            code = (
                "from lib.sync.runner import force_sync; from lib.sync.engine import SyncOptions;"
                "from lib.db import get_database;"
                f"force_sync(get_database(), '{model}', options=SyncOptions(full={variant == 'force-full'}))"
            )
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(
            [sys.executable, "-c", code], env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        sql = stack.sql()
        marker = f"%:{proc.pid}:%"
        held: str | None = None
        stored_at: float | None = None
        delay_after_store = rng.uniform(0.0, 0.25)
        deadline = time.monotonic() + 30
        killed = False
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                row = sql.execute(
                    "select model_id, progress from fanvue_sync_state where lease_owner like %s", (marker,)
                ).fetchone()
                if row:
                    held = str(row[0])
                    if stored_at is None and row[1]:
                        stored_at = time.monotonic()
                    if stored_at is not None and row[1] and time.monotonic() - stored_at >= delay_after_store:
                        proc.send_signal(signal.SIGKILL)
                        killed = True
                        break
                time.sleep(0.005)
            if not killed and proc.poll() is None:  # never stored a page in 30 s: kill anyway
                proc.send_signal(signal.SIGKILL)
                killed = True
            proc.wait(15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
        # mid-window = the dead process still holds a lease with a window in progress
        mid = sql.execute(
            "select count(*) from fanvue_sync_state where lease_owner like %s and progress <> '{}'", (marker,)
        ).fetchone()[0]
        hit = bool(killed and proc.returncode == -signal.SIGKILL and mid)
        if hit:
            with self.lock:
                self.report.kills += 1
        else:
            with self.lock:
                self.report.kills_missed += 1
            if proc.returncode not in (0, -signal.SIGKILL):
                self.violation(f"sync subprocess ({variant}) exited {proc.returncode}: {err[-800:]}")
        # time passes: the dead worker's leases expire
        leases = sql.execute(
            "update fanvue_sync_state set lease_expires_at = now() - interval '1 second' "
            "where lease_owner like %s returning model_id",
            (marker,),
        ).fetchall()
        refresh = sql.execute(
            "update fanvue_connections set refresh_lease_expires_at = now() - interval '1 second' "
            "where refresh_lease_owner like %s returning id",
            (marker,),
        ).fetchall()
        self.log(
            f"kill {variant}: pid {proc.pid} rc {proc.returncode} held {held and held[:8]} "
            f"mid-window={hit} leases expired {len(leases)}, refresh leases {len(refresh)}"
        )
        return hit

    # -- invariants during the run
    def check_invariants(self, when: str) -> None:
        sql = self.stack.sql()
        rows = sql.execute(
            """select m.name, m.revenue_gross_cents, m.revenue_net_cents, m.transaction_count,
                      m.revenue_refund_cents, m.refund_count,
                      coalesce(sum(t.gross_cents) filter (where t.kind = 'earning'), 0),
                      coalesce(sum(t.net_cents) filter (where t.kind = 'earning'), 0),
                      count(t.id) filter (where t.kind = 'earning'),
                      coalesce(sum(t.gross_cents) filter (where t.kind <> 'earning'), 0),
                      count(t.id) filter (where t.kind <> 'earning')
                 from models m left join fanvue_transactions t on t.model_id = m.id
                group by m.id"""
        ).fetchall()
        for r in rows:
            stored = tuple(int(x or 0) for x in r[1:6])
            ledger = (int(r[6]), int(r[7]), int(r[8]), int(r[9]), int(r[10]))
            if stored != ledger:
                self.violation(f"{when}: {r[0]} stored totals {stored} != ledger sums {ledger}")
        dup = sql.execute("""select model_id, order_id, source, count(*) from fanvue_transactions
                              where order_id is not null group by 1, 2, 3 having count(*) > 1 limit 5""").fetchall()
        if dup:
            self.violation(f"{when}: duplicate order ids in the ledger: {dup}")

    # -- convergence
    def converge(self) -> None:
        stack = self.stack
        stack.sandbox.clear_faults()
        stack.sandbox.set_latency(0)
        sql = stack.sql()
        bad_connections = sql.execute(
            "select kind, fanvue_handle, status, status_reason from fanvue_connections where status <> 'active'"
        ).fetchall()
        if bad_connections:
            self.violation(f"connections not active after the schedule: {bad_connections}")
        held = sql.execute(
            "select m.name, s.lease_owner, s.lease_kind, s.lease_expires_at - now(), s.progress, "
            "s.last_outcome, s.last_attempt_at from fanvue_sync_state s join models m on m.id = s.model_id "
            "where s.lease_owner is not null and s.lease_expires_at > now()"
        ).fetchall()
        if held:
            self.violation(f"{len(held)} leases still held after every action ended: {held}")
            self.log(f"live processes: {self.live_children()}")
        reconciled = False
        synced = False
        rounds = 0
        last_round: Any = None
        while rounds < self.size.converge_rounds:
            rounds += 1
            if not synced and last_round is not None and self._all_ok(last_round):
                # the 15-minute path alone must already have every item (statuses may still lag)
                synced = True
                self.compare_ledger(with_status=False, label="before the reconcile pass")
            mode = "reconcile" if synced else "sync"
            last_round = sql.execute(
                "update fanvue_sync_state set next_sync_at = now() - interval '1 second' returning now()"
            ).fetchone()[0]
            status, body = stack.cron(mode)
            if status != 200:
                self.violation(f"convergence cron ({mode}) answered HTTP {status}: {str(body)[:300]}")
                continue
            self.log(
                f"converge {rounds} ({mode}): {body.get('status')} {body.get('outcomes')} "
                + "; ".join(f"{m['name']}: {m['error']}" for m in body.get("models", []) if m.get("error"))[:300]
            )
            if mode == "reconcile" and self._all_ok(last_round):
                reconciled = True
                break
        self.report.converge_rounds = rounds
        if not reconciled:
            states = sql.execute(
                "select m.name, s.last_outcome, s.last_error from fanvue_sync_state s "
                "join models m on m.id = s.model_id"
            ).fetchall()
            self.violation(f"did not converge in {rounds} rounds: {states}")

    def _all_ok(self, since: Any) -> bool:
        """Every model's last outcome is ok, from a sync that finished after `since`."""
        rows = (
            self.stack.sql()
            .execute("select s.last_outcome = 'ok' and s.last_success_at >= %s from fanvue_sync_state s", (since,))
            .fetchall()
        )
        return bool(rows) and all(r[0] for r in rows)

    def live_children(self) -> list[str]:
        try:
            out = subprocess.run(
                ["ps", "-o", "pid,etimes,args", "--ppid", str(os.getpid())], capture_output=True, text=True, timeout=5
            ).stdout
            return [line.strip()[:200] for line in out.splitlines()[1:]]
        except Exception as exc:
            return [repr(exc)]

    # -- the verdict
    def final_checks(self) -> None:
        sql = self.stack.sql()
        self.check_invariants("after convergence")
        self.report.items_checked = self.compare_ledger(with_status=True, label="after convergence")
        # no two recorded syncs of one model overlapped in time (leases are exclusive)
        overlaps = sql.execute(
            """select a.model_id, a.outcome, a.started_at, a.finished_at, b.outcome, b.started_at, b.finished_at
                 from sync_run_models a join sync_run_models b
                   on a.model_id = b.model_id and a.run_id < b.run_id
                  and a.started_at < b.finished_at and b.started_at < a.finished_at
                limit 3"""
        ).fetchall()
        if overlaps:
            self.violation(f"overlapping syncs of one model: {overlaps}")
        # a cron/reconcile run records an error only when a worker thread or the run itself crashed
        crashed = sql.execute(
            "select kind, status, worker, error from sync_runs "
            "where kind in ('cron', 'reconcile') and error is not null limit 5"
        ).fetchall()
        if crashed:
            self.violation(f"sync runs that crashed: {crashed}")

    def compare_ledger(self, *, with_status: bool, label: str) -> int:
        """Ledger vs ground truth, item by item, for every connected creator; returns items checked."""
        stack = self.stack
        sandbox = stack.sandbox
        sql = stack.sql()
        now_ms = sandbox.clock.now_ms()
        truth = sandbox.ground_truth(include_items=True)
        cut = sandbox.world.pending_before(now_ms)
        last_run = sql.execute("select max(started_at) from sync_runs where kind = 'reconcile'").fetchone()[0]
        reconcile_start_ms = int(last_run.timestamp() * 1000) if last_run else now_ms
        models = {
            str(r[0]): str(r[1])
            for r in sql.execute("select fanvue_user_uuid, id from models where fanvue_user_uuid is not null")
        }
        problems: list[str] = []
        checked = 0
        status = (lambda v: v) if with_status else (lambda v: None)
        for user_uuid, t in truth.items():
            handle = t["handle"]
            if handle in ("agency", "nobody"):
                if user_uuid in models:
                    problems.append(f"{handle}: should not be a model")
                continue
            if user_uuid not in models:
                problems.append(f"{handle}: connected creator has no model")
                continue
            model_id = models[user_uuid]
            rows = sql.execute(
                """select (extract(epoch from transaction_date) * 1000)::bigint, source, gross_cents, net_cents,
                          order_id, order_status, kind
                     from fanvue_transactions where model_id = %s""",
                (model_id,),
            ).fetchall()
            ours_earn = Counter((r[0], r[1], r[2], r[3], r[4], status(r[5])) for r in rows if r[6] == "earning")
            want_earn: Counter = Counter()
            for item in t["earnings"]["items"]:
                want_earn[
                    (
                        _iso_ms(item["date"]),
                        item["source"],
                        item["gross"],
                        item["net"],
                        item.get("transactionOrderId"),
                        status(item.get("transactionOrderStatus")),
                    )
                ] += 1
            checked += len(t["earnings"]["items"])
            problems += self._diff(handle, "earnings", ours_earn, want_earn, cut, reconcile_start_ms)
            if user_uuid == self.personal_uuid:
                ours_spend = Counter((r[0], r[1], r[2], r[3]) for r in rows if r[6] != "earning")
                want_spend = Counter(
                    (_iso_ms(i["date"]), i["source"], i["gross"], i["net"]) for i in t["spending"]["items"]
                )
                checked += len(t["spending"]["items"])
                if ours_spend != want_spend:
                    problems.append(
                        f"{handle} refunds: ledger {sum(ours_spend.values())} rows / {_gross(ours_spend)} gross "
                        f"!= truth {t['spending']['count']} / {t['spending']['gross']}; missing "
                        f"{_show(want_spend - ours_spend)} extra {_show(ours_spend - want_spend)}"
                    )
            elif any(r[6] != "earning" for r in rows):
                problems.append(f"{handle}: refund rows on an agency-managed model")
            totals = sql.execute(
                "select revenue_gross_cents, revenue_net_cents, transaction_count from models where id = %s",
                (model_id,),
            ).fetchone()
            want = t["earnings"]
            if (int(totals[0]), int(totals[1]), int(totals[2])) != (want["gross"], want["net"], want["count"]):
                problems.append(
                    f"{handle}: model totals {tuple(totals)} != truth {(want['gross'], want['net'], want['count'])}"
                )
        for p in problems:
            self.report.mismatches.append(f"{label}: {p}")
            self.log(f"MISMATCH {label}: {p}")
        return checked

    def _diff(
        self, handle: str, stream: str, ours: Counter, want: Counter, cut: int, reconcile_start_ms: int
    ) -> list[str]:
        if ours == want:
            return []
        missing = want - ours
        extra = ours - want
        # an order whose pending period ended while the final pass ran is not a sync error
        slack_lo = reconcile_start_ms - int(self.stack.sandbox.config.pending_days * 86_400_000) - 5_000
        status_only = []
        for k in list(missing):
            twin = (k[0], k[1], k[2], k[3], k[4], "pendingBalance")
            if k[5] == "availableForPayout" and extra.get(twin) and slack_lo <= k[0] <= cut + 5_000:
                n = min(missing[k], extra[twin])
                missing[k] -= n
                extra[twin] -= n
                status_only.append(k)
        missing, extra = +missing, +extra
        if not missing and not extra:
            return []
        return [
            f"{handle} {stream}: ledger {sum(ours.values())} items / {_gross(ours)} gross / {_net(ours)} net != "
            f"truth {sum(want.values())} / {_gross(want)} / {_net(want)}; missing {sum(missing.values())} "
            f"e.g. {_show(missing)}; extra {sum(extra.values())} e.g. {_show(extra)}"
        ]

    def collect_stats(self) -> None:
        if self.stack is None or self.stack.sandbox is None:
            return
        stats = self.stack.sandbox.stats()
        r = self.report
        injected = stats["faults"]["injected"]
        for k, v in injected.items():
            r.faults[k] += v
        r.faults["timeouts"] = r.timeouts
        r.faults["slow"] -= r.timeouts
        r.refresh_token_reuses = stats.get("refresh_token_reuses", 0)
        r.code_reuses = stats.get("code_reuses", 0)
        r.refreshes = stats.get("refreshes", 0)
        r.unexpected_revocations = stats.get("grants_revoked", 0) - self.deliberate_revocations
        if r.unexpected_revocations:
            reasons = Counter(g["revoked_reason"] for g in stats.get("grants", {}).values() if g["revoked"])
            r.violations.append(f"grants revoked: {dict(reasons)}; deliberate: {self.deliberate_revocations}")
        by_route = stats["requests"]["by_route"]
        r.api_requests = sum(
            v
            for k, v in by_route.items()
            if not k.startswith(("fault:", "GET /oauth2", "POST /oauth2", "GET /.well-known"))
        )
        r.rejected_429 = sum(b["rejected_429"] for b in stats["rate_limit"]["buckets"].values())


def _iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _gross(c: Counter) -> int:
    return sum(k[2] * n for k, n in c.items())


def _net(c: Counter) -> int:
    return sum(k[3] * n for k, n in c.items())


def _show(c: Counter, n: int = 3) -> list[str]:
    out = []
    for k in list(c.elements())[:n]:
        out.append(
            f"{datetime.fromtimestamp(k[0] / 1000, UTC).isoformat(timespec='milliseconds')} "
            + " ".join(str(x) for x in k[1:])
        )
    return out


# ---------------------------------------------------------------------------------------------- entry points
def admin_url_from_env() -> tuple[str, Any]:
    """TEST_DATABASE_URL (a Postgres superuser URL) or the embedded Postgres under .data/chaos-pg."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, None
    from devstack.embedded import start_embedded

    server = start_embedded(ROOT / ".data" / "chaos-pg")
    return server.get_uri("postgres"), server


def run_chaos(
    seeds: list[int],
    size: str,
    admin_url: str,
    *,
    verbose: bool = False,
    log: Callable[[str], None] = print,
    keep_db: bool = False,
) -> tuple[list[SeedReport], float]:
    import logging

    quiet = [logging.getLogger(name) for name in ("fanvue_sync", "lib.fanvue.client")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:  # injected failures are expected noise
        logger.setLevel(logging.CRITICAL)
    started = time.monotonic()
    reports = []
    try:
        for seed in seeds:
            report = SeedRun(seed, size, admin_url, verbose=verbose, log=log, keep_db=keep_db).run()
            reports.append(report)
            log(
                f"seed {seed}: {'ok' if report.ok else 'FAIL'} in {report.wall_s:.1f}s - {report.items_checked} "
                f"items checked, {len(report.mismatches)} mismatches, {report.kills} kills, "
                f"{sum(v for k, v in report.faults.items() if k != 'slow')} faults, "
                f"{report.refresh_token_reuses} reuses"
            )
    finally:
        for logger, level in zip(quiet, levels, strict=False):
            logger.setLevel(level)
    return reports, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds to run")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--seed-list", help="comma-separated seeds (overrides --seeds/--first-seed)")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--json", help="also write the per-seed reports to this file")
    parser.add_argument("--keep-db", action="store_true", help="keep each seed's database for inspection")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    seeds = (
        [int(s) for s in args.seed_list.split(",") if s.strip()]
        if args.seed_list
        else list(range(args.first_seed, args.first_seed + args.seeds))
    )
    admin_url, _server = admin_url_from_env()
    reports, wall = run_chaos(seeds, args.size, admin_url, verbose=args.verbose, keep_db=args.keep_db)
    print()
    print(format_report(reports, wall))
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_json() for r in reports], indent=2, default=str))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
