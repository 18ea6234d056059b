"""A stand-in for PostgREST's RPC surface ONLY: `POST /rest/v1/rpc/<function>`, nothing else.

It exists so the supabase-py transport (lib.db.supabase_rpc) can be exercised end to end, through the
real supabase-py client, against the same real database the psycopg transport uses - locally and in
tests, with no Supabase project. It is not PostgREST: no tables, no filters, no GET/HEAD calls, no
JWT verification beyond comparing the key with the configured service key.

What it does the way PostgREST does:
- resolves `public.<function>` by name and by the set of argument names in the JSON body (unknown
  function or argument set -> 404 with code PGRST202);
- converts each JSON value to the function's declared argument type the same way PostgREST does,
  with `json_to_record`-style conversion (`jsonb_to_record(body) as _(p_a uuid, p_b text[], ...)`),
  so a JSON array becomes a `text[]` where the argument is `text[]` and stays `jsonb` where it is jsonb;
- runs each request in its own transaction as `service_role` (with `request.jwt.claims` set), so the
  grants the migrations give service_role are what is exercised;
- answers 200 with the function's JSON result, or `{"code", "message", "details", "hint"}` with
  PostgREST's status for the SQLSTATE (400 for most, including our FV404/FV409/FV422);
- requires `apikey: <key>` and `Authorization: Bearer <key>` equal to the service key (401 otherwise).
"""

from __future__ import annotations

import hmac
import json
import queue
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RPC_PREFIX = "/rest/v1/rpc/"
MAX_BODY = 16 * 1024 * 1024

_SIGNATURES_SQL = """
select p.oid, coalesce(p.proargnames, '{}'::text[]), p.pronargs, p.pronargdefaults,
       array(select format_type(t, null) from unnest(p.proargtypes::oid[]) with ordinality a(t, n) order by n)
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname = 'public' and p.proname = %s and p.prokind = 'f'
"""


