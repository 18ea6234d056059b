"""GET /api/cron/sync-transactions - the scheduled sync (Vercel cron, Bearer CRON_SECRET only)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from typing import Literal

from pydantic import Field

from lib.http.params import StrictQuery
from lib.http.shell import Endpoint, Request, Response


class Query(StrictQuery):
    mode: Literal["sync", "reconcile"] = "sync"
    worker: int | None = Field(default=None, ge=0, le=64)


class handler(Endpoint):
    methods = ("GET",)
    auth = "cron"
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.cron import run_cron

        return run_cron(request.query.mode, request.query.worker)
