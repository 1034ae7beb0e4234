"""The second limit of broadcasts: each unique audience has a budget of its own.

api_limits.md gives the broadcast calls of ``/messages/send``, ``/campaigns/trigger/send``,
``/canvas/trigger/send`` and the campaign and Canvas schedule creates "250 requests per minute
across all audiences, and 10 requests per minute per unique audience (whichever limit hits
first)"; "What counts as the same unique audience?" names the campaign or Canvas, the segment
and the ``audience`` filter, not the endpoint (each request's ``audience_key``).

An acquisition with an audience key first takes a slot in that key's own log, then the
:attr:`.Bucket.AUDIENCE` budget's permit (:mod:`._limiter`); the permit releases both. A key's
log is an engine's ordinary sliding log of release times (:meth:`.Engine.open_audience`: in
this process, or a sorted set per key in Redis, shared by the fleet), held to
``RateLimits.per_audience``, so the guarantee and proof of :mod:`._local` hold per key: a slot
counts from admission (through the wait for the budget) until ``period + margin`` after its
release, longer for an unknown outcome; ``sent=False`` frees it at once.

In Redis a held slot is scored by its lease, like a budget's (it expires ``lease + period``
after its last scoring, as a dead holder's), but the wait for the budget may be far longer
(``RetryPolicy.max_rate_limit_wait``). So while its holder waits, the slot's lease is renewed
every half lease (:meth:`Held.renew`: the member is re-dated if still there, never re-added),
and once more when the budget admits it after a wait, so that the request has a whole lease;
admitted at the first look, it costs no renewal. A slot found gone (Redis lost it) is taken
again, first come first served, within the same ``max_wait``, the budget's slot given back
unsent meanwhile: a live holder's slot never lapses uncounted, and only a dead holder's
expires. The local log has no lease (its holders are this process): nothing to renew.

Here, in front of the logs: one first-come-first-served line of this process's waiters per
key (only its head looks; the others know when the key frees at the earliest, from the head's
last look, so a ``max_wait`` it cannot meet fails at once), and the logs of the keys in use.
A key's entry is dropped once nobody waits or holds a slot and its log counts nothing (a
Redis log cannot tell: dropped at once, its key expires in Redis); released slots are swept
in time order, so many keys over time leave no growing state.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable

from ._config import Rate
from ._engine import Engine, Slot, SlotLog
from ._errors import LimiterClosed, LimiterUnavailable, WaitTooLong
from ._waiter import Sleep, Waiter

__all__ = ["Audiences", "Held"]

#: Seconds before a renewal that found the store failing is tried again.
_RETRY_RENEWAL = 1.0


class _Key:
    """One key in use: its log, this process's line of waiters and slots held."""

    __slots__ = ("free_at", "held", "line", "log")

    def __init__(self, log: SlotLog) -> None:
        self.log = log
        self.line: collections.deque[Waiter] = collections.deque()
        #: Slots taken here and not yet released.
        self.held = 0
        #: Monotonic time the key frees at the earliest, from its head's last look (0: unknown).
        self.free_at = 0.0

    def wake_head(self) -> None:
        if self.line:
            self.line[0].wake()


class Held:
    """A slot of one audience's log, held by an acquisition until its permit is released.

    In a log with a lease (Redis), the slot is renewed every half lease while its holder
    waits for the budget (:meth:`renew_in`, :meth:`renew`), so that it never expires while
    its holder lives.
    """

    __slots__ = ("_audiences", "_every", "_key", "_log", "_renew_at", "_slot", "since")

    def __init__(
        self,
        audiences: Audiences,
        key: str,
        log: SlotLog,
        slot: Slot,
        *,
        now: float,
        since: float | None,
    ) -> None:
        self._audiences: Audiences | None = audiences
        self._key = key
        self._log = log
        self._slot = slot
        #: When its first wait began (None: it did not wait).
        self.since = since
        self._every = log.lease / 2
        #: Monotonic time its lease is due for renewal (math.inf: never, no lease).
        self._renew_at = now + self._every

    def renew_in(self, now: float) -> float:
        """Seconds from *now* until the slot's lease is due for renewal (math.inf: never)."""
        return self._renew_at - now

    async def renew(self, now: float) -> bool | None:
        """Date the slot's lease from *now* again: True; False when it is gone from the log
        (expired, or the store lost it: it counts no more); None when the store could not be
        asked (due again in a second, or sooner)."""
        renewed = await self._log.renew(self._slot)
        self._renew_at = now + (self._every if renewed else min(self._every, _RETRY_RENEWAL))
        return renewed

    def release(self, *, sent: bool, outcome_unknown: bool = False) -> None:
        """Give the slot back, as the permit's (idempotent)."""
        audiences, self._audiences = self._audiences, None
        if audiences is not None:
            audiences.release(self._key, self._slot, sent, outcome_unknown)


