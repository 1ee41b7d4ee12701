"""``zeebe-affinity hub``: run the affinity hub under gunicorn (gthread worker).

Example::

    zeebe-affinity hub --bind 0.0.0.0:8089 --token "$TOKEN" --redis redis://redis:6379/0 --workers 2
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Dict

from .. import defaults
from ..errors import ConfigurationError

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default=defaults.HUB_BIND,
                        help=f"host:port to listen on (default {defaults.HUB_BIND}; port 0 = any)")
    parser.add_argument("--token", action="append", default=[],
                        help="accepted bearer token (repeatable, or comma-separated); "
                             "default: ZEEBE_AFFINITY_TOKEN; none means no authentication")
    parser.add_argument("--redis", metavar="URL", default=None,
                        help="share outcomes with other hubs over Redis (default: "
                             "ZEEBE_AFFINITY_REDIS_URL; needed for --workers > 1)")
    parser.add_argument("--threads", type=int, default=defaults.HUB_THREADS,
                        help="gunicorn threads per worker; each open websocket holds one "
                             f"(default {defaults.HUB_THREADS})")
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn worker processes (default 1; more need --redis)")
    parser.add_argument("--outcome-ttl", type=float, default=None,
                        help=f"seconds an outcome waits for its subscriber (default {defaults.HUB_OUTCOME_TTL:g})")
    parser.add_argument("--no-broadcast", action="store_true",
                        help="do not send every outcome to seed clients that never subscribe")
    parser.add_argument("--max-frame-bytes", type=int, default=None,
                        help=f"largest frame accepted (default {defaults.HUB_MAX_FRAME_BYTES})")
    parser.add_argument("--max-subscriptions", type=int, default=None,
                        help=f"keys per connection (default {defaults.HUB_MAX_SUBSCRIPTIONS})")
    parser.add_argument("--max-held", type=int, default=None,
                        help=f"outcomes held at most (default {defaults.HUB_MAX_HELD_OUTCOMES})")
    parser.add_argument("--max-protocol-errors", type=int, default=None,
                        help="bad frames before the connection is closed "
                             f"(default {defaults.HUB_MAX_PROTOCOL_ERRORS})")
    parser.add_argument("--ping-interval", type=float, default=None,
                        help=f"seconds between keepalive pings (default {defaults.HUB_PING_INTERVAL:g})")
    parser.add_argument("--send-timeout", type=float, default=None,
                        help="seconds a send to one peer may block before that peer is dropped "
                             f"(default {defaults.HUB_SEND_TIMEOUT:g})")
    parser.add_argument("--send-buffer", type=int, default=None, dest="send_buffer_bytes",
                        help="kernel send buffer (SO_SNDBUF) of each connection in bytes, 0 = "
                             "the kernel's autotuning; a peer that never reads is dropped once "
                             "this and its outbound queue are full "
                             f"(default {defaults.HUB_SOCKET_SEND_BUFFER})")
    parser.add_argument("--stats-interval", type=float, default=None,
                        help=f"seconds between stats log lines, 0 = off (default {defaults.HUB_STATS_INTERVAL:g})")
    parser.add_argument("--header-timeout", type=float, default=None,
                        help="seconds an HTTP request's headers may take to arrive; slower "
                             "connections are closed without holding a thread "
                             f"(default {defaults.HUB_HEADER_TIMEOUT:g})")
    parser.add_argument("--allow-query-token", action="store_true",
                        help="also accept the token as ws://host:port/?token=... (seed clients "
                             "cannot send an Authorization header); off by default because URLs, "
                             "and the token in them, end up in proxy and access logs")
    parser.add_argument("--protect-stats", action="store_true",
                        help="/stats and /metrics need the token too (/healthz stays open)")
    # --log-level after the subcommand: cli.py gives every subcommand that flag (checked).
    parser.add_argument("--certfile", default=None, help="TLS certificate (serves wss://)")
    parser.add_argument("--keyfile", default=None, help="TLS private key")


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`HubConfig` the arguments (and the environment) describe."""
    from ..hub.config import HubConfig, parse_tokens

    overrides: Dict[str, Any] = {"threads": args.threads}
    if args.token:
        overrides["tokens"] = parse_tokens(args.token)
    if args.redis:
        overrides["redis_url"] = args.redis
    if args.no_broadcast:
        overrides["broadcast"] = False
    if args.allow_query_token:
        overrides["allow_query_token"] = True
    if args.protect_stats:
        overrides["protect_stats"] = True
    for name in ("outcome_ttl", "max_frame_bytes", "max_subscriptions", "max_held",
                 "max_protocol_errors", "ping_interval", "send_timeout", "stats_interval",
                 "header_timeout", "send_buffer_bytes"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    return HubConfig.from_env(**overrides)


def gunicorn_options(args: argparse.Namespace) -> Dict[str, Any]:
    """Gunicorn settings for the hub (validated; raises ConfigurationError)."""
    from ..hub import gunicorn_hooks

    if args.threads < 1:
        raise ConfigurationError(f"--threads must be >= 1 (one per open websocket), got {args.threads}")
    if args.workers < 1:
        raise ConfigurationError(f"--workers must be >= 1, got {args.workers}")
    if bool(args.certfile) != bool(args.keyfile):
        raise ConfigurationError("--certfile and --keyfile go together: give both to serve wss://")
    for path in (args.certfile, args.keyfile):
        if path and not os.path.isfile(path):
            raise ConfigurationError(f"TLS file {path!r} does not exist")
    options: Dict[str, Any] = {
        "bind": [args.bind],
        "workers": args.workers,
        # gthread, with request heads read on the event loop (slowloris-safe): hub/worker.py
        "worker_class": "zeebe_affinity_sync.hub.worker.HubWorker",
        "threads": args.threads,
        # Each websocket is one connection; leave room for HTTP keep-alive besides them.
        "worker_connections": max(1000, args.threads * 2),
        "graceful_timeout": int(defaults.HUB_GRACEFUL_TIMEOUT),
        # HubWorker bounds the head itself; gunicorn's own keep-alive wait stays as it is.
        "accesslog": None,
        "errorlog": "-",
        "loglevel": str(args.log_level).lower(),
        "proc_name": "zeebe-affinity-hub",
        "post_worker_init": gunicorn_hooks.post_worker_init,
        "worker_int": gunicorn_hooks.worker_int,
        "worker_exit": gunicorn_hooks.worker_exit,
    }
    if args.certfile:
        options["certfile"] = args.certfile
        options["keyfile"] = args.keyfile
    return options


#: gunicorn >= 25.1 opens a control socket per user by default (``$XDG_RUNTIME_DIR/gunicorn.ctl``
#: or ``~/.gunicorn/gunicorn.ctl``): every gunicorn of that user on the host shares the one path,
#: and the hub has no use for it. Older gunicorn has no such setting and refuses to set unknown
#: ones, so it is only set when this gunicorn knows it.
CONTROL_SOCKET_SETTING = "control_socket_disable"


def application(options: Dict[str, Any], config: Any) -> Any:
    """The gunicorn application of the hub, configured but not running (call ``.run()``).

    Args:
        options: Gunicorn settings (:func:`gunicorn_options`).
        config: The hub's :class:`~zeebe_affinity_sync.hub.config.HubConfig`; the Flask app is
            built from it in each worker (``load()``), not here.
    """
    from gunicorn.app.base import BaseApplication

    from ..hub.app import create_app

    class HubApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)
            if CONTROL_SOCKET_SETTING in self.cfg.settings:
                self.cfg.set(CONTROL_SOCKET_SETTING, True)

        def load(self) -> Any:
            return create_app(config)

    return HubApplication()


def run(args: argparse.Namespace) -> int:
    try:
        options = gunicorn_options(args)
        config = build_config(args)
        if args.workers > 1 and not config.redis_url:
            raise ConfigurationError(
                f"--workers {args.workers} needs --redis URL: without Redis each worker process "
                "would only see its own connections and outcomes would get lost between them"
            )
    except ConfigurationError as exc:
        print(f"zeebe-affinity hub: {exc}", file=sys.stderr)
        return 2
    application(options, config).run()
    return 0
