"""The public surface is what braze_async/__init__.py exports, sorted and complete."""

from __future__ import annotations

import braze_async


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists every public name once, in order, and each one exists."""
    exported = braze_async.__all__
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions and dunders.
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(braze_async, name), name
    public = {n for n in dir(braze_async) if not n.startswith("_") and not n.islower()}
    assert public <= set(exported)


def test_every_public_name_is_in_the_api_reference() -> None:
    """docs/api.md documents each name braze_async exports (the docs build checks the rest)."""
    import pathlib
    import re

    reference = (pathlib.Path(__file__).parents[1] / "docs" / "api.md").read_text()
    documented = set(re.findall(r"::: braze_async\.(\w+)", reference))
    missing = [n for n in braze_async.__all__ if not n.startswith("__") and n not in documented]
    assert missing == []


def test_every_simulator_name_is_in_the_api_reference() -> None:
    """docs/api.md documents each name braze_async.simulator exports."""
    import pathlib
    import re

    import braze_async.simulator

    reference = (pathlib.Path(__file__).parents[1] / "docs" / "api.md").read_text()
    documented = set(re.findall(r"::: braze_async\.simulator\.(\w+)", reference))
    missing = [n for n in braze_async.simulator.__all__ if n not in documented]
    assert missing == []
