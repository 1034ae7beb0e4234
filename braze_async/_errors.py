"""The one exception hierarchy of braze_async.

::

    BrazeError                         root: catch this to catch everything we raise
     ├── BrazeValidationError          bad input, raised before any network call (also a ValueError)
     ├── BrazeNotSentError             Braze answered success with a notice: it will send nothing
     ├── BrazeAPIError                 Braze answered with an error status (or, one kind,
     │                                 the client refused a wait for the budget)
     │    ├── BrazeBadRequestError     400: the request broke one of Braze's rules
     │    ├── BrazeAuthenticationError 401: the API key is missing or wrong
     │    ├── BrazePermissionError     403: the key lacks the endpoint's permission
     │    ├── BrazeNotFoundError       404
     │    ├── BrazeRateLimitError      429: still rate limited after the retries allowed
     │    │    └── BrazeRateLimitWaitError  not Braze's answer: the client would have had to
     │    │                                 wait longer than allowed; nothing was sent
     │    └── BrazeServerError         5xx: Braze failed; nothing was sent for that request
     └── BrazeTransportError           the request or its answer was lost on the way
          ├── BrazeConnectionError     the request never left: nothing was sent
          └── BrazeUnknownOutcomeError the request may or may not have been processed
               └── BrazeMalformedResponseError  a 2xx answer we cannot read

Every error raised for a request names the endpoint it came from (``endpoint``) and how many
attempts were made (``attempts``); a ``BrazeAPIError`` also carries the answer's ``headers``
and, when one of them holds it, the ``request_id``. None of them ever carries the API key.

An error says what happened: ``status_code`` is the status Braze answered, never one made up.
A wait for the rate-limit budget that the client refuses to make (longer than
``RetryPolicy.max_rate_limit_wait``) is a ``BrazeRateLimitWaitError``, whose ``status_code``
is ``None``: ``except BrazeRateLimitError`` catches it with Braze's 429s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

__all__ = [
    "REQUEST_ID_HEADERS",
    "BrazeAPIError",
    "BrazeAuthenticationError",
    "BrazeBadRequestError",
    "BrazeConnectionError",
    "BrazeError",
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
    "ErrorDetail",
    "request_id_in",
]

#: Headers that carry a request's id, first found wins. Braze documents none of its own;
#: these are the ones its edge and common gateways set.
REQUEST_ID_HEADERS = (
    "x-request-id",
    "x-braze-request-id",
    "request-id",
    "x-amzn-requestid",
    "cf-ray",
)


def request_id_in(headers: Mapping[str, str]) -> str | None:
    """The request id an answer's headers (names lower-cased) carry, if any."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


@attrs.frozen
class ErrorDetail:
    """One entry of the ``errors`` list of a Braze answer."""

    #: Braze's machine-readable code, e.g. ``"invalid_recipients"`` (empty if Braze gave none).
    code: str
    #: The human-readable explanation.
    message: str


class BrazeError(Exception):
    """Root of every exception braze_async raises."""


class BrazeValidationError(BrazeError, ValueError):
    """The input breaks a rule of Braze's API; raised before any network call.

    ``field`` names the offending field (a dotted path such as ``recipients[3].email``) and
    ``rule`` states the rule it broke.
    """

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class _RequestError(BrazeError):
    """Base of the errors that belong to one request to Braze."""

    def __init__(self, message: str, *, endpoint: str = "", attempts: int = 1) -> None:
        super().__init__(message)
        #: The human-readable explanation.
        self.message = message
        #: The path of the endpoint called, e.g. ``/campaigns/trigger/send``.
        self.endpoint = endpoint
        #: How many attempts were made before giving up.
        self.attempts = attempts

    def __str__(self) -> str:
        where = f" ({self.endpoint}, {self.attempts} attempt{'s' if self.attempts != 1 else ''})"
        return f"{self.message}{where if self.endpoint else ''}"


