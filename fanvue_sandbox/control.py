"""The /_sandbox/ control surface (never part of the Fanvue API): lets a test harness or a
browser-driven dev session steer the sandbox over HTTP, mirroring the Python methods.

    GET    /_sandbox/ground-truth?creator=<uuid|handle>&items=false
    POST   /_sandbox/faults        {"error_5xx": {"count": 2, "status": 503}, ...}   DELETE clears
    POST   /_sandbox/latency       {"ms": 50}
    POST   /_sandbox/clock         {"advance_seconds": 3600}
    POST   /_sandbox/sales         {"creator": "<uuid|handle|null>", "count": 5}
    POST   /_sandbox/grant         {"login_hint": "agency", "scope": "read:self ..."}  (test shortcut)
    GET    /_sandbox/stats
    GET    /_sandbox/info          base URL, client, users
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .wire import Request, Response, json_response

if TYPE_CHECKING:
    from .sandbox import FanvueSandbox


def _bool(v: str | None, default: bool) -> bool:
    if v is None:
        return default
    return v.lower() not in ("0", "false", "no", "off")


def handle_control(sb: FanvueSandbox, req: Request) -> Response:
    path, m = req.path, req.method
    try:
        body: Any = req.json_body() if m in ("POST", "PUT", "PATCH") else {}
        if not isinstance(body, dict):
            raise ValueError("JSON object expected")
        if path == "/_sandbox/ground-truth" and m == "GET":
            return json_response(
                200, sb.ground_truth(include_items=_bool(req.q1("items"), True), creator=req.q1("creator") or None)
            )
        if path == "/_sandbox/faults":
            if m == "POST":
                return json_response(200, {"active": sb.set_faults(**body)})
            if m == "DELETE":
                sb.clear_faults()
                return json_response(200, {"active": {}})
            if m == "GET":
                return json_response(200, sb.faults.stats())
        if path == "/_sandbox/latency" and m == "POST":
            sb.set_latency(int(body.get("ms", 0)))
            return json_response(200, {"ms": sb.latency_ms})
        if path == "/_sandbox/clock" and m == "POST":
            sb.advance_clock(float(body.get("advance_seconds", 0)))
            return json_response(200, {"offset_seconds": sb.clock.offset_ms / 1000})
        if path == "/_sandbox/sales" and m == "POST":
            items = sb.add_sales(body.get("creator"), int(body.get("count", 1)))
            return json_response(200, {"added": len(items), "items": items})
        if path == "/_sandbox/grant" and m == "POST":
            return json_response(200, sb.issue_grant(str(body.get("login_hint", "")), str(body.get("scope", ""))))
        if path == "/_sandbox/stats" and m == "GET":
            return json_response(200, sb.stats())
        if path == "/_sandbox/info" and m == "GET":
            return json_response(200, sb.info())
    except KeyError as e:
        return json_response(404, {"error": str(e.args[0] if e.args else e)})
    except (ValueError, TypeError, json.JSONDecodeError) as e:
        return json_response(400, {"error": str(e)})
    return json_response(404, {"error": f"no sandbox control route {m} {path}"})
