"""Serialization: build and serialize a 50-recipient request, models vs plain dicts."""

from __future__ import annotations

import json
import timeit
from typing import Any

import orjson

from braze_async import Recipient
from braze_async._models import CampaignTriggerRequest
from braze_async._wire import converter, dumps

from ._common import Row, standalone

SECTION = "Serialization of a 50-recipient request"
HOW_TO_READ = (
    "microseconds to build and encode one request body, best of five; the ratio is ours over "
    "hand-built dicts with json.dumps (what a user would write), below 1 means we are cheaper."
)
PLOTS: tuple[str, ...] = ()


def with_models() -> bytes:
    recipients = [
        Recipient(external_user_id=f"user-{i}", trigger_properties={"coupon": "SAVE20", "n": i})
        for i in range(50)
    ]
    request = CampaignTriggerRequest(
        campaign_id="c", recipients=recipients, trigger_properties={"brand": "x"}
    )
    return dumps(request)


def plain_body() -> dict[str, Any]:
    """The same request as plain dicts, built the way a hand-written client would."""
    return {
        "campaign_id": "c",
        "recipients": [
            {"external_user_id": f"user-{i}", "trigger_properties": {"coupon": "SAVE20", "n": i}}
            for i in range(50)
        ],
        "trigger_properties": {"brand": "x"},
    }


def plain_dicts() -> bytes:
    return json.dumps(plain_body()).encode()


def plain_dicts_orjson() -> bytes:
    return orjson.dumps(plain_body())


def best_us(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def run(quick: bool) -> list[Row]:
    assert orjson.loads(with_models()) == orjson.loads(plain_dicts())  # same bytes' meaning
    assert converter.unstructure(Recipient(external_user_id="u")) == {"external_user_id": "u"}
    number = 300 if quick else 2000
    ours = best_us(with_models, number)
    plain = best_us(plain_dicts, number)
    fast = best_us(plain_dicts_orjson, number)
    return [
        Row(
            SECTION,
            "attrs models + validation + cattrs converter + orjson",
            ours,
            "us",
            "plain dicts + json.dumps",
            ours / plain,
            "<= 1.0x",
            ours <= plain,
        ),
        Row(SECTION, "plain dicts + json.dumps", plain, "us"),
        Row(SECTION, "plain dicts + orjson (no validation)", fast, "us"),
    ]


if __name__ == "__main__":
    standalone(run)
