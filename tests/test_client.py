"""BrazeClient over httpx.MockTransport: requests, answers, errors and the retry policy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from braze_async import (
    Batching,
    BrazeAPIError,
    BrazeAuthenticationError,
    BrazeBadRequestError,
    BrazeClient,
    BrazeConnectionError,
    BrazeError,
    BrazeMalformedResponseError,
    BrazeNotFoundError,
    BrazePermissionError,
    BrazeRateLimitError,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    Campaign,
    Canvas,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
    UserAlias,
)
from braze_async._limits._limiter import Permit
from braze_async._models import CampaignTriggerRequest
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

KEY = "sk-test-0123456789-SECRET"
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a script and remembers what it got."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[Any]:
        return [orjson.loads(r.content) for r in self.requests]


def ok(**body: Any) -> httpx.Response:
    return httpx.Response(201, json={"dispatch_id": "d1", "message": "success", **body})


def error(status: int, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    return httpx.Response(status, json=body or {"message": "nope"}, headers=headers)


def client(recorder: Recorder, clock: FakeClock | None = None, **kwargs: Any) -> BrazeClient:
    """A client on a scripted transport and a fake clock (retry waits are instant, and
    recorded in ``clock.sleeps``); rate limiting off unless a test turns it on."""
    kwargs.setdefault("rate_limits", None)
    return BrazeClient(
        api_key=KEY,
        instance="iad-01",
        transport=httpx.MockTransport(recorder),
        clock=clock if clock is not None else FakeClock(),
        **kwargs,
    )


async def test_trigger_campaign_sends_bearer_json_and_parses_dispatch_id() -> None:
    """The README example: one POST with the key as Bearer, dispatch_id back."""
    rec = Recorder(ok())
    async with client(rec) as braze:
        r = await braze.send(
            Campaign("welcome", trigger_properties={"brand": "x"}),
            recipients=[
                Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20"}),
                Recipient(user_alias=UserAlias(alias_name="n", alias_label="l")),
            ],
        )
    assert r.dispatch_id == "d1"
    assert r.message == "success"
    (req,) = rec.requests
    assert req.method == "POST"
    assert str(req.url) == "https://rest.iad-01.braze.com/campaigns/trigger/send"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert rec.bodies()[0] == {
        "campaign_id": "welcome",
        "trigger_properties": {"brand": "x"},
        "recipients": [
            {"external_user_id": "u1", "trigger_properties": {"coupon": "SAVE20"}},
            {"user_alias": {"alias_name": "n", "alias_label": "l"}},
        ],
    }
    assert "api_key" not in rec.bodies()[0]


async def test_broadcast_audience_and_canvas() -> None:
    """Broadcast, Connected Audience and Canvas sends go to their endpoints."""
    rec = Recorder(ok())
    async with client(rec) as braze:
        await braze.send(Campaign("weekly"), broadcast=True)
        await braze.send(
            Campaign("vip"),
            audience={
                "AND": [
                    {
                        "custom_attribute": {
                            "custom_attribute_name": "eye_color",
                            "comparison": "exists",
                        }
                    }
                ]
            },
        )
        await braze.send(
            Canvas("onboarding", canvas_entry_properties={"a": 1}),
            recipients=[Recipient(external_user_id="u")],
        )
    paths = [r.url.path for r in rec.requests]
    assert paths == ["/campaigns/trigger/send", "/campaigns/trigger/send", "/canvas/trigger/send"]
    assert rec.bodies()[0] == {"campaign_id": "weekly", "broadcast": True}
    # Without recipients the campaign page asks for broadcast: true (the strict reading).
    assert rec.bodies()[1] == {
        "campaign_id": "vip",
        "broadcast": True,
        "audience": {
            "AND": [
                {"custom_attribute": {"custom_attribute_name": "eye_color", "comparison": "exists"}}
            ]
        },
    }
    assert rec.bodies()[2]["context"] == {"a": 1}


async def test_send_transactional() -> None:
    """Transactional sends go to /transactional/v1/campaigns/{id}/send and return send_id."""
    rec = Recorder(
        httpx.Response(201, json={"send_id": "s9", "status": "queued", "message": "success"})
    )
    async with client(rec) as braze:
        t = await braze.send_transactional(
            "receipt",
            Recipient(external_user_id="u1"),
            external_send_id="order-42",
            trigger_properties={"total": 3},
        )
    assert (t.send_id, t.status) == ("s9", "queued")
    assert rec.requests[0].url.path == "/transactional/v1/campaigns/receipt/send"
    assert rec.bodies()[0] == {
        "recipient": {"external_user_id": "u1"},
        "external_send_id": "order-42",
        "trigger_properties": {"total": 3},
    }


async def test_validation_happens_before_any_network_call() -> None:
    """Bad input raises BrazeValidationError and sends nothing."""
    rec = Recorder(ok())
    async with client(rec) as braze:
        with pytest.raises(BrazeValidationError, match="broadcast"):
            await braze.send(Campaign("weekly"))
        with pytest.raises(BrazeValidationError, match="at most 50"):
            await braze.send(
                Campaign("c"), recipients=[Recipient(external_user_id=str(i)) for i in range(51)]
            )
    assert rec.requests == []


async def test_202_queued_is_success() -> None:
    """Braze's maintenance answer 202 {"message": "queued"} is accepted, not raised."""
    rec = Recorder(httpx.Response(202, json={"message": "queued"}))
    async with client(rec) as braze:
        r = await braze.send(Campaign("c"), broadcast=True)
    assert r.queued and r.dispatch_id is None and r.status_code == 202


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        pytest.param(400, BrazeBadRequestError, id="400"),
        pytest.param(401, BrazeAuthenticationError, id="401"),
        pytest.param(403, BrazePermissionError, id="403"),
        pytest.param(404, BrazeNotFoundError, id="404"),
        pytest.param(409, BrazeAPIError, id="409"),
    ],
)
async def test_error_statuses_map_to_exceptions(status: int, kind: type[BrazeAPIError]) -> None:
    """4xx answers raise their own class with Braze's message and errors, without retry."""
    rec = Recorder(
        error(
            status,
            message="Invalid request",
            errors=[{"code": "invalid_recipients", "message": "too many"}],
        )
    )
    async with client(rec) as braze:
        with pytest.raises(kind) as info:
            await braze.send(Campaign("c"), broadcast=True)
    assert type(info.value) is kind
    assert info.value.status_code == status
    assert info.value.message == "Invalid request"
    assert [(e.code, e.message) for e in info.value.errors] == [("invalid_recipients", "too many")]
    assert info.value.endpoint == "/campaigns/trigger/send"
    assert len(rec.requests) == 1


