"""Fixtures for the harness's own tests: one reference upstream per session, reset before each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conformance.upstream import ReferenceUpstream, UpstreamConfig

_SCRUBBED = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy and Anthropic variables of the caller must not leak into a test's clients."""
    for name in list(os.environ):
        if name.upper() in _SCRUBBED:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def session_upstream() -> Iterator[ReferenceUpstream]:
    with ReferenceUpstream(UpstreamConfig(min_cacheable_tokens=256)) as upstream:
        yield upstream


@pytest.fixture
def upstream(session_upstream: ReferenceUpstream) -> ReferenceUpstream:
    """The session's reference upstream with an empty journal and prompt cache."""
    session_upstream.reset()
    return session_upstream
