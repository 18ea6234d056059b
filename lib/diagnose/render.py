"""The same report as plain text (curl users) and as a small HTML page with a daily-revenue chart."""
from __future__ import annotations

import html
from typing import Any

from lib.diagnose.legacy import as_lines

MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


def as_text(report: dict[str, Any]) -> str:
    m, r, v = report["model"], report["revenue"], report["verdict"]
    lines = [f"diagnose-revenue: {m['name']} ({m['id']})",
             f"verdict: {v['status'].upper()} - {v['root_cause']}", "",
             f"stored revenue_total ${r['stored']['revenue_total']}  ledger ${r['ledger']['gross']}  "
             f"({r['ledger']['count']} transactions)"]
    if report.get("fanvue"):
        f = report["fanvue"]
        total = f.get("account_total_cents")
        lines.append(f"Fanvue: HTTP {f.get('status_code')} in {f.get('latency_ms')} ms, account total "
                     f"{'n/a' if total is None else f'${total / 100:,.2f}'}")
    lines += as_lines(report.get("legacy"))
    lines.append("")
    for c in report["checks"]:
        lines.append(f"[{MARK[c['status']]}] {c['title']}: {c['evidence']}")
        if c.get("fix") and c["status"] != "pass":
            lines.append(f"       fix: {c['fix']}")
    if v["fix_plan"]:
        lines += ["", "fix plan:"] + [f"  {i}. {step}" for i, step in enumerate(v["fix_plan"], 1)]
    return "\n".join(lines) + "\n"


def _chart(days: list[dict[str, Any]]) -> str:
    if not days:
        return "<p>No daily revenue in the last 90 days.</p>"
    width, height, pad = 720, 180, 20
    peak = max(max(d["ledger_cents"] or 0, d["fanvue_cents"] or 0) for d in days) or 1
    step = (width - 2 * pad) / max(1, len(days) - 1)

    def points(key: str) -> str:
        return " ".join(f"{pad + i * step:.1f},{height - pad - (d[key] or 0) / peak * (height - 2 * pad):.1f}"
                        for i, d in enumerate(days) if d[key] is not None)

    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="daily revenue, ledger vs Fanvue">'
            f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{points("ledger_cents")}"/>'
            f'<polyline fill="none" stroke="#f59e0b" stroke-width="2" stroke-dasharray="4 3" '
            f'points="{points("fanvue_cents")}"/></svg>'
            f'<p><span style="color:#2563eb">&#9632; ledger</span> '
            f'<span style="color:#f59e0b">&#9632; Fanvue daily summary</span> '
            f'(peak ${peak / 100:,.2f}/day, {days[0]["day"]} to {days[-1]["day"]})</p>')


def as_html(report: dict[str, Any]) -> str:
    e = html.escape
    v = report["verdict"]
    rows = "".join(
        f"<tr class='{c['status']}'><td>{MARK[c['status']]}</td><td>{e(c['title'])}</td><td>{e(c['evidence'])}</td>"
        f"<td>{e(c['fix'] or '') if c['status'] != 'pass' else ''}</td></tr>" for c in report["checks"])
    plan = "".join(f"<li>{e(step)}</li>" for step in v["fix_plan"])
    r = report["revenue"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>diagnose: {e(report['model']['name'])}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}}td{{padding:4px 8px;vertical-align:top}}
tr.fail td:first-child{{color:#b91c1c;font-weight:bold}}tr.warn td:first-child{{color:#b45309}}
tr.pass td:first-child{{color:#15803d}}</style></head><body>
<h1>{e(report['model']['name'])}</h1>
<p><strong>{e(v['status'].upper())}</strong>: {e(v['root_cause'])}</p>
<p>Stored revenue_total ${e(str(r['stored']['revenue_total']))}, ledger ${e(str(r['ledger']['gross']))}
({r['ledger']['count']} transactions).</p>
{_chart(report.get('daily', []))}
<table>{rows}</table>{f'<h2>Fix plan</h2><ol>{plan}</ol>' if plan else ''}
</body></html>"""
