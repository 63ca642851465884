"""The checklist: one module per behaviour area; importing this package registers every check in ``REGISTRY``."""

from . import (  # noqa: F401  (imported to register their checks)
    auth,
    cache,
    clients,
    egress,
    endpoints,
    errors,
    headers,
    request,
    request_id,
    sse,
    sse_timing,
    thinking,
    tools,
)
from ._context import CheckContext, TargetRun
from ._registry import REGISTRY, Check, check

# Report order: what breaks agents first (auth, request, errors), then streams and content, then observations.
AREAS = (
    "auth",
    "request",
    "errors",
    "request_id",
    "sse",
    "cache",
    "tools",
    "thinking",
    "endpoints",
    "client",
    "egress",
    "headers",
)
_ordered = sorted(REGISTRY.values(), key=lambda c: AREAS.index(c.area))
REGISTRY.clear()
REGISTRY.update((c.id, c) for c in _ordered)

__all__ = ["AREAS", "REGISTRY", "Check", "CheckContext", "TargetRun", "check"]
