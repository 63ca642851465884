"""
Claude Code's gateway contract, clause by clause: every clause is held by checks that exist or says why it is not,
and the pinned Claude Code's own machine-readable contract (``claude gateway``, GET /protocol) has no section the
table does not map.
"""

from __future__ import annotations

import shutil

import pytest

from conformance.checks import REGISTRY
from conformance.clients._claude_code import installed_claude_code
from conformance.clients._contract import (
    NOT_APPLICABLE,
    ContractProbeError,
    load_contract,
    protocol_sections,
    served_protocol,
    unmapped_sections,
)
from conformance.core._exceptions import PathError
from conformance.core._settings import Settings


def test_every_check_the_table_names_exists():
    """
    A clause held by a check id that is not registered fails here (a rename cannot leave the table stale).
    """
    contract = load_contract()
    named = {c for clause in contract.clauses for c in clause.checks}
    assert named - set(REGISTRY) == set(), sorted(named - set(REGISTRY))


def test_every_clause_is_held_or_says_why_not_and_every_contract_check_is_in_the_table():
    """
    Each clause names checks or a reason it is uncovered; each contract.* check holds some clause; each mapped
    protocol section names clauses that exist.
    """
    contract = load_contract()
    for clause in contract.clauses:
        assert clause.checks or clause.uncovered, clause.id
    named = {c for clause in contract.clauses for c in clause.checks}
    assert {c for c in REGISTRY if c.startswith("contract.")} <= named
    ids = {c.id for c in contract.clauses}
    for section, mapped in contract.protocol_sections.items():
        assert (isinstance(mapped, str) and mapped.startswith(NOT_APPLICABLE)) or set(mapped) <= ids, section


def test_unmapped_sections_are_named():
    """
    A served section the table does not know is reported by name (what the served-contract test relies on).
    """
    contract = load_contract()
    text = "# Claude Code gateway protocol\n\n## Messages — required\n\n## Something new — optional\n"
    assert protocol_sections(text) == ["Messages", "Something new"]
    assert unmapped_sections(contract, text) == ["Something new"]


def test_the_pinned_claude_codes_served_contract_is_mapped():
    """
    ``claude gateway`` of the pinned release, run offline in a private network with a throwaway PostgreSQL, serves
    its contract at GET /protocol; every section of it is mapped to clauses or marked not applicable.
    """
    settings = Settings.from_env()
    try:
        binary = installed_claude_code(settings.claude_code_version, settings.cache_dir)
    except PathError as exc:
        pytest.skip(f"Claude Code not installed: {exc}")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) not installed")
    try:
        text = served_protocol(binary)
    except ContractProbeError as exc:
        if str(exc).startswith("unshare"):  # no user or network namespaces on this machine: nothing to judge
            pytest.skip(f"no private network namespace here: {exc}")
        pytest.fail(f"the served contract could not be read: {exc}")
    assert text.startswith("# Claude Code gateway protocol")
    assert len(protocol_sections(text)) >= 10
    assert unmapped_sections(load_contract(), text) == []
