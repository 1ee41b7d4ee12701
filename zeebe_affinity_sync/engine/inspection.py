"""Read-only views of the engine state as plain dicts (Zeebe 8.4 has no RPC for these).

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; each method takes the engine lock
and returns copies, so callers may keep and change what they get.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from . import rejections, state

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

__all__ = ["InspectionMixin", "live_elements"]


def live_elements(scope: state.ElementInstance) -> List[state.ElementInstance]:
    """The live flow-node instances under ``scope``, depth first, in activation order."""
    out: List[state.ElementInstance] = []
    stack = [iter(scope.children.values())] if scope.children else []
    while stack:
        ei = next(stack[-1], None)
        if ei is None:
            stack.pop()
            continue
        out.append(ei)
        if ei.children:
            stack.append(iter(ei.children.values()))
    return out


class InspectionMixin:
    def incidents(self: "Engine") -> List[Dict[str, Any]]:
        """Open incidents, oldest first, as plain dicts."""
        with self._lock:
            out = []
            for inc in self._incidents.values():
                ei = inc.element_instance
                out.append({
                    "key": inc.key, "error_type": inc.error_type, "error_message": inc.message,
                    "process_instance_key": ei.instance.key,
                    "bpmn_process_id": ei.instance.definition.bpmn_process_id,
                    "element_id": ei.element.id if ei.element else "",
                    "element_instance_key": ei.key,
                    "job_key": inc.job.key if inc.job is not None else None,
                    "created": inc.created,
                })
            return out

    def process_instances(self: "Engine", include_finished: bool = True) -> List[Dict[str, Any]]:
        """Active instances, then (if asked) the bounded history of finished ones, as dicts."""
        with self._lock:
            out = [self._instance_view(i) for i in self._instances.values()]
            if include_finished:
                out.extend(dict(h, variables=dict(h["variables"])) for h in self._history)
            return out

    def process_instance(self: "Engine", process_instance_key: int) -> Optional[Dict[str, Any]]:
        """One instance (active or in the history) or ``None``."""
        with self._lock:
            instance = self._instances.get(process_instance_key)
            if instance is not None:
                return self._instance_view(instance)
            for summary in reversed(self._history):
                if summary["process_instance_key"] == process_instance_key:
                    return dict(summary, variables=dict(summary["variables"]))
            return None

    def variables(self: "Engine", process_instance_key: int) -> Dict[str, Any]:
        """Root variables of an instance (active or in the history).

        Raises:
            ProcessNotFoundError: Unknown instance (or dropped from the history).
        """
        view = self.process_instance(process_instance_key)
        if view is None:
            raise rejections.process_not_found(
                "GET", f"Expected to find process instance with key '{process_instance_key}', but none found")
        return view["variables"]

    def _instance_view(self: "Engine", instance: state.ProcessInstance) -> Dict[str, Any]:
        d = instance.definition
        parent = instance.parent_element
        return {
            "process_instance_key": instance.key, "bpmn_process_id": d.bpmn_process_id, "version": d.version,
            "process_definition_key": d.key, "state": instance.state, "tenant_id": d.tenant_id,
            "variables": dict(instance.root.variables),
            "parent_process_instance_key": parent.instance.key if parent is not None else None,
            "elements": [
                {"key": ei.key, "element_id": ei.element.id if ei.element else "",
                 "type": ("multiInstanceBody" if ei.body else ei.element.kind) if ei.element else "",
                 "phase": ei.phase}
                for ei in live_elements(instance.root)
            ],
            "created": instance.created,
        }

    def stats(self: "Engine") -> Dict[str, int]:
        """Sizes of the live structures (for monitoring and leak checks)."""
        with self._lock:
            return {
                "process_instances": len(self._instances),
                "element_instances": len(self._element_instances),
                "jobs": len(self._jobs),
                "activatable_jobs": sum(len(q) for q in self._activatable.values()),
                "parked_polls": sum(len(p) for p in self._pollers.values()),
                "job_streams": sum(len(s) for s in self._streams.values()),
                "incidents": len(self._incidents),
                "user_tasks": len(self._user_tasks),
                "subscriptions": sum(len(b) for b in self._subscriptions.values()),
                "buffered_messages": sum(len(b) for b in self._buffer.values()),
                "result_waiters": sum(len(w) for w in self._result_waiters.values()),
                "scheduled": len(self._scheduler),
                "history": len(self._history),
                "token_flow_yields": self._yields,
            }

    def element_ids(self: "Engine", process_definition_key: int) -> List[str]:
        """Ids of every flow node of a deployed process version (nested ones too), document order.

        Raises:
            ProcessNotFoundError: No such process definition.
        """
        with self._lock:
            definition = self._definitions.get(process_definition_key)
            if definition is None:
                raise rejections.process_not_found(
                    "GET", f"Expected to find process definition with key '{process_definition_key}', but none found")
            return list(definition.process.elements)

    def definitions(self: "Engine") -> List[Dict[str, Any]]:
        with self._lock:
            return [{"key": d.key, "bpmn_process_id": d.bpmn_process_id, "version": d.version,
                     "resource_name": d.resource_name, "tenant_id": d.tenant_id}
                    for d in self._definitions.values()]
