"""``matrix.html``: a self-contained page (no external assets), check × target, coloured by verdict, each cell
expandable to its evidence."""

from __future__ import annotations

import html
import json
from typing import Any

from ._markdown import incomplete_banner

COLOURS = {"pass": "#cdeccd", "pass-nonstrict": "#f4ecb0", "fail": "#f3c0c0", "info": "#dde6f4",
           "unsupported": "#e6e6e6", "error": "#f1d1a5"}
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:4px 6px;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}td.check{font-family:monospace;white-space:nowrap}
details summary{cursor:pointer;font-weight:600}pre{white-space:pre-wrap;max-width:60em;max-height:30em;overflow:auto;
font-size:12px;background:#fafafa;border:1px solid #ddd;padding:6px}.legend span{padding:2px 8px;margin-right:6px}
.status{font-size:11px;color:#555}
"""


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
    out += [f"<span style='background:{c}'>{html.escape(v)}</span>" for v, c in COLOURS.items()]
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
            status = "" if result["status"] == "ok" else f"<div class='status'>{html.escape(result['status'])}</div>"
            evidence = json.dumps({"findings": result["findings"], "evidence": result["evidence"]}, indent=1,
                                  ensure_ascii=False)
            out.append(
                f"<td style='background:{COLOURS.get(verdict, '#fff')}'><details><summary>{html.escape(verdict)}"
                f"</summary><p>{html.escape(result['message'])}</p><pre>{html.escape(evidence[:20000])}</pre>"
                f"</details>{status}</td>")
        out.append("</tr>")
    out.append("</tbody></table></body></html>")
    return "".join(out)
