"""The reference upstream: a local api.anthropic.com that journals exactly what each path sent it."""

from ..core._wire import OAUTH_BETA
from ._config import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, UpstreamConfig
from ._directive import CID_HEADER, REPLAY_HEADER, Scenario, directive_values, find_directive, make_directive
from ._journal import JournalEntry, UpstreamJournal
from ._process import UpstreamProcess
from ._replay import Recording
from ._runner import ReferenceUpstream
from ._tls import UPSTREAM_HOSTNAME, LocalCA

__all__ = [
    "CID_HEADER",
    "REPLAY_HEADER",
    "DEFAULT_API_KEY",
    "DEFAULT_OAUTH_TOKEN",
    "OAUTH_BETA",
    "UPSTREAM_HOSTNAME",
    "JournalEntry",
    "LocalCA",
    "Recording",
    "ReferenceUpstream",
    "Scenario",
    "UpstreamConfig",
    "UpstreamJournal",
    "UpstreamProcess",
    "directive_values",
    "find_directive",
    "make_directive",
]
