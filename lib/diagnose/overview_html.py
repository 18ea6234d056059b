"""The agency overview as one self-contained HTML page: a table of every model with a status badge,
stored vs ledger vs Fanvue, freshness, open incidents, a 30-day sparkline and the reconnect action.

Everything from the database is escaped; the page loads nothing and runs no script (inline CSS and
SVG only), so it works under a strict Content-Security-Policy, which CSP below is.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from lib.diagnose.overview import ago, incident_text
from lib.money import usd

BADGE = {3: "bad", 2: "warn", 1: "note", 0: "good"}

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#111827;background:#f9fafb}
h1{font-size:20px;margin:0 0 4px}p.sub{margin:0 0 16px;color:#4b5563}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 18px}
.tile{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px 14px;min-width:110px}
.tile b{display:block;font-size:20px}.tile span{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e5e7eb}
th,td{padding:8px 10px;border-bottom:1px solid #f3f4f6;text-align:left;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#6b7280;background:#f9fafb}
td.fresh{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.good{background:#dcfce7;color:#166534}.badge.note{background:#e0e7ff;color:#3730a3}
.badge.warn{background:#fef3c7;color:#92400e}.badge.bad{background:#fee2e2;color:#991b1b}
ul.why{margin:4px 0 0;padding-left:16px;color:#4b5563;font-size:12px}
.handle{color:#6b7280;font-size:12px}.diff{color:#991b1b;font-size:12px}
a.action{display:inline-block;background:#1d4ed8;color:#fff;border-radius:6px;padding:3px 10px;
text-decoration:none;font-size:12px;white-space:nowrap}a.plain{font-size:12px;color:#1d4ed8}
svg.spark polyline{fill:none;stroke:#2563eb;stroke-width:1.5}svg.spark .area{fill:#dbeafe;stroke:none}
.incidents{background:#fff;border:1px solid #fecaca;border-radius:8px;padding:8px 14px;margin:0 0 16px}
footer{margin-top:14px;color:#6b7280;font-size:12px}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def sparkline(cents: list[int], start: str, end: str, width: int = 120, height: int = 28) -> str:
    """A small inline SVG of gross cents per day, with the range and total in its <title>."""
    total, peak = sum(cents), max(cents, default=0)
    label = f"{start} to {end}: {usd(total)} gross, peak {usd(peak)}/day"
    if not cents:
        return f'<svg class="spark" width="{width}" height="{height}" role="img" aria-label="{e(label)}"></svg>'
    top = peak or 1
    step = (width - 2) / max(1, len(cents) - 1)
    pts = [(1 + i * step, height - 2 - c / top * (height - 4)) for i, c in enumerate(cents)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    area = f"1,{height - 2} {line} {pts[-1][0]:.1f},{height - 2}"
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{e(label)}"><title>{e(label)}</title><polygon class="area" points="{area}"/>'
        f'<polyline points="{line}"/></svg>'
    )


# What a Fanvue figure that differs from the ledger means, as the diagnosis reconciled it when read
# (the full sentence is the figure's tooltip).
_FANVUE_NOTE = {"pass": "difference explained", "warn": "newer sales pending sync", "fail": "unexplained"}


def _row(m: dict[str, Any], start: str, end: str) -> str:
    r, f = m["revenue"], m["freshness"]
    why = "".join(f"<li>{e(reason)}</li>" for reason in m["reasons"]) if m["severity"] >= 1 else ""
    incidents = "".join(f"<li>{e(incident_text(i))}</li>" for i in m["incidents"])
    diff = f'<div class="diff">{e(usd(r["difference_cents"]))} vs ledger</div>' if r["difference_cents"] else ""
    fanvue = (
        f'<span title="{e(r["fanvue_explanation"] or "")}">{e(usd(r["fanvue_cents"]))}</span>'
        f'<div class="handle">{e(str(r["fanvue_observed_at"])[:10])}'
        f"{' · ' + _FANVUE_NOTE[r['fanvue_status']] if r['fanvue_cents'] != r['ledger_cents'] else ''}</div>"
        if r["fanvue_cents"] is not None
        else '<span class="handle">not read yet</span>'
    )
    synced = "never" if f["age_s"] is None else f"synced {ago(f['age_s'])}"
    action = (
        f'<a class="action" href="{e(m["links"]["reconnect"])}">Reconnect</a><br>' if m["links"]["reconnect"] else ""
    )
    action += f'<a class="plain" href="{e(m["links"]["diagnose"] + "&format=html")}">Diagnose</a>'
    return (
        f'<tr data-model-id="{e(m["id"])}" data-status="{e(m["status"])}">'
        f'<td class="name"><strong>{e(m["name"])}</strong>'
        f"{'<div class=handle>@' + e(m['fanvue_handle']) + '</div>' if m.get('fanvue_handle') else ''}</td>"
        f'<td class="status"><span class="badge {BADGE[m["severity"]]}">{e(m["status_label"])}</span>'
        f"{'<ul class=why>' + why + incidents + '</ul>' if why or incidents else ''}</td>"
        f'<td class="num stored">{e(usd(r["stored_cents"]))}{diff}</td>'
        f'<td class="num ledger">{e(usd(r["ledger_cents"]))}'
        f'<div class="handle">{r["transaction_count"]:,} sales</div></td>'
        f'<td class="num fanvue">{fanvue}</td>'
        f'<td class="fresh">{e(synced)}</td>'
        f'<td class="trend">{sparkline(m["trend_cents"], start, end)}</td>'
        f'<td class="action">{action}</td></tr>'
    )


def as_html(overview: dict[str, Any]) -> str:
    s, trend = overview["summary"], overview["trend"]
    agency = (overview.get("agency") or {}).get("name") or "Agency"
    start, end = str(trend["start"]), str(trend["end"])
    tiles = [
        ("models", s["models_total"]),
        ("healthy", s["models_ok"]),
        ("need attention", s["discrepant"]),
        ("need reconnect", s["needs_reconnect"]),
        ("stored ≠ ledger", s["ledger_mismatch"]),
        ("stale", s["stale"]),
        ("open incidents", s["open_incidents"]),
    ]
    tile_html = "".join(f'<div class="tile"><b>{value}</b><span>{e(name)}</span></div>' for name, value in tiles)
    incidents = "".join(f"<li>{e(incident_text(i))}</li>" for i in overview["incidents"])
    rows = (
        "".join(_row(m, start, end) for m in overview["models"])
        or '<tr><td colspan="8">No models in this agency yet.</td></tr>'
    )
    cron = overview.get("last_cron_run") or {}
    badge = {"broken": "bad", "degraded": "warn", "healthy": "good"}[s["status"]]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Revenue overview: {e(agency)}</title><style>{STYLE}</style></head><body>
<h1>{e(agency)} <span class="badge {badge}" id="agency-status">{e(s["status"])}</span></h1>
<p class="sub">Stored {e(usd(s["stored_total_cents"]))} across {s["models_total"]} models
(ledger {e(usd(s["ledger_total_cents"]))}). Models that need attention are listed first.</p>
<div class="tiles">{tile_html}</div>
{f'<div class="incidents"><strong>Open incidents</strong><ul>{incidents}</ul></div>' if incidents else ""}
<table><thead><tr><th>Model</th><th>Status</th><th>Stored</th><th>Ledger</th><th>Fanvue</th><th>Freshness</th>
<th>Last {trend["days"]} days</th><th>Action</th></tr></thead><tbody>{rows}</tbody></table>
<footer>Generated {e(str(overview["generated_at"])[:19].replace("T", " "))} UTC; last cron run
{e(str(cron.get("started_at") or "never")[:19].replace("T", " "))} ({e(cron.get("status") or "none")}). Ledger figures come from the
monthly roll-up; open a model's diagnosis for the exact row sum and Fanvue's live totals.</footer>
</body></html>"""
