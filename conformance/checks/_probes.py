"""State a target's checks share: probe results made once (``SharedProbes``) and whether the path still answers
(``PathLiveness``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from ..core._exceptions import CheckCancelled
from ..core._http import Exchange


class SharedProbes:
    """Probe results shared by several checks of one target (one error sweep serves every ``errors.*`` check)."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str, make: Callable[[], Any],
            waiting: Callable[[], AbstractContextManager[None]] = nullcontext) -> Any:
        """The value of ``key``, made by the first caller; others wait for it inside ``waiting()`` (a check's
        paused bound: the time is the first caller's work, not theirs)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with waiting():
            lock.acquire()
        try:
            if key not in self._values:
                try:
                    self._values[key] = make()
                except CheckCancelled:
                    raise  # the asking check ran out of time; the next one computes the probe afresh
                except BaseException as exc:  # remembered: every check sharing the probe sees the same failure
                    self._values[key] = exc
            value = self._values[key]
        finally:
            lock.release()
        if isinstance(value, BaseException):
            raise value
        return value


class PathLiveness:
    """Whether a path still answers: after ``limit`` requests in a row got no response, it is declared dead.

    A gateway that accepts connections and never answers would otherwise cost a full request timeout per check,
    one after another; once dead, every remaining check of that path is an immediate ``error`` with this cause.
    """

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self._silent = 0
        self._last_error = ""
        self._lock = threading.Lock()

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            if exchange.status is not None:
                self._silent = 0
            elif "Timeout" in (exchange.error or ""):
                self._silent += 1
                self._last_error = exchange.error or ""

    @property
    def dead_reason(self) -> str | None:
        with self._lock:
            if self._silent < self.limit:
                return None
            return f"the path stopped answering ({self._silent} requests in a row got no response; last: " \
                   f"{self._last_error})"
