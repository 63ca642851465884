"""Sessions: ``tests`` (the harness's own tests) and ``lint``. Run ``nox -l`` for the list."""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]


@nox.session
def tests(session: nox.Session) -> None:
    """The harness's own tests: the reference upstream's fidelity, the checks' ability to fail."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests and benchmarks."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "conformance", "tests", "benchmarks", "noxfile.py", "conftest.py")
