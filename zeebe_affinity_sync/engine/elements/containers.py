"""Scopes: the process itself (the root element instance of every process instance)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import state
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["ProcessBehavior"]


class ProcessBehavior(ElementBehavior):
    """The root scope: the instance completes when its last token is gone."""

    bpmn_element_type = "PROCESS"
    is_scope = True

    def terminate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._terminate_children(ei)

    def child_flow_done(self, engine: "Engine", scope: state.ElementInstance) -> None:
        engine._complete_instance(scope.instance)
