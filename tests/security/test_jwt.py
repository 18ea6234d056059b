"""Attacks on dashboard authentication (Supabase JWTs), over real HTTP against the served handlers.

Target: POST /api/fanvue/force-sync-revenue?dryRun=true on the admin's own model. Had any attack
been accepted, the call would have run a sync and recorded a run; every attack must answer 401
{"error": {"code": "unauthorized"}} and write nothing.
"""

from __future__ import annotations

import time
import uuid

import pytest
from jose import jwt

from tests.security.conftest import (
    ISSUER,
    JWT_SECRET,
    JwksServer,
    Keys,
    Sec,
    Worlds,
    Writes,
    assert_error,
    claims,
    environment,
    remember_secret,
    unsigned,
)

FORCE = "/api/fanvue/force-sync-revenue"
DIAGNOSE = "/api/fanvue/diagnose-revenue"


def attack(sec: Sec, worlds: Worlds, writes: Writes, token: str, status: int = 401, code: str = "unauthorized") -> dict:
    with writes.none():
        r = sec.request("POST", FORCE, token=token, params={"modelId": worlds.a.model_id, "dryRun": "true"})
        body = assert_error(r, status, code)
        assert r.headers.get("cache-control") == "no-store"
    return body


def read(sec: Sec, worlds: Worlds, token: str):
    return sec.request("GET", DIAGNOSE, token=token, params={"modelId": worlds.a.model_id, "probe": "false"})


def es256(keys: Keys, payload: dict, kid: str = "ec-1", pem: str | None = None) -> str:
    token = jwt.encode(payload, pem or keys.ec_private_pem, algorithm="ES256", headers={"kid": kid})
    remember_secret("dashboard token", token)
    return token


def rs256(keys: Keys, payload: dict, kid: str = "rsa-1") -> str:
    return jwt.encode(payload, keys.rsa_private_pem, algorithm="RS256", headers={"kid": kid})


def hs256(payload: dict, secret: str = JWT_SECRET, **headers) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


@pytest.fixture()
def hs_only(sec):
    with environment(SUPABASE_URL=None, SUPABASE_JWKS_URL=None, SUPABASE_JWT_SECRET=JWT_SECRET):
        yield


@pytest.fixture()
def jwks_only(sec, jwks_server: JwksServer):
    jwks_server.down, jwks_server.extra, jwks_server.hits = False, [], 0
    with environment(SUPABASE_URL=None, SUPABASE_JWKS_URL=jwks_server.url, SUPABASE_JWT_SECRET=None):
        yield jwks_server


@pytest.fixture()
def both(sec, jwks_server: JwksServer):
    jwks_server.down, jwks_server.extra, jwks_server.hits = False, [], 0
    with environment(SUPABASE_URL=None, SUPABASE_JWKS_URL=jwks_server.url, SUPABASE_JWT_SECRET=JWT_SECRET):
        yield jwks_server


# ---------------------------------------------------------------- positive controls
def test_valid_tokens_are_accepted(sec, worlds, keys, both):
    admin = worlds.a.admin_id
    for token in (hs256(claims(admin)), es256(keys, claims(admin)), rs256(keys, claims(admin))):
        r = read(sec, worlds, token)
        assert r.status_code == 200, r.text[:300]
        assert r.headers["cache-control"] == "no-store"


def test_non_canonical_uuid_subject_is_not_a_server_error(sec, worlds, hs_only):
    r = read(sec, worlds, hs256(claims("urn:uuid:" + worlds.a.admin_id)))
    assert r.status_code == 200, r.text[:300]


# ---------------------------------------------------------------- algorithm attacks
def test_alg_none(sec, worlds, writes, hs_only):
    for alg in ("none", "None", "NONE", ""):
        token = unsigned({"alg": alg, "typ": "JWT"}, claims(worlds.a.admin_id))
        attack(sec, worlds, writes, token)
        attack(sec, worlds, writes, token + "e30")


def test_alg_none_against_jwks(sec, worlds, writes, jwks_only):
    attack(sec, worlds, writes, unsigned({"alg": "none", "kid": "ec-1"}, claims(worlds.a.admin_id)))


def hmac_signed(header: dict, payload: dict, secret: bytes) -> str:
    """An HS256 token signed by hand (python-jose itself refuses a PEM as an HMAC secret)."""
    import base64
    import hashlib
    import hmac as hmac_mod

    signing = unsigned(header, payload).rsplit(".", 1)[0]
    sig = base64.urlsafe_b64encode(hmac_mod.new(secret, signing.encode(), hashlib.sha256).digest())
    return signing + "." + sig.rstrip(b"=").decode()


