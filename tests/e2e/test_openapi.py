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
    mreq = MockRequest("http://127.0.0.1:3000", req.method.lower(), req.url.path,
                       args=ImmutableMultiDict(list(req.url.params.multi_items())), headers=dict(req.headers))
    mresp = MockResponse(r.content, r.status_code, dict(r.headers),
                         content_type=r.headers.get("content-type", "").split(";")[0])
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
    validate(openapi, stack.post("/api/fanvue/force-sync-revenue", user=admin, modelId=model, full="true",
                                 dryRun="true"), 200)
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
    validate(openapi, stack.post("/api/auth/fanvue/refresh", cron=True, modelId=model), 200)
    validate(openapi, stack.get("/api/auth/fanvue/connect", user=admin, modelId=model), 200)
    validate(openapi, stack.get("/api/auth/fanvue/connect", user=admin, agencyId=world.agency_id), 200)
    validate(openapi, stack.get("/api/auth/fanvue/callback", code="x", state="forged"), 400)
    validate(openapi, stack.get("/api/auth/fanvue/callback", error="access_denied"), 400)
    if "/api/webhooks/fanvue" in route_table():
        r = stack.http.post(stack.functions + "/api/webhooks/fanvue", content=b"{}",
                            headers={"Content-Type": "application/json"})
        validate(openapi, r, r.status_code if r.status_code in (401, 503) else 401)
