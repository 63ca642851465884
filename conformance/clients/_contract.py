"""Claude Code's gateway contract (``fixtures/contract/claude-code-gateway.yaml``): its clauses, the checks that hold
a path to each, and the pinned Claude Code's own machine-readable copy (``claude gateway`` serves it at GET /protocol).

The served copy is read offline: ``claude gateway`` needs PostgreSQL (a throwaway one from the ``pgserver`` wheel) and
looks up Anthropic's CRI key set at start-up, so it runs in a network namespace of its own (``unshare``) where only
loopback exists; nothing leaves the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..core._exceptions import InputError, PathError
from ..core._fixtures import FIXTURES_DIR
from ..core._settings import child_environment

CONTRACT_FILE = FIXTURES_DIR / "contract" / "claude-code-gateway.yaml"
NOT_APPLICABLE = "not applicable"
_HEADING = re.compile(r"^## (.+?)(?: — (?:required|optional))?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Clause:
    """One requirement of the contract: what it says, where, and the checks that enforce it (or why none does)."""

    id: str
    says: str
    source: str
    checks: tuple[str, ...]
    uncovered: str | None
    verbatim: bool
    note: str | None


@dataclass(frozen=True)
class Contract:
    page: str
    protocol: str
    clauses: tuple[Clause, ...]
    protocol_sections: dict[str, Any]
    """``## `` section of the served /protocol → clause ids it maps to, or ``not applicable — reason``."""

    def clause(self, clause_id: str) -> Clause:
        return next(c for c in self.clauses if c.id == clause_id)

    def uncovered(self) -> list[Clause]:
        return [c for c in self.clauses if not c.checks]


def load_contract(path: Path = CONTRACT_FILE) -> Contract:
    """The contract table; InputError naming the clause when one has neither checks nor a reason."""
    data = yaml.safe_load(path.read_text())
    clauses = []
    for item in data["clauses"]:
        clause = Clause(id=item["id"], says=item["says"], source=item["source"],
                        checks=tuple(item.get("checks") or ()), uncovered=item.get("uncovered"),
                        verbatim=item.get("verbatim", True), note=item.get("note"))
        if not clause.checks and not clause.uncovered:
            raise InputError(f"contract clause {clause.id}: no checks and no reason it is uncovered")
        clauses.append(clause)
    return Contract(page=data["page"], protocol=data["protocol"], clauses=tuple(clauses),
                    protocol_sections=dict(data["protocol_sections"]))


def protocol_sections(text: str) -> list[str]:
    """The ``## `` section names of a served /protocol document, without their "— required/optional" tag."""
    return [m.group(1).strip() for m in _HEADING.finditer(text)]


def unmapped_sections(contract: Contract, text: str) -> list[str]:
    """Sections of ``text`` the contract table neither maps to clauses nor marks not applicable."""
    known = {c.id for c in contract.clauses}
    missing = []
    for name in protocol_sections(text):
        mapped = contract.protocol_sections.get(name)
        if isinstance(mapped, str) and mapped.startswith(NOT_APPLICABLE):
            continue
        if not isinstance(mapped, list) or not mapped or not set(mapped) <= known:
            missing.append(name)
    return missing


def contract_markdown(contract: Contract) -> str:
    """The contract table for docs/checks.md: every clause, its words and source, the checks holding it."""
    lines = [
        "## Claude Code's gateway contract",
        "",
        f"What Claude Code requires of a gateway ({contract.page}; the pinned release's own machine-readable copy:"
        f" {contract.protocol}), clause by clause, and the checks that hold a path to it. Source of this table:"
        " `fixtures/contract/claude-code-gateway.yaml`. A clause in *italics* is stated in our words (its page"
        " section could not be read word for word offline, or it is what the pinned client was seen to do).",
        "",
        "| clause | says | source | checks |",
        "|---|---|---|---|",
    ]
    for clause in contract.clauses:
        says = clause.says.replace("|", "\\|")
        says = says if clause.verbatim else f"*{says}*"
        held = ", ".join(f"`{c}`" for c in clause.checks) if clause.checks else f"**uncovered**: {clause.uncovered}"
        if clause.note:
            held += f" — {clause.note}"
        lines.append(f"| `{clause.id}` | {says} | {clause.source} | {held} |")
    lines += ["", "Sections of the served /protocol and where each is held:", ""]
    for name, mapped in contract.protocol_sections.items():
        where = ", ".join(f"`{c}`" for c in mapped) if isinstance(mapped, list) else mapped
        lines.append(f"- **{name}**: {where}")
    return "\n".join(lines) + "\n"


