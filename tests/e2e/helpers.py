"""Comparing the ledger with the sandbox's ground truth, and setting up connected agencies."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.factories import World, make_agency


def ledger_totals(sql: psycopg.Connection) -> dict[str, dict[str, Any]]:
    rows = sql.execute(
        """select m.fanvue_user_uuid::text,
                  count(*) filter (where t.kind = 'earning'),
                  coalesce(sum(t.gross_cents) filter (where t.kind = 'earning'), 0),
                  coalesce(sum(t.net_cents) filter (where t.kind = 'earning'), 0),
                  count(*) filter (where t.kind <> 'earning'),
                  coalesce(sum(t.gross_cents) filter (where t.kind <> 'earning'), 0),
                  m.revenue_gross_cents, m.revenue_net_cents, m.transaction_count
             from models m left join fanvue_transactions t on t.model_id = m.id
            group by m.id"""
    ).fetchall()
    return {
        r[0]: {
            "count": r[1],
            "gross": int(r[2]),
            "net": int(r[3]),
            "refund_count": r[4],
            "refund_gross": int(r[5]),
            "stored_gross": r[6],
            "stored_net": r[7],
            "stored_count": r[8],
        }
        for r in rows
    }


def mismatches(sandbox: Any, sql: psycopg.Connection, *, with_spending: set[str] = frozenset()) -> list[str]:
    """Every difference between the ledger and the ground truth (empty when they agree exactly)."""
    truth = sandbox.ground_truth(include_items=False)
    ours = ledger_totals(sql)
    problems = []
    for uuid, ours_row in ours.items():
        if uuid not in truth:
            continue
        want = truth[uuid]["earnings"]
        got = (ours_row["count"], ours_row["gross"], ours_row["net"])
        if got != (want["count"], want["gross"], want["net"]):
            problems.append(
                f"{truth[uuid].get('handle')}: ledger {got} != truth {(want['count'], want['gross'], want['net'])}"
            )
        if (ours_row["stored_count"], ours_row["stored_gross"], ours_row["stored_net"]) != got:
            problems.append(f"{truth[uuid].get('handle')}: stored totals differ from ledger")
        if uuid in with_spending:
            spend = truth[uuid]["spending"]
            if (ours_row["refund_count"], ours_row["refund_gross"]) != (spend["count"], spend["gross"]):
                problems.append(
                    f"{truth[uuid].get('handle')}: refunds {ours_row['refund_count']},"
                    f"{ours_row['refund_gross']} != {spend['count']},{spend['gross']}"
                )
    return problems


def connect_demo(stack: Any, sql: psycopg.Connection) -> tuple[World, str]:
    """An agency with the demo agency connected (ava, bella, cleo) and dora connected personally."""
    world = make_agency(sql, "Demo agency")
    agency = stack.connect(world.admin_id, agency_id=world.agency_id, login_hint="agency")
    assert agency["kind"] == "agency" and len(agency["models"]) >= 3
    dora_model = sql.execute(
        "insert into models (agency_id, name) values (%s, 'Dora') returning id", (world.agency_id,)
    ).fetchone()[0]
    creator = stack.connect(world.admin_id, model_id=str(dora_model), login_hint="dora")
    assert creator["kind"] == "creator"
    return world, creator["fanvue_user"]["uuid"]
