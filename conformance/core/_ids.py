"""Identifiers in the shapes api.anthropic.com uses (``req_011C…``, ``msg_01…``, ``toolu_01…``)."""

from __future__ import annotations

import random

# Base58 (no 0, O, I, l), the alphabet observed in request, message and tool ids.
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _tail(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(BASE58) for _ in range(length))


def request_id(rng: random.Random) -> str:
    """A ``request-id`` of the 2025-07+ form: ``req_011C`` and 20 base58 characters (28 in all)."""
    return "req_011C" + _tail(rng, 20)


def message_id(rng: random.Random) -> str:
    """A message id: ``msg_01`` and 22 base58 characters."""
    return "msg_01" + _tail(rng, 22)


def tool_use_id(rng: random.Random) -> str:
    """A tool_use id: ``toolu_01`` and 22 base58 characters."""
    return "toolu_01" + _tail(rng, 22)


def server_tool_use_id(rng: random.Random) -> str:
    """A server tool call id: ``srvtoolu_01`` and 22 base58 characters."""
    return "srvtoolu_01" + _tail(rng, 22)
