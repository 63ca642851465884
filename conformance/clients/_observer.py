"""How the harness sees the upstream: the in-process journal, a remote upstream's journal over HTTP, or nothing."""

from __future__ import annotations

import time

import httpx

from ..core._http import system_trust
from ..paths._base import Credentials
from ..upstream import JournalEntry, ReferenceUpstream


class UpstreamObserver:
    """Looks up what the upstream received and sent for a correlation id."""

    def __init__(
        self,
        mode: str,
        base_url: str,
        credentials: Credentials,
        *,
        upstream: ReferenceUpstream | None = None,
        journal_url: str | None = None,
    ) -> None:
        self.mode = mode
        self.base_url = base_url
        self.credentials = credentials
        self.upstream = upstream
        self.journal_url = journal_url
        # One pooled client for every check thread: a connection per journal look-up cost a handshake each time.
        # The shared trust context: a client of its own would load the CA bundle again (50 ms of CPU under the lock).
        self._http = httpx.Client(timeout=10, trust_env=False, verify=system_trust(True),
                                  limits=httpx.Limits(max_connections=32, max_keepalive_connections=32))

    @property
    def observable(self) -> bool:
        return self.upstream is not None or self.journal_url is not None

    def entries(self, cid: str, *, settle: float = 0.5) -> list[JournalEntry]:
        """Entries for ``cid``; waits up to ``settle`` seconds for a response still being journaled."""
        deadline = time.monotonic() + settle
        while True:
            found = self._fetch(cid)
            if (found and all(e.completed or e.status is not None for e in found)) or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def _fetch(self, cid: str) -> list[JournalEntry]:
        if self.upstream is not None:
            return self.upstream.journal.entries(cid)
        if self.journal_url is None:
            return []
        response = self._http.get(self.journal_url + "/_conformance/journal", params={"cid": cid})
        response.raise_for_status()
        return [JournalEntry.from_json(e) for e in response.json()["entries"]]

    def close(self) -> None:
        self._http.close()
