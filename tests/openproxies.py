"""Allowlist-free paths for the egress.* checks to catch: a TCP forwarder (any SNI) and a CONNECT proxy (any host)."""

from __future__ import annotations

import asyncio
import threading

from conformance.core._background import end_other_tasks


class _AsyncioServer:
    """An asyncio stream server on a free loopback port, in its own thread."""

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self.handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(end_other_tasks())
        self._loop.close()

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _splice(client_r, client_w, target: tuple[str, int]) -> None:  # type: ignore[no-untyped-def]
    try:
        upstream_r, upstream_w = await asyncio.open_connection(*target)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(_pipe(client_r, upstream_w), _pipe(upstream_r, client_w))


class OpenTcpForwarder(_AsyncioServer):
    """Forwards every connection to ``target``, whatever its SNI: no allowlist at all."""

    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__()
        self.target = target

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _splice(reader, writer, self.target)


class OpenConnectProxy(_AsyncioServer):
    """Answers 200 to every CONNECT (any host, any port) and tunnels it to ``target``; also answers plain GETs."""

    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__()
        self.target = target

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"CONNECT "):
            writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
            await writer.drain()
            await _splice(reader, writer, self.target)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
