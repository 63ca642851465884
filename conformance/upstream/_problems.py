"""The exception the upstream raises to answer with an Anthropic error envelope."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core._errors import kind_for
from ..core._exceptions import ConformanceError


@dataclass
class ApiError(ConformanceError):
    """An error response: status, ``error.type``, message, and the headers that go with it."""

    status: int
    message: str | None = None
    error_type: str | None = None
    should_retry: bool | None = None
    """``x-should-retry``; None sends the catalogue's value for the status."""
    omit_should_retry: bool = False
    retry_after: int | None = None
    null_request_id: bool = False
    """Some auth failures carry ``"request_id":null`` in the body (observed 2026)."""
    authenticated: bool = True
    """False for 401s: the real API then sends no ``anthropic-organization-id``."""
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        kind = kind_for(self.status)
        if self.error_type is None:
            self.error_type = kind.type
        if self.message is None:
            self.message = kind.message
        if self.should_retry is None:
            self.should_retry = kind.should_retry
        super().__init__(f"{self.status} {self.error_type}: {self.message}")
