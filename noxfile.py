"""Sessions: ``conformance`` (the main job), ``tests`` (the harness's own tests) and ``lint``. ``nox -l`` lists them."""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

# The local matrix: every target the harness starts itself against the embedded reference upstream.
LOCAL_MATRIX = "direct,envoy,envoy-sni,envoy-connect,envoy-defaults"


@nox.session
def conformance(session: nox.Session) -> None:
    """The checklist against the local matrix (or -- --target=… / --base-url=…); writes reports/<run-id>/."""
    session.install("-e", ".[envoy]")
    args = list(session.posargs)
    if not any(a.startswith("--target") for a in args):
        args.append(f"--target={LOCAL_MATRIX}")
    session.run("pytest", "conformance/checks", "-p", "no:cacheprovider", *args)


@nox.session
def tests(session: nox.Session) -> None:
    """The harness's own tests: the reference upstream's fidelity, every check failing against a broken path."""
    session.install("-e", ".[test,envoy]")
    session.run("pytest", "tests", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests and benchmarks."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "conformance", "tests", "benchmarks", "noxfile.py", "conftest.py")
