"""POST /api/fanvue/force-sync-revenue - re-sync one creator now (agency owner/admin)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan


from lib.http.params import ForceSyncQuery
from lib.http.shell import Endpoint, Request, Response


class handler(Endpoint):
    methods = ("POST",)
    auth = "admin"
    Query = ForceSyncQuery

    def respond(self, request: Request[ForceSyncQuery]) -> Response:
        from lib.endpoints.force_sync import force_sync_endpoint

        return force_sync_endpoint(request)
