"""``junit.xml``: one test case per check × target, for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..results._expectations import Status


def junit_xml(document: dict[str, Any], compared: list[dict[str, Any]]) -> bytes:
    """A JUnit document: fail/error/regression as failures, expected failures and unsupported as skipped."""
    suites = ET.Element("testsuites", name="egress-conformance", timestamp=document["run"]["date"])
    by_target: dict[str, list[dict[str, Any]]] = {}
    for result in compared:
        by_target.setdefault(result["target"], []).append(result)
    for target, results in by_target.items():
        suite = ET.SubElement(suites, "testsuite", name=target, tests=str(len(results)))
        counts = {"failures": 0, "errors": 0, "skipped": 0}
        for result in results:
            case = ET.SubElement(suite, "testcase", classname=f"{target}.{result['check'].split('.')[0]}",
                                 name=result["check"], time=f"{result['duration_ms'] / 1000:.3f}")
            text = f"{result['verdict']}: {result['message']}"
            if result["status"] == Status.EXPECTED:
                ET.SubElement(case, "skipped", message=f"expected {result['verdict']}: "
                              f"{result['expected']['reason']}")
                counts["skipped"] += 1
            elif result["status"] == Status.UNEXPECTED_PASS:
                ET.SubElement(case, "failure", message=f"unexpected pass (listed as {result['expected']['verdict']})")
                counts["failures"] += 1
            elif result["verdict"] == "error":
                ET.SubElement(case, "error", message=text)
                counts["errors"] += 1
            elif result["status"] == Status.REGRESSION:
                ET.SubElement(case, "failure", message=text).text = text
                counts["failures"] += 1
            elif result["verdict"] == "unsupported":
                ET.SubElement(case, "skipped", message=text)
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    missing = document["run"].get("not_run") or []
    if missing:  # an interrupted run: what did not run is an error, so no CI reads a partial run as green
        suite = ET.SubElement(suites, "testsuite", name="not-run", tests=str(len(missing)), errors=str(len(missing)))
        for item in missing:
            case = ET.SubElement(suite, "testcase", classname=f"{item['target']}.not-run", name=item["check"])
            ET.SubElement(case, "error", message="did not run: the run was incomplete")
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)
