"""In-process front end: an httpx transport that calls the simulator core directly.

No sockets, no threads: ``httpx.AsyncClient(transport=sim.transport())`` talks to the same
state as the HTTP server. Dropped connections surface exactly as httpx reports a server that
closed the connection without answering, so the client cannot tell ``drop_before`` from
``drop_after`` (neither can it against real Braze).
"""

from __future__ import annotations

import anyio
import httpx

from ._core import Action, SimulatorCore

__all__ = ["SimulatorTransport"]


class SimulatorTransport(httpx.AsyncBaseTransport):
    """An :class:`httpx.AsyncBaseTransport` answering from a simulator, in process.

    Works under asyncio and trio (latency is awaited with :func:`anyio.sleep`). Any host in
    the request URL is accepted; only the path matters::

        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://braze") as c:
            await c.post("/campaigns/trigger/send", json=body, headers=auth)
    """

    def __init__(self, core: SimulatorCore) -> None:
        self._core = core

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the simulator's core."""
        body = await request.aread()
        path, query = request.url.path, request.url.query.decode("ascii")
        path = f"{path}?{query}" if query else path  # a GET's parameters are in its query
        reply = self._core.handle(request.method, path, request.headers, body)
        if reply.delay:
            await anyio.sleep(reply.delay)
        if reply.action is Action.DROP:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            reply.status, headers=reply.headers, content=reply.body, request=request
        )
