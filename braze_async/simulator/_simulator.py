"""``BrazeSimulator``: configuration, lifecycle and the public view of the simulator's state."""

from __future__ import annotations

import warnings
from collections import Counter
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypedDict

from . import _settings
from ._clock import Clock, SystemClock
from ._core import CanvasStatus, SimulatorCore, WindowKind
from ._faults import FaultPlan
from ._models import Delivery, RateSpec, SimulatorRate, SimulatorStats
from ._server import SimulatorServer
from ._transport import SimulatorTransport

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["BrazeSimulator", "SimulatorOptions", "SimulatorState"]

#: Braze's default recipient-send budget, shared by the three trigger endpoints.
DEFAULT_EXTERNAL_ID_RATE = SimulatorRate(250_000, 3600)
#: Braze's default segment / Connected Audience / broadcast budget.
DEFAULT_AUDIENCE_RATE = SimulatorRate(250, 60)
#: Broadcasts to one unique audience (api_limits.md: "10 requests per minute per unique
#: audience"), on top of the audience budget.
DEFAULT_PER_AUDIENCE_RATE = SimulatorRate(10, 60)


class SimulatorOptions(TypedDict, total=False):
    """The keyword arguments of :class:`BrazeSimulator` and :class:`ThreadedSimulator`, as a
    type: what the ``braze_simulator_options`` fixture returns::

        @pytest.fixture
        def braze_simulator_options() -> SimulatorOptions:
            return {"external_id_rate": "50/4", "fault_5xx": 0.1, "seed": 7}

    Each key means what the parameter of the same name means (see :class:`BrazeSimulator`).
    """

    api_key: str
    external_id_rate: RateSpec
    audience_rate: RateSpec
    per_audience_rate: RateSpec
    window: WindowKind
    latency: float
    latency_jitter: float
    fault_5xx: float
    fault_429: float
    drop_before: float
    drop_after: float
    seed: int | None
    record: bool
    dedup_ttl: float
    clock: Clock | None
    host: str
    port: int


