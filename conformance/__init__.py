"""egress-conformance: is the egress path between your agents and Anthropic's Messages API transparent?"""

from ._redact import redact, register_secret
from ._sse import SseDecoder, SseEvent, decode_events, encode_event
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
