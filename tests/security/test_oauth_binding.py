"""The OAuth callback completes only in the browser that started the flow, only for a user who is an
owner or admin now, and saves grant and links all or nothing. Real HTTP: the served connect and
callback, the sandbox's authorize step, one httpx client per browser (each with its own cookie jar)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from devstack.connect_flow import start
from tests.factories import make_agency
from tests.security.conftest import assert_error

CONNECT = "/api/auth/fanvue/connect"


@pytest.fixture()
def agency(sec, database_url):
    """A fresh agency with one unlinked model, so the links these tests make touch no other test."""
    with psycopg.connect(database_url, autocommit=True) as sql:
        world = make_agency(sql, "Binding " + uuid.uuid4().hex[:6])
        model = sql.execute(
            "insert into models (agency_id, name) values (%s, %s) returning id",
            (world.agency_id, "Solo " + uuid.uuid4().hex[:6]),
        ).fetchone()[0]
    return world, str(model)


def counts(sql) -> tuple:
    return sql.execute(
        "select (select count(*) from fanvue_connections), (select count(*) from oauth_state_uses),"
        " (select count(*) from models where connection_id is not null),"
        " (select coalesce(sum(token_version), 0) from fanvue_connections)"
    ).fetchone()


def test_callback_from_another_browser_is_refused_and_writes_nothing(sec, agency, writes, sql):
    """An admin starts connect; a creator opens the Fanvue link in her own browser and logs in: her
    browser has no cookie (or another flow's cookie), so the callback is a 403 and nothing is linked,
    and the state is not spent: the admin's own browser could still finish its flow."""
    world, model = agency
    with httpx.Client(timeout=30) as admin_browser, httpx.Client(timeout=30) as creator_browser:
        to_fanvue = admin_browser.get(
            sec.request("GET", CONNECT, token=sec.token(world.admin_id), params={"modelId": model}).json()[
                "authorization_url"
            ]
        )
        assert to_fanvue.status_code == 302 and "fanvue_oauth_" in to_fanvue.headers["set-cookie"]
        consent = creator_browser.get(to_fanvue.headers["location"] + "&login_hint=dora", follow_redirects=False)
        callback = consent.headers["location"]
        assert "code=" in callback
        cookie_name = to_fanvue.headers["set-cookie"].split("=", 1)[0]
        with writes.none():
            assert_error(creator_browser.get(callback), 403, "forbidden")
            creator_browser.cookies.set(cookie_name, "another-browsers-nonce-" + "x" * 20, domain="127.0.0.1")
            body = assert_error(creator_browser.get(callback), 403, "forbidden")
        assert "not started in this browser" in body["error"]["message"]
        assert sql.execute("select connection_id from models where id = %s", (model,)).fetchone()[0] is None


def test_user_demoted_during_the_flow_is_refused_and_nothing_is_written(sec, agency, writes, sql):
    world, model = agency
    with httpx.Client(timeout=30) as browser:
        callback = start(browser, sec.functions, sec.token(world.admin_id), model_id=model, login_hint="dora")
        sql.execute("update profiles set role = 'member' where id = %s", (world.admin_id,))
        with writes.none():
            refused = browser.get(callback)
        body = assert_error(refused, 403, "forbidden")
        assert "no longer an owner or admin" in body["error"]["message"]
        assert "Max-Age=0" in refused.headers["set-cookie"]  # this flow is over for this browser
        # the role is read at the callback, from the database: promoted back, a new flow completes
        sql.execute("update profiles set role = 'admin' where id = %s", (world.admin_id,))
        callback = start(browser, sec.functions, sec.token(world.admin_id), model_id=model, login_hint="dora")
        done = browser.get(callback)
        assert done.status_code == 200, done.text
        assert done.headers["cache-control"] == "no-store"
        assert "Max-Age=0" in done.headers["set-cookie"]  # the binding cookie is cleared


def test_connect_cookie_is_httponly_lax_and_path_scoped_and_the_ticket_works_once(sec, agency):
    world, model = agency
    link = sec.request("GET", CONNECT, token=sec.token(world.admin_id), params={"modelId": model}).json()
    assert link["authorization_url"].startswith(sec.functions + CONNECT + "?ticket=")
    with httpx.Client(timeout=30) as browser:
        first = browser.get(link["authorization_url"])
        assert first.status_code == 302 and urlsplit(first.headers["location"]).path == "/oauth2/auth"
        cookie = first.headers["set-cookie"]
        for attribute in ("HttpOnly", "SameSite=Lax", "Path=/api/auth/fanvue/callback", "Max-Age=600"):
            assert attribute in cookie
        assert "Secure" not in cookie  # plain http locally; https deployments get Secure
        state = parse_qs(urlsplit(first.headers["location"]).query)["state"][0]
        assert cookie.split(";")[0].split("=", 1)[1] not in state  # only the nonce's hash is sealed
        assert_error(browser.get(link["authorization_url"]), 400, "ticket_already_used")
    assert_error(sec.request("GET", CONNECT, params={"ticket": "A" * 40}), 400, "invalid_ticket")


def test_ticket_of_a_demoted_user_is_refused(sec, agency, sql):
    world, model = agency
    link = sec.request("GET", CONNECT, token=sec.token(world.admin_id), params={"modelId": model}).json()
    sql.execute("update profiles set role = 'member' where id = %s", (world.admin_id,))
    try:
        assert_error(httpx.get(link["authorization_url"], timeout=30), 403, "forbidden")
    finally:
        sql.execute("update profiles set role = 'admin' where id = %s", (world.admin_id,))


def test_second_model_on_the_same_creator_is_a_409_and_leaves_no_orphan(sec, agency, sql):
    """Creator-connecting a second model of the agency to a Fanvue creator another model already
    holds: a 409 naming that model; no new connection, the existing grant untouched, nothing linked."""
    world, first = agency
    token = sec.token(world.admin_id)
    from devstack.connect_flow import connect

    connect(sec.functions, token, model_id=first, login_hint="cleo")
    second = str(
        sql.execute(
            "insert into models (agency_id, name) values (%s, 'Second') returning id", (world.agency_id,)
        ).fetchone()[0]
    )
    before = counts(sql)
    with httpx.Client(timeout=30) as browser:
        callback = start(browser, sec.functions, token, model_id=second, login_hint="cleo")
        body = assert_error(browser.get(callback), 409, "creator_already_linked")
    name = sql.execute("select name from models where id = %s", (first,)).fetchone()[0]
    assert name in body["error"]["message"] and first in body["error"]["message"]
    after = counts(sql)
    assert (after[0], after[2], after[3]) == (before[0], before[2], before[3])
    assert after[1] == before[1] + 2  # ticket and state are spent (the code was exchanged): a new flow is needed
    assert sql.execute("select connection_id, fanvue_user_uuid from models where id = %s", (second,)).fetchone() == (
        None,
        None,
    )


def test_complete_connection_rechecks_the_role_inside_its_transaction(db, sql):
    from lib.db import DbError

    world = make_agency(sql, "Race " + uuid.uuid4().hex[:6])
    before = counts(sql)
    with pytest.raises(DbError) as info:
        db.call(
            "fanvue_complete_connection",
            user_id=world.member_id,
            agency_id=world.agency_id,
            kind="creator",
            fanvue_user_uuid=str(uuid.uuid4()),
            handle="x",
            access_enc="v1:t:a",
            refresh_enc="v1:t:r",
            key_id="t",
            expires_at="2099-01-01T00:00:00Z",
            scopes=None,
            creators=[],
        )
    assert info.value.code == "FV403"
    assert counts(sql) == before
