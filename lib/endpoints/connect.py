"""The OAuth connect/callback pair that creates connections (creator or agency kind)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from lib.access import resolve_model
from lib.config import Settings, settings
from lib.db import get_database
from lib.db.transport import TextArray
from lib.http.errors import ApiError, bad_request, not_found
from lib.http.response import Response, json_response
from lib.http.shell import Request

SYSTEM_SCOPES = ("openid", "offline_access", "offline")


def redirect_uri(config: Settings) -> str:
    return config.fanvue_redirect_uri or config.public_base_url.rstrip("/") + "/api/auth/fanvue/callback"


def scopes_for(kind: str, config: Settings) -> str:
    configured = (config.fanvue_agency_scopes if kind == "agency" else config.fanvue_scopes).split()
    needed = list(SYSTEM_SCOPES) + ["read:insights"] + (["read:creator"] if kind == "agency" else [])
    return " ".join(dict.fromkeys(needed + configured))


def _client_credentials(config: Settings) -> tuple[str, str]:
    if not config.fanvue_client_id or not config.fanvue_client_secret:
        raise ApiError(503, "fanvue_not_configured", "FANVUE_CLIENT_ID and FANVUE_CLIENT_SECRET must be set")
    return config.fanvue_client_id, config.fanvue_client_secret


def start_connect(request: Request) -> Response:
    from lib.fanvue import oauth
    from lib.oauth_state import STATE_TTL_S, seal

    q, principal, config = request.query, request.principal, settings()
    if bool(q.model_id) == bool(q.agency_id):
        raise ApiError(422, "invalid_parameter", "give exactly one of modelId (creator) or agencyId (agency)")
    client_id, _ = _client_credentials(config)
    if q.model_id:
        model = resolve_model(get_database(), principal, str(q.model_id), None)
        kind, model_id = "creator", model["id"]
    else:
        if str(q.agency_id) != principal.agency_id:
            raise not_found("no such agency for this user")
        kind, model_id = "agency", None
    pkce = oauth.new_pkce()
    state_text, _ = seal(principal.user_id, principal.agency_id, kind, model_id, pkce.verifier)
    url = oauth.build_authorize_url(config.fanvue_auth_base, client_id, redirect_uri(config),
                                    scopes_for(kind, config), state_text, pkce.challenge, login_hint=q.login_hint)
    if q.redirect:
        return Response(status=302, body=None, headers={"Location": url})
    return json_response({"authorization_url": url, "kind": kind, "model_id": model_id,
                          "expires_in_s": STATE_TTL_S})


class _JustIssued:
    """TokenProvider for the token we just received (nothing to refresh yet)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_after_unauthorized(self, rejected: str) -> str:
        from lib.fanvue.errors import FanvueAuthError

        raise FanvueAuthError("the freshly issued token was refused", status=401)


def finish_connect(request: Request) -> Response:
    import httpx

    from lib.crypto import token_cipher
    from lib.fanvue import oauth
    from lib.fanvue.client import FanvueClient
    from lib.fanvue.errors import FanvueError, OAuthError
    from lib.oauth_state import StateError, open_state
    from lib.tokens import encrypt_token_pair

    q, config = request.query, settings()
    if q.error:
        raise bad_request("oauth_denied", f"Fanvue did not authorize: {q.error}"
                          + (f" ({q.error_description[:200]})" if q.error_description else ""))
    if not q.code or not q.state:
        raise ApiError(422, "missing_parameter", "code and state are required")
    try:
        state = open_state(q.state)
    except StateError as exc:
        raise bad_request("invalid_state", str(exc)) from None
    db = get_database()
    if not db.call("fanvue_consume_oauth_state", state_id=state.state_id,
                   expires_at=datetime.fromtimestamp(state.expires_at, timezone.utc))["first_use"]:
        raise bad_request("state_already_used", "this authorization was already completed; start again")
    client_id, client_secret = _client_credentials(config)
    cipher = token_cipher()
    with httpx.Client(timeout=20.0) as http:
        try:
            tokens = oauth.exchange_code(http, config.fanvue_auth_base, client_id, client_secret, q.code,
                                         redirect_uri(config), state.verifier)
        except OAuthError as exc:
            raise ApiError(502, "code_exchange_failed", f"Fanvue refused the authorization code: {exc}") from None
        client = FanvueClient(_JustIssued(tokens.access_token), owner_uuid="pending",
                              api_base=config.fanvue_api_base, api_version=config.fanvue_api_version, http=http)
        try:
            me = client.me()
            creators: list[Any] = list(client.creators()) if state.kind == "agency" else []
        except FanvueError as exc:
            raise ApiError(502, "fanvue_unavailable", f"could not read the connected account: {exc}") from None
    access_enc, refresh_enc = encrypt_token_pair(cipher, tokens.access_token, tokens.refresh_token)
    connection = db.call("fanvue_save_connection", agency_id=state.agency_id, kind=state.kind,
                         fanvue_user_uuid=me.uuid, handle=me.handle, access_enc=access_enc,
                         refresh_enc=refresh_enc, key_id=cipher.current.kid, expires_at=tokens.expires_at,
                         scopes=TextArray((tokens.scope or scopes_for(state.kind, config)).split()),
                         created_by=state.user_id)
    if state.kind == "creator":
        targets = [{"fanvue_user_uuid": me.uuid, "handle": me.handle, "name": me.display_name or me.handle,
                    "model_id": state.model_id}]
    else:
        targets = [{"fanvue_user_uuid": c.uuid, "handle": c.handle, "name": c.display_name or c.handle}
                   for c in creators if c.uuid != me.uuid]
    linked = db.call("fanvue_link_models", agency_id=state.agency_id, connection_id=connection["id"],
                     creators=targets) if targets else []
    return json_response({"connection_id": connection["id"], "kind": state.kind, "status": connection["status"],
                          "fanvue_user": {"uuid": me.uuid, "handle": me.handle},
                          "expires_at": connection["expires_at"], "models": linked})
