"""braze_async: an asyncio client for Braze's messaging REST API.

>>> from braze_async import BrazeClient, Campaign, Recipient
"""

from __future__ import annotations

from ._audience import Audience
from ._batching import Batching, SendResult
from ._bulk import BulkProgress, BulkReport, RecipientOutcome
from ._client import DEFAULT_TIMEOUT, BrazeClient
from ._errors import (
    BrazeAPIError,
    BrazeAuthenticationError,
    BrazeBadRequestError,
    BrazeConnectionError,
    BrazeError,
    BrazeMalformedResponseError,
    BrazeNotFoundError,
    BrazeNotSentError,
    BrazePermissionError,
    BrazeRateLimitError,
    BrazeRateLimitWaitError,
    BrazeServerError,
    BrazeTransportError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    ErrorDetail,
)
from ._events import (
    BrazeEvent,
    EventHook,
)
from ._journal import JournalError
from ._limits import BucketStats, Rate, RateLimiter, RateLimits
from ._live_activities import LiveActivityStart, LiveActivityUpdate
from ._logs import log_from_environment as _log_from_environment
from ._messages import (
    AndroidPush,
    ApplePush,
    EmailMessage,
    Messages,
    SmsMessage,
    WebhookMessage,
)
from ._models import (
    MAX_RECIPIENTS,
    Attachment,
    Recipient,
    SendResponse,
    TransactionalEvent,
    TransactionalResponse,
    UserAlias,
)
from ._readers import InputError, InputRow, read_csv, read_jsonl
from ._retry import RetryPolicy
from ._schedule import Schedule, Scheduled, ScheduledBroadcast
from ._targets import Campaign, Canvas
from ._telemetry import OpenTelemetry
from ._transport import AiohttpTransport
from ._version import __version__
from ._wire import parse_transactional_postback

# BRAZE_LOG=info|debug: a stderr handler without code (see docs/logging.md).
_log_from_environment()

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RECIPIENTS",
    "AiohttpTransport",
    "AndroidPush",
    "ApplePush",
    "Attachment",
    "Audience",
    "Batching",
    "BrazeAPIError",
    "BrazeAuthenticationError",
    "BrazeBadRequestError",
    "BrazeClient",
    "BrazeConnectionError",
    "BrazeError",
    "BrazeEvent",
    "BrazeMalformedResponseError",
    "BrazeNotFoundError",
    "BrazeNotSentError",
    "BrazePermissionError",
    "BrazeRateLimitError",
    "BrazeRateLimitWaitError",
    "BrazeServerError",
    "BrazeTransportError",
    "BrazeUnknownOutcomeError",
    "BrazeValidationError",
    "BucketStats",
    "BulkProgress",
    "BulkReport",
    "Campaign",
    "Canvas",
    "EmailMessage",
    "ErrorDetail",
    "EventHook",
    "InputError",
    "InputRow",
    "JournalError",
    "LiveActivityStart",
    "LiveActivityUpdate",
    "Messages",
    "OpenTelemetry",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "Recipient",
    "RecipientOutcome",
    "RetryPolicy",
    "Schedule",
    "Scheduled",
    "ScheduledBroadcast",
    "SendResponse",
    "SendResult",
    "SmsMessage",
    "TransactionalEvent",
    "TransactionalResponse",
    "UserAlias",
    "WebhookMessage",
    "__version__",
    "parse_transactional_postback",
    "read_csv",
    "read_jsonl",
]


#: Names of 0.x that left the public API, kept one release behind a warning.
_MOVED = {
    "CampaignTriggerRequest": ("._models", "send(Campaign(...), recipients=...)"),
    "CanvasTriggerRequest": ("._models", "send(Canvas(...), recipients=...)"),
    "MessagesSendRequest": ("._messages", "send(Messages(...), recipients=...)"),
    "TransactionalSendRequest": ("._models", "send_transactional(...)"),
    "converter": ("._wire", "the models and the send methods (the converter is private)"),
    **{
        name: ("._events", f"braze_async.events.{name}")
        for name in (
            "AnswerReceived",
            "AttemptStarted",
            "LimiterWaited",
            "OutcomeUnknown",
            "RequestFailed",
            "RequestSucceeded",
            "RetryScheduled",
        )
    },
}


def __getattr__(name: str) -> object:
    """The 0.x names of :data:`_MOVED`, with a :class:`DeprecationWarning`."""
    moved = _MOVED.get(name)
    if moved is None:
        raise AttributeError(f"module 'braze_async' has no attribute {name!r}")
    import importlib
    import warnings

    module, instead = moved
    warnings.warn(
        f"braze_async.{name} is deprecated and goes in the next minor release; use {instead}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module, __name__), name)
