"""Real-socket front end: the simulator core behind an aiohttp.web server.

Why aiohttp.web: the client already depends on aiohttp, so the simulator adds no dependency;
its C HTTP parser makes it one of the fastest asyncio servers in Python (the simulator must
keep up with a client sending thousands of requests per second on a small machine); and its
low-level :class:`aiohttp.web.Server` lets us skip routing, middleware and access logging, and
close a connection without writing a byte, which the ``drop_*`` faults need.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ._core import Action, SimulatorCore

__all__ = ["SimulatorServer"]

#: Seconds to let in-flight requests finish when the server stops.
_SHUTDOWN_TIMEOUT = 1.0


class SimulatorServer:
    """Serves a :class:`SimulatorCore` on a TCP port of the running event loop."""

    def __init__(self, core: SimulatorCore, host: str, port: int) -> None:
        self._core = core
        self._host = host
        self._port = port
        self._runner: web.ServerRunner | None = None

    async def start(self) -> tuple[str, int]:
        """Listen; return the bound ``(host, port)`` (the real port when ``port`` was 0)."""
        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        return str(host), int(port)

    async def close(self) -> None:
        """Stop listening, close open connections."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        reply = self._core.handle(request.method, _with_query(request), request.headers, body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.action is Action.DROP:
            transport = request.transport
            if transport is not None:
                transport.abort()
            # aiohttp will fail to write this to the aborted transport and treat it as a
            # client disconnection: nothing reaches the wire.
            return web.Response()
        return web.Response(status=reply.status, headers=reply.headers, body=reply.body)


def _with_query(request: web.BaseRequest) -> str:
    """The decoded path, and the raw query after a ``?`` when there is one (a GET's)."""
    query = request.query_string
    return f"{request.path}?{query}" if query else request.path