_GATEWAY_CONFIG = """listen: {{host: 127.0.0.1, port: {port}}}
session: {{jwt_secret: "{secret}"}}
store: {{postgres_url: "{postgres}"}}
upstreams: [{{provider: anthropic, base_url: "https://api.anthropic.com", auth: {{api_key: "sk-ant-api03-unused"}}}}]
cri: {{enabled: true, audience: ["egress-conformance"], org_allowlist: ["00000000-0000-4000-8000-000000000000"]}}
"""


def served_protocol(claude: Path, timeout: float = 60.0) -> str:
    """GET /protocol of ``claude gateway`` from the Claude Code binary ``claude``, run in a network namespace of its
    own; ContractProbeError (one line) when something it needs is missing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise ContractProbeError("reading the served contract needs unshare (util-linux) for a private network")
    command = [unshare, "--net", "--map-root-user", sys.executable, "-m", "conformance.clients._contract", str(claude)]
    if os.geteuid() == 0:
        command.remove("--map-root-user")
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise ContractProbeError(lines[-1] if lines else f"probe exited {done.returncode}")
    return done.stdout


class ContractProbeError(InputError):
    """The served contract could not be read (a tool missing, the gateway not starting)."""


def _probe_in_namespace(claude: Path) -> str:
    """Inside the private network: loopback up, a throwaway PostgreSQL, the gateway, GET /protocol, all stopped."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=False, capture_output=True)
    try:
        import pgserver  # type: ignore[import-not-found]
    except ImportError:
        raise ContractProbeError("reading the served contract needs the pgserver wheel (pip install -e .[test])") \
            from None
    with tempfile.TemporaryDirectory(prefix="egress-contract-") as folder:
        database = pgserver.get_server(Path(folder) / "pg", cleanup_mode="stop")
        port = 18_000 + os.getpid() % 1000  # a private namespace: no other listener can hold it
        config = Path(folder) / "gateway.yaml"
        config.write_text(_GATEWAY_CONFIG.format(port=port, secret="e" * 48, postgres=database.get_uri()))
        gateway = subprocess.Popen([str(claude), "gateway", "--config", str(config)], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=child_environment({"HOME": folder}))
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if gateway.poll() is not None:
                    said = (gateway.stdout.read() if gateway.stdout else b"").decode(errors="replace")
                    raise ContractProbeError(f"claude gateway exited: {said.strip().splitlines()[-1:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/protocol", timeout=2) as answer:
                        return answer.read().decode()
                except OSError:
                    time.sleep(0.2)
            raise ContractProbeError("claude gateway did not answer GET /protocol within 30 s")
        finally:
            gateway.terminate()
            try:
                gateway.wait(timeout=10)
            except subprocess.TimeoutExpired:
                gateway.kill()
            database.cleanup()


def contract_main(settings: Any, *, served: bool) -> int:
    """``python -m conformance contract``: each clause with its checks; with ``served``, the pinned Claude Code's
    sections the table does not map (exit 1 when there is one)."""
    from ._claude_code import installed_claude_code

    contract = load_contract()
    for clause in contract.clauses:
        held = ", ".join(clause.checks) if clause.checks else f"UNCOVERED: {clause.uncovered}"
        print(f"{clause.id}: {held}")
    if not served:
        return 0
    try:
        text = served_protocol(installed_claude_code(settings.claude_code_version, settings.cache_dir))
    except (ContractProbeError, PathError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missing = unmapped_sections(contract, text)
    print(f"served /protocol of Claude Code {settings.claude_code_version}: {len(protocol_sections(text))} sections, "
          f"{len(missing)} not mapped{': ' + ', '.join(missing) if missing else ''}")
    return 1 if missing else 0


if __name__ == "__main__":  # the namespace side of served_protocol
    try:
        sys.stdout.write(_probe_in_namespace(Path(sys.argv[1])))
    except ContractProbeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
