"""The simulator's brain: one pure request handler shared by every front end.

:meth:`SimulatorCore.handle` takes ``(method, path, headers, body)`` and returns a
:class:`Reply` ``(status, headers, body, action, delay)``. It does no I/O: the aiohttp server
and the in-process httpx transport only move bytes and obey ``action`` and ``delay``. State
(windows, deliveries, counters, dedup keys) lives here, behind one lock so the threaded
simulator, the in-process transport and test code may share it safely.

Order of processing, which decides what is counted where:

1. route (404 / 405 are answered at once, without faults);
2. injected faults: drop before, 5xx, 429 (nothing processed, nothing counted);
3. ``Authorization: Bearer <key>`` (401), ``Content-Type`` (415) and JSON parsing (400);
4. the rate-limit window of the request's bucket, and for a broadcast also its audience's
   (429 when either is full, spending neither; otherwise counted in both, so later 400s
   spend budget as they do at Braze);
5. the endpoint's rules (400), then delivery and the 201 answer (for a Canvas marked paused
   or archived: a 201 with a ``notice``, nothing delivered);
6. drop after: processed and recorded, but the connection closes without an answer.
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qs

import attrs
import orjson

from ._activities import (
    LIVE_ACTIVITY_START,
    LIVE_ACTIVITY_UPDATE,
    SEND_ID_CREATE,
    check_live_activity_start,
    check_live_activity_update,
    check_send_id_create,
)
from ._clock import Clock
from ._faults import Fault, FaultPlan
from ._models import Delivery, SimulatorRate, SimulatorStats
from ._ratelimit import FixedWindow, PerAudience, Quota, SlidingWindow, Window, audience_of
from ._rules import (
    CAMPAIGNS,
    CANVAS,
    MESSAGES,
    SCHEDULE_SENDS,
    SCHEDULED_BROADCASTS,
    TRANSACTIONAL,
    Accepted,
    RuleError,
    check_campaign,
    check_canvas,
    check_card_expiry,
    check_end_time,
    check_messages,
    check_schedule_create,
    check_schedule_delete,
    check_schedule_update,
    check_transactional,
    one_per_user,
)
from ._schedules import Schedules

__all__ = ["AUDIENCE", "BUCKETS", "EXTERNAL_ID", "SEND_IDS", "Action", "Reply", "SimulatorCore"]

#: The bucket of sends to explicit recipients (external ids, aliases, emails), with or
#: without an audience filter: 250,000 an hour by default (api_limits.md).
EXTERNAL_ID = "external_id"
#: The bucket of broadcast sends, "when only specifying a segment or Connected Audience":
#: 250 a minute by default (api_limits.md).
AUDIENCE = "audience"
#: The bucket of ``/sends/id/create``: 100 send IDs a day per workspace (api_limits.md).
SEND_IDS = "send_ids"
BUCKETS = (EXTERNAL_ID, AUDIENCE, SEND_IDS)
#: What a paused or archived Canvas answers (post_send_triggered_canvases.md, "Example
#: success response").
CANVAS_NOTICES = {
    "paused": "The Canvas is paused. Resume the Canvas to ensure trigger requests will take "
    "effect.",
    "archived": "The Canvas is archived. Unarchive the Canvas to ensure trigger requests will "
    "take effect.",
}
CanvasStatus = Literal["active", "paused", "archived"]

WindowKind = Literal["fixed", "sliding"]


class Action(enum.Enum):
    """What the front end does with a :class:`Reply`."""

    #: Write the status, headers and body.
    RESPOND = "respond"
    #: Close the connection without writing anything.
    DROP = "drop"


class Reply(NamedTuple):
    """The answer to one request, for a front end to deliver."""

    status: int
    headers: dict[str, str]
    body: bytes
    action: Action = Action.RESPOND
    #: Seconds to wait before answering (or dropping).
    delay: float = 0.0


_JSON = "application/json"
#: What each schedule endpoint does: ``{kind}/create``, ``/update``, ``/delete``.
_VERBS = ("create", "update", "delete")
#: The endpoints on api_limits.md's list of "requests with shared rate limits" whatever they
#: target (the campaign and Canvas schedule creates spend the broadcast budget without
#: recipients, as the trigger sends do).
_SHARED = frozenset(
    {
        SCHEDULED_BROADCASTS,
        "/messages/schedule/create",
        LIVE_ACTIVITY_START,  # the "default" limit of start.md and update.md
        LIVE_ACTIVITY_UPDATE,
        *(f"{kind}/{verb}" for kind in SCHEDULE_SENDS for verb in ("update", "delete")),
    }
)
_STATIC_ROUTES = {
    CAMPAIGNS: CAMPAIGNS,
    CANVAS: CANVAS,
    MESSAGES: MESSAGES,
    SCHEDULED_BROADCASTS: SCHEDULED_BROADCASTS,
    SEND_ID_CREATE: SEND_ID_CREATE,
    LIVE_ACTIVITY_START: LIVE_ACTIVITY_START,
    LIVE_ACTIVITY_UPDATE: LIVE_ACTIVITY_UPDATE,
    **{f"{kind}/{verb}": f"{kind}/{verb}" for kind in SCHEDULE_SENDS for verb in _VERBS},
}
_TRANSACTIONAL_PREFIXES = ("/transactional/v1/campaigns/", "/v2/transactional/campaigns/")
_CHECKS = {CAMPAIGNS: check_campaign, CANVAS: check_canvas, MESSAGES: check_messages}
_RATE_LIMITED_BODY = orjson.dumps(
    {
        "message": "rate limit exceeded",
        "errors": [
            {"code": "rate_limited", "message": "API rate limit exceeded for this endpoint"}
        ],
    }
)
_ACTIVITIES = {
    LIVE_ACTIVITY_START: check_live_activity_start,
    LIVE_ACTIVITY_UPDATE: check_live_activity_update,
}
_INVALID = object()  # marks a body that is not JSON


def _error(code: str, message: str, summary: str | None = None) -> bytes:
    return orjson.dumps(
        {"message": summary or message, "errors": [{"code": code, "message": message}]}
    )


def _route(path: str) -> tuple[str, str | None] | None:
    """``(endpoint, campaign id from the path)`` or None for an unknown path."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    endpoint = _STATIC_ROUTES.get(path)
    if endpoint is not None:
        return endpoint, None
    if path.endswith("/send"):
        for prefix in _TRANSACTIONAL_PREFIXES:
            if path.startswith(prefix):
                campaign_id = path[len(prefix) : -len("/send")]
                if campaign_id and "/" not in campaign_id:
                    return TRANSACTIONAL, campaign_id
    return None