def test_hs256_signed_with_the_public_key_is_refused(sec, worlds, writes, keys, jwks_only):
    """Algorithm confusion (CVE-2024-33663 class): the published public key used as an HMAC secret."""
    payload = claims(worlds.a.admin_id)
    for pem in (keys.ec_public_pem, keys.rsa_public_pem):
        for kid in ("ec-1", "rsa-1", None):
            header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
            attack(sec, worlds, writes, hmac_signed(header, payload, pem.encode()))


def test_hs256_signed_with_the_public_key_when_both_are_configured(sec, worlds, writes, keys, both):
    payload = claims(worlds.a.admin_id)
    for pem in (keys.ec_public_pem, keys.rsa_public_pem):
        attack(sec, worlds, writes, hmac_signed({"alg": "HS256", "kid": "ec-1"}, payload, pem.encode()))


def test_hs256_when_only_jwks_is_configured(sec, worlds, writes, jwks_only):
    attack(sec, worlds, writes, hs256(claims(worlds.a.admin_id)))


def test_asymmetric_token_when_only_the_hs256_secret_is_configured(sec, worlds, writes, keys, hs_only):
    attack(sec, worlds, writes, es256(keys, claims(worlds.a.admin_id)))
    attack(sec, worlds, writes, rs256(keys, claims(worlds.a.admin_id)))


def test_header_alg_that_does_not_match_the_key_type(sec, worlds, writes, keys, jwks_only):
    # RS256 header naming the EC key, ES256 header naming the RSA key, and other algorithms.
    payload = claims(worlds.a.admin_id)
    attack(sec, worlds, writes, rs256(keys, payload, kid="ec-1"))
    attack(sec, worlds, writes, es256(keys, payload, kid="rsa-1"))
    for alg in ("ES384", "PS256", "HS512", "EdDSA"):
        attack(sec, worlds, writes, unsigned({"alg": alg, "kid": "ec-1"}, payload, "c2ln"))


def test_token_signed_by_another_key_with_our_kid(sec, worlds, writes, keys, jwks_only):
    attack(sec, worlds, writes, es256(keys, claims(worlds.a.admin_id), kid="ec-1", pem=keys.other_ec_private_pem))


def test_hs256_signed_with_another_secret(sec, worlds, writes, hs_only):
    attack(sec, worlds, writes, hs256(claims(worlds.a.admin_id), secret="not-" + JWT_SECRET))


# ---------------------------------------------------------------- claims
@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 1},  # expired
        {"exp": None},  # no expiry at all
        {"nbf": int(time.time()) + 600},  # not yet valid
        {"iat": int(time.time()) + 600},  # issued in the future
        {"aud": "anon"},
        {"aud": ["service_role"]},
        {"aud": None},  # wrong or no audience
        {"iss": "https://evil.example/auth/v1"},
        {"iss": ISSUER + "/"},
        {"iss": None},  # wrong or no issuer
        {"role": "service_role"},
        {"role": "anon"},
        {"role": None},  # not a signed-in user
        {"sub": "not-a-uuid"},
        {"sub": "1 or 1=1"},
        {"sub": None},
        {"sub": 42},
    ],
)
def test_bad_claims(sec, worlds, writes, keys, both, overrides):
    payload = claims(worlds.a.admin_id, **overrides)
    attack(sec, worlds, writes, hs256(payload))
    attack(sec, worlds, writes, es256(keys, payload))


def test_tampered_payload(sec, worlds, writes, keys, both):
    import base64
    import json

    # a member's valid token, re-labelled as the admin (signature kept)
    for token in (hs256(claims(worlds.a.member_id)), es256(keys, claims(worlds.a.member_id))):
        header, payload, sig = token.split(".")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        data["sub"] = worlds.a.admin_id
        forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        attack(sec, worlds, writes, f"{header}.{forged}.{sig}")
        # flipping one signature character
        attack(sec, worlds, writes, f"{header}.{payload}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer x",
        "Bearer a.b.c",
        "Bearer ....",
        "Basic dXNlcjpwYXNz",
        "bearer",
        "Token abc",
        "Bearer eyJhbGciOiJIUzI1NiJ9",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.",
        "Bearer %00",
    ],
)
def test_malformed_authorization(sec, worlds, writes, hs_only, authorization):
    with writes.none():
        r = sec.request(
            "POST",
            FORCE,
            headers={"Authorization": authorization},
            params={"modelId": worlds.a.model_id, "dryRun": "true"},
        )
        assert_error(r, 401, "unauthorized")
        assert r.headers.get("www-authenticate") == "Bearer"


def test_missing_authorization(sec, worlds, writes, hs_only):
    with writes.none():
        assert_error(sec.request("POST", FORCE, params={"modelId": worlds.a.model_id}), 401, "unauthorized")
        assert_error(sec.request("GET", DIAGNOSE, params={"modelId": worlds.a.model_id}), 401, "unauthorized")


