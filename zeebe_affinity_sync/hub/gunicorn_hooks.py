"""Gunicorn server hooks of the hub (used by ``zeebe-affinity hub`` and ``server/gunicorn.conf.py``).

An open websocket is an in-flight request to gunicorn, so a plain graceful stop would wait the
whole ``graceful_timeout`` for clients to hang up. These hooks close the hub's sockets with 1001
(going away) as soon as the worker is asked to stop, so clients reconnect at once (to another hub
behind the load balancer) and the worker exits promptly. Gunicorn is an entry point, so installing
a signal handler here is allowed; the library itself never does.
"""
from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Optional

__all__ = ["post_worker_init", "worker_int", "worker_exit"]

log = logging.getLogger(__name__)


def _hub_of(worker: Any) -> Optional[Any]:
    from .app import EXTENSION_KEY

    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", None)
    if not isinstance(extensions, dict):
        return None
    return extensions.get(EXTENSION_KEY)


def post_worker_init(worker: Any) -> None:
    """Start the hub's threads in the worker and chain a prompt close onto SIGTERM."""
    hub = _hub_of(worker)
    if hub is None:
        return
    hub.ensure_started()
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        if callable(previous):
            previous(signum, frame)
        # Closing sockets may block on a slow peer: never do it in the signal handler itself.
        threading.Thread(target=hub.shutdown, name="zeebe-hub-shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)


def worker_int(worker: Any) -> None:
    """SIGINT / SIGQUIT: the worker exits right after this hook; close the sockets first."""
    hub = _hub_of(worker)
    if hub is not None:
        hub.shutdown()


def worker_exit(server: Any, worker: Any) -> None:
    """The worker left its loop: make sure the Redis bridge and the threads are stopped."""
    hub = _hub_of(worker)
    if hub is not None:
        hub.shutdown()
