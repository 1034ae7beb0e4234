"""The sliding log of release times, shared by a fleet of processes through Redis.

Same rule as the in-process engine (see :mod:`._local` for the proof): a request
is admitted only while fewer than ``limit`` slots are unexpired, and a slot expires ``period +
margin`` after its request *completed*. Here the slots of one budget are the members of one
sorted set, ``braze_async:{<workspace>}:<bucket>``, scored by their expiry time in
microseconds of **Redis's own clock** (``TIME`` inside the scripts), so the hosts' clocks never
matter. Every step is one atomic Lua script:

* acquire: drop expired members, and if ``ZCARD < limit - reserve`` add a new member scored
  ``now + lease + period``; otherwise answer how long until the earliest expiry. A process
  that dies holding a slot thus loses it after ``lease + period`` at most: the fleet is never
  over-admitted, and under-used for a bounded time only. Waiting processes poll no slower
  than every ``poll`` seconds (plus jitter), since other hosts' releases are not announced.
* renew: rescore a held member to ``now + lease + period`` if it is still in the set (never
  re-adding one that is gone). A broadcast's slot of its audience's log is renewed so while
  it waits for the budget, which may outlast any lease (see :mod:`._audiences`).
* release(sent=True): rescore the member to ``now + period + margin`` (re-adding it if a
  too-long request outlived its lease, so it still counts from its completion on); with an
  unknown outcome, to ``now + 2 * period + margin`` (see the proof in :mod:`._local`);
  release(sent=False): remove it.
* a 429 sets ``...:pause`` to a Redis time before which no process is admitted;
* ``X-RateLimit-Remaining: r`` and ``Reset: t`` set ``...:caps`` field ``t`` to ``r`` minus the
  fleet's requests Braze may not have counted yet (slots scored beyond ``now + period +
  margin``: in flight, or of unknown outcome); each admission spends one from every live cap,
  and none is admitted while one is spent, until ``t + margin``. As in one process (see
  :mod:`._feedback`), no cap is set when the fleet's slots Braze can have counted in its
  current window explain all of its usage (``Limit - r``; the script counts them): the exact
  log governs those, and a cap would only be rougher (it counts a request whose answer came
  but whose release has not landed twice) and idle the fleet until the whole-second Reset.
  (A slot of unknown outcome counts as explaining usage while it is kept: Braze may have
  counted it late.) Each process still keeps its own caps (:mod:`._feedback`: it cannot
  tell the fleet's usage from others'), which hold each lane at their allowance.
* the lanes: a bulk request's acquire passes ``reserve`` (``RateLimits.reserved``; 0 for an
  interactive one); its slot (a member named ``b:...``) is kept in ``...:bulk`` too, and it
  is admitted only while that set holds fewer than ``limit - reserve`` (and the whole set
  fewer than ``limit``) and every live cap allows more than ``max(reserve - ours, 0)``,
  *ours* being the fleet's interactive slots Braze can have counted in that cap's window
  (scored after its Reset + margin - 1 s: in flight, or released after Reset - period, less
  Reset's whole-second rounding; they spent their part of the reserve already): in the same
  atomic script, the same round trip; its release rescores it in both sets. Which waiter of
  a process asks first is the limiter's business (interactive first); across processes the
  reserve is what keeps a web process's request from waiting behind another host's bulk job.

Every key has a PEXPIRE (slots: the longest a slot can count, ``max(lease, period) + period +
margin``; caps: until the last Reset), so idle budgets vanish. The pause and caps use Braze's
wall clock against Redis's, as they must.

When Redis is in trouble
========================
Every call has a connect and a read timeout (``RateLimits.redis_timeout``, 2 s; redis-py's own
retries are off, so one call never takes longer). A connection the server closed (it
restarted, or dropped idle clients) is retried once at once, on a fresh one. An acquisition
that still fails (refused, timed out, Redis loading its data) is retried with backoff (50 ms
doubling to 1 s, jittered) until the trouble has lasted ``RateLimits.redis_retry_for`` (10 s)
from its first failure;
then :class:`.LimiterUnavailable` fails the whole line, and each later acquisition tries once
until Redis answers again. A wrong password or a script error is not retried. Releases are
retried in the background within the same bound (past it, the lease expires the slot: the
fleet is never over-admitted, only under-used for a while). Messages and log lines name the
error, never the URL's password.

After a restart without persistence (or a ``FLUSHDB``) the log is empty: until the slots of the
requests made before it would have expired, the fleet may admit up to one more window of
budget, held back only by Braze's own Remaining caps (the next answers set them again: an
empty log explains none of Braze's usage) and 429 pauses, which each process also keeps
locally. Each process keeps the caps it heard itself, but they hold it only as a backstop:
from the first admission at which Redis holds fewer slots than the process's own live ones
(the acquire script answers the count; that admission is given back when a cap forbids it)
until ``2 * period + margin`` later. Otherwise they would idle the fleet in a steady run:
they only tighten within one of Braze's whole-second Resets, and a process cannot tell the
fleet's usage from others'. Persistence (``appendonly yes``) keeps the log across a restart.

Why not the ``limits`` library's moving window? Its Redis script keeps a list of *admission*
timestamps pushed by LPUSH and trimmed to ``limit``: entries have no identity, so a slot
cannot be held while in flight and then re-dated to its completion (the release-time rule
above), nor given back when the request never left; the timestamp comes from the client's
clock (skew between hosts shifts windows); and there is no lease for a holder that died. All
three are what makes the limit exact, so we keep our own small scripts instead.

Cost at Braze's 250,000/hour, measured on redis-server 7.0 (loopback, 2 cores): a full set
takes ~29 MB (MEMORY USAGE; ~118 bytes per slot); the acquire script runs in ~12 µs inside
Redis and a call takes ~0.15 ms p50 / 0.25 ms p99 from redis-py, ~0.2 ms p50 end to end
through :meth:`RateLimiter.acquire`. Every command used is O(log N) (ZREMRANGEBYSCORE also
O(expired)), never O(N).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
import random
import secrets
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .._clock import Clock
from .._redact import Redactor
from ._config import Bucket, Rate
from ._engine import Slot, Wait
from ._errors import LimiterUnavailable
from ._local import _Slots

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

__all__ = ["RedisEngine", "RedisLog"]

logger = logging.getLogger("braze_async")

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

# KEYS: slots, pause, caps, bulk slots. ARGV: limit, hold (µs: lease + period), key ttl (ms),
# member, margin (µs), reserve (slots a bulk request leaves to interactive ones; 0 for those:
# then the bulk set is not touched; else the bulk set may hold limit - reserve at most, and
# every live cap must allow 1 + max(reserve - ours, 0) more, `ours` being the fleet's
# interactive slots Braze can have counted in the cap's window: scored after its Reset +
# margin - 1 s, i.e. in flight or released after Reset - period - 1 s, Reset's rounding).
# Returns {1, slots counted before this one} when admitted, else {0, µs to wait}. Scores are
# integers of µs, formatted with %.0f because Lua's default number formatting keeps 14 digits.
_ACQUIRE = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
local reserve = tonumber(ARGV[6])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then
  return {0, string.format('%.0f', paused - now)}
end
local caps = redis.call('HGETALL', KEYS[3])
local live = {}
local wait = 0
for i = 1, #caps, 2 do
  local ends = tonumber(caps[i]) * 1000000 + tonumber(ARGV[5])
  if ends <= now then
    redis.call('HDEL', KEYS[3], caps[i])
  else
    live[#live + 1] = caps[i]
    local allow = tonumber(caps[i + 1])
    local need = 1 + reserve
    if allow < need and allow >= 1 then
      local since = '(' .. string.format('%.0f', math.max(ends - 1000000, now))
      local ours = redis.call('ZCOUNT', KEYS[1], since, '+inf')
        - redis.call('ZCOUNT', KEYS[4], since, '+inf')
      need = 1 + math.max(reserve - ours, 0)
    end
    if allow < need then wait = math.max(wait, ends - now) end
  end
end
if wait > 0 then
  return {0, string.format('%.0f', wait)}
end
local expired = string.format('%.0f', now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', expired)
local full = nil
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[1]) then
  full = KEYS[1]
elseif reserve > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', expired)
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[1]) - reserve then full = KEYS[4] end
end
if not full then
  local held = string.format('%.0f', now + tonumber(ARGV[2]))
  redis.call('ZADD', KEYS[1], held, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  if reserve > 0 then
    redis.call('ZADD', KEYS[4], held, ARGV[4])
    redis.call('PEXPIRE', KEYS[4], ARGV[3])
  end
  for _, reset in ipairs(live) do redis.call('HINCRBY', KEYS[3], reset, -1) end
  return {1, count}
end
local first = redis.call('ZRANGE', full, 0, 0, 'WITHSCORES')
return {0, string.format('%.0f', tonumber(first[2]) - now)}
"""
)

