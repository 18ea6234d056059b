"""GET /api/fanvue/diagnose-revenue - what is wrong with a creator's revenue and how to fix it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from typing import Literal

from lib.http.params import ModelQuery
from lib.http.shell import Endpoint, Request, Response


class Query(ModelQuery):
    probe: bool = True
    format: Literal["json", "text", "html"] | None = None


class handler(Endpoint):
    methods = ("GET",)
    auth = "user"
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.diagnose import diagnose_endpoint

        return diagnose_endpoint(request)