def test_non_string_kid_is_a_401_not_a_500(sec, worlds, writes, keys, jwks_only):
    payload = claims(worlds.a.admin_id)
    for kid in (["ec-1"], {"a": 1}, 7):
        attack(sec, worlds, writes, unsigned({"alg": "ES256", "kid": kid}, payload, "c2ln"))


def test_user_without_profile_is_forbidden(sec, worlds, writes, hs_only):
    attack(sec, worlds, writes, hs256(claims(worlds.orphan_user)), status=403, code="forbidden")


def test_auth_not_configured_fails_closed(sec, worlds, writes):
    with environment(SUPABASE_URL=None, SUPABASE_JWKS_URL=None, SUPABASE_JWT_SECRET=None, SUPABASE_JWT_ISSUER=None):
        attack(sec, worlds, writes, hs256(claims(worlds.a.admin_id)), status=503, code="auth_not_configured")


# ---------------------------------------------------------------- JWKS cache and unknown kids
def test_unknown_kid_and_refetch_rate_limit(sec, worlds, writes, keys, jwks_only):
    from lib.http.auth import JWKS, JWKS_MIN_REFETCH_S

    server = jwks_only
    assert read(sec, worlds, es256(keys, claims(worlds.a.admin_id))).status_code == 200
    assert server.hits == 1
    # a flood of made-up key ids right after a fetch: no refetch at all
    for i in range(25):
        attack(sec, worlds, writes, es256(keys, claims(worlds.a.admin_id), kid=f"unknown-{i}"))
    assert server.hits == 1
    # 30 s later (simulated): one refetch for the whole next flood
    JWKS._attempted_at -= JWKS_MIN_REFETCH_S + 1
    for i in range(25):
        attack(sec, worlds, writes, es256(keys, claims(worlds.a.admin_id), kid=f"unknown-again-{i}"))
    assert server.hits == 2
    # the known key keeps working from the cache
    assert read(sec, worlds, es256(keys, claims(worlds.a.admin_id))).status_code == 200
    assert server.hits == 2


def test_rotated_key_is_picked_up_after_the_refetch_interval(sec, worlds, writes, keys, jwks_only):
    from lib.http.auth import JWKS, JWKS_MIN_REFETCH_S

    server = jwks_only
    assert read(sec, worlds, es256(keys, claims(worlds.a.admin_id))).status_code == 200
    server.extra = [dict(keys.ec_jwk, kid="ec-2")]  # same key material published under a new kid
    token = es256(keys, claims(worlds.a.admin_id), kid="ec-2")
    attack(sec, worlds, writes, token)  # within 30 s of the last fetch: not refetched yet
    JWKS._attempted_at -= JWKS_MIN_REFETCH_S + 1
    assert read(sec, worlds, token).status_code == 200
    assert server.hits == 2


def test_jwks_endpoint_down_is_not_refetched_on_every_request(sec, worlds, writes, keys, jwks_only):
    server = jwks_only
    server.down = True
    for _ in range(20):
        attack(sec, worlds, writes, es256(keys, claims(worlds.a.admin_id)))
    assert server.hits == 1, f"{server.hits} JWKS fetches for 20 requests while the JWKS was down"


def test_tokens_of_unknown_users_or_random_subjects(sec, worlds, writes, hs_only):
    attack(sec, worlds, writes, hs256(claims(str(uuid.uuid4()))), status=403, code="forbidden")


def _raw_hs256(payload_json: str, secret: str = JWT_SECRET) -> str:
    """Signs a payload given as JSON text, so claims json.dumps cannot write (1e400) can be sent."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(payload_json.encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + b64(signature)
    remember_secret("dashboard token", token)
    return token


ODD_TIMES = [
    "[]",
    "[1]",
    "{}",
    '{"a": 1}',
    "null",
    "Infinity",
    "-Infinity",
    "NaN",
    "1e400",
    "-1e400",
    '"9999999999"',
    "true",
]


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ODD_TIMES)
def test_validly_signed_token_with_odd_time_claims_is_a_401(sec, worlds, writes, keys, both, claim, value):
    """python-jose raises TypeError/OverflowError on these; the answer is still a 401, never a 500."""
    import json

    base = claims(worlds.a.admin_id)
    base.pop(claim, None)
    text = json.dumps(base)[:-1] + f', "{claim}": {value}}}'
    attack(sec, worlds, writes, _raw_hs256(text))
    if value not in ("1e400", "-1e400"):  # json.loads reads these as inf; Infinity covers that case
        attack(sec, worlds, writes, es256(keys, dict(base, **{claim: json.loads(value)})))
