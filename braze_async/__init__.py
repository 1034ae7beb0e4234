"""braze_async: an asyncio client for Braze's messaging REST API.

>>> from braze_async import BrazeClient, Recipient
"""

from __future__ import annotations

from ._batching import SendResult
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
    BrazeServerError,
    BrazeTransportError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    ErrorDetail,
)
from ._events import (
    AnswerReceived,
    AttemptStarted,
    BrazeEvent,
    EventHook,
    LimiterWaited,
    NoAnswer,
    OutcomeUnknown,
    RequestFailed,
    RequestSucceeded,
    RetryScheduled,
)
from ._journal import JournalError
from ._limits import BucketStats, Rate, RateLimiter, RateLimits
from ._logs import log_from_environment as _log_from_environment
from ._messages import (
    AndroidPush,
    ApplePush,
    EmailMessage,
    Messages,
    MessagesSendRequest,
    SmsMessage,
    WebhookMessage,
)
from ._models import (
    MAX_RECIPIENTS,
    Attachment,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Recipient,
    SendResponse,
    TransactionalEvent,
    TransactionalResponse,
    TransactionalSendRequest,
    UserAlias,
)
from ._readers import InputError, InputRow, read_csv, read_jsonl
from ._retry import RetryPolicy
from ._telemetry import OpenTelemetry
from ._transport import AiohttpTransport
from ._version import __version__
from ._wire import converter, parse_transactional_postback

# BRAZE_LOG=info|debug: a stderr handler without code (see docs/logging.md).
_log_from_environment()

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RECIPIENTS",
    "AiohttpTransport",
    "AndroidPush",
    "AnswerReceived",
    "ApplePush",
    "Attachment",
    "AttemptStarted",
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
    "BrazeServerError",
    "BrazeTransportError",
    "BrazeUnknownOutcomeError",
    "BrazeValidationError",
    "BucketStats",
    "BulkProgress",
    "BulkReport",
    "CampaignTriggerRequest",
    "CanvasTriggerRequest",
    "EmailMessage",
    "ErrorDetail",
    "EventHook",
    "InputError",
    "InputRow",
    "JournalError",
    "LimiterWaited",
    "Messages",
    "MessagesSendRequest",
    "NoAnswer",
    "OpenTelemetry",
    "OutcomeUnknown",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "Recipient",
    "RecipientOutcome",
    "RequestFailed",
    "RequestSucceeded",
    "RetryPolicy",
    "RetryScheduled",
    "SendResponse",
    "SendResult",
    "SmsMessage",
    "TransactionalEvent",
    "TransactionalResponse",
    "TransactionalSendRequest",
    "UserAlias",
    "WebhookMessage",
    "__version__",
    "converter",
    "parse_transactional_postback",
    "read_csv",
    "read_jsonl",
]
