"""Every default in one place, each with its unit.

Times are in seconds (float) in the Python API unless the name ends in ``_MS``; the Zeebe wire
protocol itself uses milliseconds and the client converts at the gRPC boundary.
Each area of the library has its own section; add new defaults to the matching section.
"""
from __future__ import annotations

# ---------------------------------------------------------------- Zeebe gateway / client
ZEEBE_ADDRESS = "localhost:26500"            # host:port, as Camunda's own clients default
REQUEST_TIMEOUT = 15.0                       # s, gRPC deadline of an ordinary unary call
WITH_RESULT_TIMEOUT = 15.0                   # s, CreateProcessInstanceWithResult (gateway default)
MESSAGE_TIME_TO_LIVE = 60.0                  # s, buffering of a published message (pyzeebe's default)
RETRY_MAX_ATTEMPTS = 5                       # attempts of a call that is safe to repeat
RETRY_INITIAL_BACKOFF = 0.1                  # s, first backoff; doubles each attempt
RETRY_MAX_BACKOFF = 5.0                      # s, cap of the backoff
OAUTH_REFRESH_MARGIN = 30.0                  # s, refresh a token this long before it expires
OAUTH_HTTP_TIMEOUT = 10.0                    # s, token endpoint request

# ---------------------------------------------------------------- job worker
WORKER_NAME = "zeebe-affinity-sync"
WORKER_MAX_RUNNING_JOBS = 32                 # handlers running at once (thread pool size)
WORKER_JOB_TIMEOUT = 300.0                   # s, job lock (Zeebe clients default to 5 min)
WORKER_POLL_REQUEST_TIMEOUT = 10.0           # s, long-poll of one ActivateJobs request
WORKER_RETRY_BACKOFF = 1.0                   # s, backoff given with FailJob after a handler error
WORKER_ERROR_BACKOFF_MAX = 10.0              # s, cap of the poll backoff while the gateway is down
WORKER_STOP_TIMEOUT = 30.0                   # s, stop(): wait this long for running handlers

# ---------------------------------------------------------------- embedded engine
ENGINE_HOST = "127.0.0.1"
ENGINE_PORT = 26500
ENGINE_LONG_POLL_TIMEOUT_MS = 10_000         # ms, ActivateJobs requestTimeout == 0
ENGINE_WITH_RESULT_TIMEOUT_MS = 15_000       # ms, CreateProcessInstanceWithResult requestTimeout <= 0
ENGINE_MAX_MESSAGE_BYTES = 4 * 1024 * 1024   # bytes, gRPC max message size (Zeebe's default)

# ---------------------------------------------------------------- affinity hub
HUB_BIND = "127.0.0.1:8089"
HUB_OUTCOME_TTL = 30.0                       # s, an outcome nobody subscribed to yet is held this long
HUB_MAX_HELD_OUTCOMES = 100_000              # count bound of held outcomes
HUB_MAX_HELD_BYTES = 256 * 1024 * 1024       # bytes bound of held outcomes
HUB_MAX_FRAME_BYTES = 1024 * 1024            # bytes; a larger frame closes the socket with 1009
HUB_MAX_SUBSCRIPTIONS = 10_000               # keys one connection may subscribe to
HUB_MAX_PROTOCOL_ERRORS = 10                 # bad frames before the hub closes the connection
HUB_PING_INTERVAL = 20.0                     # s, hub pings each connection this often
HUB_STATS_INTERVAL = 300.0                   # s, periodic stats log line (the seed logs every 5 min)
HUB_THREADS = 200                            # gunicorn gthread threads: one per open websocket

# ---------------------------------------------------------------- affinity client
AFFINITY_TIMEOUT = 30.0                      # s, wait for an outcome (and for the hub at start-up)
AFFINITY_MAX_PENDING = 1000                  # waits per process before AffinityOverloaded
AFFINITY_RETRY_AFTER = 1.0                   # s, Retry-After suggested with AffinityOverloaded
AFFINITY_ACK_TIMEOUT = 5.0                   # s, affinity worker waits this long for the hub's ACK
AFFINITY_RECONNECT_INITIAL = 0.1             # s, first reconnect backoff
AFFINITY_RECONNECT_MAX = 5.0                 # s, reconnect backoff cap
AFFINITY_PING_INTERVAL = 20.0                # s, client-side keepalive ping
AFFINITY_COLLECT_TTL = 300.0                 # s, a late outcome is kept this long for get_outcome()
AFFINITY_TASK_TYPE = "publish-outcome"
REDIS_URL = "redis://localhost:6379/0"
REDIS_CHANNEL_PREFIX = "zeebe-affinity"
