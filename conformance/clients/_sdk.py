"""The official ``anthropic`` SDK pointed at a path, the way an agent would be configured to reach it."""

from __future__ import annotations

from typing import Any

import anthropic

from ..core._http import system_trust
from ..core._wire import API_KEY_HEADER, AUTHORIZATION, BETA_HEADER
from ..paths import Connection

try:  # SDK 2.x is built on httpx2; 0.x/1.x on httpx.
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed SDK
    import httpx as _http  # type: ignore[no-redef]

RETRY_DELAY_S = 0.05


class _ConnectTo(_http.HTTPTransport):  # type: ignore[misc,name-defined]
    """Sends the TCP connect elsewhere; URL, Host, SNI and certificate check stay the request's (a DNS override)."""

    def __init__(self, connect_to: tuple[str, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connect_to = connect_to

    def handle_request(self, request: Any) -> Any:
        request.headers["host"] = request.url.netloc.decode()
        request.extensions["sni_hostname"] = request.url.host
        request.url = request.url.copy_with(host=self.connect_to[0], port=self.connect_to[1])
        return super().handle_request(request)


class HarnessAnthropic(anthropic.Anthropic):
    """The SDK with its retry back-off shortened: how many attempts it makes is what the checks observe."""

    def _calculate_retry_timeout(self, *args: Any, **kwargs: Any) -> float:
        return RETRY_DELAY_S


def sdk_client(connection: Connection, headers: list[tuple[str, str]], *, max_retries: int = 2,
               timeout: float = 30.0) -> HarnessAnthropic:
    """An SDK client on ``connection`` that authenticates with exactly ``headers`` (the path's credential headers).

    An ``authorization: Bearer`` header becomes the SDK's ``auth_token``; everything else is a default header, so
    ``x-api-key`` goes out as ``x-api-key`` even on SDK 2.x (which otherwise sends API keys as Bearer). When the
    headers carry no Anthropic credential (the path holds its own), the gateway key is also the SDK's
    ``auth_token``, as a client set up with ``ANTHROPIC_AUTH_TOKEN=<gateway key>`` sends it.
    """
    auth_token = None
    default_headers: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == AUTHORIZATION and value.startswith("Bearer "):
            auth_token = value[len("Bearer "):]
        elif name.lower() == BETA_HEADER and BETA_HEADER in default_headers:
            default_headers[BETA_HEADER] += "," + value
        else:
            default_headers[name.lower()] = value
    if auth_token is None and API_KEY_HEADER not in default_headers and default_headers:
        auth_token = next(iter(default_headers.values()))
    verify = system_trust(connection.verify)
    transport = _ConnectTo(connection.connect_to, verify=verify) if connection.connect_to else None
    http_client = _http.Client(verify=verify, proxy=connection.proxy, transport=transport,
                               trust_env=False, timeout=timeout)
    return HarnessAnthropic(api_key=None, auth_token=auth_token, base_url=connection.base_url,
                            default_headers=default_headers, max_retries=max_retries, http_client=http_client,
                            timeout=timeout)