def _bucket(endpoint: str, body: object) -> str:
    """Which window a request spends (api_limits.md): the broadcast one "when only
    specifying a segment or Connected Audience" (or the whole segment), else the
    recipients' one, an audience filter or not."""
    if endpoint == SEND_ID_CREATE:
        return SEND_IDS
    if type(body) is not dict or endpoint in _SHARED:
        return EXTERNAL_ID
    if endpoint == MESSAGES:
        explicit = "external_user_ids" in body or "user_aliases" in body
    else:
        explicit = "recipients" in body
    return EXTERNAL_ID if explicit else AUDIENCE


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return headers.get(name.lower()) if value is None else value


def _quota_headers(quota: Quota | None) -> dict[str, str]:
    if quota is None:
        return {"Content-Type": _JSON}
    return {
        "Content-Type": _JSON,
        "X-RateLimit-Limit": str(quota.limit),
        "X-RateLimit-Remaining": str(quota.remaining),
        "X-RateLimit-Reset": str(quota.reset),
    }


def _check(
    endpoint: str, path_campaign_id: str | None, body: dict[str, Any], size: int
) -> Accepted:
    """Apply the endpoint's rules to a parsed JSON object (``size``: of the raw body); a user
    named twice is messaged once."""
    if path_campaign_id is None:
        return one_per_user(_CHECKS[endpoint](body, size))
    return check_transactional(path_campaign_id, body, size)


def _misrouted(path: str, *, known: bool, method: str = "POST") -> Reply:
    """The 404 of an unknown path, or the 405 of a known one asked with another method."""
    if not known:
        return Reply(404, _quota_headers(None), _error("not_found", f"no endpoint at {path}"))
    reply_headers = _quota_headers(None)
    reply_headers["Allow"] = method
    return Reply(405, reply_headers, _error("method_not_allowed", f"use {method}"))


