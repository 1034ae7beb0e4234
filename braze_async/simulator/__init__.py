"""A local Braze: a real HTTP server behaving like Braze's send endpoints.

It checks the API key and Braze's request rules, applies the rate limits with the
``X-RateLimit-*`` headers, injects seeded faults (5xx, 429, latency, dropped connections) and
records every recipient it would have messaged, so tests and benchmarks can check a client
against Braze's contract without Braze. Start it with ``async with BrazeSimulator() as sim``,
:class:`ThreadedSimulator` for sync code, the ``braze_simulator`` pytest fixture (a
:class:`ThreadedSimulator`, configured by a :class:`SimulatorOptions`), or
``braze-async simulate`` on the command line. Read what it would have sent with
``sim.delivered()``, ``sim.delivered_to(external_user_id="u1")`` and
``sim.delivered_counts()``.

It deliberately imports nothing from the rest of ``braze_async``: it is an independent oracle
of Braze's rules, so a bug in the client's own validation cannot hide behind it.
"""

from ._clock import Clock, SystemClock
from ._models import Delivery, RateSpec, SimulatorRate, SimulatorStats
from ._simulator import BrazeSimulator, SimulatorOptions, SimulatorState
from ._threaded import ThreadedSimulator
from ._transport import SimulatorTransport

__all__ = [
    "BrazeSimulator",
    "Clock",
    "Delivery",
    "RateSpec",
    "SimulatorOptions",
    "SimulatorRate",
    "SimulatorState",
    "SimulatorStats",
    "SimulatorTransport",
    "SystemClock",
    "ThreadedSimulator",
]
