"""ThreadedSimulator: the simulator on its own loop in a thread, for sync code and any loop."""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
import pytest
from simulator_support import AUTH, CAMPAIGNS, KEY, campaign

from braze_async.simulator import ThreadedSimulator


def test_sync_code_can_use_it() -> None:
    """A blocking httpx client talks to the threaded simulator over real sockets."""
    with ThreadedSimulator(KEY, external_id_rate="2/60", window="sliding") as sim:
        assert sim.api_key == KEY
        with httpx.Client(base_url=sim.base_url, headers=AUTH) as http:
            statuses = [http.post(CAMPAIGNS, json=campaign()).status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
        assert sim.stats.rate_limited == 1
        assert sim.delivered_counts() == {"external_user_id:u0": 2}
        assert len(sim.delivered()) == 2
        sim.reset()
        assert sim.consume_budget("external_id", 5) == 2
        assert "ThreadedSimulator" in repr(sim)
    assert not [t for t in threading.enumerate() if t.name == "braze-simulator"]


def test_another_event_loop_can_use_it() -> None:
    """An event loop in the calling thread reaches it, and may block, like a remote server."""

    async def main(base_url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as http:
            answers = await asyncio.gather(
                *(http.post(CAMPAIGNS, json=campaign()) for _ in range(10))
            )
        return [answer.status_code for answer in answers]

    with ThreadedSimulator(KEY) as sim:
        assert asyncio.run(main(sim.base_url)) == [201] * 10
        assert sim.stats.accepted == 10


def test_busy_port_is_reported_in_the_caller() -> None:
    """A failure to bind surfaces as OSError from start(), and no thread is left behind."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        sim = ThreadedSimulator(KEY, port=port)
        with pytest.raises(OSError, match="address already in use"):
            sim.start()
    assert not [t for t in threading.enumerate() if t.name == "braze-simulator"]
    sim.stop()  # a no-op: it never ran


def test_stop_is_idempotent_and_start_twice_is_refused() -> None:
    """stop() twice is harmless; start() on a running one is a RuntimeError."""
    sim = ThreadedSimulator(KEY)
    sim.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            sim.start()
    finally:
        sim.stop()
        sim.stop()
