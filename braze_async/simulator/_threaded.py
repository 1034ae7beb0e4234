"""``ThreadedSimulator``: a simulator on its own event loop in a background thread.

Synchronous code, pytest fixtures and clients on any async framework (asyncio, trio, another
loop) can then talk to it over real sockets while it keeps serving.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from ._clock import Clock
from ._core import WindowKind
from ._models import RateSpec
from ._simulator import (
    DEFAULT_AUDIENCE_RATE,
    DEFAULT_EXTERNAL_ID_RATE,
    DEFAULT_PER_AUDIENCE_RATE,
    BrazeSimulator,
    SimulatorState,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ThreadedSimulator"]


class ThreadedSimulator(SimulatorState):
    """Run a :class:`BrazeSimulator` in a daemon thread with its own event loop.

    Takes the same arguments as :class:`BrazeSimulator` (described there)::

        with ThreadedSimulator(external_id_rate="50/4") as sim:
            httpx.post(f"{sim.base_url}/campaigns/trigger/send", json=body,
                       headers={"Authorization": f"Bearer {sim.api_key}"})
            assert sim.stats.accepted == 1

    The state accessors are safe to call from any thread.
    """

    def __init__(
        self,
        api_key: str = "sim-key",
        *,
        external_id_rate: RateSpec = DEFAULT_EXTERNAL_ID_RATE,
        audience_rate: RateSpec = DEFAULT_AUDIENCE_RATE,
        per_audience_rate: RateSpec = DEFAULT_PER_AUDIENCE_RATE,
        window: WindowKind = "fixed",
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        fault_5xx: float = 0.0,
        fault_429: float = 0.0,
        drop_before: float = 0.0,
        drop_after: float = 0.0,
        seed: int | None = None,
        record: bool = True,
        dedup_ttl: float = 86400.0,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        #: The simulator this thread runs (its state is readable from any thread).
        self.simulator = BrazeSimulator(
            api_key,
            external_id_rate=external_id_rate,
            audience_rate=audience_rate,
            per_audience_rate=per_audience_rate,
            window=window,
            latency=latency,
            latency_jitter=latency_jitter,
            fault_5xx=fault_5xx,
            fault_429=fault_429,
            drop_before=drop_before,
            drop_after=drop_after,
            seed=seed,
            record=record,
            dedup_ttl=dedup_ttl,
            clock=clock,
            host=host,
            port=port,
        )
        self._core = self.simulator._core
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> None:
        """Start the thread and wait until the server listens.

        :raises OSError: when the port cannot be bound (re-raised from the thread).
        """
        if self._thread is not None:
            raise RuntimeError("the simulator thread is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._run, args=(ready, failure), name="braze-simulator", daemon=True
        )
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        asyncio.run(self._serve(ready, failure))

    async def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        try:
            await self.simulator.start()
        except BaseException as error:
            failure.append(error)
            ready.set()
            return
        ready.set()
        try:
            await self._stopped.wait()
        finally:
            await self.simulator.aclose()

    def stop(self) -> None:
        """Stop the server and join the thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stopped = self._loop, self._stopped
        assert loop is not None and stopped is not None
        loop.call_soon_threadsafe(stopped.set)
        thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the simulator's view ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return self.simulator.base_url

    @property
    def api_key(self) -> str:
        """The key accepted as ``Authorization: Bearer <key>``."""
        return self.simulator.api_key

    def __repr__(self) -> str:
        return f"<ThreadedSimulator {self.simulator!r}>"
