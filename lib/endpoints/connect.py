"""The OAuth connect/callback pair that creates connections (creator or agency kind)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from lib.config import Settings, settings
from lib.db import get_database
from lib.http.access import resolve_model
from lib.http.errors import ApiError, bad_request, conflict, forbidden, not_found
from lib.http.params import CallbackQuery, ConnectQuery
from lib.http.response import Response, json_response
from lib.http.shell import Principal, Request

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


def _callback_site(config: Settings) -> tuple[str, str, bool]:
    """(origin, callback path, https?) of the redirect URI: the cookie must live where the callback is."""
    parts = urlsplit(redirect_uri(config))
    return f"{parts.scheme}://{parts.netloc}", parts.path or "/", parts.scheme == "https"


def principal_from_ticket(text: str) -> Principal:
    """The admin a connect ticket names, re-checked now; the ticket works once."""
    from lib.oauth_state import StateError, open_ticket

    try:
        ticket = open_ticket(text)
    except StateError as exc:
        raise bad_request("invalid_ticket", str(exc)) from None
    db = get_database()
    if not db.call(
        "fanvue_consume_oauth_state",
        state_id="ticket:" + ticket.ticket_id,
        expires_at=datetime.fromtimestamp(ticket.expires_at, UTC),
    )["first_use"]:
        raise bad_request("ticket_already_used", "this connect link was already used; start again from the dashboard")
    principal = _current_admin(db, ticket.user_id, ticket.agency_id)
    principal.ticket = ticket
    return principal


def _current_admin(db: Any, user_id: str, agency_id: str) -> Principal:
    """The user's role as the database has it now (not as it was when the flow started)."""
    profile = db.call("fanvue_get_profile", user_id=user_id) or {}
    if str(profile.get("agency_id")) != agency_id or profile.get("role") not in ("owner", "admin"):
        raise forbidden("the user who started this connection is no longer an owner or admin of the agency")
    return Principal(kind="user", user_id=user_id, agency_id=agency_id, role=profile["role"])


def start_connect(request: Request[ConnectQuery]) -> Response:
    """With a Bearer token: JSON whose authorization_url is a one-time ticket link on this site (or,
    with redirect=1, the 302 to Fanvue at once). With ?ticket=: the browser's top-level navigation,
    answered with the binding cookie and the 302 to Fanvue."""
    q, principal, config = request.query, request.caller, settings()
    ticket = principal.ticket
    if ticket is not None:
        if q.model_id or q.agency_id:
            raise ApiError(422, "invalid_parameter", "a ticket already names the model or agency")
        return _redirect_to_fanvue(principal, ticket.kind, ticket.model_id, ticket.login_hint, config)
    if bool(q.model_id) == bool(q.agency_id):
        raise ApiError(422, "invalid_parameter", "give exactly one of modelId (creator) or agencyId (agency)")
    _client_credentials(config)
    if q.model_id:
        model = resolve_model(get_database(), principal, str(q.model_id), None)
        kind, model_id = "creator", model["id"]
    else:
        if str(q.agency_id) != principal.agency_id:
            raise not_found("no such agency for this user")
        kind, model_id = "agency", None
    if q.redirect:
        return _redirect_to_fanvue(principal, kind, model_id, q.login_hint, config)
    from lib.oauth_state import TICKET_TTL_S, seal_ticket

    origin, _, _ = _callback_site(config)
    ticket_text = seal_ticket(*principal.member, kind, model_id, q.login_hint)
    return json_response(
        {
            "authorization_url": f"{origin}/api/auth/fanvue/connect?{urlencode({'ticket': ticket_text})}",
            "kind": kind,
            "model_id": model_id,
            "expires_in_s": TICKET_TTL_S,
        }
    )


def _redirect_to_fanvue(
    principal: Principal, kind: str, model_id: str | None, login_hint: str | None, config: Settings
) -> Response:
    from lib.fanvue import oauth
    from lib.http.cookies import set_cookie
    from lib.oauth_state import STATE_TTL_S, seal

    client_id, _ = _client_credentials(config)
    pkce = oauth.new_pkce()
    state_text, state, browser_nonce = seal(*principal.member, kind, model_id, pkce.verifier)
    url = oauth.build_authorize_url(
        config.fanvue_auth_base,
        client_id,
        redirect_uri(config),
        scopes_for(kind, config),
        state_text,
        pkce.challenge,
        login_hint=login_hint,
    )
    _, path, secure = _callback_site(config)
    return Response(
        status=302,
        body=None,
        headers={
            "Location": url,
            "Set-Cookie": set_cookie(state.cookie_name(), browser_nonce, path=path, max_age=STATE_TTL_S, secure=secure),
        },
    )


