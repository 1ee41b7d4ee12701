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
OAUTH_DEFAULT_EXPIRES_IN = 60.0              # s, token lifetime assumed when the endpoint omits expires_in
OAUTH_TOKEN_CACHE_DIR = "~/.camunda"         # folder of the on-disk token cache (Camunda's SDK default)
OAUTH_UNAUTHORIZED_BACKOFF = 30.0            # s, no new token request this long after a 401; doubles
OAUTH_UNAUTHORIZED_BACKOFF_MAX = 300.0       # s, cap of it
CLIENT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024   # bytes, gRPC max message size of the client (Zeebe's default)
ACTIVATE_DEADLINE_MARGIN = 5.0               # s, gRPC deadline of an ActivateJobs long poll beyond requestTimeout
WITH_RESULT_DEADLINE_MARGIN = 5.0            # s, gRPC deadline of a with-result call beyond its timeout
CHANNEL_RECONNECT_BACKOFF_INITIAL = 0.1      # s, gRPC reconnect backoff after a lost connection
CHANNEL_RECONNECT_BACKOFF_MAX = 5.0          # s, cap of it (gRPC's own default is 120 s)
WEDGED_CALL_GRACE = 5.0                      # s, a job call not done this long past its deadline / cancel reopens the channel

# ---------------------------------------------------------------- job worker
WORKER_NAME = "zeebe-affinity-sync"
WORKER_MAX_RUNNING_JOBS = 32                 # handlers running at once (thread pool size)
WORKER_JOB_TIMEOUT = 300.0                   # s, job lock (Zeebe clients default to 5 min)
WORKER_POLL_REQUEST_TIMEOUT = 10.0           # s, long-poll of one ActivateJobs request
WORKER_RETRY_BACKOFF = 1.0                   # s, backoff given with FailJob after a handler error
WORKER_ERROR_BACKOFF_MAX = 10.0              # s, cap of the poll backoff while the gateway is down
WORKER_STOP_TIMEOUT = 30.0                   # s, stop(): wait this long for running handlers
WORKER_ERROR_BACKOFF_INITIAL = 0.1           # s, first poll backoff after a gateway error; doubles
WORKER_MAX_JOBS_TO_ACTIVATE = 32             # jobs one ActivateJobs request asks for at most
WORKER_CONTENDED_POLL_TIMEOUT = 1.0          # s, long-poll of a type while other types wait for a handler slot
WORKER_SLOT_GATHER = 0.02                    # s, a saturated worker waits this long to poll for a batch, not one job

# ---------------------------------------------------------------- embedded engine
ENGINE_HOST = "127.0.0.1"
ENGINE_PORT = 26500
ENGINE_LONG_POLL_TIMEOUT_MS = 10_000         # ms, ActivateJobs requestTimeout == 0
ENGINE_WITH_RESULT_TIMEOUT_MS = 15_000       # ms, CreateProcessInstanceWithResult requestTimeout <= 0
ENGINE_MAX_MESSAGE_BYTES = 4 * 1024 * 1024   # bytes, gRPC max message size (Zeebe's default)
FEEL_EVALUATE_CACHE_SIZE = 512               # compiled expressions kept by engine.feel.evaluate()
ENGINE_HISTORY_SIZE = 1000                   # finished process instances kept for inspection
ENGINE_RECORD_LOG_SIZE = 100_000             # records kept by the engine's record log (oldest dropped)
ENGINE_IDLE_TIMEOUT = 5.0                    # s, EmbeddedZeebe.wait_for_idle() default
ENGINE_SERVER_THREADS = 256                  # gRPC threads: each parked long poll / stream holds one
ENGINE_STOP_GRACE = 2.0                      # s, stop(): in-flight RPCs get this long to finish
ENGINE_MAX_REQUEST_TIMEOUT_MS = 3_600_000    # ms, longest long poll / with-result wait (longer asks are clamped)
ENGINE_RESERVED_UNARY_THREADS = 32           # gRPC threads never given to waiting requests (capped at half the pool)
ENGINE_MAX_BUFFERED_MESSAGES = 10_000        # messages with a TTL held at once; more -> RESOURCE_EXHAUSTED
ENGINE_MAX_VARIABLE_DEPTH = 256              # nesting levels of a variables document; deeper -> INVALID_ARGUMENT

