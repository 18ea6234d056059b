"""diagnose-revenue: resolve the model within the caller's agency, build the report, pick the format.
Without modelId/modelName a dashboard user gets the overview of every model of their agency."""

from __future__ import annotations

from lib.config import settings
from lib.db import get_database
from lib.diagnose import overview
from lib.diagnose.overview_html import CSP
from lib.diagnose.overview_html import as_html as overview_html
from lib.diagnose.render import as_html, as_text
from lib.diagnose.report import build_report
from lib.http.access import resolve_model
from lib.http.params import DiagnoseQuery
from lib.http.response import Response, json_response
from lib.http.shell import Request


def diagnose_endpoint(request: Request[DiagnoseQuery]) -> Response:
    q = request.query
    db = get_database()
    config = settings()
    fmt = q.format or ("html" if request.accepts_html() else "json")
    if not q.model_id and not q.model_name and request.caller.kind == "user":
        body = overview.build_overview(
            db, str(request.caller.agency_id), config=config, base_url=config.public_base_url
        )
        if fmt == "text":
            return Response(body=overview.as_text(body), content_type="text/plain")
        if fmt == "html":
            return Response(
                body=overview_html(body), content_type="text/html", headers={"Content-Security-Policy": CSP}
            )
        return json_response(body)
    model = resolve_model(db, request.caller, str(q.model_id) if q.model_id else None, q.model_name)
    from lib.alerts.hooks import quick_check

    quick_check(db, config, "diagnose")
    report = build_report(db, model["id"], probe=q.probe, config=config, base_url=config.public_base_url)
    overview.remember_fanvue_total(db, report)
    if fmt == "text":
        return Response(body=as_text(report), content_type="text/plain")
    if fmt == "html":
        return Response(body=as_html(report), content_type="text/html")
    return json_response(report)
