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
    BrazePermissionError,
    BrazeRateLimitError,
    BrazeServerError,
    BrazeTransportError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    ErrorDetail,
)
from ._journal import JournalError
from ._limits import Rate, RateLimiter, RateLimits
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
from ._transport import AiohttpTransport
from ._version import __version__
from ._wire import converter, parse_transactional_postback

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RECIPIENTS",
    "AiohttpTransport",
    "Attachment",
    "BrazeAPIError",
    "BrazeAuthenticationError",
    "BrazeBadRequestError",
    "BrazeClient",
    "BrazeConnectionError",
    "BrazeError",
    "BrazeMalformedResponseError",
    "BrazeNotFoundError",
    "BrazePermissionError",
    "BrazeRateLimitError",
    "BrazeServerError",
    "BrazeTransportError",
    "BrazeUnknownOutcomeError",
    "BrazeValidationError",
    "BulkProgress",
    "BulkReport",
    "CampaignTriggerRequest",
    "CanvasTriggerRequest",
    "ErrorDetail",
    "InputError",
    "InputRow",
    "JournalError",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "Recipient",
    "RecipientOutcome",
    "RetryPolicy",
    "SendResponse",
    "SendResult",
    "TransactionalEvent",
    "TransactionalResponse",
    "TransactionalSendRequest",
    "UserAlias",
    "__version__",
    "converter",
    "parse_transactional_postback",
    "read_csv",
    "read_jsonl",
]
