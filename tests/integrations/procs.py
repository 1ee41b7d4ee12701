"""Helpers for tests that run the demo and the examples as real processes."""
from __future__ import annotations

import queue
import threading
from typing import IO, List


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