class BrazeNotSentError(_RequestError):
    """Braze accepted the request but said it will send nothing for it.

    Its 2xx answer carried a ``notice``: the Canvas is paused, stopped or archived
    (endpoints/messaging/send_messages/post_send_triggered_canvases.md). Nothing was sent,
    so resending is safe once the cause is fixed. Raised for ``send_to_user`` calls; a
    direct ``trigger_canvas`` returns the answer (``response.notice``), and ``bulk_send``
    reports the recipients as failed.
    """

    def __init__(
        self,
        notice: str,
        *,
        status_code: int,
        dispatch_id: str | None = None,
        endpoint: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(f"Braze will not send: {notice}", endpoint=endpoint, attempts=attempts)
        #: Braze's notice, as it gave it.
        self.notice = notice
        #: The HTTP status of the answer (a success status).
        self.status_code = status_code
        #: The dispatch id of the answer, when it had one.
        self.dispatch_id = dispatch_id


class BrazeAPIError(_RequestError):
    """Braze answered with an error status (or one we do not accept, such as a redirect).

    Braze's error body, ``{"message": ..., "errors": [{"code", "message"}]}``, is parsed into
    ``message`` and ``errors``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None,
        errors: Sequence[ErrorDetail] = (),
        endpoint: str = "",
        attempts: int = 1,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, attempts=attempts)
        #: The HTTP status of Braze's answer; ``None`` only for a
        #: :class:`BrazeRateLimitWaitError` (no answer: the client refused to wait).
        self.status_code = status_code
        #: Braze's list of error details, possibly empty.
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        #: For 429: seconds Braze asked us to wait, when it said.
        self.retry_after = retry_after
        #: The answer's headers, names lower-cased (e.g. ``x-ratelimit-remaining``).
        self.headers: Mapping[str, str] = {} if headers is None else headers

    @property
    def request_id(self) -> str | None:
        """The answer's request id, when a header carries one (quote it to Braze's support)."""
        return request_id_in(self.headers)

    def __str__(self) -> str:
        codes = ", ".join(e.code or e.message for e in self.errors)
        detail = f" [{codes}]" if codes else ""
        return f"HTTP {self.status_code}: {super().__str__()}{detail}"


class BrazeBadRequestError(BrazeAPIError):
    """400: Braze refused the request as invalid."""


class BrazeAuthenticationError(BrazeAPIError):
    """401: the API key is missing, wrong or revoked."""


class BrazePermissionError(BrazeAPIError):
    """403: the API key lacks the permission this endpoint needs."""


class BrazeNotFoundError(BrazeAPIError):
    """404: the endpoint (or the campaign, Canvas) does not exist."""


class BrazeRateLimitError(BrazeAPIError):
    """429: rate limited, and still so after the retries the policy allows."""


class BrazeRateLimitWaitError(BrazeRateLimitError):
    """The rate-limit budget frees later than the client may wait: nothing was sent.

    Not an answer of Braze's (``status_code`` is ``None``): the client's rate limiter (its
    budget spent, or paused by a 429 until Braze's reset) would have had the request wait
    longer than ``RetryPolicy.max_rate_limit_wait``, so the call failed at once instead of
    waiting. ``retry_after`` is how long until the budget frees, when known. Sending again
    once it has freed is safe. A :class:`BrazeRateLimitError`, so ``except
    BrazeRateLimitError`` catches it too.
    """

    def __init__(
        self,
        message: str,
        *,
        max_wait: float,
        retry_after: float | None = None,
        endpoint: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(
            message,
            status_code=None,
            endpoint=endpoint,
            attempts=attempts,
            retry_after=retry_after,
        )
        #: The longest wait allowed, in seconds (``RetryPolicy.max_rate_limit_wait``).
        self.max_wait = max_wait

    def __str__(self) -> str:
        return _RequestError.__str__(self)  # no "HTTP ...": Braze did not answer this


class BrazeServerError(BrazeAPIError):
    """5xx: Braze failed to process the request; Braze sent nothing for it."""


class BrazeTransportError(_RequestError):
    """The request, or Braze's answer to it, was lost on the way."""


class BrazeConnectionError(BrazeTransportError):
    """The request never left this process (connection refused, DNS, connect timeout).

    Nothing was sent, so retrying is always safe.
    """


class BrazeUnknownOutcomeError(BrazeTransportError):
    """The request may or may not have been processed by Braze.

    It was written to the network but no usable answer came back (read timeout, connection
    dropped after the request was sent). Retrying could message users twice, so trigger sends
    are not retried unless the retry policy says so; transactional sends with an
    ``external_send_id`` are retried, because Braze deduplicates them.
    """


class BrazeMalformedResponseError(BrazeUnknownOutcomeError):
    """Braze answered 2xx (so it probably accepted the request) but the body is unreadable."""

    def __init__(
        self, message: str, *, status_code: int, endpoint: str = "", attempts: int = 1
    ) -> None:
        super().__init__(message, endpoint=endpoint, attempts=attempts)
        #: The HTTP status of the answer.
        self.status_code = status_code


#: Status code -> the exception class that stands for it.
STATUS_ERRORS: dict[int, type[BrazeAPIError]] = {
    400: BrazeBadRequestError,
    401: BrazeAuthenticationError,
    403: BrazePermissionError,
    404: BrazeNotFoundError,
    429: BrazeRateLimitError,
}


def error_class_for(status_code: int) -> type[BrazeAPIError]:
    """Return the exception class for an error status."""
    if status_code >= 500:
        return BrazeServerError
    return STATUS_ERRORS.get(status_code, BrazeAPIError)
