"""Tasks: service task (a job), receive task (a message subscription)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import state
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["JobTask", "ReceiveTask"]


class JobTask(ElementBehavior):
    """A task done by a job worker: the job is created on activation, completing it completes the task."""

    def __init__(self, bpmn_element_type: str) -> None:
        self.bpmn_element_type = bpmn_element_type

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._create_job(ei)


class ReceiveTask(ElementBehavior):
    bpmn_element_type = "RECEIVE_TASK"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._open_subscription(ei)