# KEYS: slots, caps. ARGV: reset (epoch s), remaining, keep (µs: period + margin), margin (µs),
# Braze's limit ('' when unknown), period (µs). When the fleet's slots Braze can have counted
# in its current window (in flight, or released after it began: Reset - period, less Reset's
# whole-second rounding; Reset at most one period and that rounding away) explain all of
# Braze's usage, limit - remaining, nothing is capped: the log already governs them (a cap
# would count answered slots not yet released twice and idle until the rounded Reset). Else
# at most `remaining` more admissions before `reset`, less the fleet's requests in flight
# (slots still scored by their lease, i.e. above now + keep). Caps only tighten; beyond 8
# distinct resets they fold into the latest one with the lowest allowance.
_CAP = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
if ARGV[5] ~= '' then
  local rounding = 1000000
  local period = tonumber(ARGV[6])
  local ends = math.min(tonumber(ARGV[1]) * 1000000, now + period + rounding)
  local since = '(' .. string.format('%.0f', ends - period - rounding + tonumber(ARGV[3]))
  local ours = redis.call('ZCOUNT', KEYS[1], since, '+inf')
  if ours >= tonumber(ARGV[5]) - tonumber(ARGV[2]) then return -1 end
end
local released = '(' .. string.format('%.0f', now + tonumber(ARGV[3]))
local flying = redis.call('ZCOUNT', KEYS[1], released, '+inf')
local allow = math.max(tonumber(ARGV[2]) - flying, 0)
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if (not cur) or tonumber(cur) > allow then
  redis.call('HSET', KEYS[2], ARGV[1], allow)
