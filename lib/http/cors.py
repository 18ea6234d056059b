"""CORS for a dashboard served from another origin: an exact allow-list (ALLOWED_ORIGINS), never `*`.

Only allowed origins get Access-Control-* headers; every other origin gets none, so the browser
refuses to hand the response to its page. No credentials mode: the dashboard authenticates with an
Authorization header, never with cookies, so Access-Control-Allow-Credentials is not sent.
"""

from __future__ import annotations

from lib.http.errors import ApiError
from lib.http.response import Response

MAX_AGE_S = 600
ALLOWED_REQUEST_HEADERS = ("authorization", "content-type")


def _allowed(origin: str) -> bool:
    from lib.config import ConfigError, settings

    try:
        return origin in settings().origin_allow_list
    except ConfigError:  # a malformed ALLOWED_ORIGINS allows nothing
        return False


def preflight(origin: str, methods: tuple[str, ...], requested_headers: str | None) -> Response:
    """The answer to a browser's OPTIONS preflight: 204 with the CORS headers, or a 403 without them."""
    if not _allowed(origin):
        error = ApiError(
            403, "origin_not_allowed", "this origin may not call the API from a browser; add it to ALLOWED_ORIGINS"
        )
        return Response(status=403, body=error.body(), headers={"Vary": "Origin"})
    wanted = {h.strip().lower() for h in (requested_headers or "").split(",") if h.strip()}
    unknown = sorted(wanted - set(ALLOWED_REQUEST_HEADERS))
    if unknown:
        error = ApiError(403, "header_not_allowed", f"request header(s) not allowed: {', '.join(unknown)[:100]}")
        return Response(status=403, body=error.body(), headers={"Vary": "Origin"})
    return Response(
        status=204,
        body=None,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_REQUEST_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_S),
            "Vary": "Origin",
        },
    )


def actual_response_headers(origin: str) -> dict[str, str]:
    """Headers for a real (non-preflight) response to a request that carried Origin."""
    if not _allowed(origin):
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "X-Request-Id", "Vary": "Origin"}
