"""egress-conformance: is the egress path between your agents and Anthropic's Messages API transparent?

The public surface is below; the reference upstream (aiohttp) is imported on first use, so ``import conformance``
and the pytest plugin stay light.
"""

from typing import TYPE_CHECKING, Any

from .core._redact import redact, register_secret
from .core._sse import SseDecoder, SseEvent, decode_events, encode_event

if TYPE_CHECKING:
    from .upstream import ReferenceUpstream, UpstreamConfig, UpstreamJournal

__version__ = "0.1.0"

__all__ = [
    "ReferenceUpstream",
    "SseDecoder",
    "SseEvent",
    "UpstreamConfig",
    "UpstreamJournal",
    "__version__",
    "decode_events",
    "encode_event",
    "redact",
    "register_secret",
]

_FROM_UPSTREAM = ("ReferenceUpstream", "UpstreamConfig", "UpstreamJournal")


def __getattr__(name: str) -> Any:
    if name in _FROM_UPSTREAM:
        from . import upstream

        return getattr(upstream, name)
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")
