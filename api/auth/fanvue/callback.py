"""GET /api/auth/fanvue/callback - finish OAuth: exchange the code, store the grant, import creators."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan


from pydantic import Field

from lib.http.params import StrictQuery
from lib.http.shell import Endpoint, Request, Response


class Query(StrictQuery):
    code: str | None = Field(default=None, max_length=2048)
    state: str | None = Field(default=None, max_length=2048)
    scope: str | None = Field(default=None, max_length=2048)
    error: str | None = Field(default=None, max_length=200)
    error_description: str | None = Field(default=None, max_length=1000)


class handler(Endpoint):
    methods = ("GET",)
    auth = "none"  # the browser arrives from Fanvue; the encrypted single-use state authenticates it
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.connect import finish_connect

        return finish_connect(request)
