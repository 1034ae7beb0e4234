"""Two tiny loopback servers for the network tests: an HTTP proxy and a TLS front.

:class:`Proxy` speaks enough HTTP proxy to be one: ``CONNECT host:port`` opens a tunnel (how
HTTPS travels through a proxy), and an absolute-form request (``POST http://host/path``) is
forwarded to its host as it is. It counts what it did, and can refuse every ``CONNECT``, or
never answer one.

:class:`TlsFront` terminates TLS with a certificate from a throwaway CA (``trustme``) and
pipes the plain bytes to another server (the simulator): an ``https://`` Braze on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

import trustme
from typing_extensions import Self


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _join(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    await asyncio.gather(_pipe(client[0], server[1]), _pipe(server[0], client[1]))


class _Server:
    """An asyncio server on a free loopback port; the subclass handles each connection."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _ssl(self) -> ssl.SSLContext | None:
        return None

    async def __aenter__(self) -> Self:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await self._handle(reader, writer)
            finally:
                self._tasks.discard(task)

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self._ssl())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


class Proxy(_Server):
    """An HTTP proxy on loopback: ``url`` to give clients; counters of what it did."""

    def __init__(self, *, refuse: bool = False, silent: bool = False) -> None:
        super().__init__()
        self.refuse = refuse
        #: Accept the connection, read the ``CONNECT``, and never answer it.
        self.silent = silent
        #: Set at the first ``CONNECT``.
        self.tunnelled = asyncio.Event()
        #: One item per silent ``CONNECT`` whose client hung up.
        self.hung_up: asyncio.Queue[str] = asyncio.Queue()
        #: Connections clients opened to the proxy.
        self.connections = 0
        #: ``CONNECT`` targets asked for, in order ("host:port").
        self.tunnels: list[str] = []
        #: Absolute-form requests forwarded (their first line only).
        self.forwarded: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        if method == "CONNECT":
            self.tunnels.append(target)
            self.tunnelled.set()
            if self.silent:
                try:
                    await reader.read()  # until the client gives up and hangs up
                    self.hung_up.put_nowait(target)
                finally:
                    writer.close()
                return
            if self.refuse:
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
                )
                await writer.drain()
                writer.close()
                return
            host, port = target.rsplit(":", 1)
            upstream = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            self.forwarded.append(f"{method} {target}")
            parts = urlsplit(target)
            assert parts.hostname is not None and parts.port is not None
            upstream = await asyncio.open_connection(parts.hostname, parts.port)
            upstream[1].write(head)  # absolute-form: servers must accept it as it is
        await _join((reader, writer), upstream)


class TlsFront(_Server):
    """``https://localhost:port`` in front of a plain-HTTP server at *backend_port*."""

    def __init__(self, backend_port: int) -> None:
        super().__init__()
        self._backend_port = backend_port
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("localhost", "127.0.0.1")

    def _ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this front's CA (and nothing else)."""
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await asyncio.open_connection("127.0.0.1", self._backend_port)
        await _join((reader, writer), upstream)
