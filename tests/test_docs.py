"""
docs/checks.md is generated from the registry and kept current.
"""

from conformance.checks import REGISTRY
from conformance.cli._docs import DOCS, checks_markdown


def test_checks_doc_is_current():
    """
    The committed docs/checks.md equals what the registry generates (run `python -m conformance docs`).
    """
    assert DOCS.read_text() == checks_markdown()


def test_every_check_is_documented_with_an_example_failure():
    """
    Every check has a question, a quoted requirement with its source, and an example failure text.
    """
    for check in REGISTRY.values():
        assert check.title.endswith("?"), check.id
        assert check.requirement and check.source and check.failure_example, check.id
