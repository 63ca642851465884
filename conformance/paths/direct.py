"""``direct``: no path at all, the client talks to the upstream. The oracle every other path is compared with."""

from __future__ import annotations

from dataclasses import dataclass

from ._base import EgressPath, UpstreamSide
from ._family import Family


@dataclass
class DirectPath(EgressPath):
    """The client's base URL is the upstream's."""

    def start(self, upstream: UpstreamSide) -> None:
        self.base_url = upstream.base_url
        self.mode = "none"
        self.version = "-"


def make_direct(name: str, options: dict[str, str]) -> EgressPath:
    return DirectPath(name=name)


FAMILY = Family("direct", {"direct": make_direct})
