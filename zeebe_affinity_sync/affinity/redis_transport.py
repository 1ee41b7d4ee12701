"""The Redis flavour of :class:`~.transport.Transport` (pub/sub, for :class:`~.redis.RedisAffinity`).

Channels and keys (``<p>`` is ``channel_prefix``, default ``zeebe-affinity``)::

    <p>:reply:<client id>            channel: outcomes for requests of one client process
    <p>:instance:<instance key>      channel: outcomes of one instance (for get_outcome)
    <p>:outcome:<request id>         key (TTL): the outcome answering one request
    <p>:instance-outcome:<key>       key (TTL): an outcome of the instance nobody waited for

Each client process has one subscriber connection and one listener thread
(``zeebe-affinity-redis``), subscribed to its own reply channel; request ids are
``<client id>.<random>``, so the relay worker knows where to publish. The reply channel is
subscribed (and confirmed) before any request of the process starts, so an outcome can never be
published before its subscription: the pub/sub gap is closed without a round trip per request.
The relay worker SETs the outcome (with a TTL) *and* publishes it in one pipeline; after every
(re)subscription, e.g. after a Redis restart, the listener reads the stored outcomes of every
pending request, so outcomes published while it was disconnected are not lost either.
``get_outcome`` subscribes to the instance channel (through the listener thread, which is the only
user of the subscriber connection), waits for the confirmation, then reads the stored outcome. An
outcome is stored under its instance key when nobody waits for it: the client that receives it
after its request timed out stores it, and so does the relay worker when its publish reached no
subscriber at all (the requesting process is gone).


Late-outcome policy (mirrors :mod:`.hub_transport`): the reply channel of a process hears every
outcome of its requests, also after a request timed out; a late one is kept in this process for
``collect_ttl`` (the waiter registry) and stored on Redis under its instance key (TTL
``collect_ttl``) for ``get_outcome`` in any process. Duplicates (the same request answered twice:
a relay retried after a lost reply, or the recovery read after a resubscribe) are dropped, by a
bounded memory of answered request ids.
"""
from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import defaults, protocol
from ..errors import AffinityUnavailable, ConfigurationError, ProtocolError
from .outcome import request_id_of
from .transport import Deliver, SeenSet, Transport

__all__ = ["RedisTransport"]

logger = logging.getLogger(__name__)


#: Published on a client's reply channel to wake its listener for queued (un)subscriptions.
_WAKE = "WAKE"


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(
            "RedisAffinity needs redis-py: pip install 'zeebe-affinity-sync[redis]'"
        ) from exc
    return redis


