"""The checklist: one module per behaviour area; importing this package registers every check in ``REGISTRY``."""

from . import auth, cache, endpoints, errors, headers, request, request_id, sse, thinking, tools  # noqa: F401
from ._context import CheckContext, TargetRun
from ._registry import REGISTRY, Check, check

__all__ = ["REGISTRY", "Check", "CheckContext", "TargetRun", "check"]
