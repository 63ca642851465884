"""The checklist as pytest items: one per check × target; the check's code lives in its area module."""

from conformance.plugin import outcome

from ..run._session import ChecklistSession


def test_check(checklist: ChecklistSession, check_id: str, target: str) -> None:
    result = checklist.run(check_id, target)
    outcome(result.verdict, result.message, checklist.expectation(check_id, target))
