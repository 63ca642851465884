"""Configuration of the reference upstream: which credentials are valid and the switches for disputed behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ..core._settings import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN
from ..core._wire import KNOWN_VERSIONS

OAuthInApiKey = Literal["rate_limit", "invalid_key", "bad_request", "accept"]


@dataclass
class UpstreamConfig:
    """What the reference upstream accepts and how it answers the cases the public record disagrees on."""

    api_keys: set[str] = field(default_factory=lambda: {DEFAULT_API_KEY})
    """API keys accepted in ``x-api-key`` or as ``Authorization: Bearer``."""
    oauth_tokens: set[str] = field(default_factory=lambda: {DEFAULT_OAUTH_TOKEN})
    """OAuth tokens accepted as ``Authorization: Bearer`` with the ``oauth-2025-04-20`` beta."""
    oauth_in_api_key: OAuthInApiKey = "rate_limit"
    """Answer to an OAuth token sent in ``x-api-key``: the seed observed 429 ``rate_limit_error`` "Error"."""
    versions: tuple[str, ...] = KNOWN_VERSIONS
    """Accepted ``anthropic-version`` values."""
    gzip: bool = True
    """Compress successful responses when the client sends ``Accept-Encoding: gzip``, as the real API does: JSON
    bodies since 2024 and SSE (flushed per event) since 2026-03 in the recordings, error bodies never."""
    min_cacheable_tokens: int = 1024
    """Shortest prefix (in the upstream's token estimate) that a ``cache_control`` breakpoint caches."""
    signing_key: bytes = b"egress-conformance-thinking-signature-key"
    """Key of the MAC that signs thinking blocks, so a changed byte is detected on replay."""
    retry_after_seconds: int = 1
    """``retry-after`` sent with a 429 when the scenario does not give one (the real API sends e.g. 16)."""
    max_body_bytes: int = 32 * 1024 * 1024
    """Largest accepted request body; larger gets 413 ``request_too_large``."""
    organization_id: str = "0c5b6a3e-9d1f-4c2a-8e7b-5f4d3c2b1a09"
    recordings_dirs: tuple[Path, ...] = ()
    """Cassette folders searched before ``fixtures/recordings/`` when a directive asks to replay (``--recordings``)."""
    seed: int | None = None
    """Seed for ids and SSE padding; None draws a new one per upstream."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form, for handing the configuration to an upstream in another process (credentials included:
        it travels over a pipe, never the command line)."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (set, tuple)):
                value = sorted(value) if isinstance(value, set) else [str(v) for v in value]
            elif isinstance(value, bytes):
                value = value.hex()
            data[f.name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpstreamConfig:
        """The inverse of ``to_json``: only the fields JSON cannot carry as they are are converted back."""
        return cls(**{
            **data,
            "api_keys": set(data["api_keys"]),
            "oauth_tokens": set(data["oauth_tokens"]),
            "versions": tuple(data["versions"]),
            "signing_key": bytes.fromhex(data["signing_key"]),
            "recordings_dirs": tuple(Path(p) for p in data["recordings_dirs"]),
        })
