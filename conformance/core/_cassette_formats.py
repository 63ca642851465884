"""Recorded exchanges from any recorder, read into one shape: vcrpy and Ruby VCR cassettes (YAML), go-vcr's (YAML,
``url`` and ``code``), and HAR (JSON, what mitmproxy, browsers and Charles export). ``read`` names the format it
found or raises ValueError saying what is wrong; it never trusts the file."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".yaml", ".yml", ".json", ".har")


@dataclass(frozen=True)
class RawExchange:
    """One recorded request and its response, whatever the recorder."""

    method: str
    uri: str
    request_headers: dict[str, list[str]]
    request_body: bytes
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    byte_exact: bool
    """False when the recorder re-serialised the body (pydantic-ai's ``parsed_body``)."""


# libyaml's loader where PyYAML has it: the pure-Python one took about 1.5 s of CPU per process to read the
# recordings, and every checklist run reads them twice (the upstream, the replay checks).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe YAML plus Ruby's ``!binary`` (Ruby VCR writes a body that is not UTF-8 as base64 under it)."""


_Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def read(path: Path) -> tuple[str, list[RawExchange]]:
    """The format of the file at ``path`` and every exchange in it; ValueError when it holds none or is in none of
    the formats (its first line says which)."""
    text = path.read_text()
    if path.suffix in (".har", ".json"):
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("log"), dict):
            return "har", [_har(i, e) for i, e in enumerate(_listed_or_fail(data["log"].get("entries")))]
        raise ValueError("not a HAR file (no log.entries)")
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader with one more tag
    if not isinstance(data, dict):
        raise ValueError("no interactions")
    if "http_interactions" in data:
        return "ruby-vcr", [_vcr(i, x) for i, x in enumerate(_listed_or_fail(data["http_interactions"]))]
    interactions = _listed_or_fail(data.get("interactions"))
    go = any(isinstance(x, dict) and isinstance(x.get("request"), dict) and "url" in x["request"]
             for x in interactions)
    return ("go-vcr", [_go_vcr(i, x) for i, x in enumerate(interactions)]) if go else \
        ("vcrpy", [_vcr(i, x) for i, x in enumerate(interactions)])


def _listed_or_fail(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ValueError("no interactions")
    return value


def _parts(index: int, interaction: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(interaction, dict) or not isinstance(interaction.get("request"), dict) \
            or not isinstance(interaction.get("response"), dict):
        raise ValueError(f"interaction {index} has no request and response")
    return interaction["request"], interaction["response"]


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()


def _vcr_body(section: dict[str, Any]) -> tuple[bytes, bool]:
    body = section.get("body")
    if isinstance(body, dict) and "base64_string" in body:
        return base64.b64decode(str(body["base64_string"])), True
    if isinstance(body, dict) and "string" in body:
        return _bytes(body["string"]), True
    parsed = section.get("parsed_body", body.get("parsed_body") if isinstance(body, dict) else None)
    if parsed is not None:
        return json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode(), False
    return _bytes(body), True


def _header_map(index: int, raw: Any) -> dict[str, list[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"interaction {index}: headers are not a mapping")
    return {str(k): [str(v) for v in (values if isinstance(values, list) else [values])] for k, values in raw.items()}


def _vcr(index: int, interaction: Any) -> RawExchange:
    """vcrpy and Ruby VCR: ``uri``, ``status.code``, bodies as ``string`` (or base64, or re-serialised)."""
    request, response = _parts(index, interaction)
    status = response.get("status")
    if not isinstance(status, dict) or not isinstance(status.get("code"), int):
        raise ValueError(f"interaction {index} has no response status code")
    body, exact = _vcr_body(response)
    return RawExchange(method=str(request.get("method", "POST")).upper(), uri=str(request.get("uri", "")),
                       request_headers=_header_map(index, request.get("headers")),
                       request_body=_vcr_body(request)[0], status=status["code"],
                       headers=[(k, v) for k, vs in _header_map(index, response.get("headers")).items() for v in vs],
                       body=body, byte_exact=exact)


def _go_vcr(index: int, interaction: Any) -> RawExchange:
    """go-vcr: ``url``, ``code`` (or ``status: "200 OK"``), bodies as strings."""
    request, response = _parts(index, interaction)
    code = response.get("code")
    if not isinstance(code, int):
        code = str(response.get("status", "")).split(" ", 1)[0]
        if not code.isdigit():
            raise ValueError(f"interaction {index} has no response status code")
        code = int(code)
    return RawExchange(method=str(request.get("method", "POST")).upper(), uri=str(request.get("url", "")),
                       request_headers=_header_map(index, request.get("headers")),
                       request_body=_bytes(request.get("body")), status=code,
                       headers=[(k, v) for k, vs in _header_map(index, response.get("headers")).items() for v in vs],
                       body=_bytes(response.get("body")), byte_exact=True)


def _har(index: int, entry: Any) -> RawExchange:
    """HAR 1.2: ``request.url``, ``postData.text``, ``response.content.text`` (base64 when ``encoding`` says so)."""
    request, response = _parts(index, entry)
    if not isinstance(response.get("status"), int):
        raise ValueError(f"entry {index} has no response status")
    content = response.get("content") or {}
    text = content.get("text") or ""
    body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
    request_headers: dict[str, list[str]] = {}
    for header in request.get("headers") or []:
        request_headers.setdefault(str(header.get("name")), []).append(str(header.get("value")))
    headers = [(str(h.get("name")), str(h.get("value"))) for h in response.get("headers") or []
               if not str(h.get("name")).startswith(":")]
    if body[:2] != b"\x1f\x8b":  # HAR keeps the body decoded: its content-encoding no longer describes it
        headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
    # HTTP/2 pseudo-headers (":authority") are the recorder's connection, not headers a client sends.
    return RawExchange(method=str(request.get("method", "POST")).upper(), uri=str(request.get("url", "")),
                       request_headers={k: v for k, v in request_headers.items() if not k.startswith(":")},
                       request_body=str((request.get("postData") or {}).get("text") or "").encode(),
                       status=response["status"], headers=headers, body=body, byte_exact=True)
