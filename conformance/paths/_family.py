"""What a family module declares (its ``FAMILY``, as wptrunner's ``__wptrunner__``): the targets it makes, what it
installs before a run, and the deployable configs it writes; and the config templates gateways share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from ..core._settings import Settings
from ._base import EgressPath

Factory = Callable[[str, dict[str, str]], EgressPath]
Prepare = Callable[[dict[str, str], Settings, Callable[[str], None]], None]


@dataclass(frozen=True)
class Family:
    """One family of targets (one module of ``conformance.paths``)."""

    name: str
    """Reported as the target's family until its start says more (a release, a composite such as shim+litellm)."""
    targets: Mapping[str, Factory]
    prepare: Prepare | None = None
    """Installs what a target needs before the run (a LiteLLM release, a Debian package); never inside a check."""
    production_configs: Callable[[], dict[Path, str]] | None = None
    """The deployable configs (``python -m conformance prod-configs``): path → text."""
    options: Mapping[str, str] = field(default_factory=dict)
    """The ``name[key=value]`` options its targets take, each with what it sets; any other is refused."""


@dataclass(frozen=True)
class ConfigTemplates:
    """A gateway's config templates in ``fixtures/<family>/`` (``$NAME`` placeholders), and the values of the
    deployable variant each is rendered with into ``fixtures/<family>/prod/``."""

    folder: Path
    suffix: str
    prod_values: Mapping[str, str]
    prod_listen_ports: Mapping[str, str] = field(default_factory=dict)
    """Per template, the port its deployable variant listens on (when templates differ in it)."""

    def render(self, template: str, **values: str) -> str:
        """``<folder>/<template>.<suffix>`` with its placeholders filled in (KeyError names a missing one)."""
        return Template((self.folder / f"{template}.{self.suffix}").read_text()).substitute(values)

    def production(self, template: str) -> str:
        """The deployable variant of ``template``: api.anthropic.com:443, the system's CA bundle."""
        port = {"LISTEN_PORT": self.prod_listen_ports[template]} if template in self.prod_listen_ports else {}
        return self.render(template, **port, **self.prod_values)

    def production_configs(self, *templates: str) -> Callable[[], dict[Path, str]]:
        """What ``Family.production_configs`` returns for these templates."""
        return lambda: {self.folder / "prod" / f"{t}.{self.suffix}": self.production(t) for t in templates}


def apt_prepare(packages: list[str], binaries: list[str]) -> Prepare:
    """A ``Family.prepare`` that installs Debian ``packages`` (apt-get, as root) unless ``binaries`` are there."""

    def prepare(options: dict[str, str], settings: Settings, say: Callable[[str], None]) -> None:
        from ._system import apt_install

        apt_install(packages, binaries, say)

    return prepare