def _peek(window: Window | None) -> Quota | None:
    return None if window is None else window.quota()


def make_window(kind: WindowKind, rate: SimulatorRate, clock: Clock) -> Window:
    """A window of the given kind for ``rate``."""
    if kind == "fixed":
        return FixedWindow(rate.limit, rate.period, clock)
    return SlidingWindow(rate.limit, rate.period, clock)


class SimulatorCore:
    """Braze's send endpoints as a function of (request, state) -> reply."""

    def __init__(
        self,
        *,
        api_key: str,
        external_id_rate: SimulatorRate,
        audience_rate: SimulatorRate,
        window: WindowKind,
        faults: FaultPlan,
        clock: Clock,
        record: bool = True,
        dedup_ttl: float = 86400.0,
        send_id_rate: SimulatorRate = SimulatorRate(100, 86400.0),  # noqa: B008 - frozen
        per_audience_rate: SimulatorRate = SimulatorRate(10, 60.0),  # noqa: B008 - frozen
    ) -> None:
        self._authorization = f"Bearer {api_key}"
        self._faults = faults
        self._clock = clock
        self._record = record
        self._dedup_ttl = dedup_ttl
        self._windows: dict[str, Window] = {
            EXTERNAL_ID: make_window(window, external_id_rate, clock),
            AUDIENCE: make_window(window, audience_rate, clock),
            SEND_IDS: make_window(window, send_id_rate, clock),
        }
        #: Broadcasts, also per unique audience (api_limits.md: "10 requests per minute per
        #: unique audience (whichever limit hits first)").
        self._audiences = PerAudience(lambda: make_window(window, per_audience_rate, clock))
        #: The send IDs created: (campaign_id, send_id), in order.
        self.send_ids: list[tuple[str, str]] = []
        #: external_send_id -> (dispatch_id, monotonic time first accepted), oldest first.
        self._dedup: dict[str, tuple[str, float]] = {}
        #: Canvas id -> "paused" or "archived" (absent: active).
        self._canvas_status: dict[str, str] = {}
        self._lock = threading.Lock()
        #: Accepted requests not yet expanded: (endpoint, path campaign id, dispatch id, body).
        self._pending: list[tuple[str, str | None, str, bytes]] = []
        self._deliveries: list[Delivery] = []
        #: Scheduled sends, delivered to the record at their time.
        self._schedules = Schedules()
        #: Counters since start or :meth:`reset`.
        self.stats = SimulatorStats()

    # -- state helpers used by the public API ----------------------------------------------

    def delivered(self) -> list[Delivery]:
        """Every accepted recipient, in order: a copy (requests recorded since the last read
        are expanded now)."""
        with self._lock:
            pending, self._pending = self._pending, []
            append = self._deliveries.append
            for endpoint, path_campaign_id, dispatch_id, body in pending:
                accepted = _check(endpoint, path_campaign_id, orjson.loads(body), len(body))
                for key, data in accepted.recipients:
                    append(
                        Delivery(
                            endpoint,
                            accepted.campaign_id,
                            accepted.canvas_id,
                            dispatch_id,
                            key,
                            data,
                        )
                    )
            if self._record:
                now = dt.datetime.fromtimestamp(self._clock.time(), dt.timezone.utc)
                self._deliveries.extend(self._schedules.deliver(now))
            return list(self._deliveries)

    def delivered_counts(self) -> Counter[str]:
        """Recipient key -> number of deliveries."""
        return Counter(delivery.recipient for delivery in self.delivered())

    def reset(self) -> None:
        """Forget deliveries, counters, counted requests and dedup keys."""
        with self._lock:
            self._pending.clear()
            self._deliveries.clear()
            fresh = SimulatorStats()
            for field in attrs.fields(SimulatorStats):
                setattr(self.stats, field.name, getattr(fresh, field.name))
            for window in self._windows.values():
                window.clear()
            self._audiences.clear()
            self._dedup.clear()
            self._canvas_status.clear()
            self._schedules.clear()
            self.send_ids.clear()

    def consume_budget(self, bucket: str, n: int) -> int:
        """Spend up to ``n`` requests of ``bucket``'s window; return how many were spent."""
        if bucket not in self._windows:
            raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        with self._lock:
            return self._windows[bucket].acquire(n)

    def set_canvas_status(self, canvas_id: str, status: CanvasStatus) -> None:
        """Make sends to ``canvas_id`` answer as Braze does for a Canvas in that status."""
        if status not in ("active", "paused", "archived"):
            raise ValueError(f"status must be active, paused or archived, got {status!r}")
        with self._lock:
            if status == "active":
                self._canvas_status.pop(canvas_id, None)
            else:
                self._canvas_status[canvas_id] = status

    def set_time_zone(self, recipient: str, zone: str) -> None:
        """Give a recipient (a record key) an IANA time zone, for local-time schedules."""
        with self._lock:
            self._schedules.set_time_zone(recipient, zone)

    def audiences_counted(self) -> int:
        """How many audiences' windows are kept now (idle ones are dropped in time)."""
        with self._lock:
            return len(self._audiences)

    def quota(self, bucket: str) -> Quota:
        """The current state of ``bucket``'s window, without counting anything."""
        with self._lock:
            return self._windows[bucket].quota()

    # -- the handler -----------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request.

        :param headers: case-insensitive mapping (aiohttp's and httpx's are); a plain dict
            works when its keys are in canonical or lower case.
        """
        with self._lock:
            return self._handle(method, path, headers, body)

    def _handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request, refusing it at the first check it fails, in Braze's order.

        The path and method (404, 405), an injected fault, the API key (401), the body's
        type (400), the rate limit (429), the endpoint's rules (400); then it is accepted,
        and an injected fault may still drop the answer.
        """
        self.stats.requests += 1
        path, _, query = path.partition("?")
        route = _route(path)
        allowed = "GET" if route is not None and route[0] == SCHEDULED_BROADCASTS else "POST"
        if route is None or method != allowed:
            return _misrouted(path, known=route is not None, method=allowed)
        endpoint, path_campaign_id = route
        parsed: object
        if allowed == "GET":
            parsed = parse_qs(query)
        else:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = _INVALID
        window = None if endpoint == TRANSACTIONAL else self._windows[_bucket(endpoint, parsed)]

        faults = self._faults
        fault = faults.before()
        delay = faults.delay()
        if fault is not None:
            return self._fault(fault, window, delay)
        refused = self._refused(headers, parsed, window, delay, get=allowed == "GET")
        if refused is not None:
            return refused
        assert type(parsed) is dict

        quota = None
        if window is not None:
            full = self._admit(window, parsed if window is self._windows[AUDIENCE] else None)
            quota = window.quota()
            if full is not None:
                # Braze's page documents no headers for the per-audience limit; the simulator
                # answers its 429 as it answers the budget's (X-RateLimit-Limit, -Remaining,
                # -Reset and Retry-After), with the audience's window's numbers.
                self.stats.rate_limited += 1
                full_quota = full.quota()
                reply_headers = _quota_headers(full_quota)
                reply_headers["Retry-After"] = str(full_quota.retry_after)
                return Reply(429, reply_headers, _RATE_LIMITED_BODY, delay=delay)

        reply = self._answer(endpoint, path_campaign_id, parsed, body, quota)
        if faults.after():
            self.stats.drops_after += 1
            return Reply(0, {}, b"", Action.DROP, delay)
        return reply._replace(delay=delay)

    def _admit(self, window: Window, broadcast: dict[str, Any] | None) -> Window | None:
        """Count a request in its bucket's *window* and, for a *broadcast* (the audience
        budget's requests: the five endpoints of api_limits.md's "What counts as the same
        unique audience?", without recipients), in its audience's; or the full window that
        refuses it, counting nothing anywhere (Braze does not count refused requests)."""
        audience = None if broadcast is None else self._audiences.window(audience_of(broadcast))
        if audience is not None and audience.quota().remaining <= 0:
            return audience
        if not window.acquire(1):
            return window
        if audience is not None:
            audience.acquire(1)
        return None

    def _refused(
        self,
        headers: Mapping[str, str],
        parsed: object,
        window: Window | None,
        delay: float,
        *,
        get: bool = False,
    ) -> Reply | None:
        """The 401 of a wrong API key, the 415 of a body not declared JSON, or the 400 of a
        body that is not a JSON object."""
        stats = self.stats
        if _header(headers, "Authorization") != self._authorization:
            stats.unauthorized += 1
            return Reply(
                401,
                _quota_headers(_peek(window)),
                _error(
                    "unauthorized",
                    "send the REST API key as 'Authorization: Bearer <key>'",
                    "Invalid API key",
                ),
                delay=delay,
            )
        content_type = _header(headers, "Content-Type") or ""
        if get:  # a GET has no body: its parameters are in the query
            return None
        # errors.md: a fatal error answers {"message": <fatal error message>, "errors": [...]};
        # "400 Bad Request: Bad syntax" for a body that is not JSON, and 415 for a body not
        # declared JSON (every endpoint's page: "Content-Type: application/json").
        if not content_type.startswith(_JSON):
            status = 415
            body = _error(
                "invalid_content_type",
                "Content-Type must be application/json",
                "Unsupported Media Type",
            )
        elif type(parsed) is not dict:
            status = 400
            body = _error("invalid_json", "the body must be a JSON object", "Bad Request")
        else:
            return None
        stats.rejected_400 += 1
        return Reply(status, _quota_headers(_peek(window)), body, delay=delay)

    def _answer(
        self,
        endpoint: str,
        path_campaign_id: str | None,
        parsed: dict[str, Any],
        body: bytes,
        quota: Quota | None,
    ) -> Reply:
        """The answer to an admitted request: the 400 of a broken rule, or its acceptance."""
        if endpoint == SEND_ID_CREATE or endpoint in _ACTIVITIES:
            return self._activity_answer(endpoint, parsed, quota)
        if endpoint not in _CHECKS and endpoint != TRANSACTIONAL:
            return self._schedule_answer(endpoint, parsed, body, quota)
        try:
            accepted = _check(endpoint, path_campaign_id, parsed, len(body))
            if endpoint == MESSAGES:  # the one rule of the clock: a card's 30 days
                now = dt.datetime.fromtimestamp(self._clock.time(), dt.timezone.utc)
                check_card_expiry(parsed.get("messages"), now)
        except RuleError as error:
            self.stats.rejected_400 += 1
            return Reply(400, _quota_headers(quota), _error(error.code, error.message))
        return self._accept(accepted, path_campaign_id, body, quota)

    def _schedule_answer(
        self, endpoint: str, parsed: dict[str, Any], body: bytes, quota: Quota | None
    ) -> Reply:
        """A schedule endpoint's answer (endpoints/messaging/schedule_messages/): a create's
        ``{"dispatch_id", "schedule_id", "message": "success"}``, an update's or delete's
        ``{"message": "success"}``, the list's ``{"scheduled_broadcasts": [...]}``."""
        now = dt.datetime.fromtimestamp(self._clock.time(), dt.timezone.utc)
        kind, _, verb = endpoint.rpartition("/")
        answer: dict[str, Any] = {"message": "success"}
        status = 201
        try:
            if endpoint == SCHEDULED_BROADCASTS:
                end = check_end_time(parsed)
                answer = {"scheduled_broadcasts": self._schedules.broadcasts(now, end)}
                status = 200
            elif verb == "create":
                accepted, spec = check_schedule_create(kind, parsed, len(body), now)
                schedule_id, dispatch_id = self._schedules.create(
                    kind, accepted, spec, parsed.get("messages")
                )
                answer = {"dispatch_id": dispatch_id, "schedule_id": schedule_id, **answer}
            elif verb == "update":
                self._schedules.update(kind, *check_schedule_update(kind, parsed, now), now)
            else:
                self._schedules.delete(kind, *check_schedule_delete(kind, parsed))
        except RuleError as error:
            self.stats.rejected_400 += 1
            return Reply(400, _quota_headers(quota), _error(error.code, error.message))
        self.stats.accepted += 1
        return Reply(status, _quota_headers(quota), orjson.dumps(answer))

    def _activity_answer(self, endpoint: str, parsed: dict[str, Any], quota: Quota | None) -> Reply:
        """A send ID's ``{"message": "success", "send_id"}`` or a Live Activity's
        ``{"message": "success"}`` (see _activities.py); a started or updated activity is
        recorded, one delivery per target."""
        answer: dict[str, Any] = {"message": "success"}
        try:
            if endpoint == SEND_ID_CREATE:
                campaign_id, answer["send_id"] = check_send_id_create(parsed)
                self.send_ids.append((campaign_id, answer["send_id"]))
            else:
                targets = _ACTIVITIES[endpoint](parsed)
                if self._record:
                    dispatch_id = uuid.uuid4().hex
                    self._deliveries.extend(
                        Delivery(endpoint, None, None, dispatch_id, key, data)
                        for key, data in targets
                    )
        except RuleError as error:
            self.stats.rejected_400 += 1
            return Reply(400, _quota_headers(quota), _error(error.code, error.message))
        self.stats.accepted += 1
        return Reply(201, _quota_headers(quota), orjson.dumps(answer))

    def _fault(self, fault: Fault, window: Window | None, delay: float) -> Reply:
        stats = self.stats
        if fault is Fault.DROP_BEFORE:
            stats.drops_before += 1
            return Reply(0, {}, b"", Action.DROP, delay)
        quota = _peek(window)
        if fault is Fault.SERVER_ERROR:
            stats.faults_5xx += 1
            status = self._faults.server_error_status()
            if status == 500:
                body = _error("internal_server_error", "injected fault", "Internal server error")
            else:
                body = _error("service_unavailable", "injected fault", "Service unavailable")
            return Reply(status, _quota_headers(quota), body, delay=delay)
        stats.injected_429 += 1
        reply_headers = _quota_headers(quota)
        full = quota is not None and quota.remaining == 0
        reply_headers["Retry-After"] = str(quota.retry_after) if quota and full else "1"
        return Reply(429, reply_headers, _RATE_LIMITED_BODY, delay=delay)

    def _accept(
        self, accepted: Accepted, path_campaign_id: str | None, body: bytes, quota: Quota | None
    ) -> Reply:
        stats = self.stats
        status = (
            self._canvas_status.get(accepted.canvas_id) if accepted.canvas_id is not None else None
        )
        if status is not None:
            # A success that sends nothing.
            stats.accepted += 1
            stats.notices += 1
            answer = {
                "notice": CANVAS_NOTICES[status],
                "dispatch_id": uuid.uuid4().hex,
                "message": "success",
            }
            return Reply(201, _quota_headers(quota), orjson.dumps(answer))
        external_send_id = accepted.external_send_id
        if external_send_id is not None:
            seen = self._seen(external_send_id)
            if seen is not None:
                stats.accepted += 1
                stats.deduplicated += 1
                return self._success(accepted, seen, quota)
        dispatch_id = uuid.uuid4().hex
        if external_send_id is not None:
            self._dedup[external_send_id] = (dispatch_id, self._clock.monotonic())
        if self._record:
            # One flat tuple of strings and bytes per request, expanded into Delivery objects
            # only when read: 50 objects per request would cost more than the rest of the
            # request (and the collector's time grows with every live object).
            self._pending.append((accepted.endpoint, path_campaign_id, dispatch_id, body))
        stats.accepted += 1
        stats.recipients_per_request[accepted.explicit] += 1
        return self._success(accepted, dispatch_id, quota)

    def _success(self, accepted: Accepted, dispatch_id: str, quota: Quota | None) -> Reply:
        answer: dict[str, Any]
        if accepted.endpoint == TRANSACTIONAL:
            # The current shape (post_send_transactional_message.md, "Example responses"):
            # dispatch_id, status and metadata ("additional information about the send
            # instance": here what the postbacks' metadata carries).
            metadata = {"campaign_api_id": accepted.campaign_id}
            if accepted.external_send_id is not None:
                metadata["external_send_id"] = accepted.external_send_id
            answer = {"dispatch_id": dispatch_id, "status": "queued", "metadata": metadata}
        else:
            answer = {"dispatch_id": dispatch_id, "message": "success"}
        return Reply(201, _quota_headers(quota), orjson.dumps(answer))

    def _seen(self, external_send_id: str) -> str | None:
        """The dispatch_id of a recent send with this key, forgetting expired keys first."""
        dedup = self._dedup
        expired = self._clock.monotonic() - self._dedup_ttl
        while dedup:
            oldest = next(iter(dedup))
            if dedup[oldest][1] > expired:
                break
            del dedup[oldest]
        seen = dedup.get(external_send_id)
        return None if seen is None else seen[0]
