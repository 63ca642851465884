"""The shim: a small deployable proxy that fixes what LiteLLM does to Anthropic traffic.

Placed between LiteLLM and Anthropic it moves an OAuth token LiteLLM sent as ``x-api-key`` to
``Authorization: Bearer`` with the ``oauth-2025-04-20`` beta; placed in front of LiteLLM it restores the Anthropic
error envelope LiteLLM re-wrapped and exposes its ``request_id`` as the ``request-id`` header. Everything else streams
through unchanged, in both directions.
"""

from ._config import ShimConfig
from ._server import ShimApp
from ._translate import restore_error, translate_auth

__all__ = ["ShimApp", "ShimConfig", "restore_error", "translate_auth"]
