"""Shared fixtures: every async test runs on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


#: Test files that still send through the 0.x names (kept one release, with a warning) on
#: purpose: tests/test_secrets.py is kept word for word across the API change, so it also
#: proves the deprecated wrappers leak the key nowhere.
_DEPRECATED_NAMES_ON_PURPOSE = {"test_secrets.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in _DEPRECATED_NAMES_ON_PURPOSE:
            item.add_marker(
                pytest.mark.filterwarnings(
                    r"ignore:BrazeClient\.\w+\(\) is deprecated:DeprecationWarning"
                )
            )