class RedisTransport(Transport):
    """One subscriber connection + listener thread per process; commands over a small pool."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        deliver: Deliver,
        pending_keys: Callable[[], List[str]],
        connect_timeout: float,
        command_timeout: float,
        outcome_ttl: float,
        health_check_interval: float,
        reconnect_initial: float,
        reconnect_max: float,
    ) -> None:
        redis = _import_redis()
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.target = url
        self.last_error: Optional[str] = None
        self._prefix = prefix
        self._deliver = deliver
        self._answered = SeenSet(defaults.AFFINITY_MAX_SEEN, max(outcome_ttl, 1.0))  # request ids
        self._pending_keys = pending_keys
        self._outcome_ttl = max(1, int(round(outcome_ttl)))
        self._health = health_check_interval
        self._reconnect_initial = reconnect_initial
        self._reconnect_max = reconnect_max
        self.client_id = uuid.uuid4().hex[:16]
        self._reply = f"{prefix}:reply:{self.client_id}"
        # commands (SET/PUBLISH/GET) from any thread: redis-py's pool is thread-safe
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=command_timeout,
            retry=Retry(NoBackoff(), 1), decode_responses=True,
        )
        # the subscriber connection: used by the listener thread only; it handles reconnects
        self._sub_redis = redis.Redis.from_url(
            url, socket_connect_timeout=connect_timeout, socket_timeout=None,
            retry=Retry(NoBackoff(), 0), decode_responses=True,
        )
        self._lock = threading.Lock()
        # instance channel -> number of get_outcome waits on it; guarded by _lock
        self._channels: Dict[str, int] = {}
        # (un)subscriptions for the listener to make, in order; guarded by _lock
        self._commands: List[Tuple[str, str]] = []
        # channel -> events of get_outcome calls waiting for its confirmation; guarded by _lock
        self._confirm: Dict[str, List[threading.Event]] = {}
        self._ready = threading.Event()  # set while the reply channel is subscribed
        self._stopping = threading.Event()
        self._pubsub: Any = None  # the listener's PubSub; listener-owned (stop() only closes it)
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ names

    def new_request_id(self) -> str:
        return f"{self.client_id}.{uuid.uuid4().hex}"

    def _instance_channel(self, key: str) -> str:
        return f"{self._prefix}:instance:{key}"

    def _request_key(self, request_id: str) -> str:
        return f"{self._prefix}:outcome:{request_id}"

    def _instance_key(self, key: str) -> str:
        return f"{self._prefix}:instance-outcome:{key}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="zeebe-affinity-redis", daemon=True)
            self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        self._ready.clear()
        try:
            self._redis.publish(self._reply, _WAKE)  # wakes the listener out of its read
        except Exception:  # Redis is down: the listener's read fails or times out on its own
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        for client in (self._redis, self._sub_redis):
            try:
                client.close()
            except Exception:  # pragma: no cover - best effort
                pass

    def wait_ready(self, timeout: Optional[float]) -> bool:
        if self._ready.is_set():
            return True
        if timeout is not None and timeout <= 0:
            return False
        return self._ready.wait(timeout) and not self._stopping.is_set()

    # ------------------------------------------------------------------ request threads

    def watch(self, keys: Sequence[str], *, collect: bool = False, timeout: float = 0.0) -> Optional[Dict[str, Any]]:
        if not collect:
            return None  # request ids are served by this process's reply channel
        confirmed = threading.Event()
        with self._lock:
            wait = False
            for key in keys:
                channel = self._instance_channel(key)
                count = self._channels.get(channel, 0)
                self._channels[channel] = count + 1
                if count == 0:
                    self._commands.append(("subscribe", channel))
                    self._confirm.setdefault(channel, []).append(confirmed)
                    wait = True
        if wait:
            self._wake()
            if not confirmed.wait(timeout):
                logger.debug("subscription to %s not confirmed within %.3gs", keys, timeout)
        try:
            stored = self._redis.mget([self._instance_key(k) for k in keys])
        except Exception as exc:
            raise AffinityUnavailable(f"Redis at {self.target} cannot be reached: {exc}") from exc
        for text in stored:
            frame = _decode(text)
            if frame is not None:
                return frame
        return None

    def unwatch(self, keys: Sequence[str]) -> None:
        wake = False
        with self._lock:
            for key in keys:
                channel = self._instance_channel(key)
                count = self._channels.get(channel)
                if count is None:
                    continue  # a request id: nothing was subscribed for it
                if count > 1:
                    self._channels[channel] = count - 1
                else:
                    del self._channels[channel]
                    self._commands.append(("unsubscribe", channel))
                    wake = True
        if wake:
            self._wake()

    def _wake(self) -> None:
        try:
            self._redis.publish(self._reply, _WAKE)
        except Exception as exc:  # Redis down: the listener resubscribes everything on reconnect
            logger.debug("cannot wake the Redis listener: %s", exc)

    # ------------------------------------------------------------------ relay worker

    def publish_outcome(self, frame: Dict[str, Any], timeout: float) -> None:
        request_id = frame.get("requestId")
        instance_key = str(frame["processInstanceKey"])
        text = protocol.encode(frame)
        reply = None
        if request_id and "." in request_id:
            reply = f"{self._prefix}:reply:{request_id.split('.', 1)[0]}"
        try:
            pipe = self._redis.pipeline(transaction=False)
            if request_id:
                pipe.set(self._request_key(request_id), text, ex=self._outcome_ttl)
            if reply is not None:
                pipe.publish(reply, text)
            pipe.publish(self._instance_channel(instance_key), text)
            results = pipe.execute()
            receivers = results[1] if reply is not None else 0
            if not receivers:
                # nobody listens for this request (its process is gone, or a seed-style
                # outcome): keep it under the instance key for get_outcome on any replica
                self._redis.set(self._instance_key(instance_key), text, ex=self._outcome_ttl)
        except Exception as exc:
            raise AffinityUnavailable(
                f"Redis at {self.target} cannot be reached ({exc}): the outcome was not handed over"
            ) from exc

    # ------------------------------------------------------------------ listener thread

    def _listen(self) -> None:
        backoff = self._reconnect_initial
        failures = 0
        while not self._stopping.is_set():
            pubsub = self._sub_redis.pubsub()
            self._pubsub = pubsub
            try:
                with self._lock:
                    # the snapshot covers every queued command: later ones are applied in order
                    channels = [self._reply, *self._channels]
                    self._commands.clear()
                pubsub.subscribe(*channels)
                if failures:
                    logger.info("Redis subscriber at %s reconnected after %d failed attempts", self.target, failures)
                failures = 0
                backoff = self._reconnect_initial
                self._read(pubsub)
            except Exception as exc:
                if self._stopping.is_set():
                    break
                failures += 1
                self.last_error = str(exc) or type(exc).__name__
                log = logger.warning if failures == 1 else logger.debug
                log("Redis subscriber at %s failed: %s (reconnecting)", self.target, self.last_error)
            finally:
                self._ready.clear()
                try:
                    pubsub.close()
                except Exception:  # the connection is broken anyway
                    pass
            self._stopping.wait(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, self._reconnect_max)

    def _read(self, pubsub: Any) -> None:
        last_seen = time.monotonic()
        while not self._stopping.is_set():
            message = pubsub.get_message(timeout=self._health)
            now = time.monotonic()
            if message is None:
                if now - last_seen > 2.5 * self._health:
                    raise ConnectionError(f"no answer from Redis for {now - last_seen:.1f}s")
                pubsub.ping()  # any reply (a pong) proves the connection alive
                continue
            last_seen = now
            kind = message.get("type")
            channel = message.get("channel")
            if kind == "subscribe":
                self._on_subscribed(channel)
            elif kind == "message":
                data = message.get("data")
                if data == _WAKE:
                    self._apply_commands(pubsub)
                    continue
                frame = _decode(data)
                if frame is not None:
                    self._on_outcome(frame, late_is_ours=channel == self._reply)

    def _on_outcome(self, frame: Dict[str, Any], *, late_is_ours: bool) -> None:
        """One inbound outcome: drop a duplicate, deliver, apply the late policy."""
        request_id = request_id_of(frame)
        if request_id is not None and not self._answered.add(request_id):
            logger.debug("dropping a duplicate outcome of request %s", request_id)
            return
        woken = self._deliver(frame)
        for waiter in woken:
            self.unwatch(waiter.keys)  # a get_outcome's instance channel (request ids: no-op)
        if not woken and late_is_ours:
            self._keep_late(frame)

    def _keep_late(self, frame: Dict[str, Any]) -> None:
        """An outcome for a request of ours that gave up: store it for get_outcome anywhere."""
        key = str(frame["processInstanceKey"])
        late = dict(frame)
        late.pop("requestId", None)
        text = protocol.encode(late)
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(self._instance_key(key), text, ex=self._outcome_ttl)
            pipe.publish(self._instance_channel(key), text)
            pipe.execute()
        except Exception as exc:
            logger.warning("could not keep the late outcome of instance %s on Redis: %s", key, exc)

    def _apply_commands(self, pubsub: Any) -> None:
        with self._lock:
            commands, self._commands = self._commands, []
        for command, channel in commands:
            if command == "subscribe":
                pubsub.subscribe(channel)
            else:
                pubsub.unsubscribe(channel)

    def _on_subscribed(self, channel: str) -> None:
        with self._lock:
            events = self._confirm.pop(channel, [])
        for event in events:
            event.set()
        if channel != self._reply:
            return
        # (re)subscribed: outcomes published while we were not may be stored; read them now
        self._recover()
        self._ready.set()

    def _recover(self) -> None:
        keys = self._pending_keys()
        if not keys:
            return
        names = [self._request_key(k) if "." in k else self._instance_key(k) for k in keys]
        stored = self._redis.mget(names)
        found = 0
        for text in stored:
            frame = _decode(text)
            if frame is not None:
                found += 1
                self._on_outcome(frame, late_is_ours=False)
        logger.info("Redis subscriber: %d pending waits, %d outcomes recovered from storage", len(keys), found)


def _decode(text: Any) -> Optional[Dict[str, Any]]:
    if text is None:
        return None
    try:
        frame = protocol.decode(text)
    except ProtocolError as exc:
        logger.warning("ignoring a malformed outcome on Redis: %s", exc)
        return None
    return frame if frame["type"] == protocol.PROCESS_OUTCOME else None