async def test_html_error_page_gives_a_clear_error() -> None:
    """A non-JSON error body still raises the status's exception with a readable snippet."""
    page = "<html><body><h1>Service Unavailable</h1></body></html>"
    rec = Recorder(httpx.Response(503, text=page))
    async with client(rec, retry=RetryPolicy(attempts=1)) as braze:
        with pytest.raises(BrazeServerError, match="Service Unavailable"):
            await braze.send(Campaign("c"), broadcast=True)


async def test_gateway_timeout_is_an_unknown_outcome_not_retried() -> None:
    """A 504 ("a server didn't receive a response from another server upstream", errors.md)
    may follow a send Braze accepted: reported unknown, never retried."""
    rec = Recorder(httpx.Response(504, text="<html><h1>Gateway Timeout</h1></html>"), ok())
    async with client(rec) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="HTTP 504 from a gateway"):
            await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
    assert len(rec.requests) == 1


async def test_bad_gateway_is_retried_like_any_refused_request() -> None:
    """A 502 is "a failure before it reaches the destination server" (errors.md): nothing
    was processed, so it is retried with backoff and the retry's answer is the result."""
    rec = Recorder(httpx.Response(502, text="<html><h1>Bad Gateway</h1></html>"), ok())
    async with client(rec) as braze:
        response = await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
    assert response.dispatch_id is not None
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    ("status", "released"),
    [
        pytest.param(502, [(True, False), (True, False)], id="502-never-reached-braze"),
        pytest.param(504, [(True, True)], id="504-may-reach-braze-late"),
    ],
)
async def test_the_limiter_counts_only_a_504_as_maybe_processed(
    monkeypatch: pytest.MonkeyPatch, status: int, released: list[tuple[bool, bool]]
) -> None:
    """The rate limiter keeps a slot "one period longer" only for an answer Braze may still
    count: a 504's, not a 502's (which failed before reaching Braze, errors.md)."""
    seen: list[tuple[bool, bool]] = []
    release = Permit.release

    def spy(self: Permit, *, sent: bool = True, outcome_unknown: bool = False) -> None:
        seen.append((sent, outcome_unknown))
        release(self, sent=sent, outcome_unknown=outcome_unknown)

    monkeypatch.setattr(Permit, "release", spy)
    rec = Recorder(httpx.Response(status, text="gateway"), ok())
    async with client(rec, rate_limits=RateLimits()) as braze:
        try:
            await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
        except BrazeUnknownOutcomeError:
            assert status == 504
    assert seen == released


