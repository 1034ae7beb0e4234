"""A Starlette app that messages users from its request handlers, batched.

The app's lifespan owns one :class:`~braze_async.BrazeClient` (built from ``BRAZE_API_KEY``
and ``BRAZE_REST_URL``); every ``POST /welcome`` awaits
:meth:`~braze_async.BrazeClient.send_one`, so concurrent requests share Braze requests of
up to 50 recipients while a lone one still leaves at once.

Run it (against the simulator: ``braze-async simulate`` prints the URL and key to use)::

    BRAZE_API_KEY=... BRAZE_REST_URL=https://rest.iad-01.braze.com \\
    WELCOME_CAMPAIGN_ID=... uvicorn examples.webapp:app
    curl -X POST localhost:8000/welcome -d '{"user_id": "u1", "first_name": "Ada"}'

Settings (environment): ``WELCOME_CAMPAIGN_ID`` (default ``"welcome"``),
``BRAZE_BATCH_CONCURRENCY`` (batched requests in flight, default 16) and
``BRAZE_BATCH_LINGER`` (seconds a partial batch may wait for company, default 0).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from braze_async import (
    Batching,
    BrazeAPIError,
    BrazeClient,
    BrazeError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    Campaign,
    Recipient,
)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """One client for the whole app: one connection pool, one batcher, one rate limiter."""
    batching = Batching(
        max_concurrency=int(os.environ.get("BRAZE_BATCH_CONCURRENCY", "16")),
        linger=float(os.environ.get("BRAZE_BATCH_LINGER", "0")),
    )
    async with BrazeClient(batching=batching) as braze:  # BRAZE_API_KEY and BRAZE_REST_URL
        app.state.braze = braze
        app.state.campaign_id = os.environ.get("WELCOME_CAMPAIGN_ID", "welcome")
        yield


async def welcome(request: Request) -> JSONResponse:
    """``POST /welcome {"user_id": ..., "first_name": ...}``: message that user."""
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise BrazeValidationError("body", "must be a JSON object")
        properties = {k: v for k, v in body.items() if k != "user_id"}
        recipient = Recipient(
            external_user_id=body.get("user_id"), trigger_properties=properties or None
        )
    except ValueError as exc:  # invalid JSON, or BrazeValidationError
        return JSONResponse({"error": str(exc)}, status_code=422)
    braze: BrazeClient = request.app.state.braze
    try:
        result = await braze.send_one(Campaign(request.app.state.campaign_id), recipient)
    except BrazeUnknownOutcomeError as exc:
        # Braze may or may not have messaged the user: say so, do not pretend either way.
        return JSONResponse({"error": str(exc), "outcome": "unknown"}, status_code=504)
    except BrazeAPIError as exc:
        return JSONResponse(
            {"error": str(exc), "braze_status": exc.status_code, "outcome": "not sent"},
            status_code=502,
        )
    except BrazeError as exc:
        return JSONResponse({"error": str(exc), "outcome": "not sent"}, status_code=503)
    return JSONResponse(
        {"dispatch_id": result.dispatch_id, "batch_size": result.batch_size}, status_code=202
    )


def create_app() -> Starlette:
    """The app; settings are read from the environment when it starts."""
    return Starlette(routes=[Route("/welcome", welcome, methods=["POST"])], lifespan=lifespan)


app = create_app()