class Audiences:
    """The logs of the unique audiences in use, and this process's line for each.

    :param engine: where the logs are kept; :param rate: ``RateLimits.per_audience``;
    :param monotonic: the limiter's clock; :param sleep: its timers' sleep (None: the loop's);
    :param check: raises when nothing may be admitted any more (the limiter is closed); with
        ``waiting=True``, also when the wait would be in another event loop.
    """

    __slots__ = ("_check", "_engine", "_expiring", "_keys", "_monotonic", "_rate", "_sleep")

    def __init__(
        self,
        engine: Engine,
        rate: Rate,
        monotonic: Callable[[], float],
        sleep: Sleep | None,
        check: Callable[[bool], None],
    ) -> None:
        self._engine = engine
        self._rate = rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._check = check
        self._keys: dict[str, _Key] = {}
        #: (when a released slot no longer counts, its key), roughly in time order.
        self._expiring: collections.deque[tuple[float, str]] = collections.deque()

    def __len__(self) -> int:
        """Keys kept now."""
        return len(self._keys)

    async def take(
        self, key: str, max_wait: float | None, give_up: Callable[[], bool] | None = None
    ) -> Held:
        """A slot of *key*'s log, first come first served; :class:`.WaitTooLong` at once when
        it frees later than *max_wait* seconds from now, else at that bound;
        :class:`.LimiterClosed` when *give_up* answers True and it would wait. Cancelling
        leaves nothing taken."""
        self._sweep()
        entry = self._keys.get(key)
        if entry is None:
            log = self._engine.open_audience(key, self._rate, self.waker(key))
            entry = self._keys[key] = _Key(log)
        waiter = Waiter(0, bulk=False)
        entry.line.append(waiter)
        since: float | None = None
        deadline = math.inf if max_wait is None else self._monotonic() + max_wait
        try:
            while True:
                self._check(False)
                now = self._monotonic()
                trouble = None
                if entry.line[0] is waiter:
                    answer = await entry.log.try_admit()
                    if isinstance(answer, str):
                        entry.held += 1
                        return Held(self, key, entry.log, answer, now=now, since=since)
                    now = self._monotonic()
                    delay, free_in, trouble = answer
                    entry.free_at = now + free_in if free_in > 0 else 0.0
                else:  # behind the head: until the line moves
                    delay, free_in = math.inf, max(entry.free_at - now, 0.0)
                if (free_in > 0 or entry.line[0] is waiter) and give_up is not None and give_up():
                    raise LimiterClosed("the caller stopped waiting; nothing was sent")
                if now + free_in > deadline or now >= deadline:
                    if trouble is not None:
                        raise LimiterUnavailable(trouble)
                    raise WaitTooLong(free_in if free_in > 0 else None, max_wait or 0.0)
                since = now if since is None else since
                self._check(True)  # a wait needs futures of the limiter's loop
                await waiter.wait(min(delay, deadline - now), self._sleep)
        finally:
            was_head = entry.line[0] is waiter
            entry.line.remove(waiter)
            if was_head:
                entry.wake_head()
            self._drop_if_idle(key)

    def release(self, key: str, slot: Slot, sent: bool, outcome_unknown: bool) -> None:
        """Hand *slot* back to *key*'s log (see :meth:`.SlotLog.release`)."""
        entry = self._keys[key]
        entry.held -= 1
        entry.log.release(slot, sent=sent, outcome_unknown=outcome_unknown)
        if sent or outcome_unknown:
            self._expiring.append((self._monotonic() + self._rate.period, key))
        self._drop_if_idle(key)

    def waker(self, key: str) -> Callable[[], None]:
        """The *on_release* hook of *key*'s log: its head looks again."""

        def wake() -> None:
            entry = self._keys.get(key)
            if entry is not None:
                entry.wake_head()

        return wake

    def wake_all(self) -> None:
        """Every waiter looks again (the limiter closes, a caller gives up)."""
        for entry in self._keys.values():
            for waiter in entry.line:
                waiter.wake()

    def _drop_if_idle(self, key: str) -> bool:
        """Drop *key*'s entry if nobody waits or holds a slot and its log counts nothing;
        whether it still counts released slots (only then must it be looked at again)."""
        entry = self._keys.get(key)
        if entry is None or entry.line or entry.held:
            return False
        if entry.log.counted():
            return True
        del self._keys[key]
        return False

    def _sweep(self) -> None:
        """Look again at the keys whose released slots may have expired; a key still counting
        some (kept longer: an unknown outcome, the margin) is looked at a period later."""
        now = self._monotonic()
        expiring = self._expiring
        while expiring and expiring[0][0] <= now:
            key = expiring.popleft()[1]
            if self._drop_if_idle(key):
                expiring.append((now + self._rate.period, key))
