"""Scale-out: several hub processes (gunicorn workers, hosts) share outcomes over Redis.

How an outcome travels (``P`` = the key prefix, ``hub`` section, ``<d>`` = its delivery id)::

    hub A gets PROCESS_OUTCOME, keys K
      local subscriber on A?  yes -> queue it on A; if one of them takes receipts, first store
                                     it (SET P:hub:out:<d> + RPUSH P:hub:key:<k>, no publish)
                                     so a re-SUBSCRIBE on any hub finds it until its RECEIPT;
                                     (and publish a broadcast-only copy for the seed clients of
                                     the other hubs, if broadcast is on)
                              no  -> one pipelined round trip:
                                       SET    P:hub:out:<d>  <frame>   PX ttl
                                       RPUSH  P:hub:key:<k>  <d>       (each k in K) + PEXPIRE
                                       PUBLISH P:hub:outcomes <d, K, frame>
    every hub (A included) gets the message (handled on a small dispatcher pool, never on the
    listener thread); a hub with a local subscriber for one of K claims it (SET NX of
    P:hub:out:<d>:c): only the one claim that succeeds delivers. For seed subscribers the claim
    also deletes the stored frame (handed over once); for receipt subscribers it stays until
    RECEIPT (DEL P:hub:out:<d>), UNSUBSCRIBE (every outcome indexed under the key) or the TTL.
    SUBSCRIBE k on any hub: register locally first, then a Lua script reads every stored
    outcome indexed under k (and, for a seed subscriber, deletes it: consumed once).

Because the SET happens before the PUBLISH and a subscriber registers locally before it takes,
an outcome stored while B's client subscribes is either seen by B's listener (B has the
subscriber by then, claims it) or found by B's take (it was stored before): never neither.
Redis expires what nobody claimed or receipted after the TTL.

Concurrency: the redis-py client (a connection pool) is thread-safe and shared by the handler
threads; the pub/sub connection belongs to the listener thread alone.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
import queue
from typing import Callable, List, Optional, Tuple

import redis

from .. import defaults

__all__ = ["RedisBridge"]

log = logging.getLogger(__name__)

# KEYS: index lists; ARGV[1]: out prefix; ARGV[2]: "1" keep (receipt subscriber) / "0" consume.
# Returns a flat list: id1, frame1, id2, frame2, ...
_TAKE = """
local out = {}
local seen = {}
for i = 1, #KEYS do
  local ids = redis.call('LRANGE', KEYS[i], 0, -1)
  if #ids > 0 then
    if ARGV[2] == '0' then redis.call('DEL', KEYS[i]) end
    for _, id in ipairs(ids) do
      local frame = redis.call('GET', ARGV[1] .. id)
      if frame then
        if ARGV[2] == '0' then
          redis.call('DEL', ARGV[1] .. id, ARGV[1] .. id .. ':c')
        end
        if not seen[id] then
          seen[id] = true
          table.insert(out, id)
          table.insert(out, frame)
        end
      elseif ARGV[2] == '1' then
        redis.call('LREM', KEYS[i], 0, id)
      end
    end
  end
end
return out
"""

# KEYS[1]: the stored frame, KEYS[2]: its claim marker; ARGV[1]: ttl ms, ARGV[2]: "1" consume.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
  -- consumed: with the frame gone no later claim can succeed, so the marker can go too
  if ARGV[2] == '1' then redis.call('DEL', KEYS[1], KEYS[2]) end
  return 1
end
return 0
"""

# KEYS: index lists; ARGV[1]: out prefix. Drops every outcome indexed under the keys.
_RELEASE = """
for i = 1, #KEYS do
  local ids = redis.call('LRANGE', KEYS[i], 0, -1)
  for _, id in ipairs(ids) do
    redis.call('DEL', ARGV[1] .. id, ARGV[1] .. id .. ':c')
  end
  redis.call('DEL', KEYS[i])
end
return 1
"""

_DOWN_BACKOFF = 1.0  # s, after a failed publish Redis is skipped this long
_SEED_ANNOUNCE_TTL = 5.0  # s, a hub's "I have seed clients" announcement lasts this long

OnMessage = Callable[[Optional[str], List[str], str, str], None]


