"""Egress paths (targets): one module per family; ``resolve_target`` turns a ``--target`` word into a path.

A family is one module of this package that ends with ``FAMILY = Family(name, {"target": factory, …}, …)``: the
targets it makes (a factory takes the target word and its options and returns an ``EgressPath``), what it installs
before a run, the deployable configs it writes. Adding a file here adds its targets: nothing else lists them (its
expectations go in ``fixtures/expectations/<name>.yaml``, its configs in ``fixtures/<name>/``).

A target word is ``NAME`` or ``NAME[key=value,…]`` (options of the family). With ``--base-url`` the word names a path
that is already deployed, reached at that URL.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Callable

from ..core._exceptions import PathError
from ..core._settings import Settings
from ..core._vocab import COMMON_FEATURES, Feature
from ._base import Connection, Credentials, EgressPath, UpstreamSide
from ._family import ConfigTemplates, Factory, Family


@functools.cache
def families_declared() -> dict[str, Family]:
    """Every family, by name, as its module declares it (``FAMILY``)."""
    found: dict[str, Family] = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            family = importlib.import_module(f"{__name__}.{info.name}").FAMILY
            found[family.name] = family
    return found


def _family_of(target: str) -> Family | None:
    return next((f for f in families_declared().values() if target in f.targets), None)


def families() -> dict[str, Factory]:
    """Every target name with its factory, from every family's declaration."""
    return {name: factory for family in families_declared().values() for name, factory in family.targets.items()}


def prepare_target(word: str, settings: Settings, say: Callable[[str], None] = print) -> None:
    """Install what a target needs before a run starts (its family's ``prepare``, e.g. a LiteLLM release); raises
    PathError with one line when it cannot."""
    name, options = _parse_word(word)
    family = _family_of(name)
    if family is not None and family.prepare is not None:
        family.prepare(options, settings, say)


def _parse_word(word: str) -> tuple[str, dict[str, str]]:
    match = _WORD.match(word)
    if match is None:
        raise PathError(f"malformed target {word!r}: expected NAME or NAME[key=value,...]")
    name, raw_options = match.group(1), match.group(2) or ""
    options: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw_options.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise PathError(f"malformed option {item!r} in target {word!r}: expected key=value")
        options[key] = value
    return name, options

_WORD = re.compile(r"^([a-z][a-z0-9_-]*)(?:\[([^\]]*)\])?$")


def split_targets(values: list[str]) -> list[str]:
    """``--target a,b --target c[k=v,x=y]`` → ``["a", "b", "c[k=v,x=y]"]`` (commas inside brackets kept); ``all``
    is the local matrix and the system-package gateways of ``pins.toml``."""
    words: list[str] = []
    for value in values:
        depth, current = 0, ""
        for ch in value:
            depth += ch == "["
            depth -= ch == "]"
            if ch == "," and depth == 0:
                words.append(current.strip())
                current = ""
            else:
                current += ch
        if current.strip():
            words.append(current.strip())
    if "all" in words:
        from ..core._settings import load_pins

        pins = load_pins()
        at = words.index("all")
        words[at:at + 1] = [*pins.local_matrix, *pins.gateways]
    return list(dict.fromkeys(w for w in words if w))


def resolve_target(
    word: str,
    base_url: str | None = None,
    proxy_headers: list[tuple[str, str]] | None = None,
    without: frozenset[str] = frozenset(),
) -> EgressPath:
    """The path for one target word; raises PathError naming the word when it is unknown or malformed. Release
    defaults (``--litellm-version``) come with the run's settings when the path starts; ``version=`` in the word
    wins."""
    name, options = _parse_word(word)
    if base_url:
        path = EgressPath(name=word, base_url=base_url, proxy_headers=list(proxy_headers or []))
    elif (family := _family_of(name)) is not None:
        unknown = sorted(set(options) - set(family.options))
        if unknown:  # a misspelt option silently ignored would run another target than the one asked for
            takes = "; ".join(f"{k}: {v}" for k, v in family.options.items()) or "none"
            raise PathError(f"target {word}: unknown option {', '.join(unknown)} (options of {name}: {takes})")
        path = family.targets[name](word, options)
        path.family = family.name  # set here, not in start(): a target that cannot start still says what it is
    else:
        known = ", ".join(sorted(families()))
        raise PathError(f"unknown target {name!r} (known: {known}; or give --base-url for a deployed path)")
    if without:
        path.features = path.features - without
        path.unsupported_reasons.update({f: "declared missing with --without" for f in without})
    return path


__all__ = [
    "COMMON_FEATURES",
    "Feature",
    "Connection",
    "Credentials",
    "EgressPath",
    "PathError",
    "UpstreamSide",
    "ConfigTemplates",
    "Family",
    "families",
    "families_declared",
    "prepare_target",
    "resolve_target",
    "split_targets",
]
