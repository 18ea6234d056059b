"""POST /api/webhooks/fanvue - Fanvue event deliveries (signed); syncs the creator now, or marks it due."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # none is used: skip the entry-point scan

from lib.http.shell import Endpoint, Request, Response


class handler(Endpoint):
    methods = ("POST",)
    auth = "webhook"  # the X-Fanvue-Signature HMAC authenticates the delivery (lib.webhooks)
    max_body_bytes = 64 * 1024

    def respond(self, request: Request) -> Response:
        from lib.endpoints.webhook import receive_webhook

        return receive_webhook(request)
