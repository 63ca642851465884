"""What each path costs (``--perf``), in findings.md (a table and one sentence per path) and matrix.html (a chart of
added latency against concurrency)."""

from __future__ import annotations

from html import escape
from typing import Any

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


def performance_markdown(performance: dict[str, Any]) -> list[str]:
    """The findings section; empty when the run measured nothing."""
    if not performance:
        return []
    lines = ["## What each path costs", "",
             "Measured against direct in the same run, interleaved; each figure is the path minus direct (ms). A path "
             "the client reaches over TLS (a TLS listener, a CONNECT tunnel) is compared with direct over TLS.", "",
             "| target | latency p50/p95/p99 | TTFB p50 | first token p50 | event gap p50/p99 | c=16 p50/p99 ±spread | "
             "c=64 p50/p99 ±spread | path errors from | crosstalk | ready (s) | RSS idle/after (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for target, p in performance.items():
        if "error" in p:
            lines.append(f"| `{target}` | not measured: {p['error']} |" + " |" * 9)
            continue
        lat, gap = p["added_latency_ms"], p["added_event_gap_ms"]
        level = {c["concurrency"]: c for c in p["by_concurrency"]}
        c16, c64 = _at(level, 16), _at(level, 64)

        rss = p["rss_mb"]
        memory = f"{_mb(rss.get('idle'))}/{_mb(rss.get('after_load'))}"
        lines.append(f"| `{target}` | {lat['p50']}/{lat['p95']}/{lat['p99']} | {p['added_ttfb_ms']['p50']} | "
                     f"{p.get('added_first_token_ms', {}).get('p50', '-')} | {gap['p50']}/{gap['p99']} | {c16} | "
                     f"{c64} | {p['error_onset_concurrency'] or 'none up to ' + str(max(level))} | "
                     f"{p['crosstalk_errors']} | {p['startup_s']} | {memory} |")
    noise = [p["noise_floor_ms"]["p95"] for p in performance.values() if "noise_floor_ms" in p]

    def level_noise(n: int) -> str:
        spreads = [c.get("noise_p50_ms", 0.0) for p in performance.values() for c in p.get("by_concurrency", [])
                   if c["concurrency"] == n]
        return f"{max(spreads)}" if spreads else "-"

    beyond = sorted({c["concurrency"] for p in performance.values() for c in p.get("by_concurrency", [])
                     if c["concurrency"] > 64})
    lines += ["", f"Noise floor (direct against direct): {max(noise) if noise else '-'} ms at p95 "
              f"one request at a time; the median's spread between direct's two bursts at most {level_noise(16)} ms "
              f"at 16 in flight and {level_noise(64)} ms at 64"
              + (f" ({', '.join(f'{level_noise(n)} at {n}' for n in beyond)}, where the error onset is sought)"
                 if beyond else "")
              + ": read the concurrency columns to that resolution. The path, the upstream and the load generator "
              "share this machine's cores, so under concurrency a path's figures include the CPU it takes from them.",
              ""]
    return lines


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value}"


def _at(level: dict[int, dict[str, Any]], n: int) -> str:
    """p50/p99 added at ``n`` in flight, with that level's direct-vs-direct spread (its resolution)."""
    if n not in level:
        return "-"
    spread = level[n].get("noise_p50_ms")
    return f"{level[n]['added_p50_ms']}/{level[n]['added_p99_ms']}" + (f" ±{spread}" if spread is not None else "")


def performance_svg(performance: dict[str, Any], width: int = 520, height: int = 220) -> str:
    """Added p50 (solid) and p99 (dashed) latency against concurrency, one line per target; empty without data."""
    series = {t: p["by_concurrency"] for t, p in performance.items() if p.get("by_concurrency")}
    if not series:
        return ""
    levels = sorted({c["concurrency"] for rows in series.values() for c in rows})
    values = [v for rows in series.values() for c in rows for v in (c["added_p50_ms"], c["added_p99_ms"])]
    low, high = min(0.0, min(values)), max(1.0, max(values))
    left, bottom, top, right = 50, height - 30, 10, width - 120

    def x(level: int) -> float:
        return left + (right - left) * (levels.index(level) / max(1, len(levels) - 1))

    def y(value: float) -> float:
        return bottom - (bottom - top) * (value - low) / (high - low)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             'aria-label="added latency against concurrency">',
             f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#999"/>',
             f'<text x="4" y="{top + 10}" font-size="10">{high:.0f} ms</text>',
             f'<text x="4" y="{bottom}" font-size="10">{low:.0f} ms</text>']
    parts += [f'<text x="{x(n) - 8:.0f}" y="{bottom + 14}" font-size="10">c={n}</text>' for n in levels]
    for i, (target, rows) in enumerate(series.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        for key, dash in (("added_p50_ms", ""), ("added_p99_ms", ' stroke-dasharray="4 3"')):
            points = " ".join(f"{x(c['concurrency']):.1f},{y(c[key]):.1f}" for c in rows)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{points}"/>')
        parts.append(f'<text x="{right + 6}" y="{top + 12 + 14 * i}" font-size="10" fill="{colour}">'
                     f'{escape(target)}</text>')
    parts.append("</svg>")
    return "".join(parts)
