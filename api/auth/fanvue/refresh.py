"""POST /api/auth/fanvue/refresh - refresh a connection's Fanvue token, single-flight (admin or cron)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from lib.http.params import RefreshQuery
from lib.http.shell import Endpoint, Request, Response


class handler(Endpoint):
    methods = ("POST",)
    auth = "cron_or_admin"
    Query = RefreshQuery

    def respond(self, request: Request[RefreshQuery]) -> Response:
        from lib.endpoints.refresh import refresh_endpoint

        return refresh_endpoint(request)