async def test_gateway_error_is_retried_for_deduplicated_transactional_sends() -> None:
    """With external_send_id Braze deduplicates, so a 504 is retried."""
    rec = Recorder(httpx.Response(504, text="gateway timeout"), ok(dispatch_id="t1"))
    async with client(rec) as braze:
        await braze.send_transactional(
            "t", Recipient(external_user_id="u"), external_send_id="order-1"
        )
    assert len(rec.requests) == 2


async def test_5xx_is_retried_with_backoff() -> None:
    """5xx answers are retried with jittered, growing backoff, then succeed."""
    policy = RetryPolicy(attempts=3, backoff_initial=1.0)
    rec = Recorder(error(500), error(503), ok())
    clock = FakeClock()
    async with client(rec, clock, retry=policy) as braze:
        r = await braze.send(Campaign("c"), broadcast=True)
    assert r.dispatch_id == "d1"
    assert len(rec.requests) == 3
    sleeps = clock.sleeps
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0
    # The waits are drawn below a ceiling that doubles: without jitter, the ceiling, 1 s then 2 s.
    rec, clock = Recorder(error(500), error(503), ok()), FakeClock()
    braze = client(rec, clock, retry=RetryPolicy(attempts=3, backoff_initial=1.0, jitter=False))
    async with braze:
        await braze.send(Campaign("c"), broadcast=True)
    assert clock.sleeps == [1.0, 2.0]


async def test_5xx_gives_up_after_attempts() -> None:
    """Once the attempts are spent the 5xx surfaces as BrazeServerError."""
    rec = Recorder(error(500))
    async with client(rec, retry=RetryPolicy(attempts=2)) as braze:
        with pytest.raises(BrazeServerError) as info:
            await braze.send(Campaign("c"), broadcast=True)
    assert info.value.attempts == 2 and len(rec.requests) == 2


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"X-RateLimit-Retry-After": "7"}, 7.0, id="x-retry-after"),
        pytest.param({"Retry-After": "3"}, 3.0, id="retry-after"),
    ],
)
async def test_429_waits_as_told_then_retries(headers: dict[str, str], expected: float) -> None:
    """A 429 waits for the announced delay and is retried, never dropped."""
    rec = Recorder(error(429, headers, message="rate limit exceeded"), ok())
    clock = FakeClock()
    async with client(rec, clock) as braze:
        r = await braze.send(Campaign("c"), broadcast=True)
    assert r.dispatch_id == "d1"
    assert clock.sleeps == [expected]


async def test_429_uses_reset_epoch_when_no_retry_after() -> None:
    """Without Retry-After, X-RateLimit-Reset (UTC epoch seconds) sets the wait."""
    clock = FakeClock()  # the client reads the reset on its clock's wall time
    reset = str(int(clock.time()) + 30)
    rec = Recorder(error(429, {"X-RateLimit-Reset": reset}), ok())
    async with client(rec, clock) as braze:
        await braze.send(Campaign("c"), broadcast=True)
    assert 25 <= clock.sleeps[0] <= 31


async def test_429_has_its_own_budget_and_then_raises() -> None:
    """429 retries do not eat the attempts; past rate_limited_attempts it raises."""
    rec = Recorder(error(429, {"Retry-After": "1"}))
    async with client(rec, retry=RetryPolicy(attempts=1, rate_limited_attempts=3)) as braze:
        with pytest.raises(BrazeRateLimitError) as info:
            await braze.send(Campaign("c"), broadcast=True)
    assert len(rec.requests) == 4
    assert info.value.retry_after == 1.0


