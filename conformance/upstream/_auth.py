"""Authentication and version checks, answered as the real API does (reference doc §3 and §8)."""

from __future__ import annotations

from collections.abc import Iterable

from ..core._wire import OAUTH_BETA, OAUTH_PREFIX, split_betas
from ._config import UpstreamConfig
from ._problems import ApiError


def authenticate(
    x_api_key: str | None, authorization: str | None, beta_values: Iterable[str], config: UpstreamConfig
) -> str:
    """Return the credential's kind (``api-key`` / ``oauth``) or raise the API's error for it."""
    if x_api_key is not None:
        if x_api_key in config.api_keys:
            return "api-key"
        if x_api_key.startswith(OAUTH_PREFIX):
            mode = config.oauth_in_api_key
            if mode == "rate_limit":
                raise ApiError(429, "Error")
            if mode == "bad_request":
                raise ApiError(400, "Error")
            if mode == "accept" and x_api_key in config.oauth_tokens:
                return "oauth"
        raise ApiError(401, "invalid x-api-key", authenticated=False)
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "invalid x-api-key", authenticated=False)
        if token in config.api_keys:
            return "api-key"
        if token.startswith(OAUTH_PREFIX):
            if OAUTH_BETA not in split_betas(beta_values):
                raise ApiError(401, "OAuth authentication is currently not supported.", authenticated=False)
            if token in config.oauth_tokens:
                return "oauth"
            raise ApiError(401, "OAuth access token is invalid.", authenticated=False, null_request_id=True)
        raise ApiError(401, "invalid x-api-key", authenticated=False)
    raise ApiError(401, "x-api-key header is required", authenticated=False)


def check_version(values: list[str], config: UpstreamConfig) -> str:
    """The ``anthropic-version`` value, or the API's 400; a repeated header reads as its comma-joined values."""
    if not values:
        raise ApiError(400, "anthropic-version: header is required")
    value = ", ".join(values)
    if value not in config.versions:
        raise ApiError(400, f'anthropic-version: "{value}" is not a valid version')
    return value
