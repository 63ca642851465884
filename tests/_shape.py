"""JSON shapes: the set of key paths and value types of a document, for comparing structure without values."""

from __future__ import annotations

from typing import Any


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(value: Any, path: str = "$") -> set[tuple[str, str]]:
    """Every ``(path, type)`` in ``value``; list items that carry a ``type`` are told apart as ``[type=X]``."""
    out = {(path, type_name(value))}
    if isinstance(value, dict):
        for key, item in value.items():
            out |= shape(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            tag = f"[type={item['type']}]" if isinstance(item, dict) and isinstance(item.get("type"), str) else "[]"
            out |= shape(item, path + tag)
    return out
