"""The local Braze simulator that stands in when ``braze-async send`` has no credentials, or
is given ``--simulate``.

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
async def embedded_simulator(
    say: Callable[[str], None], why: str
) -> AsyncIterator[tuple[str, str]]:
    """Serve a simulator on loopback while in the block; yield its ``(api_key, base_url)``.

    ``say`` prints the banner once the simulator listens, with ``why`` it stands in.
    """
    async with BrazeSimulator() as sim:
        say(
            f"{RULE}\n{BANNER}.\n{why}: a local Braze simulator on {sim.base_url} "
            f"stands in.\n{RULE}"
        )
        yield sim.api_key, sim.base_url
