"""examples/webapp.py under uvicorn, against the simulator: real HTTP both ways."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn

from braze_async import AiohttpTransport
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

KEY = "sk-webapp-SECRET-0123456789"
WEBAPP = Path(__file__).parent.parent / "examples" / "webapp.py"


def load_webapp() -> ModuleType:
    spec = importlib.util.spec_from_file_location("braze_webapp_example", WEBAPP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_500_concurrent_requests_are_delivered_once_in_few_braze_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each HTTP request awaits send_to_user; Braze sees every user once, in few requests."""
    async with BrazeSimulator(KEY, latency=0.05) as sim:
        monkeypatch.setenv("BRAZE_API_KEY", KEY)
        monkeypatch.setenv("BRAZE_REST_URL", sim.base_url)
        monkeypatch.setenv("WELCOME_CAMPAIGN_ID", "welcome")
        port = free_port()
        config = uvicorn.Config(
            load_webapp().create_app(),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve())
        try:
            while not server.started:
                assert not serving.done(), "uvicorn did not start"
                await asyncio.sleep(0.01)
            # httpx's own connection pool crawls with 500 requests at once (seconds, measured);
            # our aiohttp-backed transport does not.
            transport = AiohttpTransport(limits=httpx.Limits(max_connections=100))
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=60
            ) as http:
                answers = await asyncio.gather(
                    *(
                        http.post("/welcome", json={"user_id": f"u{i}", "first_name": f"n{i}"})
                        for i in range(500)
                    )
                )
                invalid = await http.post("/welcome", json={"first_name": "no id"})
        finally:
            server.should_exit = True
            await serving
    assert [a.status_code for a in answers] == [202] * 500
    assert invalid.status_code == 422
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(500)}
    assert sim.stats.requests <= 30
    by_user = {d.recipient: d for d in sim.delivered()}
    for i, answer in enumerate(answers):
        delivery = by_user[f"external_user_id:u{i}"]
        assert answer.json()["dispatch_id"] == delivery.dispatch_id
        assert delivery.data["trigger_properties"] == {"first_name": f"n{i}"}
