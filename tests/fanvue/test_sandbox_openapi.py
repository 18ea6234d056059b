"""Real sandbox responses validated against Fanvue's published OpenAPI document
(tests/fanvue-openapi.json) with openapi-core: every implemented endpoint, 200 and error
bodies, plus the rate-limit headers of a 429.

The document declares `openapi: 3.1.0` but marks nullable fields the 3.0 way
(`nullable: true`), which 3.1 validators ignore; `_normalise` rewrites those to
`type: [T, "null"]`, which is what the authors mean. Nothing else
is relaxed. Two deliberate sandbox deviations are checked to be the ONLY differences:
an undocumented new `source` value, and legacy rows without transactionOrderId.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData
from openapi_schema_validator import OAS31Validator
from werkzeug.datastructures import ImmutableMultiDict

from fanvue_sandbox import CreatorSpec, FanvueSandbox, SandboxConfig
from fanvue_sandbox.testkit import api_headers

SPEC_PATH = Path(__file__).resolve().parents[1] / "fanvue-openapi.json"
ALL = "openid offline_access offline read:self read:insights read:creator"
UNSUPPORTED_VERSION = json.loads(SPEC_PATH.read_text())["components"]["schemas"]["UnsupportedVersionError"]


def _normalise(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _normalise(v) for k, v in node.items()}
        if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    return node


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return _normalise(json.loads(SPEC_PATH.read_text()))


@pytest.fixture(scope="module")
def openapi(spec: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(copy.deepcopy(spec))


@pytest.fixture(scope="module")
def sb() -> Iterator[FanvueSandbox]:
    cfg = SandboxConfig.demo(
        unknown_source_share=0.0, rate_limit=1_000_000, sunset_versions={"2024-01-01": "2025-06-26T00:00:00.000Z"}
    )
    with FanvueSandbox(cfg) as s:
        yield s


def _mock(r: httpx.Response) -> tuple[MockRequest, MockResponse]:
    req = r.request
    mreq = MockRequest(
        "http://" + req.url.netloc.decode(),
        req.method.lower(),
        req.url.path,
        args=ImmutableMultiDict(list(req.url.params.multi_items())),
        headers=dict(req.headers),
    )
    mresp = MockResponse(
        r.content, r.status_code, dict(r.headers), content_type=r.headers.get("content-type", "").split(";")[0]
    )
    return mreq, mresp


def check(openapi: OpenAPI, r: httpx.Response, status: int, *, request_too: bool = True) -> dict[str, Any]:
    """Assert the status, validate the response (and, for good requests, the request)."""
    assert r.status_code == status, (r.request.url, r.status_code, r.text[:300])
    mreq, mresp = _mock(r)
    if request_too:
        openapi.validate_request(mreq)
    try:
        openapi.validate_response(mreq, mresp)
    except InvalidData as e:
        # Spec defect: on /creators/{id}/* the 400 is oneOf(UnsupportedVersionError{error,message},
        # ValidationError, InvalidUuidError{message}) without additionalProperties:false, so the
        # documented version-error body matches two branches and no body can pass. Accept exactly that.
        assert status == 400 and "is valid under each of" in str(e.__cause__), e
        OAS31Validator(UNSUPPORTED_VERSION).validate(r.json())
    return r.json()


def http_for(sb: FanvueSandbox, handle: str, scopes: str = ALL) -> httpx.Client:
    tok = sb.issue_grant(handle, scopes)["access_token"]
    return httpx.Client(base_url=sb.base_url or "", headers=api_headers(tok), timeout=10)


def test_success_responses_of_every_endpoint(sb: FanvueSandbox, openapi: OpenAPI) -> None:
    ava = sb.creator("ava").uuid
    with http_for(sb, "agency") as http:
        check(openapi, http.get("/users/me"), 200)
        check(openapi, http.get("/users/account"), 200)
        body = check(openapi, http.get("/creators", params={"page": 1, "size": 2}), 200)
        assert body["pagination"]["hasMore"] is True
        check(openapi, http.get("/creators", params={"page": 2, "size": 2}), 200)
        check(openapi, http.get(f"/creators/{ava}/account"), 200)
        path = f"/creators/{ava}/insights/earnings"
        cursor = None
        for _ in range(4):
            params: dict[str, Any] = {"size": 50, **({"cursor": cursor} if cursor else {})}
            cursor = check(openapi, http.get(path, params=params), 200)["nextCursor"]
        check(
            openapi,
            http.get(
                path,
                params={
                    "startDate": "2025-01-01T00:00:00+01:00",
                    "endDate": "2025-03-01T00:00:00Z",
                    "source": "tip,message,post",
                    "size": 7,
                },
            ),
            200,
        )
        last = check(openapi, http.get(path, params={"endDate": "2024-01-01T00:00:00Z", "size": 50}), 200)
        assert last["nextCursor"] is None or last["data"]
        summary = f"/creators/{ava}/insights/earnings/summary"
        check(openapi, http.get(summary), 200)
        check(
            openapi,
            http.get(
                summary,
                params={
                    "startDate": "2025-01-01T00:00:00Z",
                    "endDate": "2025-04-01T00:00:00Z",
                    "granularity": "week",
                    "timezone": "America/New_York",
                },
            ),
            200,
        )
        check(openapi, http.get("/insights/earnings", params={"size": 50}), 200)  # the agency's own items
        check(openapi, http.get("/insights/spending"), 200)
    with http_for(sb, "dora") as http:
        check(openapi, http.get("/users/me"), 200)
        check(openapi, http.get("/users/account"), 200)
        check(openapi, http.get("/creators"), 200)
        check(openapi, http.get("/insights/earnings"), 200)
        check(openapi, http.get("/insights/earnings/summary", params={"timezone": "Europe/London"}), 200)
        check(openapi, http.get("/insights/spending", params={"size": 50, "source": "refund,chargeback"}), 200)


def test_error_responses_of_every_endpoint(sb: FanvueSandbox, openapi: OpenAPI) -> None:
    ava, dora = sb.creator("ava").uuid, sb.creator("dora").uuid
    personal = [
        "/users/me",
        "/users/account",
        "/creators",
        "/insights/earnings",
        "/insights/earnings/summary",
        "/insights/spending",
    ]
    agency = ["/creators/{}/account", "/creators/{}/insights/earnings", "/creators/{}/insights/earnings/summary"]
    every = personal + [p.format(ava) for p in agency]
    token = sb.issue_grant("agency", ALL)["access_token"]
    base = sb.base_url or ""
    with httpx.Client(base_url=base, timeout=10) as raw:
        for path in every:
            body = check(openapi, raw.get(path, headers={"Authorization": f"Bearer {token}"}), 400, request_too=False)
            assert body["error"] == "Unsupported API version"
            body = check(
                openapi,
                raw.get(path, headers=api_headers(token) | {"X-Fanvue-API-Version": "2024-01-01"}),
                410,
                request_too=False,
            )
            assert body["nextVersion"] == "2025-06-26"
            check(openapi, raw.get(path, headers=api_headers("expired")), 401)
    with http_for(sb, "agency", "openid read:agency") as http:
        for path in every:
            check(openapi, http.get(path), 403)
    with http_for(sb, "agency") as http:
        for p in agency:
            check(openapi, http.get(p.format(dora)), 404)
            check(openapi, http.get(p.format("not-a-uuid")), 400, request_too=False)
        bad = {"size": 99}
        for path in ("/creators", "/insights/earnings", "/insights/spending", f"/creators/{ava}/insights/earnings"):
            body = check(openapi, http.get(path, params=bad), 400, request_too=False)
            assert body["errors"]
        for path in ("/insights/earnings/summary", f"/creators/{ava}/insights/earnings/summary"):
            check(openapi, http.get(path, params={"startDate": "soon"}), 400, request_too=False)


def test_429_carries_the_documented_headers(openapi: OpenAPI) -> None:
    cfg = SandboxConfig(
        creators=[CreatorSpec(handle="solo", items=30, history_days=10)], rate_limit=1, rate_window_s=30
    )
    with FanvueSandbox(cfg) as sb, http_for(sb, "solo") as http:
        check(openapi, http.get("/insights/earnings"), 200)
        r = http.get("/insights/earnings")
        check(openapi, r, 429)
        assert int(r.headers["retry-after"]) >= 1 and r.headers["x-ratelimit-remaining"] == "0"
        sb.set_faults(rate_limit_storm={"count": 1, "retry_after": 2})
        check(openapi, http.get("/users/me"), 429)


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Inline component $refs so a standalone validator can check single items."""
    text = json.dumps(schema)
    for name, sch in spec["components"]["schemas"].items():
        text = text.replace(json.dumps({"$ref": f"#/components/schemas/{name}"}), json.dumps(sch))
    return json.loads(text)


