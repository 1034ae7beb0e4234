"""The sliding log of release times, shared by a fleet of processes through Redis.

Same rule as the in-process engine (see :mod:`braze_async._limits` for the proof): a request
is admitted only while fewer than ``limit`` slots are unexpired, and a slot expires ``period +
margin`` after its request *completed*. Here the slots of one budget are the members of one
sorted set, ``braze_async:{<workspace>}:<bucket>``, scored by their expiry time in
microseconds of **Redis's own clock** (``TIME`` inside the scripts), so the hosts' clocks never
matter. Every step is one atomic Lua script:

* acquire: drop expired members, and if ``ZCARD < limit`` add a new member scored
  ``now + lease + period``; otherwise answer how long until the earliest expiry. A process
  that dies holding a slot thus loses it after ``lease + period`` at most: the fleet is never
  over-admitted, and under-used for a bounded time only. Waiting processes poll no slower
  than every ``poll`` seconds (plus jitter), since other hosts' releases are not announced.
* release(sent=True): rescore the member to ``now + period + margin`` (re-adding it if a
  too-long request outlived its lease, so it still counts from its completion on);
  release(sent=False): remove it.
* a 429 sets ``...:pause`` to a Redis time before which no process is admitted;
* ``X-RateLimit-Remaining: r`` and ``Reset: t`` set ``...:caps`` field ``t`` to ``r`` minus the
  fleet's requests in flight (slots still scored by their lease); each admission spends one
  from every live cap, and none is admitted while one is spent, until ``t + margin``.

Every key has a PEXPIRE (slots: ``lease + period + margin``; caps: until the last Reset), so
idle budgets vanish. The pause and caps use Braze's wall clock against Redis's, as they must.

Why not the ``limits`` library's moving window? Its Redis script keeps a list of *admission*
timestamps pushed by LPUSH and trimmed to ``limit``: entries have no identity, so a slot
cannot be held while in flight and then re-dated to its completion (the release-time rule
above), nor given back when the request never left; the timestamp comes from the client's
clock (skew between hosts shifts windows); and there is no lease for a holder that died. All
three are what makes the limit exact, so we keep our own three small scripts instead.

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
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from braze_async._limits import Permit

if TYPE_CHECKING:
    from braze_async._limits import Sleep, _Lane

__all__ = ["RedisEngine"]

logger = logging.getLogger("braze_async")

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

# KEYS: slots, pause, caps. ARGV: limit, hold (µs: lease + period), key ttl (ms), member,
# margin (µs). Returns {1, now} when admitted, else {0, µs to wait}. Scores are integers of µs,
# formatted with %.0f because Lua's default number formatting keeps 14 digits only.
_ACQUIRE = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
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
    if tonumber(caps[i + 1]) < 1 then wait = math.max(wait, ends - now) end
  end
end
if wait > 0 then
  return {0, string.format('%.0f', wait)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  for _, reset in ipairs(live) do redis.call('HINCRBY', KEYS[3], reset, -1) end
  return {1, string.format('%.0f', now)}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, string.format('%.0f', tonumber(first[2]) - now)}
"""
)

# KEYS: slots, caps. ARGV: reset (epoch s), remaining, keep (µs: period + margin), margin (µs).
# At most `remaining` more admissions before `reset`, less the fleet's requests in flight
# (slots still scored by their lease, i.e. above now + keep). Caps only tighten; beyond 8
# distinct resets they fold into the latest one with the lowest allowance.
_CAP = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
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

# KEYS: slots. ARGV: member, sent ('1' or '0'), keep (µs: period + margin), key ttl (ms).
_RELEASE = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
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