end
if redis.call('HLEN', KEYS[2]) > 8 then
  local caps = redis.call('HGETALL', KEYS[2])
  local latest, lowest = caps[1], tonumber(caps[2])
  for i = 3, #caps, 2 do
    if tonumber(caps[i]) > tonumber(latest) then latest = caps[i] end
    lowest = math.min(lowest, tonumber(caps[i + 1]))
  end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], latest, lowest)
end
local ttl = math.ceil((tonumber(ARGV[1]) * 1000000 + tonumber(ARGV[4]) - now) / 1000) + 1000
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return allow
"""
)

# KEYS: slots, bulk slots. ARGV: member, sent ('1' or '0'), keep (µs: period + margin), key
# ttl (ms). A member named 'b:...' is a bulk slot taken under a reserve: in both sets.
_RELEASE = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
local keys = {KEYS[1]}
if string.sub(ARGV[1], 1, 2) == 'b:' then keys[2] = KEYS[2] end
for _, key in ipairs(keys) do
  if ARGV[2] == '1' then
    redis.call('ZADD', key, string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
    redis.call('PEXPIRE', key, ARGV[4])
  else
    redis.call('ZREM', key, ARGV[1])
  end
end
return 1
"""
)

# KEYS: slots. ARGV: member, hold (µs: lease + period), key ttl (ms). A held slot still in the
# set is re-dated to now + hold: 1; one that is gone (expired and swept, or lost) is never
# re-added: 0. (One still there past its score was never swept, so nobody was admitted in
# its place: it has counted all along.)
_RENEW = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