async def test_never_sent_is_retried() -> None:
    """A connection error (the request never left) is retried and can then succeed."""
    rec = Recorder(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), ok())
    async with client(rec) as braze:
        assert (await braze.send(Campaign("c"), broadcast=True)).dispatch_id == "d1"
    assert len(rec.requests) == 3


async def test_never_sent_gives_up_with_connection_error() -> None:
    """After the attempts, a never-sent failure raises BrazeConnectionError."""
    rec = Recorder(httpx.ConnectError("refused"))
    async with client(rec, retry=RetryPolicy(attempts=3)) as braze:
        with pytest.raises(BrazeConnectionError):
            await braze.send(Campaign("c"), broadcast=True)
    assert len(rec.requests) == 3


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
        pytest.param(httpx.RemoteProtocolError("Server disconnected"), id="dropped"),
        pytest.param(httpx.ReadError("reset"), id="read-error"),
    ],
)
async def test_ambiguous_trigger_send_is_not_retried(exc: Exception) -> None:
    """Maybe-processed failures raise BrazeUnknownOutcomeError after exactly one attempt."""
    rec = Recorder(exc, ok())
    async with client(rec) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="may or may not"):
            await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
    assert len(rec.requests) == 1


async def test_ambiguous_retry_is_opt_in() -> None:
    """retry_ambiguous=True retries a maybe-processed trigger send."""
    rec = Recorder(httpx.ReadTimeout("slow"), ok())
    async with client(rec, retry=RetryPolicy(retry_ambiguous=True)) as braze:
        assert (await braze.send(Campaign("c"), broadcast=True)).dispatch_id == "d1"
    assert len(rec.requests) == 2


async def test_transactional_with_external_send_id_retries_ambiguity() -> None:
    """Braze deduplicates on external_send_id, so an unknown outcome is retried."""
    answer = httpx.Response(201, json={"send_id": "s", "status": "queued"})
    rec = Recorder(httpx.RemoteProtocolError("dropped"), answer)
    async with client(rec) as braze:
        t = await braze.send_transactional(
            "t", Recipient(external_user_id="u"), external_send_id="o-1"
        )
    assert t.send_id == "s" and len(rec.requests) == 2
    rec2 = Recorder(httpx.RemoteProtocolError("dropped"), answer)
    async with client(rec2) as braze:
        with pytest.raises(BrazeUnknownOutcomeError):
            await braze.send_transactional("t", Recipient(external_user_id="u"))
    assert len(rec2.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(201, json={}), id="empty-object"),
        pytest.param(httpx.Response(201, json={"message": "odd"}), id="neither-id-nor-success"),
        pytest.param(httpx.Response(200, text="{not json"), id="bad-json"),
        pytest.param(httpx.Response(200, json=[1, 2]), id="json-array"),
    ],
)
async def test_malformed_success_is_an_unknown_outcome(answer: httpx.Response) -> None:
    """A 2xx we cannot read raises BrazeMalformedResponseError (outcome unknown)."""
    async with client(Recorder(answer)) as braze:
        with pytest.raises(BrazeMalformedResponseError) as info:
            await braze.send(Campaign("c"), broadcast=True)
    assert isinstance(info.value, BrazeUnknownOutcomeError)


async def test_huge_answer_is_refused() -> None:
    """An answer over max_response_bytes is not read into memory."""
    big = httpx.Response(200, content=b"x" * 5000, headers={"content-length": "5000"})
    async with client(Recorder(big), max_response_bytes=1000) as braze:
        with pytest.raises(BrazeMalformedResponseError, match="larger than 1000 bytes"):
            await braze.send(Campaign("c"), broadcast=True)


async def test_redirect_is_not_followed() -> None:
    """A redirect to another host is reported, never followed with the key."""
    rec = Recorder(httpx.Response(307, headers={"location": "https://evil.example/steal"}))
    async with client(rec) as braze:
        with pytest.raises(BrazeAPIError, match="evil.example; not followed") as info:
            await braze.send(Campaign("c"), broadcast=True)
    assert info.value.status_code == 307
    assert [r.url.host for r in rec.requests] == ["rest.iad-01.braze.com"]


