"""The shim as deployed (``python -m conformance.shim`` in its own process) and a raw HTTP server that answers with
exactly the bytes a test gives it (a cut body, a bad header), for the shim's edge tests."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from conformance.paths._process import free_port, proc_status_mb


class ShimProcess:
    """One ``python -m conformance.shim`` process; ``lines()`` are its stderr JSON lines."""

    def __init__(self, upstream: str, placement: str = "back", *flags: str, max_files: int | None = None) -> None:
        self.port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix="shim-", suffix=".log")[1])
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance.shim", "--upstream", upstream, "--placement", placement,
             "--port", str(self.port), *flags], stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files)))
            if max_files else None)
        deadline = time.monotonic() + 20
        while not any(line.get("event") == "listening" for line in self.lines()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the shim did not start: {self.text()[-500:]}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self) -> list[dict]:
        """Every stderr line as JSON; a line that is not JSON fails the test that reads it."""
        text = self.text()
        complete = text[: text.rfind("\n") + 1]  # a line still being written is read next time
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def lines_once(self, seen: Callable[[list[dict]], bool], within: float = 5.0) -> list[dict]:
        """Every stderr line as JSON, once ``seen(lines)`` holds (or ``within`` seconds have passed): the shim logs
        a request after its response is complete, so a client can read the answer before the line is written."""
        deadline = time.monotonic() + within
        lines = self.lines()
        while not seen(lines) and time.monotonic() < deadline:
            time.sleep(0.02)
            lines = self.lines()
        return lines

    def peak_rss_mb(self) -> float:
        return proc_status_mb(self.process.pid, "VmHWM") or 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self._log.close()

    def __enter__(self) -> ShimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RawServer:
    """Answers every connection with ``answer(request_head)`` bytes, then closes it (a thread per connection)."""

    def __init__(self, answer: Callable[[bytes, socket.socket], bytes | None]) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            reply = self.answer(head, conn)
            if reply:
                conn.sendall(reply)

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def established_to(port: int) -> int:
    """TCP connections in state ESTABLISHED whose remote end is loopback ``port`` (from /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[2].split(":")[1], 16) == port:
            count += 1
    return count


class RecordingServer:
    """An upstream that records every request whole (head and body, read by Content-Length or chunked) and answers
    each with ``answer(head, body)`` bytes; ``hits`` is every ``(head, body)`` it got."""

    def __init__(self, answer: Callable[[bytes, bytes], bytes | None]) -> None:
        self.answer = answer
        self.hits: list[tuple[bytes, bytes]] = []
        self.server = RawServer(self._one)

    @property
    def url(self) -> str:
        return self.server.url

    def _one(self, head: bytes, conn: socket.socket) -> bytes | None:
        head, _, body = head.partition(b"\r\n\r\n")
        lowered = head.lower()
        if b"transfer-encoding: chunked" in lowered:
            while not body.endswith(b"0\r\n\r\n"):
                data = conn.recv(65536)
                if not data:
                    break
                body += data
        else:
            length = next((int(line.split(b":", 1)[1]) for line in lowered.split(b"\r\n")
                           if line.startswith(b"content-length:")), 0)
            while len(body) < length:
                data = conn.recv(min(1 << 20, length - len(body)))
                if not data:
                    break
                body += data
        self.hits.append((head, body))
        return self.answer(head, body)

    def headers(self, index: int = -1) -> dict[str, str]:
        """The headers of request ``index`` (lower-case names; the last value of a repeated one)."""
        lines = self.hits[index][0].decode("latin-1").split("\r\n")[1:]
        return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}

    def close(self) -> None:
        self.server.close()


def reply(status: int, body: bytes = b"{}", *extra: tuple[str, str], content_type: str = "application/json") -> bytes:
    """A whole HTTP/1.1 response with ``body`` and the ``extra`` headers, connection closed after it."""
    head = [f"HTTP/1.1 {status} X", f"content-type: {content_type}", f"content-length: {len(body)}",
            "connection: close", *(f"{k}: {v}" for k, v in extra)]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
