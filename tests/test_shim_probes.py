"""
The shim, round two (issue 28): one regression test per row of the probe — what an attacker and a redirecting,
cookie-setting or broken upstream got through — each against the shim as deployed (its own process), on loopback.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import signal
import socket
import threading
import time

import httpx
import pytest

from conformance.shim import translate_auth
from conformance.upstream import DEFAULT_OAUTH_TOKEN, OAUTH_BETA

from ._helpers import api_headers, message_body
from .shimproc import RawServer, RecordingServer, ShimProcess, reply

OK = reply(200, b'{"type":"message"}')


def _raw(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes to the shim and read its whole answer (it closes, or stops talking)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
                if b"\r\n\r\n" in out and b"content-length: " in out.lower():
                    head, _, body = out.partition(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def test_no_cookie_jar_is_shared_between_clients():
    """
    The upstream sets a cookie for client A; client B's request carries no Cookie upstream (one aiohttp jar
    was shared by every client), and A still gets its Set-Cookie as sent.
    """
    upstream = RecordingServer(lambda head, body: reply(200, b"{}", ("set-cookie", "a=b; Path=/")))
    try:  # a host name: aiohttp's jar keeps no cookie of a bare IP address, api.anthropic.com is a name
        with ShimProcess(upstream.url.replace("127.0.0.1", "localhost")) as shim:
            first = httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(), timeout=10)
            httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(), timeout=10)
        assert first.headers["set-cookie"] == "a=b; Path=/"
        assert "cookie" not in upstream.headers(1)
    finally:
        upstream.close()


@pytest.mark.parametrize("status", [302, 307])
def test_redirects_reach_the_client_and_are_never_followed(status):
    """
    A 3xx to another origin (or to the cloud metadata address) is the client's to see: the shim follows none, so
    the credential never goes to the new origin.
    """
    elsewhere = RecordingServer(lambda head, body: OK)
    targets = [elsewhere.url + "/steal", "http://169.254.169.254/latest/meta-data/"]
    upstream = RecordingServer(lambda head, body: reply(status, b"", ("location", targets[len(upstream.hits) % 2])))
    try:
        with ShimProcess(upstream.url) as shim:
            for _ in targets:
                started = time.monotonic()
                response = httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(),
                                      timeout=10)
                assert response.status_code == status and time.monotonic() - started < 2
                assert response.headers["location"] in targets
        assert elsewhere.hits == [] and len(upstream.hits) == 2
    finally:
        upstream.close()
        elsewhere.close()


def _requests(lines: list[dict]) -> int:
    return sum(1 for line in lines if line.get("event") == "request")


@pytest.mark.parametrize("target", [b"/v1/messages/%2e%2e/%2e%2e/key/generate", b"/../../admin",
                                    b"/v1/messages/.%2E/x", b"/v1%2fmessages"])
def test_dot_segments_never_leave_the_upstream_prefix(target):
    """
    Under ``--upstream http://…/anthropic``, a dot segment (plain or percent-encoded) or an encoded slash is
    refused with 400 in the API's shape and nothing reaches the upstream; a plain path is sent under the prefix
    and the log says what was sent.
    """
    upstream = RecordingServer(lambda head, body: OK)
    try:
        with ShimProcess(upstream.url + "/anthropic") as shim:
            answer = _raw(shim.port, b"POST " + target + b" HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}")
            assert answer.startswith(b"HTTP/1.1 400") and b"invalid_request_error" in answer
            assert upstream.hits == []
            httpx.post(shim.url + "/v1/messages?beta=true", json=message_body(), headers=api_headers(), timeout=10)
            assert upstream.hits[0][0].startswith(b"POST /anthropic/v1/messages?beta=true ")
            sent = [line for line in shim.lines_once(lambda ls: any(x.get("status") == 200 for x in ls))
                    if line.get("status") == 200]
            assert sent[-1]["upstream_path"] == "/anthropic/v1/messages?beta=true"
    finally:
        upstream.close()


def test_a_gzip_request_body_goes_upstream_byte_for_byte():
    """
    A gzip-encoded body (a 1 MB bomb of 1 GiB of zeros among them) arrives upstream as the bytes the client sent,
    with its Content-Encoding and length: the shim decompressed it and sent the client's length with it.
    """
    upstream = RecordingServer(lambda head, body: OK)
    small = gzip.compress(json.dumps(message_body()).encode())
    bomb = gzip.compress(b"\0" * (1 << 30), compresslevel=9)
    try:
        with ShimProcess(upstream.url) as shim:
            for body in (small, bomb):
                response = httpx.post(shim.url + "/v1/messages", content=body, timeout=30,
                                      headers={**api_headers(), "content-encoding": "gzip"})
                assert response.status_code == 200
                head, got = upstream.hits[-1]
                assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()
                assert upstream.headers()["content-encoding"] == "gzip"
                assert upstream.headers()["content-length"] == str(len(body))
    finally:
        upstream.close()


def test_a_trickled_or_stalled_body_is_answered_408_and_frees_its_slot():
    """
    A body trickled at 1 byte/s is refused once past the 5 s grace (minimum rate); ten half-sent bodies that go
    silent are refused at the body idle timeout, after which an eleventh client gets through (with
    --max-connections 10 it got 529 for as long as the attacker held on); a client that leaves mid-body leaves a
    log line.
    """
    upstream = RecordingServer(lambda head, body: OK)
    head = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
    try:
        with ShimProcess(upstream.url, "back", "--max-connections", "11", "--body-idle-timeout", "2",
                         "--min-body-rate", "100") as shim:
            with socket.create_connection(("127.0.0.1", shim.port), timeout=15) as sock:
                sock.sendall(head)
                started, answer = time.monotonic(), b""
                while not answer and time.monotonic() - started < 12:
                    sock.sendall(b" ")
                    sock.settimeout(1)
                    try:
                        answer = sock.recv(4096)
                    except TimeoutError:
                        pass
                assert answer.startswith(b"HTTP/1.1 408") and 5 <= time.monotonic() - started < 8
            stalled = [socket.create_connection(("127.0.0.1", shim.port), timeout=10) for _ in range(10)]
            for sock in stalled:
                sock.sendall(head + b'{"model":')
            started = time.monotonic()
            answers = [sock.recv(4096) for sock in stalled]
            assert all(a.startswith(b"HTTP/1.1 408") for a in answers) and time.monotonic() - started < 4
            for sock in stalled:
                sock.close()
            response = httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(), timeout=10)
            assert response.status_code == 200
            with socket.create_connection(("127.0.0.1", shim.port), timeout=10) as gone:
                gone.sendall(head + b'{"model":')
                time.sleep(0.3)
            deadline = time.monotonic() + 5
            while not any(line.get("event") == "client-gone" for line in shim.lines()) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert any(line.get("event") == "client-gone" and line.get("phase") == "request" for line in shim.lines())
            refused = [line for line in shim.lines() if line.get("refused") == "body"]
            assert len(refused) >= 11 and {line["status"] for line in refused} == {408}
    finally:
        upstream.close()


def test_a_header_section_over_60_kib_is_431_with_bounded_memory():
    """
    120 headers of 16 KiB (1.96 MB of headers), 20 such requests open at once: each is answered 431 while its
    headers still arrive, and the shim's peak memory stays near its idle size (it grew 37 → 152 MB).
    """
    upstream = RecordingServer(lambda head, body: OK)
    big = b"".join(b"x-pad-%d: %s\r\n" % (i, b"a" * 16_000) for i in range(120))
    try:
        with ShimProcess(upstream.url) as shim:
            idle = shim.peak_rss_mb()
            answers: list[bytes] = []

            def attack() -> None:
                answers.append(_raw(shim.port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n"))

            threads = [threading.Thread(target=attack) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
            assert len(answers) == 20 and all(a.startswith(b"HTTP/1.1 431") for a in answers), answers[:1]
            assert shim.peak_rss_mb() - idle < 25, (idle, shim.peak_rss_mb())
            assert upstream.hits == []
    finally:
        upstream.close()


@pytest.mark.parametrize("message", ["b''" + ",b''" * 200_000, '{"type":"error"' * 50_000],
                         ids=["bytes-reprs", "envelope-starts"])
def test_front_restoration_is_bounded_work_per_byte(message):
    """
    A wrapped error message built to blow up the front placement's restoration (0.8 MB of ``b'',b'',…``, 50k
    envelope starts in 0.95 MB) passes through as it came, the event loop answering health checks meanwhile
    (it stalled 0.72-0.87 s) and memory near idle (it peaked at 231 MB).
    """
    body = json.dumps({"error": {"message": message, "type": "None", "param": None, "code": "500"}}).encode()
    upstream = RecordingServer(lambda head, got: reply(500, body))
    try:
        with ShimProcess(upstream.url, "front") as shim:
            idle = shim.peak_rss_mb()
            worst: list[float] = []
            stop = threading.Event()

            def probe() -> None:
                while not stop.is_set():
                    started = time.monotonic()
                    httpx.get(shim.url + "/shim/health", timeout=5)
                    worst.append(time.monotonic() - started)

            prober = threading.Thread(target=probe)
            prober.start()
            try:
                for _ in range(3):
                    response = httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(),
                                          timeout=20)
                    assert response.status_code == 500 and response.content == body
            finally:
                stop.set()
                prober.join(10)
            assert max(worst) < 0.25, max(worst)
            assert shim.peak_rss_mb() - idle < 40, (idle, shim.peak_rss_mb())
    finally:
        upstream.close()


def test_sigterm_drain_ends_within_its_one_deadline(session_upstream):
    """
    With streams open and --drain-timeout 4, SIGTERM to exit takes about 4 s (it took 8.4 s, twice the setting,
    and the default 30 s became ~60 s, past Kubernetes' grace period).
    """
    with ShimProcess(session_upstream.base_url, "back", "--drain-timeout", "4") as shim:
        streams = []
        for _ in range(3):
            client = httpx.Client(timeout=30)
            request = client.build_request("POST", shim.url + "/v1/messages", headers=api_headers(),
                                           json=message_body(stream=True, deltas=3, gap=30))
            response = client.send(request, stream=True)
            chunks = response.iter_raw()  # kept: a dropped iterator closes its response
            next(chunks)
            streams.append((client, response, chunks))
        started = time.monotonic()
        shim.process.send_signal(signal.SIGTERM)
        shim.process.wait(15)
        took = time.monotonic() - started
        for client, response, _ in streams:
            response.close()
            client.close()
        assert 3.5 <= took <= 4.5, took
        assert any(line.get("event") == "stopped" and line.get("cut_connections") == 3 for line in shim.lines())


def test_forwarding_and_client_state_headers_stay_behind_unless_kept():
    """
    Back placement: Cookie, Forwarded, X-Forwarded-*, Via and X-Real-IP from the client never reach Anthropic;
    ``--drop-headers ''`` forwards them all.
    """
    sent = {"cookie": "session=abc", "forwarded": "for=10.0.0.1", "x-forwarded-for": "10.0.0.1",
            "x-forwarded-proto": "https", "via": "1.1 corp-proxy", "x-real-ip": "10.0.0.1"}
    upstream = RecordingServer(lambda head, body: OK)
    try:
        with ShimProcess(upstream.url) as shim:
            httpx.post(shim.url + "/v1/messages", json=message_body(), headers={**api_headers(), **sent}, timeout=10)
        assert not set(sent) & set(upstream.headers())
        with ShimProcess(upstream.url, "back", "--drop-headers", "") as shim:
            httpx.post(shim.url + "/v1/messages", json=message_body(), headers={**api_headers(), **sent}, timeout=10)
        assert set(sent) <= set(upstream.headers())
    finally:
        upstream.close()


def test_a_lower_case_bearer_scheme_is_still_oauth():
    """
    ``authorization: bearer sk-ant-oat…`` is OAuth (the scheme is case-insensitive, RFC 9110 §11.1): it goes
    upstream as Bearer with the oauth beta, and the log says translated only when something was.
    """
    out = translate_auth([("authorization", f"bearer {DEFAULT_OAUTH_TOKEN}")])
    assert ("authorization", f"Bearer {DEFAULT_OAUTH_TOKEN}") in out and ("anthropic-beta", OAUTH_BETA) in out
    upstream = RecordingServer(lambda head, body: OK)
    try:
        with ShimProcess(upstream.url) as shim:
            httpx.post(shim.url + "/v1/messages", json=message_body(), timeout=10,
                       headers={"authorization": f"bearer {DEFAULT_OAUTH_TOKEN}", "anthropic-version": "2023-06-01"})
            httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(), timeout=10)
            lines = [line for line in shim.lines_once(lambda ls: _requests(ls) == 2) if line.get("event") == "request"]
        assert upstream.headers(0)["anthropic-beta"] == OAUTH_BETA
        assert upstream.headers(0)["authorization"] == f"Bearer {DEFAULT_OAUTH_TOKEN}"
        assert [line["auth"] for line in lines] == ["translated", "kept"]
    finally:
        upstream.close()


@pytest.mark.parametrize("behaviour, status", [("reset", 502), ("garbage", 502), ("unreachable", 503)])
def test_a_broken_upstream_is_an_answer_the_client_can_act_on(behaviour, status):
    """
    An upstream that resets, answers garbage or cannot be reached is a 502/503 in the API's error shape with
    x-should-retry: true (the client got a reset or 0 bytes); the log line has the status the client got and no
    spurious shim-error line.
    """
    def answer(head: bytes, conn: socket.socket) -> bytes | None:
        if behaviour == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return None
        return b"NOT HTTP AT ALL\r\n\r\n"

    server = RawServer(answer)
    url = server.url if behaviour != "unreachable" else "http://127.0.0.1:9"
    try:
        with ShimProcess(url) as shim:
            response = httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(), timeout=15)
            lines = shim.lines_once(lambda ls: _requests(ls) == 1)
        assert response.status_code == status and response.headers["x-should-retry"] == "true"
        assert response.json()["type"] == "error"
        assert [line["status"] for line in lines if line.get("event") == "request"] == [status]
        assert not [line for line in lines if line.get("event") == "shim-error"]
    finally:
        server.close()


def test_a_body_the_upstream_cuts_is_logged_as_cut():
    """
    A response whose body ends before its Content-Length is cut for the client too, and logged as cut, not as a
    normal 200.
    """
    server = RawServer(lambda head, conn: b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                          b"content-length: 100\r\n\r\n{\"type\":")
    try:
        with ShimProcess(server.url) as shim:
            with pytest.raises(httpx.HTTPError):
                httpx.post(shim.url + "/v1/messages", json=message_body(), headers=api_headers(), timeout=10)
            lines = [line for line in shim.lines_once(lambda ls: _requests(ls) == 1) if line.get("event") == "request"]
        assert lines and lines[-1]["outcome"] == "cut"
    finally:
        server.close()


def test_header_bytes_pass_unchanged_or_are_refused():
    """
    A UTF-8 header value arrives upstream byte for byte; a Latin-1 byte (not UTF-8) is refused with 400 rather
    than re-encoded (it arrived upstream as UTF-8, two bytes for one).
    """
    upstream = RecordingServer(lambda head, body: OK)
    base = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n"
    try:
        with ShimProcess(upstream.url) as shim:
            answer = _raw(shim.port, base + "x-team: café\r\n\r\n{}".encode())
            assert answer.startswith(b"HTTP/1.1 200")
            assert "x-team: café".encode() in upstream.hits[-1][0]
            answer = _raw(shim.port, base + b"x-team: caf\xe9\r\n\r\n{}")
            assert answer.startswith(b"HTTP/1.1 400") and len(upstream.hits) == 1
    finally:
        upstream.close()
