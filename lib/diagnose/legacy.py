"""For a model adopted from an older dashboard database: its old figure next to the ledger's, and
why they differ, computed from the rows by public.fanvue_legacy_facts (a sale's identity is date,
source, gross and fan, whatever key format the older sync stored it under)."""

from __future__ import annotations

from typing import Any

from lib.db import Database
from lib.money import usd


def connection_status(facts: dict[str, Any]) -> str:
    if not facts["connected"]:
        return "not connected"
    if facts.get("connection_status") != "active":
        reason = facts.get("connection_reason")
        return f"{facts['connection_status']}" + (f" ({reason})" if reason else "")
    return "connected"


def explain(facts: dict[str, Any]) -> dict[str, Any]:
    """The legacy block of diagnose-revenue and of the adopt report, from fanvue_legacy_facts."""
    legacy = facts.get("legacy")
    out: dict[str, Any] = {
        "connection": connection_status(facts),
        "legacy_figure_cents": facts["legacy_figure_cents"],
        "showing_legacy_figure": facts["showing_legacy_figure"],
        "ledger_cents": facts["ledger_cents"],
        "backfill_complete": facts.get("backfill_completed_at") is not None,
        "reasons": [],
        "unexplained_cents": None,
    }
    if legacy is None:
        return out
    done = out["backfill_complete"]
    reasons = out["reasons"]
    figure = facts["legacy_figure_cents"]
    if figure is not None and figure != legacy["rows_cents"]:
        reasons.append(
            f"the older app wrote revenue_total itself: it showed {usd(figure)} while its "
            f"{legacy['rows']} rows sum to {usd(legacy['rows_cents'])}"
        )
    dup = legacy["duplicates"]
    if dup["rows"]:
        reasons.append(
            f"{dup['rows']} legacy rows repeat a sale already stored under another key "
            f"({usd(dup['cents'])} counted twice or more)"
        )
    misfiled = legacy["misfiled"]
    if misfiled["sales"]:
        reasons.append(
            f"{misfiled['sales']} sales ({usd(misfiled['cents'])}) filed under this model belong to "
            f"{', '.join(misfiled['belongs_to'])}"
        )
    if legacy["zero_amount"]["rows"]:
        reasons.append(f"{legacy['zero_amount']['rows']} legacy rows have a zero amount (no effect on the total)")
    if done and legacy["not_in_fanvue"]["sales"]:
        reasons.append(
            f"{legacy['not_in_fanvue']['sales']} legacy sales ({usd(legacy['not_in_fanvue']['cents'])}) "
            "are in no Fanvue history of this agency"
        )
    if done and legacy["never_fetched"]["sales"]:
        reasons.append(
            f"{legacy['never_fetched']['sales']} sales ({usd(legacy['never_fetched']['cents'])}) "
            "in Fanvue were never fetched by the older sync"
        )
    if not done:
        reasons.append("the full backfill has not completed: the dashboard still shows the legacy figure")
    else:
        explained = (
            legacy["rows_cents"]
            - dup["cents"]
            - misfiled["cents"]
            - legacy["not_in_fanvue"]["cents"]
            + legacy["never_fetched"]["cents"]
        )
        out["unexplained_cents"] = facts["ledger_cents"] - explained
    return out


def legacy_report(db: Database, model_id: str) -> dict[str, Any]:
    return explain(db.call("fanvue_legacy_facts", model_id=model_id))


def as_lines(block: dict[str, Any] | None) -> list[str]:
    """Text lines for diagnose-revenue (nothing for a model that was never adopted and is connected)."""
    if not block:
        return []
    lines = [] if block["connection"] == "connected" else [f"connection: {block['connection']}"]
    if block["legacy_figure_cents"] is None and not block["reasons"]:
        return lines
    shown = " (shown on the dashboard until the backfill completes)" if block["showing_legacy_figure"] else ""
    lines.append(f"legacy figure {usd(block['legacy_figure_cents'])}{shown}; new ledger {usd(block['ledger_cents'])}")
    lines += [f"  - {r}" for r in block["reasons"]]
    if block["unexplained_cents"]:
        lines.append(f"  - unexplained difference: {usd(block['unexplained_cents'])}")
    return lines
