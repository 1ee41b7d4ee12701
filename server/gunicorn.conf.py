"""Gunicorn settings of the hub as a service (read by ``gunicorn -c server/gunicorn.conf.py``).

Every open websocket holds one gunicorn thread for its whole life (on the hub's gthread
worker), so ``threads`` is the number of connections one worker can hold: size it for your
clients plus workers plus some head-room. Several workers need ``ZEEBE_AFFINITY_REDIS_URL``.

Environment: ZEEBE_AFFINITY_BIND (default 0.0.0.0:8089), ZEEBE_AFFINITY_THREADS (200),
ZEEBE_AFFINITY_WORKERS (1), ZEEBE_AFFINITY_CERTFILE / ZEEBE_AFFINITY_KEYFILE (wss), plus the
hub settings read by zeebe_affinity_sync.hub.config (token, Redis URL, TTL, ...).
"""
from __future__ import annotations

import os

from zeebe_affinity_sync import defaults
from zeebe_affinity_sync.hub.gunicorn_hooks import post_worker_init, worker_exit, worker_int  # noqa: F401

bind = [os.environ.get("ZEEBE_AFFINITY_BIND", "0.0.0.0:8089")]
# gthread, with request heads read on the event loop so slow clients hold no thread (slowloris)
worker_class = "zeebe_affinity_sync.hub.worker.HubWorker"
threads = int(os.environ.get("ZEEBE_AFFINITY_THREADS", str(defaults.HUB_THREADS)))
workers = int(os.environ.get("ZEEBE_AFFINITY_WORKERS", "1"))
worker_connections = max(1000, 2 * threads)  # websockets plus ordinary keep-alive requests
# the hooks close websockets with 1001 at once; this bounds the rest
graceful_timeout = int(defaults.HUB_GRACEFUL_TIMEOUT)
accesslog = None  # one line per websocket *connection* would say nothing useful
errorlog = "-"
loglevel = os.environ.get("ZEEBE_AFFINITY_LOG_LEVEL", "info")
proc_name = "zeebe-affinity-hub"
# gunicorn >= 25.1 opens a control socket per user (~/.gunicorn/gunicorn.ctl) unless told not to;
# older gunicorn ignores names it does not know in a config file, so this is safe with any >= 21.
# (Not the --no-control-socket flag: older gunicorn refuses unknown command-line options.)
control_socket_disable = True

if os.environ.get("ZEEBE_AFFINITY_CERTFILE"):
    certfile = os.environ["ZEEBE_AFFINITY_CERTFILE"]
    keyfile = os.environ.get("ZEEBE_AFFINITY_KEYFILE")

if workers > 1 and not os.environ.get("ZEEBE_AFFINITY_REDIS_URL"):
    raise SystemExit(
        "ZEEBE_AFFINITY_WORKERS > 1 needs ZEEBE_AFFINITY_REDIS_URL: without Redis each worker "
        "only sees its own connections and outcomes would be lost between them"
    )
