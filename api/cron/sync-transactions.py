"""GET /api/cron/sync-transactions - the scheduled sync (Vercel cron, Bearer CRON_SECRET only)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from lib.http.params import CronQuery
from lib.http.shell import Endpoint, Request, Response


class handler(Endpoint):
    methods = ("GET",)
    auth = "cron"
    Query = CronQuery

    def respond(self, request: Request[CronQuery]) -> Response:
        from lib.endpoints.cron import run_cron

        return run_cron(request.query.mode, request.query.worker)
