"""The messaging objects of ``/messages/send``, as Braze's pages define them, read again for
the simulator.

Pages: ``_docs/_api/objects_filters/messaging/`` of braze-inc/braze-docs, one per channel.
Like ``_rules.py``, this module and the modules it draws on must not import the client: they
are a second, independent reading of the pages, so the client's own checks cannot hide a bug
behind them.

:data:`CHANNEL_RULES` maps each channel key of ``messages`` to the function that checks its
object; each raises ``ValueError`` whose message names the field and the rule (as
``_audience_rules.py`` does), which ``_rules.py`` answers as a 400 with the code
``invalid_<channel>``. A channel without an entry is only required to be an object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._message_rules import (
    check_content_card,
    check_email,
    check_sms,
    check_webhook,
    check_whats_app,
)
from ._push_rules import check_android_push, check_apple_push, check_kindle_push, check_web_push

__all__ = ["CHANNEL_RULES", "check_channel_object"]

#: A channel's check: the object and where it is (``"messages.apple_push"``).
ChannelRule = Callable[[dict[str, Any], str], None]

#: The check of each channel's object.
CHANNEL_RULES: Mapping[str, ChannelRule] = {
    "android_push": check_android_push,
    "apple_push": check_apple_push,
    "kindle_push": check_kindle_push,
    "web_push": check_web_push,
    "content_card": check_content_card,
    "email": check_email,
    "sms": check_sms,
    "webhook": check_webhook,
    "whats_app": check_whats_app,
}


def check_channel_object(channel: str, message: dict[str, Any]) -> None:
    """Check the object of *channel* in ``messages`` (objects_filters/messaging/)."""
    rule = CHANNEL_RULES.get(channel)
    if rule is not None:
        rule(message, f"messages.{channel}")
