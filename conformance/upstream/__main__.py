"""``python -m conformance.upstream --port 0 [--tls]``: run the reference upstream until stopped."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from ..core._redact import register_secret
from ._config import DEFAULT_API_KEY, DEFAULT_OAUTH_TOKEN, UpstreamConfig
from ._runner import ReferenceUpstream
from ._tls import LocalCA


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
    parser.add_argument("--harness", action="store_true",
                        help="started by the harness (UpstreamProcess): the configuration as one JSON line on stdin, "
                        "one JSON ready line on stdout, HTTP and HTTPS both served, exit when stdin closes")
    parser.add_argument("--ca-dir", type=Path, help="with --harness: where the per-run CA's PEM is written")
    args = parser.parse_args(argv)
    if args.harness:
        return _serve_harness(args.ca_dir)

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


def _exit_now(*_: object) -> None:
    raise SystemExit(0)


def _serve_harness(ca_dir: Path | None) -> int:
    """Serve for ``UpstreamProcess``: HTTP and HTTPS (one journal), port 443 on a loopback address where allowed;
    stop when the harness closes stdin (it stopped us, or it is gone)."""
    config = UpstreamConfig.from_json(json.loads(sys.stdin.readline()))
    for secret in config.api_keys | config.oauth_tokens:
        register_secret(secret)
    signal.signal(signal.SIGTERM, _exit_now)
    upstream = ReferenceUpstream(config, also_tls=True, ca=LocalCA.create(directory=ca_dir)).start()
    assert upstream.ca is not None
    ready: dict[str, object] = {"base_url": upstream.base_url, "tls_port": upstream.tls_port,
                                "ca_pem": str(upstream.ca.ca_pem)}
    try:
        ready["api_address"] = upstream.api_address()
    except OSError as exc:  # PermissionError without root: gateways that resolve the name themselves say why
        ready["api_address_error"] = str(exc)
    print(json.dumps(ready), flush=True)
    try:
        while sys.stdin.buffer.read(1 << 16):
            pass
    except (OSError, ValueError, KeyboardInterrupt):
        pass
    finally:
        upstream.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
