"""Helpers for tests that run the demo and the examples as real processes or servers."""
from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import sys
import threading
from typing import IO, Any, Iterator, List, Tuple

#: How to start a Python child whose hang a test must be able to explain: ``-X faulthandler``
#: makes SIGABRT print every thread's stack to the child's output (see :func:`stop`).
PYTHON = [sys.executable, "-X", "faulthandler"]


class Lines:
    """Reads a child's output on a thread so a test can wait for a line without blocking."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen: List[str] = []
        self.thread = threading.Thread(target=self._pump, args=(stream,), name="test-output", daemon=True)
        self.thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            self.lines.put(line)
        stream.close()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """The first line (from now on) containing ``text``; ``queue.Empty`` after ``timeout``."""
        while True:
            line = self.lines.get(timeout=timeout)
            self.seen.append(line)
            if text in line:
                return line

    def rest(self, timeout: float = 10.0) -> List[str]:
        """Everything after the stream ends (call once the process exited)."""
        self.thread.join(timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def stop(proc: "subprocess.Popen[str]", out: Lines, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
    """Send ``sig`` to ``proc`` and return its exit status once it has exited.

    A child that does not exit within ``timeout`` is aborted (started with :data:`PYTHON`, it
    prints every thread's stack first) and the test fails with the end of its output, so a hang
    says where it hangs.
    """
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        tail = "".join(out.rest()[-120:])
        raise AssertionError(
            f"{proc.args} did not exit within {timeout:g}s of {signal.Signals(sig).name}; "
            f"the end of its output (thread stacks last):\n{tail}"
        ) from None


@contextlib.contextmanager
def running(args: List[str], **popen_options: Any) -> "Iterator[Tuple[subprocess.Popen[str], Lines]]":
    """Start ``args`` with stdout and stderr merged into a :class:`Lines`; kill it on the way out
    if the test did not stop it."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen_options)
    try:
        yield proc, Lines(proc.stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the WSGI ``app`` on werkzeug's threaded server (what ``flask run`` uses) on a free
    loopback port, as ``zeebe-affinity demo`` does; yields its base URL and shuts it down after."""
    from zeebe_affinity_sync.commands.demo import _Server

    with _Server(app) as server:
        yield f"http://127.0.0.1:{server.port}"
