"""The gRPC channel of a client: created on first use, once per process, shared by all threads.

Creating it lazily keeps ``ZeebeClient()`` free of I/O and makes it safe under gunicorn
``--preload``: a client built in the master before the fork gets a fresh channel in each worker,
because the channel is re-created whenever ``os.getpid()`` differs from the pid that made it.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, List, Optional, Tuple

import grpc
from zeebe_affinity_sync.gateway.gateway_pb2_grpc import GatewayStub

from .. import defaults
from .call_watch import CallWatch, WatchedCall
from .config import ClientConfig
from .oauth import AuthMetadataInterceptor, BearerAuthInterceptor, OAuthTokenProvider

__all__ = ["LazyChannel"]

log = logging.getLogger(__name__)


class LazyChannel:
    """Owns one gRPC channel and its ``GatewayStub`` for one :class:`ClientConfig`.

    Args:
        config: The resolved client settings.
        token_provider: Set when OAuth is on; its token goes on every call. Basic auth comes
            from ``config.basic_auth``.
    """

    def __init__(self, config: ClientConfig, token_provider: Optional[OAuthTokenProvider] = None) -> None:
        self.config = config
        self.token_provider = token_provider
        # (pid, channel, stub) replaced as a whole under _lock; read lock-free by calling threads
        self._state: Optional[Tuple[int, grpc.Channel, GatewayStub]] = None
        self._lock = threading.Lock()  # guards creation, reopen and close only
        self._closed = False  # guarded by _lock
        self._watch = CallWatch(self.reopen)  # job calls gRPC may leave hanging (see call_watch)

    def stub(self) -> GatewayStub:
        """The stub of this process's channel, creating the channel on first use.

        Raises:
            RuntimeError: The channel was closed.
        """
        return self._live()[2]

    def watched_stub(self, what: str, deadline: Optional[float]) -> Tuple[GatewayStub, WatchedCall]:
        """The stub for one job call a thread will block on, and its watch (``done()`` when the
        reader is finished with the call, ``cancelled()`` on cancel); ``deadline`` in seconds,
        None for a stream. A call still unfinished ``grace`` past either gets its channel reopened."""
        state = self._live()
        return state[2], self._watch.watch(state[1], what, deadline)

    def reopen(self, channel: grpc.Channel) -> None:
        """Close ``channel`` if it is still this client's channel; the next call opens a new one.

        Its calls end with CANCELLED, a wedged one included (the reason to call this)."""
        with self._lock:
            state = self._state
            if state is None or state[1] is not channel or state[0] != os.getpid():
                return  # already replaced (or a parent's channel over fork: never touched)
            self._state = None
        log.info("closing the gRPC channel to %s; the next call opens a new one", self.config.address)
        channel.close()

    def _live(self) -> Tuple[int, grpc.Channel, GatewayStub]:
        """This process's (pid, channel, stub): read without the lock when it is there."""
        state = self._state
        if state is not None and state[0] == os.getpid():
            return state
        return self._current()

    def _current(self) -> Tuple[int, grpc.Channel, GatewayStub]:
        with self._lock:
            if self._closed:
                raise RuntimeError("this ZeebeClient is closed: create a new one")
            state = self._state
            pid = os.getpid()
            if state is None or state[0] != pid:
                if state is not None:
                    # inherited over fork: never touch the parent's channel from the child
                    log.debug("pid changed (%d -> %d): creating a new gRPC channel", state[0], pid)
                channel = self._create()
                state = (pid, channel, GatewayStub(channel))
                self._state = state
            return state

    def _options(self) -> List[Tuple[str, Any]]:
        size = self.config.max_message_bytes
        initial = int(defaults.CHANNEL_RECONNECT_BACKOFF_INITIAL * 1000)
        return [
            ("grpc.max_receive_message_length", size),
            ("grpc.max_send_message_length", size),
            # reconnect within seconds after a gateway restart, not gRPC's default of up to 120 s
            ("grpc.initial_reconnect_backoff_ms", initial),
            ("grpc.min_reconnect_backoff_ms", initial),
            ("grpc.max_reconnect_backoff_ms", int(defaults.CHANNEL_RECONNECT_BACKOFF_MAX * 1000)),
            # a client's connection state is its own: one client's failed connect does not make
            # another client's first call fail fast
            ("grpc.use_local_subchannel_pool", 1),
        ]

    def _create(self) -> grpc.Channel:
        cfg = self.config
        if cfg.secure:
            # with a client certificate chain and key this is mTLS: the gateway may require it
            credentials = grpc.ssl_channel_credentials(
                root_certificates=cfg.root_certificates,
                private_key=cfg.private_key,
                certificate_chain=cfg.certificate_chain,
            )
            channel = grpc.secure_channel(cfg.address, credentials, options=self._options())
        else:
            channel = grpc.insecure_channel(cfg.address, options=self._options())
        log.debug("opened a %s gRPC channel to %s (auth %s)",
                  ("mTLS" if cfg.certificate_chain else "TLS") if cfg.secure else "plaintext",
                  cfg.address, cfg.auth_strategy)
        if self.token_provider is not None:
            channel = grpc.intercept_channel(channel, BearerAuthInterceptor(self.token_provider))
        elif cfg.basic_auth is not None:
            # an interceptor, not call credentials: gRPC drops call credentials on plaintext
            # channels, and local Camunda setups with basic auth often run without TLS
            header = cfg.basic_auth.header()
            channel = grpc.intercept_channel(channel, AuthMetadataInterceptor(lambda: header))
        return channel

    def close(self) -> None:
        """Close this process's channel (in-flight calls end with CANCELLED). Idempotent."""
        with self._lock:
            state, self._state = self._state, None
            self._closed = True
        self._watch.close()
        if state is not None and state[0] == os.getpid():
            state[1].close()

    @property
    def closed(self) -> bool:
        return self._closed