class RedisEngine:
    """The fleet-wide engine behind :class:`braze_async.RateLimiter`; not used directly.

    :param url: a ``redis://`` or ``rediss://`` URL.
    :param workspace: the budget's name, shared by every process that spends it.
    :param margin: extra seconds a released slot stays counted.
    :param lease: longest a request may hold its slot before it is counted as completed.
    :param poll: longest wait between two tries while the budget is spent.
    """

    def __init__(
        self,
        url: str,
        *,
        workspace: str,
        margin: float,
        lease: float,
        sleep: Sleep | None = None,
        poll: float = 0.1,
    ) -> None:
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url)
        self._prefix = f"braze_async:{{{workspace}}}:"
        self._margin = margin
        self._lease = lease
        self._poll = poll
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._release_script = self._redis.register_script(_RELEASE)
        self._pause = self._redis.register_script(_PAUSE)
        self._cap = self._redis.register_script(_CAP)
        self._margin_us = math.ceil(margin * _US)
        self._token = secrets.token_hex(6)
        self._ids = itertools.count()
        self._tasks: set[asyncio.Task[Any]] = set()

    def key(self, lane: _Lane) -> str:
        """The sorted set holding *lane*'s slots."""
        return self._prefix + lane.bucket.value

    def _ttl_ms(self, lane: _Lane) -> int:
        return math.ceil((self._lease + lane.rate.period + self._margin) * 1000) + 1000

    async def try_admit(self, lane: _Lane) -> Permit | float:
        key = self.key(lane)
        member = f"{self._token}:{next(self._ids):x}"
        hold_us = math.ceil((self._lease + lane.rate.period) * _US)
        call = asyncio.ensure_future(
            self._acquire(
                keys=[key, key + ":pause", key + ":caps"],
                args=[lane.rate.limit, hold_us, self._ttl_ms(lane), member, self._margin_us],
            )
        )
        try:
            # Shielded: a cancelled caller must not leave an admitted slot behind, nor a
            # connection interrupted mid-reply.
            admitted, value = await asyncio.shield(call)
        except asyncio.CancelledError:
            call.add_done_callback(functools.partial(self._undo, lane, member))
            raise
        if int(admitted) == 1:
            lane.in_flight += 1
            return Permit(functools.partial(self._release, lane, member))
        wait = max(int(value), 1_000) / _US
        # Other hosts' releases are not announced: look again soon, at jittered times.
        return min(wait, self._poll) + random.uniform(0.0, min(wait, self._poll) / 10)

    def _undo(self, lane: _Lane, member: str, call: asyncio.Future[Any]) -> None:
        if call.cancelled() or call.exception() is not None:
            return
        admitted, _ = call.result()
        if int(admitted) == 1:
            self._spawn(self._run_release(lane, member, sent=False))

    def _release(self, lane: _Lane, member: str, sent: bool) -> None:
        lane.in_flight -= 1
        if not sent:
            lane.unsent += 1
        self._spawn(self._run_release(lane, member, sent=sent))

    async def _run_release(self, lane: _Lane, member: str, *, sent: bool) -> None:
        keep_us = math.ceil((lane.rate.period + self._margin) * _US)
        try:
            await self._release_script(
                keys=[self.key(lane)],
                args=[member, "1" if sent else "0", keep_us, self._ttl_ms(lane)],
            )
        except Exception:
            # The lease still expires the slot: never over-admits, under-uses for a while.
            logger.warning("could not release a rate-limit slot in Redis", exc_info=True)
        finally:
            lane.poke()

    def observed(self, lane: _Lane, *, pause: float | None, cap: tuple[float, int] | None) -> None:
        if pause is not None:
            self._spawn(self._run_pause(lane, pause))
        if cap is not None:
            self._spawn(self._run_cap(lane, *cap))

    async def _run_pause(self, lane: _Lane, pause: float) -> None:
        try:
            await self._pause(keys=[self.key(lane) + ":pause"], args=[math.ceil(pause * _US)])
        except Exception:
            logger.warning("could not share a rate-limit pause through Redis", exc_info=True)

    async def _run_cap(self, lane: _Lane, reset: float, remaining: int) -> None:
        key = self.key(lane)
        keep_us = math.ceil((lane.rate.period + self._margin) * _US)
        try:
            await self._cap(
                keys=[key, key + ":caps"], args=[repr(reset), remaining, keep_us, self._margin_us]
            )
        except Exception:
            logger.warning("could not share X-RateLimit-Remaining through Redis", exc_info=True)

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop any more: the lease will expire the slot
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Finish the pending releases, then close the connections."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        await self._redis.aclose()
