"""Egress paths (targets): one module per family; ``resolve_target`` turns a ``--target`` word into a path.

A target word is ``NAME`` or ``NAME[key=value,…]`` (options of the family). With ``--base-url`` the word names a path
that is already deployed, reached at that URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .._exceptions import PathError
from ._base import ALL_FEATURES, Connection, Credentials, EgressPath, UpstreamSide
from .direct import make_direct
from .envoy import make_envoy, make_envoy_connect, make_envoy_defaults, make_envoy_sni
from .litellm import make_litellm, make_litellm_unified
from .shim import make_shim, make_shim_front

Factory = Callable[[str, dict[str, str]], EgressPath]

FAMILIES: dict[str, Factory] = {
    "direct": make_direct,
    "envoy": make_envoy,
    "envoy-defaults": make_envoy_defaults,
    "envoy-sni": make_envoy_sni,
    "envoy-connect": make_envoy_connect,
    "litellm": make_litellm,
    "litellm-unified": make_litellm_unified,
    "shim": make_shim,
    "shim-front": make_shim_front,
}

_WORD = re.compile(r"^([a-z][a-z0-9_-]*)(?:\[([^\]]*)\])?$")


def split_targets(values: list[str]) -> list[str]:
    """``--target a,b --target c[k=v,x=y]`` → ``["a", "b", "c[k=v,x=y]"]`` (commas inside brackets kept)."""
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
    return [w for w in words if w]


def resolve_target(
    word: str,
    base_url: str | None = None,
    proxy_headers: list[tuple[str, str]] | None = None,
    without: frozenset[str] = frozenset(),
    defaults: dict[str, str] | None = None,
) -> EgressPath:
    """The path for one target word; raises PathError naming the word when it is unknown or malformed.

    ``defaults`` are family options given on the command line (e.g. ``version`` from ``--litellm-version``);
    options in the word itself win."""
    match = _WORD.match(word)
    if match is None:
        raise PathError(f"malformed target {word!r}: expected NAME or NAME[key=value,...]")
    name, raw_options = match.group(1), match.group(2) or ""
    options: dict[str, str] = dict(defaults or {})
    for item in filter(None, (p.strip() for p in raw_options.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise PathError(f"malformed option {item!r} in target {word!r}: expected key=value")
        options[key] = value
    if base_url:
        path = EgressPath(name=word, base_url=base_url, proxy_headers=list(proxy_headers or []))
    elif name in FAMILIES:
        path = FAMILIES[name](word, options)
    else:
        known = ", ".join(sorted(FAMILIES))
        raise PathError(f"unknown target {name!r} (known: {known}; or give --base-url for a deployed path)")
    if without:
        path.features = path.features - without
        path.unsupported_reasons.update({f: "declared missing with --without" for f in without})
    return path


__all__ = [
    "ALL_FEATURES",
    "Connection",
    "Credentials",
    "EgressPath",
    "FAMILIES",
    "PathError",
    "UpstreamSide",
    "resolve_target",
    "split_targets",
]