async def test_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    """The key is in no repr, log record or exception, even when the server echoes it."""
    caplog.set_level(logging.DEBUG, logger="braze_async")
    echo = httpx.Response(500, json={"message": f"bad header Bearer {KEY}", "errors": [KEY]})
    rec = Recorder(echo, httpx.ReadTimeout(f"timeout {KEY}"))
    braze = client(rec, retry=RetryPolicy(attempts=1))
    assert KEY not in repr(braze)
    with pytest.raises(BrazeError) as info:
        await braze.send(Campaign("c"), broadcast=True)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert all(KEY not in e.message for e in info.value.errors)  # type: ignore[attr-defined]
    await braze.aclose()
    assert caplog.records
    for record in caplog.records:
        assert KEY not in record.getMessage()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"base_url": "http://rest.iad-01.braze.com"}, "base_url", id="plain-http"),
        pytest.param({"base_url": "ftp://x"}, "base_url", id="ftp"),
        pytest.param({"instance": "nowhere"}, "instance", id="bad-instance"),
        pytest.param({"instance": "iad-01", "base_url": "https://x"}, "instance", id="both"),
        pytest.param(
            {"base_url": "https://rest.iad-01.braze.com/campaigns/trigger/send"},
            "base_url",
            id="with-a-path",
        ),
        pytest.param({"base_url": "https://x:notaport"}, "base_url", id="bad-port"),
    ],
)
def test_bad_endpoint_config(kwargs: dict[str, Any], field: str) -> None:
    """Insecure or malformed endpoints are refused at construction."""
    with pytest.raises(BrazeValidationError) as info:
        BrazeClient(api_key=KEY, **kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        pytest.param({"api_key": "sk-1\r\nX-Evil: 1"}, "api_key", "control characters",
                     id="key-with-a-newline"),
        pytest.param({"api_key": "sk-1\x00"}, "api_key", "control characters", id="key-with-nul"),
        pytest.param({"api_key": "  "}, "api_key", "is required", id="blank-key"),
    ],
)  # fmt: skip
def test_a_key_that_could_split_a_header_is_refused(
    kwargs: dict[str, Any], field: str, message: str
) -> None:
    """A key with CR, LF or NUL (it travels in a header), or a blank one: refused at once."""
    with pytest.raises(BrazeValidationError, match=message) as info:
        BrazeClient(instance="iad-01", **kwargs)
    assert info.value.field == field


async def test_batching_is_set_at_construction() -> None:
    """Batching is a value given to the client: no call-order rule, and a wrong type is
    refused naming the parameter."""
    rec = Recorder(ok())
    async with client(rec, batching=Batching(max_concurrency=2, linger=0)) as braze:
        await braze.send_one(Campaign("c"), Recipient(external_user_id="u1"))
        await braze.send_one(Campaign("c"), Recipient(external_user_id="u2"))
    assert len(rec.requests) == 2
    with pytest.raises(BrazeValidationError, match="batching"):
        BrazeClient(api_key=KEY, instance="iad-01", batching={"linger": 0})  # type: ignore[arg-type]


async def test_a_closed_client_refuses_a_bulk_job() -> None:
    """bulk_send on a closed client: refused before anything is read."""
    rec = Recorder(ok())
    braze = client(rec)
    await braze.aclose()
    read: list[int] = []

    def recipients() -> Any:
        for i in range(10):
            read.append(i)
            yield Recipient(external_user_id=f"u{i}")

    with pytest.raises(BrazeError, match="closed"):
        await braze.send_bulk(Campaign("c"), recipients())
    assert read == [] and rec.requests == []


async def test_retry_waits_sleep_on_the_clients_clock() -> None:
    """The client's one clock times its retry waits: without jitter, the backoff ceiling."""
    rec = Recorder(error(503), ok())
    clock = FakeClock()
    braze = client(rec, clock, retry=RetryPolicy(attempts=2, backoff_initial=1.0, jitter=False))
    async with braze:
        await braze.send(Campaign("c"), broadcast=True)
    assert clock.sleeps == [1.0]
    assert clock.monotonic() == 1.0


