"""POST /api/auth/fanvue/refresh - refresh a connection's Fanvue token, single-flight (admin or cron)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from uuid import UUID

from pydantic import Field

from lib.http.params import StrictQuery
from lib.http.shell import Endpoint, Request, Response


class Query(StrictQuery):
    connection_id: UUID | None = Field(default=None, alias="connectionId")
    model_id: UUID | None = Field(default=None, alias="modelId")
    force: bool = False


class handler(Endpoint):
    methods = ("POST",)
    auth = "cron_or_admin"
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.refresh import refresh_endpoint

        return refresh_endpoint(request)