# ---------------------------------------------------------------- affinity hub
HUB_BIND = "127.0.0.1:8089"
HUB_OUTCOME_TTL = 30.0                       # s, an outcome nobody subscribed to yet is held this long
HUB_MAX_HELD_OUTCOMES = 100_000              # count bound of held outcomes
HUB_MAX_HELD_BYTES = 256 * 1024 * 1024       # bytes bound of held outcomes
HUB_MAX_FRAME_BYTES = 1024 * 1024            # bytes; a larger frame closes the socket with 1009
HUB_MAX_SUBSCRIPTIONS = 10_000               # keys one connection may subscribe to
HUB_MAX_PROTOCOL_ERRORS = 10                 # bad frames before the hub closes the connection
HUB_PING_INTERVAL = 20.0                     # s, hub pings each connection this often
HUB_SEND_TIMEOUT = 10.0                      # s, a send blocked this long drops the (stuck) peer
HUB_REAP_INTERVAL = 1.0                      # s, held-outcome expiry sweep and rate sampling
HUB_GRACEFUL_TIMEOUT = 10.0                  # s, gunicorn graceful_timeout of the hub
HUB_STATS_INTERVAL = 300.0                   # s, periodic stats log line (the seed logs every 5 min)
HUB_THREADS = 200                            # gunicorn gthread threads: one per open websocket
HUB_SHUTDOWN_TIMEOUT = 5.0                   # s, shutdown waits this long for all peers to close
HUB_OUTBOUND_QUEUE_BYTES = 8 * 1024 * 1024   # bytes queued to one peer before it is dropped
HUB_OUTBOUND_QUEUE_FRAMES = 10_000           # frames queued to one peer before it is dropped
# Kernel send buffer (SO_SNDBUF) of each hub connection; Linux doubles the value. Without it the
# kernel grows a non-reading peer's buffer to tcp_wmem's maximum (4 MiB), and the hub pays a write
# call per frame into it for that long before its own queue, and so the drop, even begins.
HUB_SOCKET_SEND_BUFFER = 128 * 1024          # bytes; 0 = leave it to the kernel's autotuning
HUB_INBOUND_BUFFER_BYTES = 4 * 1024 * 1024   # bytes read ahead from one peer before reading pauses
HUB_HEADER_TIMEOUT = 5.0                     # s, an HTTP request's headers must arrive within this
HUB_REDIS_DISPATCHERS = 4                    # threads handling outcomes that arrive over Redis
HUB_REDIS_DISPATCH_QUEUE = 10_000            # Redis messages waiting for a dispatcher, at most
HUB_REDIS_HANDOVER_WAIT = 6.0                # s, wait for a running hand-over of held outcomes to Redis

# ---------------------------------------------------------------- affinity client
AFFINITY_TIMEOUT = 30.0                      # s, wait for an outcome (and for the hub at start-up)
AFFINITY_MAX_PENDING = 128                    # waits per process before AffinityOverloaded: sized for a
                                             # gunicorn gthread worker (README: --threads 32); raise it for cb= use
AFFINITY_RETRY_AFTER = 1.0                   # s, Retry-After suggested with AffinityOverloaded
AFFINITY_ACK_TIMEOUT = 5.0                   # s, affinity worker waits this long for the hub's ACK
AFFINITY_RECONNECT_INITIAL = 0.1             # s, first reconnect backoff
AFFINITY_RECONNECT_MAX = 5.0                 # s, reconnect backoff cap
AFFINITY_PING_INTERVAL = 20.0                # s, client-side keepalive ping
AFFINITY_COLLECT_TTL = 300.0                 # s, a late outcome is kept this long for get_outcome()
AFFINITY_TASK_TYPE = "publish-outcome"
AFFINITY_MAX_COLLECTED = 10_000              # count bound of late outcomes kept per process for get_outcome()
AFFINITY_CALLBACK_THREADS = 4                # threads running cb= callbacks (never the reader thread)
AFFINITY_CONNECT_TIMEOUT = 5.0               # s, one websocket / Redis connect attempt
AFFINITY_STATUS_HEADER = "affinity-status"   # task header; value "error" marks a failure outcome
AFFINITY_WORKER_RETRY_BACKOFF = 1.0          # s, FailJob backoff when the outcome could not be handed over
AFFINITY_RELAY_JOB_TIMEOUT = 10.0            # s, lock of a relay job: a crashed relay worker's jobs are
                                             # re-activated by another one this soon (well inside a request)
AFFINITY_WRITE_TIMEOUT = 5.0                 # s, one frame must leave the hub connection's socket within this
AFFINITY_RECEIPT_LINGER = 1.0               # s, receipts wait this long to go out together (fewer hub wakeups)
AFFINITY_SEND_QUEUE = 10_000                 # frames queued for the hub connection's writer at most
AFFINITY_MAX_SEEN = 100_000                  # delivery / request ids remembered to drop duplicate outcomes
AFFINITY_MAX_LINGERING = 5_000               # timed-out requests still listening for their late outcome
REDIS_URL = "redis://localhost:6379/0"
REDIS_CHANNEL_PREFIX = "zeebe-affinity"
REDIS_HEALTH_CHECK_INTERVAL = 10.0           # s, ping the idle Redis subscriber connection this often

# ---------------------------------------------------------------- Flask / Django integrations
WEB_STRATEGY = "hub"                         # hub | redis | with_result
WEB_MODE = WEB_STRATEGY                      # the old name of WEB_STRATEGY
WEB_FAILURE_STATUS = 422                     # HTTP status of a ProcessFailed outcome
WEB_TIMEOUT_STATUS = 504                     # HTTP status of an AffinityTimeout (202 needs an outcome URL)
WEB_RETRY_AFTER = 1                          # s, Retry-After sent with 503 when the error has none
WEB_COLLECT_TIMEOUT = 0.0                    # s, how long an outcome-collection request waits

# ---------------------------------------------------------------- demo
DEMO_REQUESTS = 200                          # HTTP requests sent by `zeebe-affinity demo`
DEMO_CONCURRENCY = 20                        # client threads of `zeebe-affinity demo`
DEMO_REQUEST_TIMEOUT = 30.0                  # s, per HTTP request of the demo
