"""Constants, a fake clock and body builders shared by the simulator's tests.

The fixtures live in ``simulator_fixtures`` (see there why neither is a ``conftest.py``).
"""

from __future__ import annotations

from typing import Any

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
CAMPAIGNS = "/campaigns/trigger/send"
CANVAS = "/canvas/trigger/send"
MESSAGES = "/messages/send"
TRANSACTIONAL = "/transactional/v1/campaigns/tx-1/send"


class FakeClock:
    """A clock that moves only when told to; wall time starts on a window boundary."""

    def __init__(self, wall: float = 1_700_000_000.0) -> None:
        self.mono = 1000.0
        self.wall = wall

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def campaign(n: int = 1, **extra: Any) -> dict[str, Any]:
    """A valid campaign trigger send to ``n`` external ids."""
    return {
        "campaign_id": "camp-1",
        "recipients": [{"external_user_id": f"u{i}"} for i in range(n)],
        **extra,
    }


#: The smallest message the simulator takes (email_object.md's example has only an app_id).
MSG: dict[str, Any] = {"email": {"app_id": "a"}}