class _JustIssued:
    """TokenProvider for the token we just received (nothing to refresh yet)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_after_unauthorized(self, rejected: str) -> str:
        from lib.fanvue.errors import FanvueAuthError

        raise FanvueAuthError("the freshly issued token was refused", status=401)


def finish_connect(request: Request[CallbackQuery]) -> Response:
    """Completes only in the browser that started the flow, for a user who is an admin now, and
    stores grant and links in one transaction (nothing is left behind when linking fails)."""
    from lib.http.cookies import clear_cookie, read_cookie
    from lib.oauth_state import StateError, open_state

    q, config = request.query, settings()
    if q.error:
        raise bad_request(
            "oauth_denied",
            f"Fanvue did not authorize: {q.error}" + (f" ({q.error_description[:200]})" if q.error_description else ""),
        )
    if not q.code or not q.state:
        raise ApiError(422, "missing_parameter", "code and state are required")
    try:
        state = open_state(q.state)
    except StateError as exc:
        raise bad_request("invalid_state", str(exc)) from None
    if not state.bound_to(read_cookie(request.headers, state.cookie_name())):
        raise forbidden(
            "this authorization was not started in this browser (its connect cookie is missing or "
            "different); start the connection again from the dashboard in this browser"
        )
    _, path, secure = _callback_site(config)
    clear = clear_cookie(state.cookie_name(), path=path, secure=secure)
    try:
        response = _complete(state, q.code, config)
    except ApiError as exc:
        exc.headers["Set-Cookie"] = clear
        raise
    response.headers["Set-Cookie"] = clear
    return response


def _complete(state: Any, code: str, config: Settings) -> Response:
    import httpx

    from lib.crypto import token_cipher
    from lib.db import Conflict, DbError
    from lib.fanvue import oauth
    from lib.fanvue.client import FanvueClient
    from lib.fanvue.errors import FanvueError, OAuthError
    from lib.tokens import encrypt_token_pair, scopes_array

    db = get_database()
    _current_admin(db, state.user_id, state.agency_id)
    if not db.call(
        "fanvue_consume_oauth_state", state_id=state.state_id, expires_at=datetime.fromtimestamp(state.expires_at, UTC)
    )["first_use"]:
        raise bad_request("state_already_used", "this authorization was already completed; start again")
    client_id, client_secret = _client_credentials(config)
    cipher = token_cipher()
    with httpx.Client(timeout=20.0) as http:
        try:
            tokens = oauth.exchange_code(
                http, config.fanvue_auth_base, client_id, client_secret, code, redirect_uri(config), state.verifier
            )
        except OAuthError as exc:
            raise ApiError(502, "code_exchange_failed", f"Fanvue refused the authorization code: {exc}") from None
        client = FanvueClient(
            _JustIssued(tokens.access_token),
            owner_uuid="pending",
            api_base=config.fanvue_api_base,
            api_version=config.fanvue_api_version,
            http=http,
        )
        try:
            me = client.me()
            creators: list[Any] = list(client.creators()) if state.kind == "agency" else []
        except FanvueError as exc:
            raise ApiError(502, "fanvue_unavailable", f"could not read the connected account: {exc}") from None
    if state.kind == "creator":
        targets = [
            {
                "fanvue_user_uuid": me.uuid,
                "handle": me.handle,
                "name": me.display_name or me.handle,
                "model_id": state.model_id,
            }
        ]
    else:
        targets = [
            {"fanvue_user_uuid": c.uuid, "handle": c.handle, "name": c.display_name or c.handle}
            for c in creators
            if c.uuid != me.uuid
        ]
    access_enc, refresh_enc = encrypt_token_pair(cipher, tokens.access_token, tokens.refresh_token)
    try:
        saved = db.call(
            "fanvue_complete_connection",
            user_id=state.user_id,
            agency_id=state.agency_id,
            kind=state.kind,
            fanvue_user_uuid=me.uuid,
            handle=me.handle,
            access_enc=access_enc,
            refresh_enc=refresh_enc,
            key_id=cipher.current.kid,
            expires_at=tokens.expires_at,
            scopes=scopes_array(tokens.scope or scopes_for(state.kind, config)),
            creators=targets,
        )
    except Conflict as exc:
        raise conflict(
            "creator_already_linked", exc.message[:300] + "; nothing was saved, start again once resolved"
        ) from None
    except DbError as exc:
        if exc.code == "FV403":
            raise forbidden(exc.message[:300]) from None
        raise
    connection = saved["connection"]
    return json_response(
        {
            "connection_id": connection["id"],
            "kind": state.kind,
            "status": connection["status"],
            "fanvue_user": {"uuid": me.uuid, "handle": me.handle},
            "expires_at": connection["expires_at"],
            "models": saved["models"],
        }
    )
