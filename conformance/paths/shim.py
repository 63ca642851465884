"""``shim`` and ``shim-front``: LiteLLM holding an OAuth token (the seed's rig) with the shim around it.

* ``shim`` — client → LiteLLM → shim (back) → upstream.
* ``shim-front`` — client → shim (front) → LiteLLM → shim (back) → upstream.

Both run the LiteLLM release of ``--litellm-version`` (or ``version=`` in the target word), pass-through route.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace

import httpx

from ..core._vocab import COMMON_FEATURES
from . import litellm
from ._base import EgressPath, UpstreamSide
from ._family import Family
from ._process import ManagedProcess, free_port
from .litellm import LiteLLMPath


def start_shim(name: str, upstream: str, placement: str) -> tuple[ManagedProcess, str]:
    """A shim process (``python -m conformance.shim``) forwarding to ``upstream``; returns it and its URL."""
    port = free_port()
    process = ManagedProcess(name, [sys.executable, "-m", "conformance.shim", "--upstream", upstream,
                                    "--placement", placement, "--port", str(port)])
    process.start()
    url = f"http://127.0.0.1:{port}"
    process.wait_ready(
        lambda: httpx.get(f"{url}/shim/health", timeout=1, trust_env=False, verify=False).status_code == 200,
        timeout=20)
    return process, url


@dataclass
class ShimPath(EgressPath):
    front: bool = False
    release: str | None = None
    litellm: LiteLLMPath | None = None
    shims: list[ManagedProcess] = field(default_factory=list)

    def start(self, upstream: UpstreamSide) -> None:
        back, back_url = start_shim(f"{self.name}-back", upstream.base_url, "back")
        self.shims.append(back)
        self.litellm = LiteLLMPath(name=f"{self.name}-litellm", key="server-oauth", release=self.release)
        self.litellm.start(replace(upstream, base_url=back_url))
        self.family, self.version = "shim+litellm", self.litellm.version
        self.proxy_headers = self.litellm.proxy_headers
        self.holds_credential = self.litellm.holds_credential
        self.base_url = self.litellm.base_url
        if self.front:
            litellm_root = self.litellm.base_url.rsplit("/anthropic", 1)[0]
            front, front_url = start_shim(f"{self.name}-front", litellm_root, "front")
            self.shims.append(front)
            self.base_url = front_url + "/anthropic"
        self.metadata.update({"litellm": self.litellm.describe(), "shims": len(self.shims)})

    def pids(self) -> list[int]:
        shims = [s.process.pid for s in self.shims if s.process is not None]
        return (self.litellm.pids() if self.litellm is not None else []) + shims

    def stop(self) -> None:
        try:
            if self.litellm is not None:
                self.litellm.stop()
        finally:
            for shim in self.shims:
                shim.stop()


def make_shim(name: str, options: dict[str, str]) -> EgressPath:
    return ShimPath(name=name, mode="client → LiteLLM (OAuth held) → shim → upstream", release=options.get("version"),
                    features=COMMON_FEATURES)


def make_shim_front(name: str, options: dict[str, str]) -> EgressPath:
    return ShimPath(name=name, front=True, release=options.get("version"), features=COMMON_FEATURES,
                    mode="client → shim → LiteLLM (OAuth held) → shim → upstream")


# The shim targets run a LiteLLM release: the same one is installed first.
FAMILY = Family("shim", {"shim": make_shim, "shim-front": make_shim_front}, prepare=litellm.prepare,
                options={"version": litellm.OPTIONS["version"]})
