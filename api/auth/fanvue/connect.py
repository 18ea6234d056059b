"""GET /api/auth/fanvue/connect - start the Fanvue OAuth flow (PKCE) for a creator or an agency.

An admin's Bearer token gets a one-time ticket link; the browser navigating to it (?ticket=) gets the
cookie that binds the flow to that browser and the redirect to Fanvue."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from lib.http.params import ConnectQuery
from lib.http.shell import Endpoint, Principal, Request, Response


class handler(Endpoint):
    methods = ("GET",)
    auth = "admin"
    Query = ConnectQuery

    def authenticate(self, request: Request[ConnectQuery]) -> Principal | None:
        if request.query.ticket is not None:  # a top-level navigation carries no Authorization header
            from lib.endpoints.connect import principal_from_ticket

            return principal_from_ticket(request.query.ticket)
        return super().authenticate(request)

    def respond(self, request: Request[ConnectQuery]) -> Response:
        from lib.endpoints.connect import start_connect

        return start_connect(request)
