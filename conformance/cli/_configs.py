"""``envoy-prod``, ``prod-configs`` (the production configs each gateway family declares) and ``pins``."""

from __future__ import annotations

import argparse
import json

from ..core._settings import Settings, load_pins


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command that takes none."""


def envoy_prod(args: argparse.Namespace, settings: Settings) -> int:
    return _write(("envoy",))


def prod_configs(args: argparse.Namespace, settings: Settings) -> int:
    from ..paths import families_declared

    return _write(tuple(name for name, family in families_declared().items() if family.production_configs))


def _write(names: tuple[str, ...]) -> int:
    """Write the production configs of the families ``names`` to their folders, one path printed per file."""
    from ..paths import families_declared

    declared = families_declared()
    for name in names:
        for path, text in declared[name].production_configs().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(path)
    return 0


def pins(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(load_pins().__dict__))
    return 0
