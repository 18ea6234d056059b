"""openapi.yaml is kept true: real responses of the served api/ files validate against it, and every
api/ file has a path in it (and every path a file)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import ImmutableMultiDict

from devstack.server import route_table
from lib.config import reset_settings
from tests.e2e.helpers import connect_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text())


@pytest.fixture(scope="module")
def openapi(spec) -> OpenAPI:
    return OpenAPI.from_dict(spec)


@pytest.fixture(scope="module")
def demo(stack, database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, dora = connect_demo(stack, sql)
        model = str(sql.execute("select id from models where fanvue_user_uuid = %s", (dora,)).fetchone()[0])
    stack.cron()
    return world, model


def validate(openapi: OpenAPI, r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.request.url, r.status_code, r.text[:300])
    req = r.request
    mreq = MockRequest(
        "http://127.0.0.1:3000",
        req.method.lower(),
        req.url.path,
        args=ImmutableMultiDict(list(req.url.params.multi_items())),
        headers=dict(req.headers),
    )
    mresp = MockResponse(
        r.content, r.status_code, dict(r.headers), content_type=r.headers.get("content-type", "").split(";")[0]
    )
    openapi.validate_response(mreq, mresp)


def test_every_api_file_is_documented(spec):
    assert set(spec["paths"]) == set(route_table())


def test_real_responses_match_the_document(stack, demo, openapi):
    world, model = demo
    admin, member = world.admin_id, world.member_id
    validate(openapi, stack.get("/api/cron/sync-transactions", cron=True), 200)
    validate(openapi, stack.get("/api/cron/sync-transactions"), 401)
    wrong_method = stack.post("/api/cron/sync-transactions", cron=True)  # no operation to validate against
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert wrong_method.headers["Allow"] == "GET"
    validate(openapi, stack.get("/api/cron/sync-transactions", cron=True, mode="nope"), 422)
    validate(openapi, stack.post("/api/fanvue/force-sync-revenue", user=admin, modelId=model), 200)
    validate(
        openapi,
        stack.post("/api/fanvue/force-sync-revenue", user=admin, modelId=model, full="true", dryRun="true"),
        200,
    )
    validate(openapi, stack.post("/api/fanvue/force-sync-revenue", user=admin, modelId=str(uuid.uuid4())), 404)
    validate(openapi, stack.post("/api/fanvue/force-sync-revenue", user=admin, modelId="not-a-uuid"), 422)
    validate(openapi, stack.post("/api/fanvue/force-sync-revenue", user=member, modelId=model), 403)
    validate(openapi, stack.post("/api/fanvue/force-sync-revenue", user=admin, modelId=model, bogus="1"), 400)
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=member, modelId=model), 200)
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=member, modelName="dora", probe="false"), 200)
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=member, modelId=model, format="text"), 200)
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=member, modelId=model, format="html"), 200)
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=member), 200)  # the agency overview
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=admin, format="text"), 200)
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=admin, format="html"), 200)
    validate(openapi, stack.get("/api/fanvue/diagnose-revenue", user=member, modelId=model, modelName="dora"), 422)
    validate(openapi, stack.post("/api/auth/fanvue/refresh", user=admin, modelId=model, force="true"), 200)
    validate(openapi, stack.post("/api/auth/fanvue/refresh", user=admin, modelId=model, force="true"), 429)
    validate(openapi, stack.post("/api/auth/fanvue/refresh", cron=True, modelId=model), 200)
    validate(openapi, stack.get("/api/auth/fanvue/connect", user=admin, modelId=model), 200)
    validate(openapi, stack.get("/api/auth/fanvue/connect", user=admin, agencyId=world.agency_id), 200)
    validate(openapi, stack.get("/api/auth/fanvue/callback", code="x", state="forged"), 400)
    validate(openapi, stack.get("/api/auth/fanvue/callback", error="access_denied"), 400)
    from devstack.connect_flow import start

    with httpx.Client(timeout=60) as browser, httpx.Client(timeout=60) as other_browser:
        callback = start(browser, stack.functions, stack.token(admin), model_id=model, login_hint="dora")
        validate(openapi, other_browser.get(callback), 403)
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as sql:
            twin = str(
                sql.execute(
                    "insert into models (agency_id, name) values (%s, 'Dora twin') returning id", (world.agency_id,)
                ).fetchone()[0]
            )
        callback = start(browser, stack.functions, stack.token(admin), model_id=twin, login_hint="dora")
        validate(openapi, browser.get(callback), 409)
    preflight = {
        "Origin": "https://dash.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    os.environ["ALLOWED_ORIGINS"] = "https://dash.example"
    reset_settings()
    try:
        for path in route_table():
            validate(openapi, stack.http.options(stack.functions + path, headers=preflight), 204)
        validate(
            openapi,
            stack.http.options(
                stack.functions + "/api/fanvue/diagnose-revenue", headers=dict(preflight, Origin="https://evil.example")
            ),
            403,
        )
    finally:
        os.environ.pop("ALLOWED_ORIGINS", None)
        reset_settings()
    if "/api/webhooks/fanvue" in route_table():
        r = stack.http.post(
            stack.functions + "/api/webhooks/fanvue", content=b"{}", headers={"Content-Type": "application/json"}
        )
        validate(openapi, r, r.status_code if r.status_code in (401, 503) else 401)
        validate_signed_webhook(stack, openapi, model)


def validate_signed_webhook(stack, openapi: OpenAPI, model: str) -> None:
    """A verified delivery for a synced creator: the answer says whether it synced, per model."""
    import json

    import psycopg

    from lib.config import reset_settings
    from lib.webhooks import sign

    secret = "openapi-webhook-secret-" + uuid.uuid4().hex
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as sql:
        creator = str(sql.execute("select fanvue_user_uuid from models where id = %s", (model,)).fetchone()[0])
    body = json.dumps({"recipientUuid": creator, "price": 500, "postUuid": str(uuid.uuid4())}).encode()
    os.environ["FANVUE_WEBHOOK_SECRET"] = secret
    reset_settings()
    try:
        r = stack.http.post(
            stack.functions + "/api/webhooks/fanvue",
            content=body,
            headers={"Content-Type": "application/json", "X-Fanvue-Signature": sign(secret, body)},
        )
    finally:
        os.environ.pop("FANVUE_WEBHOOK_SECRET", None)
        reset_settings()
    validate(openapi, r, 200)
    assert "synced" in r.json() and r.json()["syncs"][0]["model_id"] == model
