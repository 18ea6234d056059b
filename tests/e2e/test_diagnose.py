import json, os
import psycopg
import pytest
from tests.e2e.helpers import connect_demo


@pytest.fixture(scope="module")
def demo(stack, database_url):
    with psycopg.connect(database_url, autocommit=True) as sql:
        sql.execute("truncate public.agencies, public.sync_runs, public.oauth_state_uses, public.profiles cascade")
        world, dora = connect_demo(stack, sql)
    assert stack.cron()["status"] == "ok"
    yield world, dora


def test_explore(stack, demo, sql):
    world, dora = demo
    for h in ("ava", "dora"):
        m = sql.execute("select id from models where fanvue_handle=%s", (h,)).fetchone()[0]
        r = stack.get("/api/fanvue/diagnose-revenue", user=world.admin_id, modelId=str(m))
        print(r.status_code, dict(r.headers))
        open(f"/tmp/dx/{h}.json", "w").write(json.dumps(r.json(), indent=1))
