"""psycopg 3 transport for DATABASE_URL (direct or the Supavisor transaction pooler).

Pooler-safe: no prepared statements (prepare_threshold=None), autocommit so each call is one short
transaction, no session state. A tiny thread-safe pool because Fluid compute runs requests on threads
and the sync works on several models at once.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from lib.db.errors import DbError, error_for
from lib.db.transport import TextArray, check_arg_name, check_function_name, dumps


class PostgresDatabase:
    def __init__(self, url: str, *, max_connections: int = 8, connect_timeout: int = 10) -> None:
        self._url = url
        self._max = max_connections
        self._connect_timeout = connect_timeout
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self.calls = 0

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            self._url, autocommit=True, prepare_threshold=None, connect_timeout=self._connect_timeout
        )

    def _acquire(self) -> Any:
        self._slots.acquire()
        try:
            while True:
                try:
                    conn = self._idle.get_nowait()
                except queue.Empty:
                    return self._connect()
                if not conn.closed:
                    return conn
        except BaseException:
            self._slots.release()
            raise

    def _release(self, conn: Any, broken: bool) -> None:
        try:
            if broken or conn.closed or conn.info.transaction_status != 0:
                conn.close()
            else:
                self._idle.put(conn)
        finally:
            self._slots.release()

    def call(self, function: str, **args: Any) -> Any:
        import psycopg
        from psycopg import sql
        from psycopg.types.json import Jsonb

        check_function_name(function)
        names = [check_arg_name(f"p_{name}") for name in args]
        values = [
            list(v) if isinstance(v, TextArray) else Jsonb(v, dumps) if isinstance(v, (dict, list)) else v
            for v in args.values()
        ]
        query = sql.SQL("select public.{}({})").format(
            sql.Identifier(function),
            sql.SQL(", ").join(sql.SQL("{} => %s").format(sql.Identifier(n)) for n in names),
        )
        try:
            conn = self._acquire()
        except psycopg.Error as exc:
            raise DbError("unavailable", f"database unavailable: {type(exc).__name__}") from None
        broken = False
        try:
            with conn.cursor() as cur:
                cur.execute(query, values)
                row = cur.fetchone()
            self.calls += 1
            return row[0] if row else None
        except psycopg.Error as exc:
            broken = isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
            diag = getattr(exc, "diag", None)
            message = diag.message_primary if diag and diag.message_primary else type(exc).__name__
            raise error_for(getattr(exc, "sqlstate", None), message) from None
        except BaseException:
            broken = True
            raise
        finally:
            self._release(conn, broken)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


__all__ = ["DbError", "PostgresDatabase"]
