"""``AffinityTestStack``: a hub served in this process and a relay worker on the test engine.

For view tests: the hub's Flask app (:func:`zeebe_affinity_sync.hub.app.create_app`, the same app
gunicorn serves in production) runs on werkzeug's threaded server on a free loopback port, in a
daemon thread of this process, and one :class:`~zeebe_affinity_sync.ZBAffinityClient` runs the
relay worker (``publish-outcome``) against the engine and is the ``zeebe_affinity_client`` every
test gets. Started once per session (per xdist worker), the first time a test asks for
``zeebe_affinity_client``; it needs the ``hub`` extra (flask, flask-sock).

The client is shared by the session on purpose: apps cache their client (Flask's extension and
Django's settings keep the first one they were given), so a test client that is closed after each
test would be handed stale to the next. Its ``close()`` is therefore a no-op while the session
owns it (``ZeebeAffinity.close(app)`` in a test teardown is harmless); the stack closes it at the
end of the session.
"""
from __future__ import annotations

import logging
import secrets
import threading
from typing import Any, Optional

from .. import defaults
from ..affinity.client import ZBAffinityClient
from ..errors import ConfigurationError

__all__ = ["AffinityTestStack"]

logger = logging.getLogger(__name__)

_STOP_TIMEOUT = 5.0  # s, for the server thread and the relay worker


def _quiet(base: Any) -> Any:
    class QuietHandler(base):  # type: ignore[misc, valid-type]
        """No access-log line per websocket upgrade (werkzeug writes them to stderr)."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return QuietHandler


class SessionAffinityClient(ZBAffinityClient):
    """The session's :class:`~zeebe_affinity_sync.ZBAffinityClient`: ``close()`` leaves it open
    (apps and tests may call it; the test session owns the client and closes it at its end)."""

    def close(self) -> None:
        logger.debug("close() of the session's affinity client ignored: the test session closes it at its end")

    def close_for_real(self) -> None:
        super().close()


class AffinityTestStack:
    """Hub (in-process, real websockets) + relay worker, both on ``engine``.

    Args:
        engine: A started :class:`~zeebe_affinity_sync.engine.EmbeddedZeebe`.
        task_type: The relay task type (default ``publish-outcome``).
        affinity_timeout: Default wait of the clients it makes, seconds.
    """

    def __init__(self, engine: Any, *, task_type: str = defaults.AFFINITY_TASK_TYPE,
                 affinity_timeout: float = 10.0) -> None:
        self.engine = engine
        self.task_type = task_type
        self.affinity_timeout = affinity_timeout
        self.token = secrets.token_hex(16)
        # all set by start() and cleared by stop(), both on the test's thread
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None
        self._hub: Any = None
        self.client: Optional[SessionAffinityClient] = None  # runs the relay worker; handed to tests
        self.url = ""

    def start(self) -> "AffinityTestStack":
        """Serve the hub and start the relay worker.

        Raises:
            ConfigurationError: The ``hub`` extra (flask, flask-sock) is not installed.
        """
        try:
            from werkzeug.serving import WSGIRequestHandler, make_server

            from ..hub.app import EXTENSION_KEY, create_app
            from ..hub.config import HubConfig
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ConfigurationError(
                f"zeebe_affinity_client needs the hub's dependencies ({exc}): "
                'pip install "zeebe-affinity-sync[hub]"') from exc
        try:
            app = create_app(HubConfig(tokens=(self.token,)))
            self._hub = app.extensions[EXTENSION_KEY]
            self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_quiet(WSGIRequestHandler))
            self._server.daemon_threads = True  # an open websocket must not hold up the session's end
            self.url = f"ws://127.0.0.1:{self._server.server_port}/"
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="zeebe-test-hub", daemon=True)
            self._thread.start()
            self.client = SessionAffinityClient(self.engine.address, affinity_url=self.url,
                                                affinity_token=self.token, affinity_timeout=self.affinity_timeout)
            self.client.create_affinity_worker(self.task_type, name="zeebe-test-relay", retry_backoff=0.1)
        except BaseException:
            self.stop()
            raise
        logger.debug("test hub on %s, relay worker for %r on %s", self.url, self.task_type, self.engine.address)
        return self

    def stop(self) -> None:
        """Close the client and its relay worker, the hub's sockets and the server. Idempotent."""
        client, self.client = self.client, None
        if client is not None:
            client.close_for_real()
        hub, self._hub = self._hub, None
        if hub is not None:
            hub.shutdown()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(_STOP_TIMEOUT)
