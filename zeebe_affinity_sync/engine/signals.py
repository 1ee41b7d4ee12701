"""Signals: signal catch events, boundary events and start events, and broadcasting.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. A signal is not correlated: a broadcast reaches every subscription of its name at that
moment (catch events, boundary events, events after an event-based gateway) and starts an
instance of every process whose latest version has a signal start event of that name. It is not
buffered: a subscription opened later does not see an earlier broadcast (Zeebe's semantics).

Signal subscriptions share :attr:`_subscriptions` with message subscriptions under the key
``(tenant, name, None)`` - a message's correlation key is always a string, so the two never meet -
which lets closing, termination and boundary handling treat both alike. Signals stay within their
tenant: a broadcast reaches the subscriptions and signal start events of its tenant only.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from . import model, state
from .expressions import feel
from .tenancy import DEFAULT_TENANT
from .variables import visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["SignalsMixin"]


class SignalsMixin:
    def __init__(self) -> None:
        # (tenant, signal name) -> bpmn_process_id -> (latest definition, start event id); under the lock
        self._signal_starts: Dict[Tuple[str, str], Dict[str, Tuple[model.ProcessDefinition, str]]] = {}
        self._reset_hooks.append(self._signal_starts.clear)
        self._reset_hooks.append(self._reset_buffered_count)  # MessagesMixin's, registered here: after ControlMixin

    def _signal_name(self: "Engine", ei: state.ElementInstance, element: model.Element) -> str:
        assert element.signal_name is not None
        return feel.to_string(element.signal_name.evaluate(visible(ei)))

    def _subscribe_signal(self: "Engine", ei: state.ElementInstance, element: model.Element,
                          boundary: Optional[model.Element]) -> None:
        """Subscribe ``ei`` (a catch event; or, with ``boundary``, its boundary / gateway target)."""
        name = self._signal_name(ei, element)
        subscription = state.Subscription(self._next_key(), name, None, ei, boundary)  # type: ignore[arg-type]
        bucket_key = (ei.instance.definition.tenant_id, name, None)
        bucket = self._subscriptions.get(bucket_key)  # type: ignore[arg-type]
        if bucket is None:
            bucket = self._subscriptions[bucket_key] = OrderedDict()  # type: ignore[index]
        bucket[subscription.key] = subscription
        if boundary is None:
            ei.subscription = subscription
        else:
            if ei.boundary_subscriptions is None:
                ei.boundary_subscriptions = []
            ei.boundary_subscriptions.append(subscription)

    def _open_signal_starts(self: "Engine", definition: model.ProcessDefinition) -> None:
        bpmn_id = definition.bpmn_process_id
        tenant = definition.tenant_id
        for start_key in [k for k in self._signal_starts if k[0] == tenant]:
            by_process = self._signal_starts[start_key]
            if by_process.pop(bpmn_id, None) is not None and not by_process:
                del self._signal_starts[start_key]
        for element_id in definition.process.signal_starts:
            element = definition.process.elements[element_id]
            assert element.signal_name is not None
            name = feel.to_string(element.signal_name.evaluate({}))
            self._signal_starts.setdefault((tenant, name), {})[bpmn_id] = (definition, element_id)

    def broadcast_signal(self: "Engine", name: str, variables: Optional[Dict[str, Any]] = None,
                         tenant_id: str = DEFAULT_TENANT) -> int:
        """BroadcastSignal: trigger every subscription of ``name`` and every signal start event
        of ``tenant_id``.

        Returns:
            The signal's key.
        """
        with self._lock:
            key = self._broadcast(name, dict(variables or {}), tenant_id)
            self._drain()
            return key

    def _broadcast(self: "Engine", name: str, variables: Dict[str, Any], tenant_id: str) -> int:
        key = self._next_key()
        bucket_key = (tenant_id, name, None)
        bucket = self._subscriptions.pop(bucket_key, None)  # type: ignore[arg-type]
        if bucket:
            keep: "OrderedDict[int, state.Subscription]" = OrderedDict()
            for subscription in bucket.values():
                boundary = subscription.boundary
                if boundary is not None and not boundary.interrupting:
                    keep[subscription.key] = subscription  # a non-interrupting boundary keeps listening
                self._agenda.append((self._correlated, (subscription, dict(variables) or None)))
            if keep:
                self._subscriptions[bucket_key] = keep  # type: ignore[index]
        for definition, element_id in list(self._signal_starts.get((tenant_id, name), {}).values()):
            instance = self._new_instance(definition, variables)
            self._lock.log_later(logger, logging.DEBUG, "signal '%s' started instance %d of '%s'", name,
                                 instance.key, definition.bpmn_process_id)
            self._start_at(instance, [element_id])
        self._lock.log_later(logger, logging.DEBUG, "signal '%s' broadcast (key %d)", name, key)
        self._rec("SIGNAL", "BROADCASTED", key, {"signal_name": name, "variables": dict(variables),
                                                  "tenant_id": tenant_id})
        return key

    def _throw_signal(self: "Engine", ei: state.ElementInstance) -> None:
        """A signal throw / end event: broadcast with the event's local variables (its inputs)."""
        element = ei.element
        assert element is not None
        self._broadcast(self._signal_name(ei, element), dict(ei.variables), ei.instance.definition.tenant_id)
