"""The simulator's own configuration: clear ValueErrors, rates in several spellings."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from braze_async.simulator import (
    BrazeSimulator,
    SimulatorOptions,
    SimulatorRate,
    SystemClock,
    ThreadedSimulator,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("250000/3600", SimulatorRate(250_000, 3600.0), id="string"),
        pytest.param("50/4", SimulatorRate(50, 4.0), id="scaled-hour"),
        pytest.param("5/0.5", SimulatorRate(5, 0.5), id="fractional-period"),
        pytest.param((250, 60), SimulatorRate(250, 60.0), id="tuple"),
        pytest.param(SimulatorRate(1, 1), SimulatorRate(1, 1.0), id="rate"),
    ],
)
def test_rate_spellings(spec: Any, expected: SimulatorRate) -> None:
    """A rate is a SimulatorRate, a (limit, period) tuple or 'LIMIT/SECONDS'."""
    assert SimulatorRate.parse(spec) == expected
    assert SimulatorRate.parse(str(expected)) == expected


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("250000", id="no-period"),
        pytest.param("a/60", id="limit-not-int"),
        pytest.param("2.5/60", id="limit-fraction"),
        pytest.param("0/60", id="limit-zero"),
        pytest.param("5/0", id="period-zero"),
        pytest.param("5/-1", id="period-negative"),
        pytest.param("5/inf", id="period-infinite"),
        pytest.param((5,), id="short-tuple"),
        pytest.param((True, 60), id="bool-limit"),
        pytest.param(250, id="int"),
    ],
)
def test_bad_rates_are_refused(spec: Any) -> None:
    """Malformed or out-of-range rates raise ValueError."""
    with pytest.raises(ValueError, match="rate"):
        SimulatorRate.parse(spec)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"api_key": ""}, "api_key", id="empty-key"),
        pytest.param({"api_key": "a b"}, "api_key", id="key-with-space"),
        pytest.param({"window": "rolling"}, "window", id="window"),
        pytest.param({"fault_5xx": 1.1}, "fault_5xx", id="fault-5xx"),
        pytest.param({"fault_429": -0.1}, "fault_429", id="fault-429"),
        pytest.param({"drop_before": "0.5"}, "drop_before", id="drop-before-string"),
        pytest.param({"drop_after": 2}, "drop_after", id="drop-after"),
        pytest.param({"latency": -1}, "latency", id="latency-negative"),
        pytest.param({"latency": float("nan")}, "latency", id="latency-nan"),
        pytest.param({"latency_jitter": -1}, "latency_jitter", id="jitter"),
        pytest.param({"seed": "7"}, "seed", id="seed-string"),
        pytest.param({"port": 65536}, "port", id="port"),
        pytest.param({"host": ""}, "host", id="host"),
        pytest.param({"dedup_ttl": 0}, "dedup_ttl", id="dedup-ttl"),
        pytest.param({"clock": object()}, "clock", id="clock"),
        pytest.param({"external_id_rate": "1/0"}, "rate", id="external-id-rate"),
        pytest.param({"audience_rate": (0, 60)}, "rate", id="audience-rate"),
    ],
)
def test_bad_configuration_is_a_value_error(options: dict[str, Any], message: str) -> None:
    """Every setting is checked when the simulator is built, naming the setting."""
    with pytest.raises(ValueError, match=message):
        BrazeSimulator(**options)


def test_defaults_are_brazes() -> None:
    """By default: key sim-key, 250,000/hour for recipients, 250/minute for audiences."""
    sim = BrazeSimulator()
    assert sim.api_key == "sim-key"
    assert sim.external_id_rate == SimulatorRate(250_000, 3600)
    assert sim.audience_rate == SimulatorRate(250, 60)
    assert sim.window == "fixed"


def test_keyword_only_after_the_key() -> None:
    """Everything but the API key is keyword-only."""
    with pytest.raises(TypeError):
        BrazeSimulator("k", "250/60")  # type: ignore[call-arg]


def test_exported_members_are_sorted_and_complete() -> None:
    """``__all__`` is sorted and every name in it is importable."""
    import braze_async.simulator as package

    assert package.__all__ == sorted(package.__all__)
    for name in package.__all__:
        assert getattr(package, name).__doc__


def _keyword_parameters(cls: type) -> dict[str, inspect.Parameter]:
    signature = inspect.signature(cls)
    return {n: p for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY}


def test_the_threaded_simulator_takes_the_same_typed_arguments() -> None:
    """ThreadedSimulator's parameters are BrazeSimulator's: names, types and defaults."""
    assert inspect.signature(ThreadedSimulator) == inspect.signature(BrazeSimulator)
    assert _keyword_parameters(ThreadedSimulator)  # not **options


def test_simulator_options_names_every_argument_with_its_type() -> None:
    """SimulatorOptions, the fixture's options type, has a key per parameter, same type."""
    parameters = inspect.signature(BrazeSimulator).parameters
    annotations = SimulatorOptions.__annotations__
    assert list(annotations) == list(parameters)
    for name, parameter in parameters.items():
        written = getattr(annotations[name], "__forward_arg__", annotations[name])
        assert written == parameter.annotation, name  # both as written in the source
    assert SimulatorOptions.__required_keys__ == frozenset()


def test_the_threaded_simulator_passes_every_argument_on() -> None:
    """Each argument given to ThreadedSimulator reaches the simulator it runs."""
    clock = SystemClock()
    threaded = ThreadedSimulator(
        "k", external_id_rate="5/1", audience_rate="2/1", window="fixed", clock=clock, port=0
    )
    sim = threaded.simulator
    assert (sim.api_key, sim.external_id_rate, sim.audience_rate, sim.window) == (
        "k",
        SimulatorRate(5, 1),
        SimulatorRate(2, 1),
        "fixed",
    )
    with pytest.raises(ValueError, match="latency"):
        ThreadedSimulator(latency=-1)
