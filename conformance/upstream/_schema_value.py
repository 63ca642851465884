"""A deterministic value that satisfies a tool's ``input_schema`` (the subset of JSON Schema tools use)."""

from __future__ import annotations

from typing import Any


def example_value(schema: Any, name: str = "value") -> Any:
    """A value valid against ``schema``: defaults, consts and enums first, then the smallest value of each type."""
    if not isinstance(schema, dict):
        return {}
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example_value(schema[key][0], name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {key: example_value(props.get(key, {}), key) for key in required}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [example_value(schema.get("items", {}), name) for _ in range(count)]
    if kind == "string":
        text = f"example {name}"
        minimum = int(schema.get("minLength", 0))
        maximum = schema.get("maxLength")
        text = text.ljust(minimum, "x")
        return text[: int(maximum)] if maximum is not None else text
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {}
