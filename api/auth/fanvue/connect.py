"""GET /api/auth/fanvue/connect - start the Fanvue OAuth flow (PKCE) for a creator or an agency."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from typing import Optional  # noqa: E402
from uuid import UUID  # noqa: E402

from pydantic import Field  # noqa: E402

from lib.http.params import StrictQuery  # noqa: E402
from lib.http.shell import Endpoint, Request, Response  # noqa: E402


class Query(StrictQuery):
    model_id: Optional[UUID] = Field(default=None, alias="modelId")
    agency_id: Optional[UUID] = Field(default=None, alias="agencyId")
    redirect: bool = False
    login_hint: Optional[str] = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")


class handler(Endpoint):
    methods = ("GET",)
    auth = "admin"
    Query = Query

    def respond(self, request: Request) -> Response:
        from lib.endpoints.connect import start_connect

        return start_connect(request)
