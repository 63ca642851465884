"""The checklist: one module per behaviour area; importing this package registers every check in ``REGISTRY``."""

# Imported to register their checks; within an area, checks are reported in import order (the SDKs before Claude Code).
from . import (  # noqa: F401, I001
    accounting,
    auth,
    cache,
    client_sdk,
    client_ts_sdk,
    client_claude_code,
    contract,
    egress,
    endpoints,
    errors,
    headers,
    replay,
    request,
    request_size,
    request_id,
    server_tools,
    sse,
    sse_timing,
    stop,
    thinking,
    tools,
)
from ._context import DEFAULT_MODEL, CheckContext, CheckEnded, Finding, NothingReceived, SharedProbes, TargetRun
from ._registry import REGISTRY, Check, Phase, check

# Report order: what breaks agents first (auth, request, errors), then streams and content, then observations.
AREAS = (
    "auth",
    "request",
    "errors",
    "request_id",
    "sse",
    "cache",
    "stop",
    "tools",
    "server-tools",
    "thinking",
    "endpoints",
    "replay",
    "contract",
    "client",
    "egress",
    "headers",
    "accounting",
)
_ordered = sorted(REGISTRY.values(), key=lambda c: AREAS.index(c.area))
REGISTRY.clear()
REGISTRY.update((c.id, c) for c in _ordered)

__all__ = ["AREAS", "DEFAULT_MODEL", "REGISTRY", "Check", "CheckContext", "CheckEnded", "Finding", "NothingReceived",
           "Phase", "SharedProbes", "TargetRun", "check"]
