"""Successes that are not plain successes: a ``notice`` (nothing sent), non-fatal errors.

post_send_triggered_canvases.md, "Example success response": a 201 for a paused, stopped or
archived Canvas carries a ``notice`` and Braze sends nothing. Whatever the caller, those
recipients never count as sent: ``trigger_canvas`` returns the answer (``will_send`` is
false), ``send_to_user`` raises :class:`BrazeNotSentError`, ``bulk_send`` fails them (safe
to resend) and stops. errors.md: a success may list non-fatal ``errors``; its recipients were
sent, and a bulk job reports the errors.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from braze_async import BrazeClient, BrazeNotSentError, Campaign, Canvas, ErrorDetail, Recipient
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

PAUSED = "The Canvas is paused. Resume the Canvas to ensure trigger requests will take effect."
ARCHIVED = (
    "The Canvas is archived. Unarchive the Canvas to ensure trigger requests will take effect."
)


def users(n: int) -> list[Recipient]:
    return [Recipient(external_user_id=f"u{i}") for i in range(n)]


def client(sim: BrazeSimulator) -> BrazeClient:
    return BrazeClient(api_key=sim.api_key, base_url=sim.base_url)


@pytest.mark.parametrize(("status", "notice"), [("paused", PAUSED), ("archived", ARCHIVED)])
async def test_trigger_canvas_returns_the_notice_and_nothing_is_delivered(
    status: str, notice: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The simulator answers a paused or archived Canvas with Braze's own words."""
    caplog.set_level(logging.WARNING, logger="braze_async")
    async with BrazeSimulator() as sim, client(sim) as braze:
        sim.set_canvas_status("onboarding", status)  # type: ignore[arg-type]
        response = await braze.send(Canvas("onboarding"), recipients=users(2))
        assert (response.notice, response.will_send, response.message) == (
            notice,
            False,
            "success",
        )
        assert response.dispatch_id
        assert sim.delivered() == [] and sim.stats.notices == 1
        sim.set_canvas_status("onboarding", "active")
        assert (await braze.send(Canvas("onboarding"), recipients=users(2))).will_send
    assert len(sim.delivered()) == 2
    assert any(notice in r.getMessage() for r in caplog.records)


async def test_send_to_user_raises_not_sent_for_every_caller_of_the_batch() -> None:
    """Each caller of a batch Braze will not send gets BrazeNotSentError; resent once the
    Canvas runs again, each user is messaged once."""
    async with BrazeSimulator() as sim, client(sim) as braze:
        sim.set_canvas_status("onboarding", "paused")
        results = await asyncio.gather(
            *(braze.send_one(Canvas("onboarding"), r) for r in users(3)),
            return_exceptions=True,
        )
        assert all(isinstance(r, BrazeNotSentError) for r in results)
        error = results[0]
        assert isinstance(error, BrazeNotSentError)
        assert error.notice == PAUSED and error.status_code == 201
        assert error.endpoint == "/canvas/trigger/send"
        assert sim.delivered() == []
        sim.set_canvas_status("onboarding", "active")
        await asyncio.gather(*(braze.send_one(Canvas("onboarding"), r) for r in users(3)))
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(3)}


async def test_bulk_send_fails_noticed_recipients_stops_and_resumes(tmp_path: Path) -> None:
    """A notice fails its batch's recipients (nothing sent: resent on resume) and stops the
    job; the rest is not attempted. Once the Canvas runs again, resuming sends everyone
    exactly once."""
    journal = tmp_path / "job.journal"
    async with BrazeSimulator() as sim, client(sim) as braze:
        sim.set_canvas_status("onboarding", "paused")
        first = await braze.send_bulk(
            Canvas("onboarding"), users(500), journal=journal, concurrency=1
        )
        assert first.sent == 0 and first.failed == 50 and first.interrupted
        assert first.stop_reason == f"Braze will not send: {PAUSED}"
        assert first.failed + first.not_attempted < 500  # the rest was never read
        detail = first.details[0]
        assert (detail.outcome, detail.status_code, detail.reason) == (
            "failed",
            201,
            f"Braze will not send: {PAUSED}",
        )
        assert sim.delivered() == []
        sim.set_canvas_status("onboarding", "active")
        second = await braze.send_bulk(Canvas("onboarding"), users(500), journal=journal)
    assert second.ok and second.sent == 500
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(500)}


async def test_bulk_send_reports_non_fatal_errors_and_counts_their_recipients_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """errors.md: "In the case of a success, any messages that were not affected by an error
    in the errors array will still be delivered": sent, with the errors kept and logged."""
    answer = {"message": "success", "errors": ["<minor error message>"]}
    transport = httpx.MockTransport(lambda request: httpx.Response(201, json=answer))
    caplog.set_level(logging.WARNING, logger="braze_async")
    async with BrazeClient(
        api_key="k", instance="iad-01", transport=transport, rate_limits=None
    ) as braze:
        report = await braze.send_bulk(Campaign("weekly"), users(120), max_details=2)
    assert report.ok and report.sent == 120 and report.requests == 3
    assert report.non_fatal_errors == [ErrorDetail(code="", message="<minor error message>")] * 2
    assert report.non_fatal_errors_dropped == 1
    assert sum("<minor error message>" in r.getMessage() for r in caplog.records) == 3


async def test_a_key_echoed_in_a_success_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """A notice or non-fatal error is kept and logged: a server echoing the key in one
    leaks nothing."""
    key = "sk-echo-SECRET-0123456789"
    answer = {"message": "success", "errors": [f"bad {key}"], "notice": f"n {key}"}
    transport = httpx.MockTransport(lambda request: httpx.Response(201, json=answer))
    caplog.set_level(logging.DEBUG, logger="braze_async")
    async with BrazeClient(
        api_key=key, instance="iad-01", transport=transport, rate_limits=None
    ) as braze:
        response = await braze.send(Campaign("c"), broadcast=True)
    assert response.errors[0].message == "bad ***" and response.notice == "n ***"
    assert key not in caplog.text


async def test_canvas_status_is_checked_and_reset_makes_every_canvas_active() -> None:
    """Only Braze's statuses are taken; reset() forgets them with everything else."""
    sim = BrazeSimulator()
    with pytest.raises(ValueError, match="active, paused or archived"):
        sim.set_canvas_status("onboarding", "stopped")  # type: ignore[arg-type]
    sim.set_canvas_status("onboarding", "archived")
    sim.reset()
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b") as http:
        answer = await http.post(
            "/canvas/trigger/send",
            json={"canvas_id": "onboarding", "broadcast": True},
            headers={"Authorization": f"Bearer {sim.api_key}"},
        )
    assert "notice" not in answer.json() and sim.stats.notices == 0
