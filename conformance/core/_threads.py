"""Concurrent work inside a check, on daemon threads so a check cut off by its bound never delays the exit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._exceptions import HarnessError

T = TypeVar("T")
R = TypeVar("R")


def parallel(func: Callable[[T], R], items: Iterable[T], *, timeout: float | None = None) -> list[R]:
    """``[func(i) for i in items]`` run concurrently on daemon threads, in order; an exception is re-raised.

    Unlike a ThreadPoolExecutor, the threads never keep the interpreter from exiting, so a check that is cut off
    by its time bound cannot hold up the end of the run. Inside a check the check's own bound (which pauses while
    the work queues for a shared resource) is the limit; ``timeout`` adds one of its own.
    """
    work = list(items)
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def one(index: int, item: T) -> None:
        try:
            results[index] = func(item)
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i, item), daemon=True, name="check-part")
               for i, item in enumerate(work)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout if timeout is not None else None
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    if errors:
        raise errors[0]
    if any(thread.is_alive() for thread in threads):
        raise HarnessError(f"parallel work did not finish in {timeout or 0:.0f} s")
    return results
