"""The same report as plain text (curl users) and as a small HTML page with a daily-revenue chart."""

from __future__ import annotations

import html
from typing import Any

from lib.diagnose.legacy import as_lines
from lib.money import usd

MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


def as_text(report: dict[str, Any]) -> str:
    m, r, v = report["model"], report["revenue"], report["verdict"]
    lines = [
        f"diagnose-revenue: {m['name']} ({m['id']})",
        f"verdict: {v['status'].upper()} - {v['root_cause']}",
        "",
        f"stored revenue_total ${r['stored']['revenue_total']}  ledger ${r['ledger']['gross']}  "
        f"({r['ledger']['count']} transactions)",
    ]
    if report.get("fanvue"):
        f = report["fanvue"]
        total = f.get("account_total_cents")
        lines.append(f"Fanvue: HTTP {f.get('status_code')} in {f.get('latency_ms')} ms, account total {usd(total)}")
    lines += as_lines(report.get("legacy"))
    lines.append("")
    for c in report["checks"]:
        lines.append(f"[{MARK[c['status']]}] {c['title']}: {c['evidence']}")
        if c.get("fix") and c["status"] != "pass":
            lines.append(f"       fix: {c['fix']}")
    if v["fix_plan"]:
        lines += ["", "fix plan:"] + [f"  {i}. {step}" for i, step in enumerate(v["fix_plan"], 1)]
    return "\n".join(lines) + "\n"


def _nice_step(peak_cents: int, ticks: int = 4) -> int:
    """A round step in cents (1, 2 or 5 x 10^n dollars or cents) so that `ticks` steps cover the peak."""
    raw = max(1, peak_cents) / ticks
    magnitude: int = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _usd_axis(cents: int) -> str:
    """Axis ticks read as whole dollars when the tick is whole or large."""
    if cents % 100 == 0 or cents >= 100_000:
        return usd((cents + 50) // 100 * 100)[:-3]
    return usd(cents)


def _chart(days: list[dict[str, Any]]) -> str:
    """Daily gross, ledger vs Fanvue, with a dollar y axis, dated x axis and a <title> per day."""
    e = html.escape
    if not days:
        return "<p>No daily revenue in the last 90 days.</p>"
    width, height = 760, 240
    left, right, top, bottom = 70, 16, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(max(d["ledger_cents"] or 0, d["fanvue_cents"] or 0) for d in days)
    step_cents = _nice_step(peak)
    y_max = step_cents * max(1, -(-peak // step_cents))
    x_step = plot_w / max(1, len(days) - 1)

    def x(i: int) -> float:
        return left + i * x_step

    def y(cents: int) -> float:
        return top + plot_h - cents / y_max * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="daily gross revenue in dollars, ledger vs Fanvue, {e(days[0]["day"])} to '
        f'{e(days[-1]["day"])}">'
    ]
    for k in range(0, y_max // step_cents + 1):
        cents = k * step_cents
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(cents):.1f}" y2="{y(cents):.1f}" '
            f'stroke="#e5e7eb"/><text class="y-tick" x="{left - 6}" y="{y(cents) + 4:.1f}" '
            f'text-anchor="end" font-size="11" fill="#4b5563">{e(_usd_axis(cents))}</text>'
        )
    every = max(1, round(len(days) / 6))
    for i in list(range(0, len(days), every)) + ([len(days) - 1] if (len(days) - 1) % every else []):
        parts.append(
            f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            f'stroke="#6b7280"/><text class="x-tick" x="{x(i):.1f}" y="{top + plot_h + 17}" '
            f'text-anchor="middle" font-size="11" fill="#4b5563">{e(days[i]["day"])}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#6b7280"/>'
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#6b7280"/>'
        f'<text class="axis-label" x="{left + plot_w / 2:.0f}" y="{height - 4}" text-anchor="middle" '
        f'font-size="12" fill="#111827">date (UTC)</text>'
        f'<text class="axis-label" x="14" y="{top + plot_h / 2:.0f}" text-anchor="middle" font-size="12" '
        f'fill="#111827" transform="rotate(-90 14 {top + plot_h / 2:.0f})">gross per day (USD)</text>'
    )
    for key, color, dash in (("ledger_cents", "#2563eb", ""), ("fanvue_cents", "#f59e0b", ' stroke-dasharray="4 3"')):
        pts = [(x(i), y(d[key])) for i, d in enumerate(days) if d[key] is not None]
        if pts:
            line = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            parts.append(
                f'<polyline class="{key}" fill="none" stroke="{color}" stroke-width="2"{dash} points="{line}"/>'
            )
    for i, d in enumerate(days):
        fanvue = "" if d["fanvue_cents"] is None else f", Fanvue {usd(d['fanvue_cents'])}"
        label = f"{d['day']}: ledger {usd(d['ledger_cents'] or 0)}{fanvue}"
        parts.append(
            f'<circle class="point" cx="{x(i):.1f}" cy="{y(d["ledger_cents"] or 0):.1f}" r="3" '
            f'fill="#2563eb"><title>{e(label)}</title></circle>'
        )
    parts.append("</svg>")
    legend = (
        f'<p class="legend"><span class="ledger">&#9632; ledger</span> '
        f'<span class="fanvue">&#9632; Fanvue daily summary</span> '
        f"(peak {usd(peak)}/day, {e(days[0]['day'])} to {e(days[-1]['day'])}; "
        f"hover a point for its value)</p>"
    )
    return "".join(parts) + legend


def as_html(report: dict[str, Any]) -> str:
    e = html.escape
    v = report["verdict"]
    rows = "".join(
        f"<tr class='{c['status']}'><td>{MARK[c['status']]}</td><td>{e(c['title'])}</td><td>{e(c['evidence'])}</td>"
        f"<td>{e(c['fix'] or '') if c['status'] != 'pass' else ''}</td></tr>"
        for c in report["checks"]
    )
    plan = "".join(f"<li>{e(step)}</li>" for step in v["fix_plan"])
    r = report["revenue"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>diagnose: {e(report["model"]["name"])}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}}td{{padding:4px 8px;vertical-align:top}}
tr.fail td:first-child{{color:#b91c1c;font-weight:bold}}tr.warn td:first-child{{color:#b45309}}
tr.pass td:first-child{{color:#15803d}}
.legend .ledger{{color:#2563eb}}.legend .fanvue{{color:#f59e0b}}</style></head><body>
<h1>{e(report["model"]["name"])}</h1>
<p><strong>{e(v["status"].upper())}</strong>: {e(v["root_cause"])}</p>
<p>Stored revenue_total ${e(str(r["stored"]["revenue_total"]))}, ledger ${e(str(r["ledger"]["gross"]))}
({r["ledger"]["count"]} transactions).</p>
{_chart(report.get("daily", []))}
<table>{rows}</table>{f"<h2>Fix plan</h2><ol>{plan}</ol>" if plan else ""}
</body></html>"""
