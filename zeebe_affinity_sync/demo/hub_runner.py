"""Start a real hub (``zeebe-affinity hub`` under gunicorn) in a subprocess, in one line.

A test and demo helper, not part of the hub itself (which is :mod:`zeebe_affinity_sync.hub`).
Used by the tests, the end-to-end suite, the benchmarks and the demo::

    with HubProcess(token="s3cret") as hub:
        ws = websocket.create_connection(hub.url, header=hub.headers)

The hub's log goes to the ``zeebe_affinity_sync.hub.process`` logger (DEBUG) and its last lines
are kept in :attr:`HubProcess.output` for error messages.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Deque, Dict, List, Optional, Sequence, Union

from ..errors import ConfigurationError, ZeebeAffinityError

__all__ = ["HubProcess"]

log = logging.getLogger(__name__)

_LISTENING = re.compile(r"Listening at: (?:https?)://\[?([^\]\s]+?)\]?:(\d+)")


class HubProcess:
    """A hub running as ``zeebe-affinity hub`` (real gunicorn) in a child process.

    Args:
        host: Interface to bind (default loopback).
        port: Port to bind; 0 picks a free one (read back from gunicorn's log).
        token: Bearer token(s) the hub accepts; ``None`` runs it without authentication (the
            ``ZEEBE_AFFINITY_TOKEN`` of this process is *not* passed on).
        redis_url: Share outcomes over this Redis (``--redis``).
        threads: gunicorn threads per worker (``--threads``); default the hub's default.
        workers: gunicorn worker processes (more than 1 needs ``redis_url``).
        outcome_ttl: Seconds an outcome is held for its subscriber (``--outcome-ttl``).
        extra_args: More ``zeebe-affinity hub`` arguments, e.g. ``("--no-broadcast",)``.
        startup_timeout: Seconds to wait for ``/healthz`` in :meth:`start`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: Union[str, Sequence[str], None] = None,
        redis_url: Optional[str] = None,
        threads: Optional[int] = None,
        workers: int = 1,
        outcome_ttl: Optional[float] = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        if isinstance(token, str):
            tokens: List[str] = [token]
        else:
            tokens = list(token or ())
        self.host = host
        self.port = int(port)
        self.tokens = tokens
        self.redis_url = redis_url
        self.threads = threads
        self.workers = workers
        self.outcome_ttl = outcome_ttl
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.output: Deque[str] = collections.deque(maxlen=400)  # appended by the drain thread
        self._proc: Optional[subprocess.Popen] = None
        self._drain: Optional[threading.Thread] = None
        self._listening = threading.Event()

    # ------------------------------------------------------------------ addresses

    @property
    def token(self) -> Optional[str]:
        """The first accepted token (what a client should send), or ``None``."""
        return self.tokens[0] if self.tokens else None

    @property
    def headers(self) -> Dict[str, str]:
        """Headers a websocket client sends to be let in (``{}`` without a token)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def secure(self) -> bool:
        return "--certfile" in self.extra_args

    @property
    def url(self) -> str:
        """``ws://host:port/`` (``wss://`` with ``--certfile``)."""
        return f"{'wss' if self.secure else 'ws'}://{self._url_host}:{self.port}/"

    @property
    def http_url(self) -> str:
        """``http://host:port`` (no trailing slash) for /healthz, /stats and /metrics."""
        return f"{'https' if self.secure else 'http'}://{self._url_host}:{self.port}"

    @property
    def _url_host(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"[{host}]" if ":" in host else host

    @property
    def pid(self) -> Optional[int]:
        """Pid of the gunicorn master, or ``None`` when not running."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------------ lifecycle

    def command(self) -> List[str]:
        """The command line :meth:`start` runs."""
        cmd = [sys.executable, "-m", "zeebe_affinity_sync.cli", "--log-level", "INFO", "hub",
               "--bind", f"{self.host}:{self.port}", "--workers", str(self.workers)]
        # "--opt=value" in one item: a value starting with "-" (a token may) is not an option
        cmd += [f"--token={token}" for token in self.tokens]
        if self.redis_url:
            cmd.append(f"--redis={self.redis_url}")
        if self.threads is not None:
            cmd += ["--threads", str(self.threads)]
        if self.outcome_ttl is not None:
            cmd += ["--outcome-ttl", repr(float(self.outcome_ttl))]
        cmd += list(self.extra_args)
        return cmd

    def start(self) -> "HubProcess":
        """Start the hub and wait until ``/healthz`` answers.

        Raises:
            ConfigurationError: already running.
            ZeebeAffinityError: the hub exited or did not become healthy in time (the message
                carries the end of its log).
        """
        if self.running:
            raise ConfigurationError("this HubProcess is already running: stop() it first")
        env = dict(os.environ)
        for name in list(env):
            if name.startswith("ZEEBE_AFFINITY_"):
                del env[name]  # the arguments alone decide how the hub runs
        env["PYTHONUNBUFFERED"] = "1"
        self._listening.clear()
        self.output.clear()
        self._proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, text=True, encoding="utf-8", errors="replace",
        )
        self._drain = threading.Thread(target=self._read_output, args=(self._proc,),
                                       name=f"zeebe-hub-process-log-{self._proc.pid}", daemon=True)
        self._drain.start()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_output(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            log.debug("[hub %d] %s", proc.pid, line)
            if not self._listening.is_set():
                match = _LISTENING.search(line)
                if match:
                    if self.port == 0:
                        self.port = int(match.group(2))
                    self._listening.set()
        proc.stdout.close()

    def _fail(self, why: str) -> ZeebeAffinityError:
        tail = "\n".join(list(self.output)[-30:])
        command = ["--token=***" if arg.startswith("--token=") else arg for arg in self.command()]
        return ZeebeAffinityError(f"hub {why}; command: {' '.join(command)}\n{tail}")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        proc = self._proc
        assert proc is not None
        while not self._listening.wait(0.05):
            if proc.poll() is not None:
                self._drain.join(2.0)  # type: ignore[union-attr]
                raise self._fail(f"exited with code {proc.returncode} before listening")
            if time.monotonic() > deadline:
                raise self._fail(f"did not listen within {self.startup_timeout}s")
        while True:
            try:
                with urllib.request.urlopen(self.http_url + "/healthz", timeout=2.0,
                                            context=self._ssl_context()) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None:
                raise self._fail(f"exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                raise self._fail(f"was not healthy within {self.startup_timeout}s")
            time.sleep(0.05)

    def _ssl_context(self) -> Any:
        if not self.secure:
            return None
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # a test hub's self-signed certificate
        return context

    def stats(self) -> Dict[str, Any]:
        """``GET /stats`` of the hub (one worker's view when several run)."""
        with urllib.request.urlopen(self.http_url + "/stats", timeout=5.0,
                                    context=self._ssl_context()) as response:
            return json.loads(response.read().decode("utf-8"))

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the gunicorn master, wait ``timeout`` seconds, then SIGKILL (idempotent)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("hub %d did not stop within %ss: killing it", proc.pid, timeout)
                proc.kill()
                proc.wait()
        if self._drain is not None:
            self._drain.join(5.0)
            self._drain = None
        self._proc = None

    def restart(self) -> "HubProcess":
        """Stop and start again on the same port (clients see a disconnect, then reconnect)."""
        self.stop()
        return self.start()

    def __enter__(self) -> "HubProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<HubProcess {self.url} {state}>"
