"""The client reads ISO 8601 times one way, the same on every Python it supports.

Braze's pages write times as ``2019-07-22T13:17:55+0000``, ``...Z`` and ``...+00:00``; Python's
``fromisoformat`` takes more forms on 3.11+ than on 3.10 (``Z``, bare offsets, any number of
fraction digits, the compact ``20250101T000000Z``), so a client built on it would accept a
time on one Python and refuse it on another. ``_validate.iso_time`` is the one reader: the
connected audience object, the channel objects, schedules and the CLI all go through it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from braze_async import BrazeValidationError
from braze_async._validate import is_iso_time, iso_time
from braze_async.audience import CustomAttribute

UTC = dt.timezone.utc


def _tz(hours: int, minutes: int = 0) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=hours, minutes=minutes))


#: The forms Braze writes, and the instant each names.
ACCEPTED_TIMES: dict[str, dt.datetime] = {
    "2019-07-22T13:17:55+0000": dt.datetime(2019, 7, 22, 13, 17, 55, tzinfo=UTC),
    "2019-07-22T13:17:55Z": dt.datetime(2019, 7, 22, 13, 17, 55, tzinfo=UTC),
    "2019-07-22T13:17:55z": dt.datetime(2019, 7, 22, 13, 17, 55, tzinfo=UTC),
    "2019-07-22T13:17:55+00:00": dt.datetime(2019, 7, 22, 13, 17, 55, tzinfo=UTC),
    "2019-07-22T13:17:55+01": dt.datetime(2019, 7, 22, 13, 17, 55, tzinfo=_tz(1)),
    "2019-07-22T13:17:55-0430": dt.datetime(2019, 7, 22, 13, 17, 55, tzinfo=_tz(-4, -30)),
    "2025-01-01T00:00:00.123+01:00": dt.datetime(2025, 1, 1, 0, 0, 0, 123000, _tz(1)),
    "2025-01-01T00:00:00.1Z": dt.datetime(2025, 1, 1, 0, 0, 0, 100000, UTC),
    "2025-01-01T00:00:00.1234567Z": dt.datetime(2025, 1, 1, 0, 0, 0, 123456, UTC),
    "2025-01-01T00:00:00,5Z": dt.datetime(2025, 1, 1, 0, 0, 0, 500000, UTC),
    "2025-01-01 10:30": dt.datetime(2025, 1, 1, 10, 30),
    "2025-01-01T10:30Z": dt.datetime(2025, 1, 1, 10, 30, tzinfo=UTC),
    "2025-01-01": dt.datetime(2025, 1, 1),
}
ACCEPTED = list(ACCEPTED_TIMES)
#: Other forms: refused alike on every Python.
REFUSED = [
    "2025-02-30T00:00:00Z",  # no such day
    "2025-01-01T25:00:00Z",  # no such hour
    "2025-01-01T00:60:00Z",
    "2025-01-01t00:00:00Z",  # fromisoformat on 3.11+ takes a lowercase t
    "20250101T000000Z",  # the compact form: 3.11+ only
    "2025-1-1",
    "2025-01-01T",
    "2025-01-01T10",
    "2025-01-01T00:00:00+01:75",  # no such offset
    "2025-01-01T00:00:00+24:00",
    "2025-01-01T00:00:00.Z",
    " 2025-01-01",
    "2025-01-01\n",
    "yesterday",
    "",
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED_TIMES.items())
def test_the_forms_braze_writes_are_read(text: str, expected: dt.datetime) -> None:
    assert iso_time(text) == expected
    assert iso_time(text).utcoffset() == expected.utcoffset()
    assert is_iso_time(text)


@pytest.mark.parametrize("text", REFUSED)
def test_other_forms_are_refused_on_every_python(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        iso_time(text)
    assert not is_iso_time(text)


def test_only_text_is_a_time() -> None:
    assert not is_iso_time(None)
    assert not is_iso_time(20250101)
    assert not is_iso_time(dt.datetime(2025, 1, 1))


def test_the_audience_builder_reads_times_the_same_way() -> None:
    """The connected audience object's ``before``/``after`` comparisons took another reader
    (a regex of their own): now the same one."""
    assert CustomAttribute("signed_up").before("2025-01-01T00:00:00.1234567Z") is not None
    with pytest.raises(BrazeValidationError, match="ISO 8601"):
        CustomAttribute("signed_up").before("20250101T000000Z")


@pytest.mark.parametrize("text", [*ACCEPTED, *REFUSED])
def test_the_simulator_reads_the_same_forms(text: str) -> None:
    """The simulator's own reader (simulator/_iso.py, written apart from the client's) gives
    the same verdict and the same instant on every Python: before, it was built on
    ``fromisoformat`` and took ``20250101T000000Z`` on 3.11+ only."""
    from braze_async.simulator._iso import is_iso_time as simulator_is_iso_time
    from braze_async.simulator._iso import iso_time as simulator_iso_time

    assert simulator_is_iso_time(text) == is_iso_time(text)
    if is_iso_time(text):
        assert simulator_iso_time(text) == iso_time(text)
