"""pytest plugin (entry point ``pytest11``): a fresh Braze simulator per test.

Fixtures:

``braze_simulator``
    A :class:`~braze_async.simulator.ThreadedSimulator` serving on a free loopback port for
    the duration of one test; usable from sync tests and from any async framework. Annotate
    it as such::

        from braze_async.simulator import ThreadedSimulator

        def test_send(braze_simulator: ThreadedSimulator) -> None:
            httpx.post(f"{braze_simulator.base_url}/campaigns/trigger/send", json=...,
                       headers={"Authorization": f"Bearer {braze_simulator.api_key}"})
            [delivery] = braze_simulator.delivered_to(external_user_id="u1")

``braze_simulator_options``
    The keyword arguments given to the simulator, a
    :class:`~braze_async.simulator.SimulatorOptions` (default: none). Override it in a
    ``conftest.py`` or a test module to configure rates, faults or a seed::

        from braze_async.simulator import SimulatorOptions

        @pytest.fixture
        def braze_simulator_options() -> SimulatorOptions:
            return {"external_id_rate": "50/4", "fault_5xx": 0.1, "seed": 7}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from braze_async.simulator import SimulatorOptions, ThreadedSimulator

__all__ = ["braze_simulator", "braze_simulator_options"]


@pytest.fixture
def braze_simulator_options() -> SimulatorOptions:
    """Keyword arguments for the ``braze_simulator`` fixture; override to configure it."""
    return {}


@pytest.fixture
def braze_simulator(braze_simulator_options: SimulatorOptions) -> Iterator[ThreadedSimulator]:
    """A Braze simulator serving on loopback in a background thread, fresh for each test."""
    # Imported here so merely installing the package costs pytest nothing at start-up.
    from braze_async.simulator import ThreadedSimulator

    with ThreadedSimulator(**braze_simulator_options) as simulator:
        yield simulator
