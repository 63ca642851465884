"""``python -m conformance.upstream --port 0 [--tls]``: run the reference upstream until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .._redact import register_secret
from ._config import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, UpstreamConfig
from ._runner import ReferenceUpstream


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.upstream",
        description="A local api.anthropic.com for egress-path conformance tests. Prints its base URL, then serves "
        "until interrupted. The journal is at <base>/_conformance/journal?cid=ID.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS for api.anthropic.com from a local CA")
    parser.add_argument("--api-key", action="append", help="accepted API key (repeatable)")
    parser.add_argument("--oauth-token", action="append", help="accepted OAuth token (repeatable)")
    parser.add_argument(
        "--oauth-in-x-api-key",
        choices=["rate_limit", "invalid_key", "bad_request", "accept"],
        default="rate_limit",
        help="answer to an OAuth token sent as x-api-key (default: the seed's observed 429)",
    )
    parser.add_argument("--gzip", action=argparse.BooleanOptionalAction, default=True,
                        help="gzip successful responses for clients that accept it, as the 2026 API does "
                        "(--no-gzip: never)")
    parser.add_argument("--min-cacheable-tokens", type=int, default=1024)
    args = parser.parse_args(argv)

    config = UpstreamConfig(
        api_keys=set(args.api_key or [DEFAULT_API_KEY]),
        oauth_tokens=set(args.oauth_token or [DEFAULT_OAUTH_TOKEN]),
        oauth_in_api_key=args.oauth_in_x_api_key,
        gzip=args.gzip,
        min_cacheable_tokens=args.min_cacheable_tokens,
    )
    for secret in config.api_keys | config.oauth_tokens:
        register_secret(secret)
    stop = threading.Event()
    # Installed before the URL is printed: whoever reads the URL may send SIGTERM right away.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    upstream = ReferenceUpstream(config, tls=args.tls, host=args.host, port=args.port)
    try:
        upstream.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(upstream.base_url, flush=True)
    if upstream.ca is not None:
        print(f"ca: {upstream.ca.ca_pem}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        upstream.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
