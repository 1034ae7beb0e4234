"""The local Braze simulator that stands in for Braze when ``braze-async send`` is given
``--simulate`` (and only then: without credentials the command refuses to run).

Nothing reaches Braze then, and the output says so loudly, before the job and in its summary
(:data:`BANNER` between :data:`RULE` lines).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from ..simulator import BrazeSimulator

__all__ = ["BANNER", "RULE", "embedded_simulator"]

#: What a simulated run says, twice.
BANNER = "SIMULATOR: nothing was sent to Braze"
#: The line above and below it.
RULE = "=" * 72


@contextlib.asynccontextmanager
async def embedded_simulator(say: Callable[[str], None]) -> AsyncIterator[tuple[str, str]]:
    """Serve a simulator on loopback while in the block; yield its ``(api_key, base_url)``.

    ``say`` prints the banner once the simulator listens.
    """
    async with BrazeSimulator() as sim:
        say(
            f"{RULE}\n{BANNER}.\n--simulate given: a local Braze simulator on {sim.base_url} "
            f"stands in.\n{RULE}"
        )
        yield sim.api_key, sim.base_url
