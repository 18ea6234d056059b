"""GET /api/fanvue/diagnose-revenue - what is wrong with a creator's revenue and how to fix it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from lib.http.params import DiagnoseQuery
from lib.http.shell import Endpoint, Request, Response


class handler(Endpoint):
    methods = ("GET",)
    auth = "user"
    Query = DiagnoseQuery

    def respond(self, request: Request[DiagnoseQuery]) -> Response:
        from lib.endpoints.diagnose import diagnose_endpoint

        return diagnose_endpoint(request)
