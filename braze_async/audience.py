"""The filters of a connected audience object (objects_filters/connected_audience.md), to
build a :class:`~braze_async.Audience`::

    from braze_async import Audience
    from braze_async.audience import CustomAttribute, LastUsedApp, PushSubscription

    Audience.all_of(
        CustomAttribute("favorite_foods").includes_value("pizza"),
        Audience.any_of(PushSubscription.is_("opted_in"), LastUsedApp.after("2025-01-01T00:00Z")),
    )

Each filter method is one comparison the page allows, with the value types it gives; a raw
mapping given as an audience is held to the same rules (:func:`check_audience`).
"""

from __future__ import annotations

from ._audience import (
    Audience,
    CustomAttribute,
    EmailSubscription,
    Filter,
    LastUsedApp,
    PushSubscription,
    check_audience,
)

__all__ = [
    "Audience",
    "CustomAttribute",
    "EmailSubscription",
    "Filter",
    "LastUsedApp",
    "PushSubscription",
    "check_audience",
]