class SimulatorState:
    """What every face of a simulator offers: its record, counters and budget controls.

    Shared by :class:`BrazeSimulator` and :class:`ThreadedSimulator`; safe from any thread.
    The record is read by three methods, each returning a fresh snapshot:

    - :meth:`delivered`: every :class:`Delivery`, in order of acceptance;
    - :meth:`delivered_to`: the deliveries to one recipient, named as in the request
      (``external_user_id="u1"``, ``user_alias=("name", "label")``, ``email=...``);
    - :meth:`delivered_counts`: deliveries per recipient (any count above 1 is a duplicate).
    """

    _core: SimulatorCore

    def delivered(self) -> list[Delivery]:
        """Every accepted recipient, in order of acceptance (a snapshot: a new list each call).

        An audience send (segment, Connected Audience, broadcast) is one :class:`Delivery`
        whose ``recipient`` is ``"segment:<id>"``, ``"audience"`` or ``"broadcast"``. Empty
        for a simulator made with ``record=False`` (its counters still count).
        """
        return self._core.delivered()

    def delivered_to(
        self,
        *,
        external_user_id: str | int | None = None,
        user_alias: tuple[str, str] | None = None,
        email: str | None = None,
        braze_id: str | None = None,
    ) -> list[Delivery]:
        """The deliveries to one recipient, in order: an empty list if it was never messaged,
        two or more if it was messaged twice. Name it exactly one way::

            [delivery] = sim.delivered_to(external_user_id="u1")
            assert delivery.campaign_id == "welcome"
            assert not sim.delivered_to(user_alias=("ada", "crm_id"))
            assert len(sim.delivered_to(email="ada@example.com")) == 1

        :param user_alias: ``(alias_name, alias_label)``.
        :raises ValueError: unless exactly one way of naming the recipient is given.
        """
        given = {
            "external_user_id": external_user_id,
            "user_alias": user_alias,
            "email": email,
            "braze_id": braze_id,
        }
        named = {kind: value for kind, value in given.items() if value is not None}
        if len(named) != 1:
            raise ValueError(
                "name the recipient one way: external_user_id=, user_alias=, email= or "
                f"braze_id= (got {', '.join(named) or 'none'})"
            )
        if user_alias is not None:
            # Matched on the object received, not the key: an alias name may hold a "/".
            alias_name, alias_label = user_alias
            wanted = {"alias_name": alias_name, "alias_label": alias_label}
            return [d for d in self.delivered() if d.data.get("user_alias") == wanted]
        ((kind, value),) = named.items()
        key = f"{kind}:{value}"
        return [d for d in self.delivered() if d.recipient == key]

    def delivered_counts(self) -> Counter[str]:
        """How many times each recipient was delivered to, by :attr:`Delivery.recipient` key
        (``"external_user_id:u1"``); a count above 1 is a duplicate::

            assert max(sim.delivered_counts().values()) == 1  # nobody messaged twice
        """
        return self._core.delivered_counts()

    @property
    def deliveries(self) -> list[Delivery]:
        """Deprecated (warns): the same list as :meth:`delivered`, which replaces it; for one
        recipient, :meth:`delivered_to`."""
        warnings.warn(
            "SimulatorState.deliveries is deprecated: call delivered() (or delivered_to(...) "
            "for one recipient)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.delivered()

    @property
    def stats(self) -> SimulatorStats:
        """Counters of everything answered since start or :meth:`reset` (live)."""
        return self._core.stats

    def reset(self) -> None:
        """Forget deliveries, counters, rate-limit windows, transactional dedup keys and Canvas
        statuses."""
        self._core.reset()

    def send_ids(self) -> list[tuple[str, str]]:
        """The send IDs created (``/sends/id/create``): ``(campaign_id, send_id)``, in order."""
        with self._core._lock:
            return list(self._core.send_ids)

    def consume_budget(self, bucket: Literal["external_id", "audience", "send_ids"], n: int) -> int:
        """Spend ``n`` requests of a window as another consumer of the workspace would.

        Only what fits is spent (Braze does not count refused requests).

        :param bucket: ``"external_id"``, ``"audience"`` or ``"send_ids"`` (100 a day).
        :returns: how many requests were actually spent.
        :raises ValueError: for an unknown bucket or a negative ``n``.
        """
        return self._core.consume_budget(bucket, n)

    def set_canvas_status(self, canvas_id: str, status: CanvasStatus) -> None:
        """Answer sends to ``canvas_id`` as Braze does for a Canvas in that ``status``.

        ``"paused"`` or ``"archived"``: a 201 with a ``notice`` (Braze's own words, from
        post_send_triggered_canvases.md), a ``dispatch_id`` and ``"message": "success"``, and
        nothing delivered. ``"active"`` (the default) sends again. :meth:`reset` makes every
        Canvas active.

        :raises ValueError: for another status.
        """
        self._core.set_canvas_status(canvas_id, status)

    def set_time_zone(self, external_user_id: str, zone: str) -> None:
        """Give a user an IANA time zone (``"Europe/Paris"``): a local-time schedule reaches
        it at the schedule's wall-clock time there (a user without one gets UTC, the
        simulator's company time zone).

        :raises zoneinfo.ZoneInfoNotFoundError: for an unknown zone.
        """
        self._core.set_time_zone(f"external_user_id:{external_user_id}", zone)

    def transport(self) -> SimulatorTransport:
        """An in-process httpx transport over this simulator's state (no sockets)."""
        return SimulatorTransport(self._core)


class BrazeSimulator(SimulatorState):
    """A local server that behaves like Braze's send endpoints (like moto for AWS).

    It serves ``POST /campaigns/trigger/send``, ``/canvas/trigger/send``, ``/messages/send``
    and ``/transactional/v1/campaigns/{id}/send``, checks the API key and every documented
    request rule (read from Braze's pages, not from our client: see ``_rules.py``), applies
    Braze's rate limits, injects seeded faults, answers as a paused Canvas would when told
    to (:meth:`set_canvas_status`), and records what it would have delivered::

        async with BrazeSimulator(external_id_rate="50/4", fault_5xx=0.1, seed=1) as sim:
            async with httpx.AsyncClient(base_url=sim.base_url) as http:
                await http.post(
                    "/campaigns/trigger/send",
                    json={"campaign_id": "c1", "recipients": [{"external_user_id": "u1"}]},
                    headers={"Authorization": f"Bearer {sim.api_key}"},
                )
            assert len(sim.delivered_to(external_user_id="u1")) == 1

    Entering the context starts a server on ``host:port`` (a free port when 0) in the running
    event loop. :meth:`transport` needs no server: it answers in process from the same state.
    For synchronous code or another event loop, use :class:`ThreadedSimulator`.

    :param api_key: the REST API key accepted as ``Authorization: Bearer <key>``.
    :param external_id_rate: budget of sends to explicit recipients (external ids, aliases,
        emails; an audience filter or not), shared by the three send endpoints:
        ``(limit, seconds)`` or ``"N/S"``.
    :param audience_rate: budget of broadcast sends: a segment, a Connected Audience or the
        whole segment, without recipients.
    :param per_audience_rate: budget of broadcasts to one unique audience (the same
        campaign or Canvas, segment and ``audience`` filter, api_limits.md), on top of
        ``audience_rate``: 10 a minute.
    :param window: ``"fixed"`` (the default: budgets come back on the clock's minute and hour,
        as api_limits.md counts them) or ``"sliding"`` (an exact log of the last period).
    :param latency: seconds to wait before every answer.
    :param latency_jitter: up to this many seconds more, drawn uniformly per request.
    :param fault_5xx: probability of a 500/503 answer, nothing delivered.
    :param fault_429: probability of an injected 429, nothing delivered or counted.
    :param drop_before: probability of closing the connection before processing.
    :param drop_after: probability of processing (delivering) and then closing the connection
        without answering.
    :param seed: seeds the fault draws; None for a random seed.
    :param record: keep a :class:`Delivery` per accepted recipient (see :meth:`delivered`).
    :param dedup_ttl: seconds a transactional ``external_send_id`` is remembered (24 h).
    :param clock: replaces the monotonic and wall clocks (for tests with a fake clock).
    :param host: interface to listen on (loopback by default).
    :param port: TCP port; 0 picks a free one.
    :raises ValueError: for any invalid setting.
    """

    def __init__(
        self,
        api_key: str = "sim-key",
        *,
        external_id_rate: RateSpec = DEFAULT_EXTERNAL_ID_RATE,
        audience_rate: RateSpec = DEFAULT_AUDIENCE_RATE,
        per_audience_rate: RateSpec = DEFAULT_PER_AUDIENCE_RATE,
        window: WindowKind = "fixed",
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        fault_5xx: float = 0.0,
        fault_429: float = 0.0,
        drop_before: float = 0.0,
        drop_after: float = 0.0,
        seed: int | None = None,
        record: bool = True,
        dedup_ttl: float = 86400.0,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if window not in ("fixed", "sliding"):
            raise ValueError(f"window must be 'fixed' or 'sliding', got {window!r}")
        if clock is not None and not isinstance(clock, Clock):
            raise ValueError("clock must have monotonic() and time() methods")
        if not isinstance(host, str) or not host:
            raise ValueError("host must be a non-empty string")
        #: The key accepted as ``Authorization: Bearer <key>``.
        self.api_key: str = _settings.api_key(api_key)
        #: Budget of sends to explicit recipients.
        self.external_id_rate: SimulatorRate = SimulatorRate.parse(external_id_rate)
        #: Budget of segment / Connected Audience / broadcast sends.
        self.audience_rate: SimulatorRate = SimulatorRate.parse(audience_rate)
        #: Budget of broadcasts to one unique audience.
        self.per_audience_rate: SimulatorRate = SimulatorRate.parse(per_audience_rate)
        #: ``"fixed"`` (default) or ``"sliding"``.
        self.window: WindowKind = window
        self._host = host
        self._port = _settings.port(port)
        self._core = SimulatorCore(
            api_key=self.api_key,
            external_id_rate=self.external_id_rate,
            audience_rate=self.audience_rate,
            per_audience_rate=self.per_audience_rate,
            window=window,
            faults=FaultPlan(
                fault_5xx=fault_5xx,
                fault_429=fault_429,
                drop_before=drop_before,
                drop_after=drop_after,
                latency=latency,
                latency_jitter=latency_jitter,
                seed=seed,
            ),
            clock=clock or SystemClock(),
            record=bool(record),
            dedup_ttl=_settings.seconds("dedup_ttl", dedup_ttl, positive=True),
        )
        self._server: SimulatorServer | None = None
        self._base_url: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving on ``host:port`` in the running event loop."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server = SimulatorServer(self._core, self._host, self._port)
        host, port = await server.start()
        self._server = server
        self._base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def aclose(self) -> None:
        """Stop serving and close open connections; the recorded state stays readable."""
        server, self._server = self._server, None
        self._base_url = None
        if server is not None:
            await server.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- what users read ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server.

        :raises RuntimeError: when the server is not running.
        """
        if self._base_url is None:
            raise RuntimeError("the simulator is not serving: use 'async with' or start()")
        return self._base_url

    def __repr__(self) -> str:
        where = self._base_url or "not serving"
        return f"<BrazeSimulator {where} {self.stats.summary()}>"
