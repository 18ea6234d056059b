"""supabase-py transport for SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY (the default on Vercel).

Each call is `POST /rest/v1/rpc/<function>`, one PostgREST transaction. supabase is imported lazily:
it costs ~0.4 s of cold start and only this path needs it.
"""

from __future__ import annotations

import threading
from typing import Any

from lib.db.errors import DbError, error_for
from lib.db.transport import check_arg_name, check_function_name, to_json_value


class SupabaseDatabase:
    def __init__(self, url: str, service_role_key: str, *, http_client: Any | None = None) -> None:
        self._url = url
        self._key = service_role_key
        self._http_client = http_client
        self._client: Any = None
        self._lock = threading.Lock()
        self.calls = 0

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from supabase.lib.client_options import SyncClientOptions

                from supabase import create_client

                options = SyncClientOptions(auto_refresh_token=False, persist_session=False)
                if self._http_client is not None:
                    options.httpx_client = self._http_client
                self._client = create_client(self._url, self._key, options=options)
            return self._client

    def call(self, function: str, **args: Any) -> Any:
        import httpx
        from postgrest.exceptions import APIError

        check_function_name(function)
        params = {check_arg_name(f"p_{k}"): to_json_value(v) for k, v in args.items()}
        try:
            response = self._get_client().rpc(function, params).execute()
        except APIError as exc:
            raise error_for(exc.code, exc.message or "database API error") from None
        except httpx.HTTPError as exc:
            raise DbError("unavailable", f"database API unavailable: {type(exc).__name__}") from None
        self.calls += 1
        return response.data

    def close(self) -> None:
        pass
