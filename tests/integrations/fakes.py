"""A fake affinity client with the methods the integrations call (for the error-mapping unit
tests only; the end-to-end tests use the real client, engine and hub)."""
from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Tuple

from zeebe_affinity_sync.affinity.outcome import ProcessOutcome


class FakeAffinityClient:
    """Answers each call with an outcome echoing its input, or raises ``self.error`` if set."""

    def __init__(self) -> None:
        self.error: Optional[BaseException] = None
        self.next_key = 2251799813685249
        #: (method, args, kwargs) of every call; guarded by _lock, appended by request threads
        self.calls: List[Tuple[str, tuple, Dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.closed = False

    def _record(self, method: str, args: tuple, kwargs: Dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((method, args, kwargs))
        if self.error is not None:
            raise self.error

    def create_process_instance_with_affinity(
        self, bpmn_process_id: str, variables: Optional[Dict[str, Any]] = None, **kwargs: Any
    ) -> ProcessOutcome:
        self._record("create", (bpmn_process_id, variables), kwargs)
        return ProcessOutcome(self.next_key, {"echo": dict(variables or {}), "process": bpmn_process_id})

    def publish_message_with_affinity(
        self,
        name: str,
        correlation_key: str,
        process_instance_key: int,
        variables: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> ProcessOutcome:
        self._record("publish", (name, correlation_key, process_instance_key, variables), kwargs)
        return ProcessOutcome(process_instance_key, {"message": name, "echo": dict(variables or {})})

    def get_outcome(self, process_instance_key: int, timeout: float = 0.0) -> ProcessOutcome:
        self._record("get_outcome", (process_instance_key,), {"timeout": timeout})
        return ProcessOutcome(process_instance_key, {"collected": True})

    def close(self) -> None:
        self.closed = True
