"""The harness's exceptions: one base, so a caller can tell the harness's own failures from a bug."""

from __future__ import annotations


class ConformanceError(Exception):
    """Base of every exception the harness raises on purpose; its message is one line a user can act on."""


class InputError(ConformanceError, ValueError):
    """Bad input from the user: a malformed target word, expectations file, scenario or setting."""


class ScenarioError(InputError):
    """A scenario directive with an unknown key or a value out of its bounds."""


class PathError(ConformanceError):
    """A path could not be built, started or reached; the message says which and why."""


class PathUnsupported(PathError):
    """This machine cannot run the target (software missing, no privilege for what it needs); its checks are
    ``unsupported`` with this message."""


class ToolMissing(PathUnsupported):
    """The software a target runs is not installed (the message says how to install it)."""


class Unsupported(ConformanceError):
    """Raised inside a check when it cannot run on this path; the message is the reason."""


class HarnessError(ConformanceError):
    """Raised inside a check when the environment failed; the verdict is ``error`` with this message."""


class CheckCancelled(HarnessError):
    """Raised inside a check whose time ran out: its work stops; the verdict is the engine's timeout error."""
