"""Evidence as a person reads it: SSE bodies as their events, binary described, no control characters, one line."""

from __future__ import annotations

import json
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EVENT = re.compile(r"^event:\s*(\S+)", re.MULTILINE)


def clean(text: str) -> str:
    """``text`` on one line with every control character written as an escape."""
    text = text.replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(value: Any, limit: int = 200) -> str:
    """Any evidence value (text, JSON) as one clean line of at most ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = clean(text)
    return text if len(text) <= limit else text[:limit] + " …"


def readable_body(text: str, limit: int = 240) -> str:
    """A body excerpt as one line: an SSE stream as its event names (repeats counted), binary described, text
    cut to ``limit``; an older results document's undecoded bytes are described, never printed."""
    if not text:
        return "(empty)"
    broken = text.count("\ufffd") + len(_CONTROL.findall(text))
    if broken > max(2, len(text) // 50):
        return f"{len(text)} characters of undecodable binary (not shown)"
    names = _EVENT.findall(text)
    if len(names) >= 2:
        runs: list[list[Any]] = []
        for name in names:
            if runs and runs[-1][0] == name:
                runs[-1][1] += 1
            else:
                runs.append([name, 1])
        events = ", ".join(n if k == 1 else f"{n} ×{k}" for n, k in runs)
        note = re.search(r"… \((\d+) bytes\)$", text)
        return f"SSE, {len(names)} events{' in the excerpt' if note else ''}: " + one_line(events, limit)
    return one_line(text, limit)
