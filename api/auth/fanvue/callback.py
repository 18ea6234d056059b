"""GET /api/auth/fanvue/callback - finish OAuth: exchange the code, store the grant, import creators."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from typing import Optional  # noqa: E402

from pydantic import Field  # noqa: E402

from lib.http.params import StrictQuery  # noqa: E402
from lib.http.shell import Endpoint, Request, Response  # noqa: E402


class Query(StrictQuery):
    code: Optional[str] = Field(default=None, max_length=2048)
    state: Optional[str] = Field(default=None, max_length=2048)
    scope: Optional[str] = Field(default=None, max_length=2048)
    error: Optional[str] = Field(default=None, max_length=200)
    error_description: Optional[str] = Field(default=None, max_length=1000)


class handler(Endpoint):
    methods = ("GET",)
    auth = "none"  # the browser arrives from Fanvue; the encrypted single-use state authenticates it
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.connect import finish_connect

        return finish_connect(request)
