"""``matrix.html``: a self-contained page (no external assets), check × target, coloured by verdict, each cell
expandable to its evidence."""


import html
import json
from typing import Any

from ..core._verdict import VERDICTS, style
from ..results._expectations import Status
from ._markdown import incomplete_banner
from ._performance import performance_svg

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:4px 6px;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}td.check{font-family:monospace;white-space:nowrap}
details summary{cursor:pointer;font-weight:600}pre{white-space:pre-wrap;max-width:60em;max-height:30em;overflow:auto;
font-size:12px;background:#fafafa;border:1px solid #ddd;padding:6px}.legend span{padding:2px 8px;margin-right:6px}
.status{font-size:11px;color:#555}
"""


def series_svg(series: Any, width: int = 120, height: int = 28) -> str:
    """A small inline chart of a per-event series (added delay in ms, one point per event), or "" for none."""
    if not isinstance(series, list) or len(series) < 2:
        return ""
    values = [float(v) for v in series if isinstance(v, (int, float))]
    top, bottom = max(values + [1.0]), min(values + [0.0])
    span = (top - bottom) or 1.0
    points = " ".join(f"{i * width / (len(values) - 1):.1f},{height - (v - bottom) * height / span:.1f}"
                      for i, v in enumerate(values))
    zero = height - (0 - bottom) * height / span
    label = f"added delay per event, ms: min {bottom:.1f}, max {top:.1f}"
    return (f"<svg class='series' width='{width}' height='{height}' role='img' aria-label='{html.escape(label)}'>"
            f"<title>{html.escape(label)}</title><line x1='0' x2='{width}' y1='{zero:.1f}' y2='{zero:.1f}' "
            f"stroke='#999' stroke-width='0.5'/><polyline fill='none' stroke='#333' stroke-width='1' "
            f"points='{points}'/></svg>")


def matrix_html(document: dict[str, Any], compared: list[dict[str, Any]]) -> str:
    run = document["run"]
    targets = [t["name"] for t in run["targets"]]
    checks = list(dict.fromkeys(r["check"] for r in compared))
    titles = {c["id"]: c["title"] for c in document["checks"]}
    cells = {(r["check"], r["target"]): r for r in compared}
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>egress conformance matrix</title>",
           f"<style>{STYLE}</style></head><body>",
           f"<h1>Egress conformance matrix</h1><p>Run <code>{html.escape(run['id'])}</code> · "
           f"{html.escape(run['date'])} · upstream {html.escape(run['upstream_mode'])}</p>"]
    banner = incomplete_banner(run)
    if banner:
        out.append(f"<p class='incomplete' style='background:#fdd;padding:6px;font-weight:bold'>⚠️ "
                   f"{html.escape(banner)}</p>")
    out.append("<p class='legend'>")
    out += [f"<span style='background:{s.colour}'>{html.escape(v.value)}</span>" for v, s in VERDICTS.items()]
    out += ["</p><table><thead><tr><th>check</th>"]
    out += [f"<th>{html.escape(t)}</th>" for t in targets]
    out += ["</tr></thead><tbody>"]
    for check in checks:
        out.append(f"<tr><td class='check' title='{html.escape(titles.get(check, ''))}'>{html.escape(check)}</td>")
        for target in targets:
            result = cells.get((check, target))
            if result is None:
                out.append("<td></td>")
                continue
            verdict = result["verdict"]
            status = ("" if result["status"] == Status.OK
                      else f"<div class='status'>{html.escape(result['status'])}</div>")
            evidence = json.dumps({"findings": result["findings"], "evidence": result["evidence"]},
                                  ensure_ascii=False)
            chart = series_svg(result["evidence"].get("added_delay_ms_series"))
            # Text inside elements needs only <, > and & escaped: escaping every quote of the JSON as &quot; made
            # the page several times the size of its evidence.
            out.append(
                f"<td style='background:{style(verdict).colour}'>{chart}<details><summary>"
                f"{html.escape(verdict)}</summary><p>{html.escape(result['message'], quote=False)}</p>"
                f"<pre>{html.escape(evidence[:20000], quote=False)}</pre></details>{status}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    chart = performance_svg(document.get("performance") or {})
    if chart:
        out.append("<h2>Added latency against concurrency (path − direct; solid p50, dashed p99)</h2>" + chart)
    blobs = document.get("blobs") or {}
    if blobs:  # each body excerpt once; a cell's evidence names it as {"blob": KEY}
        out.append(f"<details><summary>Bodies referenced by the evidence ({len(blobs)})</summary>")
        out += [f"<h4 id='blob-{html.escape(k)}'>{html.escape(k)}</h4><pre>{html.escape(v, quote=False)}</pre>"
                for k, v in blobs.items()]
        out.append("</details>")
    out.append("</body></html>")
    return "".join(out)