# KEYS: pause. ARGV: pause (µs). Pauses only lengthen.
_PAUSE = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
local untl = now + tonumber(ARGV[1])
if untl > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', untl), 'PX', math.ceil(ARGV[1] / 1000) + 1)
end
return 1
"""
)

_US = 1_000_000
# Retries of a failing Redis: 50 ms, doubling, capped at 1 s, each jittered down by up to half.
_RETRY_FIRST = 0.05
_RETRY_CAP = 1.0
# aclose() waits this long at most for the background releases, then cancels them.
_CLOSE_WAIT = 5.0
#: Failures worth retrying: the server is away, slow, restarting or failing over. A wrong
#: password (AuthenticationError, a ConnectionError) is not among them.
_TRANSIENT = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    OSError,
    asyncio.TimeoutError,
)
_PERMANENT = (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSIENT) and not isinstance(exc, _PERMANENT)


def _backoff(tries: int) -> float:
    """Seconds before retry number *tries* (1-based)."""
    return min(_RETRY_CAP, _RETRY_FIRST * 2.0 ** min(tries - 1, 30)) * random.uniform(0.5, 1.0)


class _Outage:
    """How long Redis has been failing for acquisitions, shared by the engine's logs."""

    __slots__ = ("_clock", "_gave_up", "_retry_for", "_since", "_tries")

    def __init__(self, clock: Callable[[], float], retry_for: float) -> None:
        self._clock = clock
        self._retry_for = retry_for
        #: Monotonic start of the first failed call of this outage (None: Redis answers).
        self._since: float | None = None
        self._tries = 0
        self._gave_up = False

    def ended(self) -> None:
        """Redis answered."""
        if self._since is not None:
            logger.warning(
                "rate limiter: Redis answers again after %.1f s", self._clock() - self._since
            )
        self._since = None
        self._tries = 0
        self._gave_up = False

    def failed(self, started: float, reason: str) -> Wait:
        """A call begun at *started* failed: when to try again, or LimiterUnavailable once
        the outage has lasted longer than the bound."""
        if self._since is None:
            self._since = started
            logger.warning(
                "rate limiter: Redis failed (%s); retrying for up to %g s", reason, self._retry_for
            )
        now = self._clock()
        left = self._since + self._retry_for - now
        if left <= 0:
            message = (
                f"Redis has failed for {now - self._since:.1f} s, longer than "
                f"RateLimits.redis_retry_for ({self._retry_for:g} s): {reason}"
            )
            if not self._gave_up:
                self._gave_up = True
                logger.warning("rate limiter: %s; requests fail as never sent", message)
            raise LimiterUnavailable(message)
        self._tries += 1
        return Wait(min(_backoff(self._tries), left), 0.0, f"retrying Redis: {reason}")


class _Scripts(NamedTuple):
    """The five scripts, registered once on the engine's connection pool."""

    acquire: AsyncScript
    renew: AsyncScript
    release: AsyncScript
    pause: AsyncScript
    cap: AsyncScript


