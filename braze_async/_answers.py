"""Reading Braze's answers: a 2xx body into a mapping, anything else into a ``BrazeAPIError``.

Everything that leaves here is redacted: a hostile or broken server could echo our headers
(the API key among them) back in a body, and the key must never ride on in an exception.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from ._errors import BrazeAPIError, BrazeMalformedResponseError, ErrorDetail, error_class_for
from ._events import warn
from ._http import Answer
from ._models import SendResponse, TransactionalResponse
from ._redact import Redactor
from ._retry import rate_limit_delay
from ._wire import read_errors, structure_send_response, structure_transactional_response

__all__ = ["AnswerReader", "read_send", "read_transactional"]


def read_send(
    path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]
) -> SendResponse | BrazeMalformedResponseError:
    """What a 2xx answer to a send means (errors.md, "Server responses").

    A success is ``"message": "success"`` (with a ``dispatch_id`` or not, with non-fatal
    ``errors``, a ``send_id`` or a ``notice``), a ``dispatch_id``, or a 202 / ``"queued"``;
    anything else is unreadable: the request may or may not have been processed.
    """
    response = structure_send_response(data, status, headers)
    if response.dispatch_id is None and not (
        response.message == "success" or status == 202 or response.queued
    ):
        return BrazeMalformedResponseError(
            "Braze answered success without a dispatch_id or a success message",
            status_code=status,
            endpoint=path,
        )
    if response.notice is not None:  # (non-fatal errors are logged by _logs)
        warn("POST %s: Braze will send nothing: %s", path, response.notice)
    return response


def read_transactional(
    path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]
) -> TransactionalResponse | BrazeMalformedResponseError:
    """A 2xx answer to a transactional send (its shape is read leniently, see _wire)."""
    return structure_transactional_response(data, status, headers)


class AnswerReader:
    """Turns an :class:`~braze_async._http.Answer` into data or an error, key redacted.

    :param secret: the text to redact (the API key).
    :param max_bytes: the cap the body was read under (named in messages about a body that
        was too large to read).
    :param wallclock: UTC epoch seconds (the client's clock), to read a 429's
        ``X-RateLimit-Reset`` into a wait.
    """

    __slots__ = ("_max_bytes", "_redact", "_wallclock")

    def __init__(
        self, *, secret: str, max_bytes: int, wallclock: Callable[[], float] = time.time
    ) -> None:
        self._wallclock = wallclock
        self._redact = Redactor.of(secret)
        self._max_bytes = max_bytes

    def success(
        self, path: str, answer: Answer, attempt: int
    ) -> Mapping[str, Any] | BrazeMalformedResponseError:
        """The decoded body of a 2xx answer (an empty body reads as ``{}``), or the error to
        raise when it is not a JSON object (the request was processed, or not: its outcome
        is unknown). Returned, not raised: the raising frame would hold the body.

        The key is redacted here too: a success's ``notice`` and non-fatal ``errors`` are
        kept on the response and logged."""
        raw = answer.body if answer.body is None else self._redact.body(answer.body)
        try:
            data = (orjson.loads(raw) if raw else {}) if raw is not None else None
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            return BrazeMalformedResponseError(
                f"Braze answered HTTP {answer.status} with a body that is not a JSON object: "
                f"{self.snippet(raw)}",
                status_code=answer.status,
                endpoint=path,
                attempts=attempt,
            )
        return data

    def error(self, path: str, answer: Answer, attempt: int) -> BrazeAPIError:
        """The exception for a non-2xx answer (not raised: the retry policy decides)."""
        status, raw = answer.status, answer.body
        try:
            data = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            data = None
        errors: tuple[ErrorDetail, ...] = ()
        if isinstance(data, dict):
            message = str(data.get("message") or data.get("error") or f"HTTP {status}")
            errors = read_errors(data.get("errors"))
        else:
            message = f"HTTP {status} with a non-JSON body: {self.snippet(raw)}"
        if 300 <= status < 400:
            target = urlsplit(answer.headers.get("location", "")).netloc or "an unknown place"
            message = f"unexpected redirect to {target}; not followed (the key stays here)"
        errors = tuple(
            ErrorDetail(code=self._redact.text(e.code), message=self._redact.text(e.message))
            for e in errors
        )
        return error_class_for(status)(
            self._redact.text(message),
            status_code=status,
            errors=errors,
            endpoint=path,
            attempts=attempt,
            retry_after=(
                rate_limit_delay(answer.headers, wallclock=self._wallclock)
                if status == 429
                else None
            ),
            headers=answer.headers,
        )

    def snippet(self, raw: bytes | None) -> str:
        """The start of a body, for a message: redacted, markup and runs of space removed."""
        if raw is None:
            return f"(larger than {self._max_bytes} bytes, not read)"
        # Redact the whole body before cutting it: a key straddling the cut must not leak half.
        text = self._redact.text(raw.decode("utf-8", "replace"))[:200]
        text = re.sub(r"<[^>]*>", " ", text)
        text = " ".join(text.split())
        return repr(text if text else "(empty)")
