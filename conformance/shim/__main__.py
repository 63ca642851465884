"""``python -m conformance.shim --upstream URL [--placement back|front|both] [--port N] [limits…]``."""

from __future__ import annotations

import argparse
import os
import sys

from ._config import ShimConfig
from ._edge import AccessLog, run
from ._server import ShimApp

# flag: (ShimConfig field, type, help); every flag also reads SHIM_<FIELD>.
_LIMITS = {
    "--connect-timeout": ("connect_timeout", float, "seconds to connect to the upstream"),
    "--idle-timeout": ("idle_timeout", float, "longest silence between two response chunks, seconds"),
    "--header-timeout": ("header_timeout", float, "seconds a client has to send a request's headers"),
    "--keepalive-timeout": ("keepalive_timeout", float, "seconds an idle client connection stays open"),
    "--upstream-keepalive-timeout": ("upstream_keepalive_timeout", float,
                                     "seconds an idle upstream connection is kept for reuse"),
    "--max-connections": ("max_connections", int, "client connections at once; more get 529 overloaded_error"),
    "--max-headers": ("max_headers", int, "request headers per request"),
    "--max-header-bytes": ("max_header_bytes", int, "longest request header line"),
    "--max-request-headers-bytes": ("max_request_headers_bytes", int, "a request's whole header section, bytes "
                                    "(431 above)"),
    "--delayed-close-timeout": ("delayed_close_timeout", float, "after a 431, seconds the client's bytes are read "
                                "and dropped before closing"),
    "--body-idle-timeout": ("body_idle_timeout", float, "longest silence inside a request body, seconds (408)"),
    "--body-timeout": ("body_timeout", float, "longest a request body may take in all, seconds (408)"),
    "--min-body-rate": ("min_body_rate", int, "bytes/s a request body must average after its first 5 s (408)"),
    "--max-body": ("max_body", int, "largest request body, bytes (413 above)"),
    "--max-error-body": ("max_error_body", int, "front: error bodies inspected up to this size, bytes"),
    "--drain-timeout": ("drain_timeout", float, "on SIGTERM, seconds requests in flight may take to finish"),
}


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    defaults = ShimConfig(upstream="")
    parser = argparse.ArgumentParser(
        prog="python -m conformance.shim",
        description="Auth-translating, error-restoring proxy for LiteLLM ↔ Anthropic. Every flag also reads a "
        "SHIM_* environment variable. Log: one JSON line per request and event on stderr, credentials redacted. "
        "Health: GET /shim/health.",
    )
    parser.add_argument("--upstream", default=env("SHIM_UPSTREAM"), help="where to forward (SHIM_UPSTREAM), e.g. "
                        "https://api.anthropic.com (back) or http://litellm:4000 (front)")
    parser.add_argument("--placement", default=env("SHIM_PLACEMENT", "back"), choices=["back", "front", "both"],
                        help="back: translate OAuth headers; front: restore wrapped errors (SHIM_PLACEMENT)")
    parser.add_argument("--host", default=env("SHIM_HOST", "127.0.0.1"), help="listen address (SHIM_HOST)")
    parser.add_argument("--port", type=int, default=int(env("SHIM_PORT", "8788")), help="listen port (SHIM_PORT)")
    parser.add_argument("--strip-header", action="append", default=None, help="back: a header never forwarded "
                        "upstream (repeatable; default x-litellm-api-key; SHIM_STRIP_HEADERS, comma-separated)")
    parser.add_argument("--drop-headers", default=env("SHIM_DROP_HEADERS", ",".join(defaults.drop_headers)),
                        help="back: forwarding and client-state headers never sent upstream, comma-separated, '*' "
                        f"ends a prefix; '' keeps them all (default {','.join(defaults.drop_headers)}; "
                        "SHIM_DROP_HEADERS)")
    for flag, (field, kind, text) in _LIMITS.items():
        variable = "SHIM_" + field.upper()
        parser.add_argument(flag, type=kind, default=kind(env(variable, getattr(defaults, field))),
                            help=f"{text} (default {getattr(defaults, field)}; {variable})")
    args = parser.parse_args(argv)
    if not args.upstream:
        parser.error("--upstream (or SHIM_UPSTREAM) is required")
    strip = args.strip_header or [h for h in (env("SHIM_STRIP_HEADERS") or "").split(",") if h.strip()]
    config = ShimConfig(upstream=args.upstream, placement=args.placement, host=args.host, port=args.port,
                        strip_headers=tuple(dict.fromkeys(["x-litellm-api-key", *strip])),
                        drop_headers=tuple(h.strip() for h in args.drop_headers.split(",") if h.strip()),
                        **{field: getattr(args, field) for field, _, _ in _LIMITS.values()})
    log = AccessLog(sys.stderr)
    run(config, ShimApp(config, log).app, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
