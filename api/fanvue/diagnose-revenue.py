"""GET /api/fanvue/diagnose-revenue - what is wrong with a creator's revenue and how to fix it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from typing import Literal, Optional  # noqa: E402

from lib.http.params import ModelQuery  # noqa: E402
from lib.http.shell import Endpoint, Request, Response  # noqa: E402


class Query(ModelQuery):
    probe: bool = True
    format: Optional[Literal["json", "text", "html"]] = None


class handler(Endpoint):
    methods = ("GET",)
    auth = "user"
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.diagnose import diagnose_endpoint

        return diagnose_endpoint(request)