def test_endpoint_resolution_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Instances map to Braze's hosts; loopback http is allowed; env vars are read."""
    assert BrazeClient(api_key=KEY, instance="fra-02").base_url == "https://rest.fra-02.braze.eu"
    assert BrazeClient(api_key=KEY, base_url="http://127.0.0.1:8080/").base_url == (
        "http://127.0.0.1:8080"
    )
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    monkeypatch.setenv("BRAZE_REST_URL", "https://rest.iad-05.braze.com")
    assert BrazeClient().base_url == "https://rest.iad-05.braze.com"
    monkeypatch.delenv("BRAZE_API_KEY")
    with pytest.raises(BrazeValidationError, match="api_key"):
        BrazeClient()


async def test_injected_http_client_is_used_and_not_closed() -> None:
    """An injected httpx.AsyncClient carries the requests and stays open after aclose()."""
    rec = Recorder(ok())
    http = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    braze = BrazeClient(api_key=KEY, instance="iad-01", transport=http)
    await braze.send(Campaign("c"), broadcast=True)
    assert rec.requests[0].headers["authorization"] == f"Bearer {KEY}"
    await braze.aclose()
    await braze.aclose()  # idempotent
    assert not http.is_closed
    with pytest.raises(BrazeError, match="closed"):
        await braze.send(Campaign("c"), broadcast=True)
    await http.aclose()


@pytest.mark.parametrize("limited", [True, False], ids=["rate-limited", "limits-off"])
async def test_on_admitted_runs_once_before_the_first_attempt(limited: bool) -> None:
    """The hook runs after admission, before anything leaves, and only once across retries."""
    rec = Recorder(error(503), ok())
    calls: list[int] = []
    kwargs: dict[str, Any] = {"rate_limits": RateLimits()} if limited else {}
    async with client(rec, **kwargs) as braze:
        request = CampaignTriggerRequest(
            campaign_id="c", recipients=[Recipient(external_user_id="u1")]
        )
        await braze._post(
            "/campaigns/trigger/send", request, lambda: calls.append(len(rec.requests))
        )
    assert calls == [0]  # called once, when nothing had been sent yet
    assert len(rec.requests) == 2


async def test_on_admitted_that_raises_sends_nothing_and_frees_the_slot() -> None:
    """A hook that fails (a journal that cannot be written) stops the request unsent."""
    rec = Recorder(ok())

    def refuse() -> None:
        raise OSError(28, "No space left on device")

    async with client(rec, rate_limits=RateLimits(external_id=Rate(1, 3600.0))) as braze:
        request = CampaignTriggerRequest(
            campaign_id="c", recipients=[Recipient(external_user_id="u1")]
        )
        with pytest.raises(OSError, match="No space left"):
            await braze._post("/campaigns/trigger/send", request, refuse)
        assert rec.requests == []
        # The only slot of the hour was given back: the next request is admitted at once.
        await asyncio.wait_for(braze._post("/campaigns/trigger/send", request), timeout=5)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:hunter2-secret@rest.iad-01.braze.com",
        "https://:hunter2-secret@rest.iad-01.braze.com",
        "http://admin:hunter2-secret@127.0.0.1:8080",
    ],
)
def test_base_url_with_credentials_is_refused_without_echoing_them(url: str) -> None:
    """A password in the base URL is refused, and the error never repeats it."""
    with pytest.raises(BrazeValidationError) as info:
        BrazeClient(api_key=KEY, base_url=url)
    assert info.value.field == "base_url"
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)


def test_a_client_belongs_to_the_event_loop_it_was_first_used_in() -> None:
    """A module-level client used under a second event loop fails clearly, not with a raw
    RuntimeError about a Future attached to a different loop."""
    rec = Recorder(ok())
    braze = client(rec, rate_limits=RateLimits())

    async def send() -> None:
        await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u1")])

    asyncio.run(send())
    with pytest.raises(BrazeError, match="belongs to the event loop it was first used in"):
        asyncio.run(send())
    with pytest.raises(BrazeError, match="belongs to the event loop"):
        asyncio.run(braze.send_one(Campaign("c"), Recipient(external_user_id="u2")))
    assert len(rec.requests) == 1