class RedisBridge:
    """Publishes, stores, claims and takes outcomes on Redis for one hub process.

    Every method that talks to Redis raises one of :attr:`ERRORS` when it cannot.

    Args:
        url: ``redis://`` URL.
        prefix: Key / channel prefix (default ``zeebe-affinity``).
        ttl: Seconds an unclaimed outcome stays in Redis.
        hub_id: This hub's id (random if not given).
        on_message: Called on the listener thread with ``(outcome_id or None, keys, frame,
            origin hub id)`` for every outcome published by any hub.
        on_resync: Called on the listener thread after a (re)subscription to the channel, so
            the hub can take what was stored while it was not listening.
    """

    #: What the outcome-path methods raise when Redis is unreachable or refuses.
    ERRORS = (redis.RedisError, OSError)

    def __init__(
        self,
        url: str,
        *,
        prefix: str = defaults.REDIS_CHANNEL_PREFIX,
        ttl: float = defaults.HUB_OUTCOME_TTL,
        hub_id: Optional[str] = None,
        on_message: Optional[OnMessage] = None,
        on_resync: Optional[Callable[[], None]] = None,
    ) -> None:
        self.url = url
        self.hub_id = hub_id or uuid.uuid4().hex[:12]
        self.ttl_ms = max(1, int(ttl * 1000))
        self.channel = f"{prefix}:hub:outcomes"
        self._out_prefix = f"{prefix}:hub:out:"
        self._key_prefix = f"{prefix}:hub:key:"
        self._seeds_key = f"{prefix}:hub:seed-clients"
        self.on_message = on_message
        self.on_resync = on_resync
        self._client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=5.0, socket_connect_timeout=5.0,
            health_check_interval=30,
        )
        self._take = self._client.register_script(_TAKE)
        self._claim = self._client.register_script(_CLAIM)
        self._release = self._client.register_script(_RELEASE)
        self._stop = threading.Event()
        # Messages from the listener for the dispatcher threads (bounded: a full queue makes
        # the listener wait, which is backpressure on Redis, never unbounded memory).
        self._inbox: "queue.Queue[Optional[Tuple[Optional[str], List[str], str, str]]]" = \
            queue.Queue(maxsize=defaults.HUB_REDIS_DISPATCH_QUEUE)
        self._dispatchers: List[threading.Thread] = []
        self._thread: Optional[threading.Thread] = None
        self.connected = threading.Event()  # set while the listener is subscribed
        self._down_until = 0.0  # monotonic time before which Redis is not tried; racy by design

    # ------------------------------------------------------------------ outcome path

    def publish(self, keys: List[str], frame: str, *, outcome_id: Optional[str] = None) -> None:
        """Publish an outcome to every hub; with ``outcome_id`` also store it, claimable, for ``ttl``.

        Without ``outcome_id`` the message is a broadcast-only copy (for seed clients).

        Raises:
            redis.RedisError: Redis cannot be reached (the hub then holds the outcome locally).
        """
        self._check_up()
        header = json.dumps({"o": outcome_id, "k": keys, "h": self.hub_id}, separators=(",", ":"))
        pipe = self._client.pipeline(transaction=False)
        if outcome_id is not None:
            pipe.set(self._out_prefix + outcome_id, frame, px=self.ttl_ms)
            for key in keys:
                pipe.rpush(self._key_prefix + key, outcome_id)
                pipe.pexpire(self._key_prefix + key, self.ttl_ms)
        pipe.publish(self.channel, header + "\n" + frame)
        self._execute(pipe)

    def store(self, outcome_id: str, keys: List[str], frame: str) -> None:
        """Store an outcome delivered here to a receipt subscriber, until RECEIPT or ``ttl``.

        Marked claimed at once: no other hub delivers it from a publish; a SUBSCRIBE on any hub
        still finds it.

        Raises:
            redis.RedisError: Redis cannot be reached (the hub then keeps it locally).
        """
        self._check_up()
        pipe = self._client.pipeline(transaction=False)
        pipe.set(self._out_prefix + outcome_id, frame, px=self.ttl_ms)
        pipe.set(self._out_prefix + outcome_id + ":c", "1", px=self.ttl_ms)
        for key in keys:
            pipe.rpush(self._key_prefix + key, outcome_id)
            pipe.pexpire(self._key_prefix + key, self.ttl_ms)
        self._execute(pipe)

    def _execute(self, pipe: "redis.client.Pipeline") -> None:
        try:
            pipe.execute()
        except (redis.RedisError, OSError):
            self._down_until = time.monotonic() + _DOWN_BACKOFF
            raise

    def forget_failure(self) -> None:
        """Try Redis on the next call even within the back-off after a failure (shutdown)."""
        self._down_until = 0.0

    def _check_up(self) -> None:
        # After a failure, skip Redis for a moment instead of making every outcome wait for
        # its own connect timeout (the hub holds outcomes locally meanwhile).
        if self._down_until and time.monotonic() < self._down_until:
            raise redis.ConnectionError("Redis failed a moment ago; not retrying yet")

    def heartbeat(self, local_seed_clients: int) -> bool:
        """Announce whether this hub has seed clients; return whether any *other* hub has.

        Called every second by the hub's maintenance thread. A hub publishes broadcast-only
        copies of outcomes it delivered locally only while another hub has seed clients, so a
        deployment without seed clients pays no Redis round trip for locally routed outcomes.
        """
        now = time.time()
        pipe = self._client.pipeline(transaction=False)
        if local_seed_clients:
            pipe.hset(self._seeds_key, self.hub_id, repr(now + _SEED_ANNOUNCE_TTL))
        else:
            pipe.hdel(self._seeds_key, self.hub_id)
        pipe.hgetall(self._seeds_key)
        pipe.expire(self._seeds_key, int(_SEED_ANNOUNCE_TTL * 4))
        announced = pipe.execute()[1] or {}
        stale = []
        others = False
        for hub_id, until in announced.items():
            try:
                alive = float(until) > now
            except ValueError:
                alive = False
            if not alive:
                stale.append(hub_id)
            elif hub_id != self.hub_id:
                others = True
        if stale:
            self._client.hdel(self._seeds_key, *stale)
        return others

    def claim(self, outcome_id: str, *, consume: bool) -> bool:
        """Atomically claim a stored outcome: only one caller over all hubs gets ``True``.

        Args:
            outcome_id: Its delivery id.
            consume: Also delete the stored frame (every subscriber is a seed one); otherwise
                it stays for a re-SUBSCRIBE until its RECEIPT or the TTL.
        """
        out = self._out_prefix + outcome_id
        return bool(self._claim(keys=[out, out + ":c"],
                                args=[self.ttl_ms, "1" if consume else "0"]))

    def take(self, keys: List[str], *, keep: bool) -> List[Tuple[str, str]]:
        """The stored outcomes ``(delivery id, frame)`` indexed under any of ``keys`` (atomic).

        Args:
            keys: The keys subscribed.
            keep: A receipt subscriber: leave them stored; a seed one: delete them (taken once).
        """
        self._check_up()
        result = self._take(keys=[self._key_prefix + k for k in keys],
                            args=[self._out_prefix, "1" if keep else "0"]) or []
        return [(str(result[i]), str(result[i + 1])) for i in range(0, len(result) - 1, 2)]

    def receipt(self, outcome_ids: List[str]) -> None:
        """Delete receipted outcomes (unknown or expired ids are no-ops)."""
        names: List[str] = []
        for outcome_id in outcome_ids:
            names += [self._out_prefix + outcome_id, self._out_prefix + outcome_id + ":c"]
        self._check_up()
        self._client.delete(*names)

    def release(self, keys: List[str]) -> None:
        """A receipt subscriber gave up ``keys``: delete what is stored under them."""
        self._check_up()
        self._release(keys=[self._key_prefix + k for k in keys], args=[self._out_prefix])

    # ------------------------------------------------------------------ listener

    def start(self) -> "RedisBridge":
        """Start the listener thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="zeebe-hub-redis-listener",
                                        daemon=True)
        self._thread.start()
        self._dispatchers = [
            threading.Thread(target=self._dispatch_loop, name=f"zeebe-hub-redis-dispatch-{i}",
                             daemon=True)
            for i in range(defaults.HUB_REDIS_DISPATCHERS)
        ]
        for thread in self._dispatchers:
            thread.start()
        return self

    def stop(self) -> None:
        """Ask the listener and dispatchers to stop (within half a second); see :meth:`join`."""
        self._stop.set()

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait up to ``timeout`` seconds in total for the listener and the dispatchers."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in [self._thread] + self._dispatchers:
            if thread is not None and thread is not threading.current_thread():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if not (self._thread and self._thread.is_alive()):
            self._client.close()

    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None or self.on_message is None:
                continue
            try:
                self.on_message(*item)
            except (redis.RedisError, OSError) as exc:
                log.warning("handling an outcome from Redis failed: %s", exc)
            except Exception:  # noqa: BLE001 - a dispatcher thread must outlive any bug
                log.exception("handling an outcome from Redis failed")

    def _run(self) -> None:
        backoff = defaults.AFFINITY_RECONNECT_INITIAL
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                self.connected.set()
                self._down_until = 0.0
                backoff = defaults.AFFINITY_RECONNECT_INITIAL
                log.info("hub %s listening on Redis channel %s", self.hub_id, self.channel)
                if self.on_resync is not None:
                    self.on_resync()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message.get("type") == "message":
                        self._dispatch(message["data"])
            except (redis.RedisError, OSError) as exc:
                self.connected.clear()
                log.warning("Redis pub/sub lost (%s): retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, defaults.AFFINITY_RECONNECT_MAX)
            except Exception:  # noqa: BLE001 - the listener thread must outlive any bug
                self.connected.clear()
                log.exception("Redis listener failed; restarting it")
                self._stop.wait(backoff)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (redis.RedisError, OSError):
                        pass
        self.connected.clear()

    def _dispatch(self, data: str) -> None:
        header, sep, frame = str(data).partition("\n")
        if not sep:
            log.warning("ignored a malformed message on %s", self.channel)
            return
        try:
            meta = json.loads(header)
            outcome_id, keys, origin = meta.get("o"), list(meta["k"]), str(meta.get("h", ""))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed message on %s", self.channel)
            return
        # Claims and deliveries happen on the dispatcher threads: one slow claim or a burst of
        # messages never holds up the listener (and with it every other hub's outcomes).
        while not self._stop.is_set():
            try:
                self._inbox.put((outcome_id, keys, frame, origin), timeout=0.5)
                return
            except queue.Full:
                continue
