"""``python -m conformance.shim --upstream URL [--placement back|front|both] [--port N]``."""

from __future__ import annotations

import argparse
import os
import sys

from aiohttp import web

from ._server import ShimApp, ShimConfig


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m conformance.shim",
        description="Auth-translating, error-restoring proxy for LiteLLM ↔ Anthropic. Every flag also reads a "
        "SHIM_* environment variable. Access log: one JSON line per request on stderr, credentials redacted. "
        "Health: GET /shim/health.",
    )
    parser.add_argument("--upstream", default=env("SHIM_UPSTREAM"), help="where to forward (SHIM_UPSTREAM), e.g. "
                        "https://api.anthropic.com (back) or http://litellm:4000 (front)")
    parser.add_argument("--placement", default=env("SHIM_PLACEMENT", "back"), choices=["back", "front", "both"],
                        help="back: translate OAuth headers; front: restore wrapped errors (SHIM_PLACEMENT)")
    parser.add_argument("--host", default=env("SHIM_HOST", "127.0.0.1"), help="listen address (SHIM_HOST)")
    parser.add_argument("--port", type=int, default=int(env("SHIM_PORT", "8788")), help="listen port (SHIM_PORT)")
    parser.add_argument("--connect-timeout", type=float, default=float(env("SHIM_CONNECT_TIMEOUT", "10")))
    parser.add_argument("--idle-timeout", type=float, default=float(env("SHIM_IDLE_TIMEOUT", "600")),
                        help="longest silence between two response chunks, seconds (SHIM_IDLE_TIMEOUT)")
    args = parser.parse_args(argv)
    if not args.upstream:
        parser.error("--upstream (or SHIM_UPSTREAM) is required")
    config = ShimConfig(upstream=args.upstream, placement=args.placement, host=args.host, port=args.port,
                        connect_timeout=args.connect_timeout, idle_timeout=args.idle_timeout)
    print(f"shim ({config.placement}) on http://{config.host}:{config.port} -> {config.upstream}", file=sys.stderr,
          flush=True)
    web.run_app(ShimApp(config).app, host=config.host, port=config.port, access_log=None, print=None,
                shutdown_timeout=1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
