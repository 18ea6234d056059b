"""GET /api/auth/fanvue/callback - finish OAuth: exchange the code, store the grant, import creators."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan


from lib.http.params import CallbackQuery
from lib.http.shell import Endpoint, Request, Response


class handler(Endpoint):
    methods = ("GET",)
    auth = "none"  # the browser arrives from Fanvue; the encrypted single-use state authenticates it
    Query = CallbackQuery

    def respond(self, request: Request[CallbackQuery]) -> Response:
        from lib.endpoints.connect import finish_connect

        return finish_connect(request)