class RedisEngine:
    """The fleet-wide engine behind :class:`braze_async.RateLimiter`; not used directly.

    It holds what the buckets' logs share: the connection pool and its scripts, this process's
    names for its slots, and the background releases still running.

    :param url: a ``redis://`` or ``rediss://`` URL.
    :param workspace: the budget's name, shared by every process that spends it.
    :param margin: extra seconds a released slot stays counted.
    :param lease: longest a request may hold its slot before it is counted as completed.
    :param timeout: seconds one call may take to connect, and to answer.
    :param retry_for: seconds a failing Redis is retried, from its first failure.
    :param clock: the limiter's clock; its monotonic reading times the retries.
    :param poll: longest wait between two tries while the budget is spent.
    """

    def __init__(
        self,
        url: str,
        *,
        workspace: str,
        margin: float,
        lease: float,
        timeout: float,
        retry_for: float,
        clock: Clock,
        poll: float = 0.1,
    ) -> None:
        #: Hides the URL's password (and user name) in every reason given.
        self._redact = Redactor.of(urls=[url])
        try:
            self._redis: aioredis.Redis = aioredis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                # Our own retries, within retry_for; redis-py's would multiply the timeout.
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as exc:
            # Redacted, and from None: urlsplit's message may quote the URL, password included.
            raise ValueError(
                f"RateLimits.redis_url is not a usable Redis URL: {self._redact.describe(exc)}"
            ) from None
        self._prefix = f"braze_async:{{{workspace}}}:"
        self._margin = margin
        self._lease = lease
        self._poll = poll
        self._clock = clock.monotonic
        self._retry_for = retry_for
        self._outage = _Outage(self._clock, retry_for)
        self._scripts = _Scripts(
            acquire=self._redis.register_script(_ACQUIRE),
            renew=self._redis.register_script(_RENEW),
            release=self._redis.register_script(_RELEASE),
            pause=self._redis.register_script(_PAUSE),
            cap=self._redis.register_script(_CAP),
        )
        self._token = secrets.token_hex(6)
        self._ids = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()

    def key(self, bucket: Bucket) -> str:
        """The sorted set holding *bucket*'s slots."""
        return self._prefix + bucket.value

    def open(self, bucket: Bucket, rate: Rate, on_release: Callable[[], None]) -> RedisLog:
        """The log of *bucket* in Redis (created there on first admission)."""
        return self._open(self.key(bucket), rate, on_release)

    def open_audience(self, key: str, rate: Rate, on_release: Callable[[], None]) -> RedisLog:
        """The log of the audience *key* (a digest): ``...:audience:<key>``, run by the same
        scripts as a bucket's (its pause and caps keys are never set: they cost a GET and an
        HGETALL of nothing), shared by every process of the workspace."""
        return self._open(f"{self._prefix}audience:{key}", rate, on_release)

    def _open(self, key: str, rate: Rate, on_release: Callable[[], None]) -> RedisLog:
        return RedisLog(
            self._scripts,
            key,
            rate,
            margin=self._margin,
            lease=self._lease,
            poll=self._poll,
            new_member=self._new_member,
            spawn=self._spawn,
            on_release=on_release,
            trouble=_Trouble(self._clock, self._retry_for, self._outage, self._redact),
        )

    def _new_member(self, bulk: bool) -> str:
        """A name for a new slot, unique across the fleet (``b:...``: a bulk slot taken
        under a reserve, counted in the bulk set too)."""
        return f"{'b:' if bulk else ''}{self._token}:{next(self._ids):x}"

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run *coro* in the background; :meth:`aclose` waits for it."""
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop any more: the lease will expire the slot
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Finish the pending releases (5 s at most, then they are cancelled: their slots
        expire by lease), then close the connections."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=_CLOSE_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        await self._redis.aclose()


def _retrieve(call: asyncio.Future[Any]) -> None:
    """Mark the outcome of a call nobody awaits any more as seen (no "never retrieved")."""
    if not call.cancelled():
        call.exception()


class _Trouble:
    """What a log needs to live through a failing Redis: the limiter's clock (acquisitions
    wait on it), the bound, the outage of acquisitions (shared by the logs) and the redactor."""

    __slots__ = ("clock", "outage", "redact", "retry_for")

    def __init__(
        self, clock: Callable[[], float], retry_for: float, outage: _Outage, redact: Redactor
    ) -> None:
        self.clock = clock
        self.retry_for = retry_for
        self.outage = outage
        self.redact = redact


class RedisLog:
    """One bucket's sliding log of release times: a sorted set in Redis.

    Built by :meth:`RedisEngine.open`, which hands it the engine's shared parts.
    """

    #: The acquire script checks a bulk request's reserve against the fleet's caps.
    checks_reserve_in_caps = True

    def backstop(self) -> bool:
        """Whether Redis was seen to lose the fleet's log (fewer slots there than this
        process's own live ones) less than ``2 * period + margin`` ago: then the process's
        own caps hold it back too. Otherwise the fleet's caps in Redis govern: the process's
        own (which only tighten within one of Braze's whole-second Resets, and cannot tell
        the fleet's usage from others') would idle it after the log freed the window."""
        return self._trouble.clock() < self._lost_until

    def __init__(
        self,
        scripts: _Scripts,
        key: str,
        rate: Rate,
        *,
        margin: float,
        lease: float,
        poll: float,
        new_member: Callable[[bool], str],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        on_release: Callable[[], None],
        trouble: _Trouble,
    ) -> None:
        self._scripts = scripts
        self._trouble = trouble
        self._key = key
        self._limit = rate.limit
        self._poll = poll
        self._new_member = new_member
        self._spawn = spawn
        self._on_release = on_release
        #: Seconds a held slot stays held from its admission or renewal.
        self.lease = lease
        self._hold_us = math.ceil((lease + rate.period) * _US)
        self._keep_us = math.ceil((rate.period + margin) * _US)
        self._period_us = math.ceil(rate.period * _US)
        self._keep_unknown_us = math.ceil((2 * rate.period + margin) * _US)
        self._margin_us = math.ceil(margin * _US)
        self._keep = rate.period + margin
        self._keep_unknown = 2 * rate.period + margin
        #: This process's own slots (held, and released but unexpired, on its clock): more of
        #: them than Redis holds means Redis lost the log.
        self._own = _Slots()
        #: Until when the limiter's own caps hold (monotonic; Redis lost the log).
        self._lost_until = -math.inf
        # Long enough for any slot: held (lease + period), answered (period + margin), or of
        # unknown outcome (2 * period + margin).
        self._ttl_ms = math.ceil((max(lease, rate.period) + rate.period + margin) * 1000) + 1000

    async def try_admit(self, reserve: int = 0) -> Slot | Wait:
        """Run the acquire script: a slot, or how long to wait before looking again (a bulk
        request's *reserve* is checked in the same script: no extra round trip).

        Raises :class:`.LimiterUnavailable` once Redis has failed for longer than the bound
        (or at once for a failure that retrying cannot fix, such as a wrong password).
        """
        started = self._trouble.clock()
        try:
            try:
                admitted, value, member = await self._acquire(reserve)
            except redis.exceptions.ConnectionError as exc:
                if isinstance(exc, _PERMANENT):
                    raise
                # A pooled connection the server closed (it restarted, or dropped idle
                # clients): one more try at once, on a fresh one. (Not after a timeout: a
                # stalled server costs one timeout per look, no more.)
                admitted, value, member = await self._acquire(reserve)
        except Exception as exc:
            reason = self._trouble.redact.describe(exc)
            if not _transient(exc):
                raise LimiterUnavailable(f"Redis refused the rate limiter: {reason}") from None
            # from None: the cause's frames hold the connection, password included.
            try:
                return self._trouble.outage.failed(started, reason)
            except LimiterUnavailable as unavailable:
                raise unavailable from None
        self._trouble.outage.ended()
        if int(admitted) == 1:
            now = self._trouble.clock()
            self._own.prune(now)
            if int(value) < self._own.count():
                # Fewer slots in Redis than our own live ones: it lost the fleet's log.
                if now >= self._lost_until:
                    logger.warning(
                        "rate limiter: Redis lost the fleet's log (restarted empty?); this "
                        "process's own Remaining caps hold it back for %g s",
                        self._keep_unknown,
                    )
                self._lost_until = now + self._keep_unknown
            self._own.held += 1
            return member
        wait = max(int(value), 1_000) / _US
        # Other hosts' releases are not announced: look again soon, at jittered times.
        poll = min(wait, self._poll)
        return Wait(poll + random.uniform(0.0, poll / 10), wait)

    async def _acquire(self, reserve: int) -> tuple[Any, Any, str]:
        """One run of the acquire script: ``(admitted, value, member)``."""
        key = self._key
        member = self._new_member(reserve > 0)
        call = asyncio.ensure_future(
            self._scripts.acquire(
                keys=[key, key + ":pause", key + ":caps", key + ":bulk"],
                args=[self._limit, self._hold_us, self._ttl_ms, member, self._margin_us, reserve],
            )
        )
        try:
            # Shielded: a cancelled caller must not leave an admitted slot behind, nor a
            # connection interrupted mid-reply.
            admitted, value = await asyncio.shield(call)
        except asyncio.CancelledError:
            call.add_done_callback(functools.partial(self._undo, member))
            raise
        return admitted, value, member

    def _undo(self, member: str, call: asyncio.Future[Any]) -> None:
        """Free the slot a cancelled caller was admitted to after all."""
        if call.cancelled() or call.exception() is not None:
            return
        admitted, _ = call.result()
        if int(admitted) == 1:
            self._spawn(self._run_release(member, sent=False, keep=self._keep_us))

    async def renew(self, slot: Slot) -> bool | None:
        """Run the renew script: re-date the held *slot*'s lease from now (True), unless it
        is gone (False); None when Redis failed (logged; the caller tries again later)."""
        call = asyncio.ensure_future(
            self._scripts.renew(keys=[self._key], args=[slot, self._hold_us, self._ttl_ms])
        )
        # Shielded, as an acquisition: a cancelled caller leaves no connection interrupted
        # mid-reply. The script may still run then: it re-dates a slot that the caller's
        # release (sent=False) removes, before or after it; it never re-adds one.
        call.add_done_callback(_retrieve)
        try:
            renewed = await asyncio.shield(call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Debug only: every waiting broadcast retries each second, and nothing is lost
            # meanwhile (a lapsed slot is found gone at admission, and taken again).
            logger.debug(
                "could not renew a rate-limit slot's lease in Redis: %s",
                self._trouble.redact.describe(exc),
            )
            return None
        return int(renewed) == 1

    def release(self, slot: Slot, *, sent: bool, outcome_unknown: bool = False) -> None:
        """Rescore or remove *slot* in the background; *on_release* is called when done."""
        # Our own count: dated from now, before Redis dates it (it never outlives Redis's).
        expiry = None
        if sent or outcome_unknown:
            expiry = self._trouble.clock() + (self._keep_unknown if outcome_unknown else self._keep)
        self._own.release(expiry, outcome_unknown)
        keep = self._keep_unknown_us if outcome_unknown else self._keep_us
        self._spawn(self._run_release(slot, sent=sent or outcome_unknown, keep=keep))

    async def _run_release(self, member: str, *, sent: bool, keep: int) -> None:
        # In the background, on the event loop's time (nobody waits on it but aclose).
        trouble = self._trouble
        clock = asyncio.get_running_loop().time
        give_up_at = clock() + trouble.retry_for
        tries = 0
        try:
            while True:
                try:
                    await self._scripts.release(
                        keys=[self._key, self._key + ":bulk"],
                        args=[member, "1" if sent else "0", keep, self._ttl_ms],
                    )
                    return
                except Exception as exc:
                    tries += 1
                    left = give_up_at - clock()
                    if not _transient(exc) or left <= 0:
                        # The lease still expires the slot: never over-admits, under-uses.
                        logger.warning(
                            "could not release a rate-limit slot in Redis: %s",
                            trouble.redact.describe(exc),
                        )
                        return
                await asyncio.sleep(min(_backoff(tries), left))
        finally:
            self._on_release()

    def counted(self) -> None:
        """Unknown here: the fleet's slots are counted in Redis."""
        return None

    def accounts_for(self, count: int, since: float) -> None:
        """Unknown here: the fleet's usage is not ours alone to explain. (The cap script
        judges it against the fleet's slots, for the fleet's caps; this process keeps its
        own caps, which hold the fleet back after Redis restarted empty.)"""
        del count, since
        return None

    def share(self, *, pause: float | None, cap: tuple[float, int, int | None] | None) -> None:
        """Publish a 429 pause or a Remaining cap to the fleet, in the background."""
        if pause is not None:
            self._spawn(self._run_pause(pause))
        if cap is not None:
            self._spawn(self._run_cap(*cap))

    async def _run_pause(self, pause: float) -> None:
        try:
            await self._scripts.pause(keys=[self._key + ":pause"], args=[math.ceil(pause * _US)])
        except Exception as exc:
            logger.warning(
                "could not share a rate-limit pause through Redis: %s",
                self._trouble.redact.describe(exc),
            )

    async def _run_cap(self, reset: float, remaining: int, limit: int | None) -> None:
        key = self._key
        try:
            await self._scripts.cap(
                keys=[key, key + ":caps"],
                args=[
                    repr(reset),
                    remaining,
                    self._keep_us,
                    self._margin_us,
                    "" if limit is None else limit,
                    self._period_us,
                ],
            )
        except Exception as exc:
            logger.warning(
                "could not share X-RateLimit-Remaining through Redis: %s",
                self._trouble.redact.describe(exc),
            )