def test_every_ground_truth_item_matches_the_item_schemas(sb: FanvueSandbox, spec: dict[str, Any]) -> None:
    def validator(path: str) -> OAS31Validator:
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        return OAS31Validator(_resolve(schema["properties"]["data"]["items"], spec))

    earn, spend = validator("/insights/earnings"), validator("/insights/spending")
    gt = sb.ground_truth()
    n = 0
    for entry in gt.values():
        for item in entry["earnings"]["items"]:
            earn.validate(item)
            n += 1
        for item in entry["spending"]["items"]:
            spend.validate(item)
    assert n > 8000


def test_the_only_deviations_are_the_deliberate_ones(spec: dict[str, Any]) -> None:
    """Default config: unknown `liveStream` sources; legacy rows: no order id/status."""
    schema = spec["paths"]["/insights/earnings"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    v = OAS31Validator(_resolve(schema["properties"]["data"]["items"], spec))
    sb = FanvueSandbox(SandboxConfig.demo(legacy_items_without_order_id=True))
    items = sb.ground_truth(creator="ava")[sb.creator("ava").uuid]["earnings"]["items"]
    kinds = set()
    for item in items:
        for err in v.iter_errors(item):
            if list(err.path) == ["source"]:
                assert item["source"] == "liveStream"
                kinds.add("unknown source")
            else:
                assert err.validator == "required" and "transactionOrder" in err.message, err.message
                assert "transactionOrderId" not in item
                kinds.add("legacy row")
    assert kinds == {"unknown source", "legacy row"}