def _status_for(sqlstate: str) -> int:
    """PostgREST's mapping of SQLSTATE to HTTP status (the parts that matter here)."""
    if sqlstate in ("23503", "23505"):
        return 409
    if sqlstate == "42501":
        return 403
    if sqlstate in ("42883", "42P01"):
        return 404
    if sqlstate.startswith(("08", "53")):
        return 503
    if sqlstate == "P0001":
        return 400
    if sqlstate.startswith(("09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "P0", "XX")):
        return 500
    return 400


class _RpcError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None, hint: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, "details": details, "hint": hint}


class PostgrestStandin:
    """Serves `POST /rest/v1/rpc/<fn>` from `database_url` for callers that present `service_key`."""

    def __init__(self, database_url: str, service_key: str, *, role: str = "service_role") -> None:
        self.database_url = database_url
        self.service_key = service_key
        self.role = role
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Starts serving on a background thread; returns the base URL (what SUPABASE_URL would be)."""
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="postgrest-standin", daemon=True
        )
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("stand-in not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break

    def __enter__(self) -> PostgrestStandin:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ the RPC itself
    def _acquire(self) -> Any:
        """An idle connection (ThreadingHTTPServer starts a thread per client, so pool, don't pin)."""
        import psycopg

        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return psycopg.connect(self.database_url, autocommit=True, prepare_threshold=None)
            if not conn.closed:
                return conn

    def _release(self, conn: Any) -> None:
        if conn.closed or conn.info.transaction_status != 0 or self._server is None:
            conn.close()
        else:
            self._idle.put(conn)

    def authorised(self, apikey: str | None, authorization: str | None) -> bool:
        expected = self.service_key.encode()
        bearer = authorization or ""
        if not bearer.startswith("Bearer "):
            return False
        return hmac.compare_digest((apikey or "").encode(), expected) and hmac.compare_digest(
            bearer[len("Bearer ") :].encode(), expected
        )

    def call(self, function: str, body: dict[str, Any]) -> str:
        """Runs public.<function> with the body's arguments; returns the JSON text of the result."""
        import psycopg
        from psycopg import sql
        from psycopg.types.json import Jsonb

        conn = self._acquire()
        try:
            with conn.transaction():
                with conn.cursor() as cur:
                    signature = self._resolve(cur, function, set(body))
                    names = [n for n in signature if n in body]
                    cur.execute(
                        sql.SQL("select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"),
                        (self.role, json.dumps({"role": self.role})),
                    )
                    if names:
                        query = sql.SQL(
                            "select to_jsonb(public.{fn}({args}))::text from jsonb_to_record(%s) as _({cols})"
                        ).format(
                            fn=sql.Identifier(function),
                            args=sql.SQL(", ").join(
                                sql.SQL("{} => _.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in names
                            ),
                            cols=sql.SQL(", ").join(
                                sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(signature[n])) for n in names
                            ),
                        )
                        cur.execute(query, (Jsonb(body),))
                    else:
                        cur.execute(sql.SQL("select to_jsonb(public.{}())::text").format(sql.Identifier(function)))
                    row = cur.fetchone()
        except psycopg.Error as exc:
            diag = exc.diag
            code = exc.sqlstate or "XX000"
            raise _RpcError(
                _status_for(code),
                code,
                diag.message_primary or type(exc).__name__,
                diag.message_detail,
                diag.message_hint,
            ) from None
        finally:
            self._release(conn)
        text = row[0] if row else None
        return "null" if text is None else text

    def _resolve(self, cur: Any, function: str, keys: set[str]) -> dict[str, str]:
        """The argument names -> type names of the overload PostgREST would pick for these keys."""
        cur.execute(_SIGNATURES_SQL, (function,))
        for _oid, argnames, nargs, ndefaults, types in cur.fetchall():
            names = list(argnames)[:nargs]
            if len(names) < nargs or any(not n for n in names):
                continue
            required = set(names[: nargs - ndefaults])
            if required <= keys <= set(names):
                return dict(zip(names, types, strict=False))
        args = ", ".join(sorted(keys))
        raise _RpcError(
            404,
            "PGRST202",
            f"Could not find the function public.{function}({args}) in the schema cache",
            f"Searched for the function public.{function} with parameters {args} or with a single "
            "unnamed json/jsonb parameter, but no matches were found in the schema cache.",
            None,
        )


class _Handler(BaseHTTPRequestHandler):
    standin: PostgrestStandin
    protocol_version = "HTTP/1.1"
    server_version = "postgrest-standin"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, *, raw: str | None = None) -> None:
        payload = (raw if raw is not None else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _error(self, status: int, code: str, message: str, details: Any = None, hint: Any = None) -> None:
        self._send(status, {"code": code, "message": message, "details": details, "hint": hint})

    def _drain(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True  # the unread body would desynchronise a kept-alive connection
            raise _RpcError(413, "PGRST413", "request body too large")
        return self.rfile.read(length) if length else b""

    def do_POST(self) -> None:
        with self.standin._lock:
            self.standin.requests += 1
        try:
            raw = self._drain()
            if not self.standin.authorised(self.headers.get("apikey"), self.headers.get("Authorization")):
                self._error(401, "PGRST301", "No suitable key or wrong key type")
                return
            path = self.path.split("?", 1)[0]
            if not path.startswith(RPC_PREFIX) or "/" in path[len(RPC_PREFIX) :] or len(path) == len(RPC_PREFIX):
                self._error(404, "PGRST125", f"Invalid path specified in request URL: {path}")
                return
            function = path[len(RPC_PREFIX) :]
            try:
                body = json.loads(raw or b"{}")
            except ValueError as exc:
                self._error(400, "PGRST102", f"Empty or invalid json: {exc}")
                return
            if not isinstance(body, dict):
                self._error(400, "PGRST102", "the RPC body must be a JSON object of named arguments")
                return
            self._send(200, None, raw=self.standin.call(function, body))
        except _RpcError as exc:
            self._send(exc.status, exc.body)
        except Exception as exc:
            self._error(503, "PGRST000", "Database connection error", f"{type(exc).__name__}: {exc}")

    def _not_served(self) -> None:
        try:
            self._drain()
        except _RpcError as exc:
            self._send(exc.status, exc.body)
            return
        self._error(
            HTTPStatus.METHOD_NOT_ALLOWED, "PGRST117", f"the PostgREST stand-in serves only POST {RPC_PREFIX}<function>"
        )

    do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = _not_served


__all__ = ["PostgrestStandin"]
