"""GET /api/cron/sync-transactions - the scheduled sync (Vercel cron, Bearer CRON_SECRET only)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from typing import Literal, Optional  # noqa: E402

from pydantic import Field  # noqa: E402

from lib.http.params import StrictQuery  # noqa: E402
from lib.http.shell import Endpoint, Request, Response  # noqa: E402


class Query(StrictQuery):
    mode: Literal["sync", "reconcile"] = "sync"
    worker: Optional[int] = Field(default=None, ge=0, le=64)


class handler(Endpoint):
    methods = ("GET",)
    auth = "cron"
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.cron import run_cron

        return run_cron(request.query.mode, request.query.worker)
