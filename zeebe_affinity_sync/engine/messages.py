"""Message correlation: subscriptions, TTL buffering, messageId uniqueness, message start events.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. Indexes (all guarded by it):

- ``_subscriptions[(tenant, name, correlation_key)]``: open catch subscriptions, in opening order.
- ``_buffer[(tenant, name, correlation_key)]``: messages with TTL left, oldest first.
- ``_message_ids[(tenant, name, correlation_key, message_id)]``: buffered ids (uniqueness check).
- ``_start_subscriptions[(tenant, name)][bpmn_process_id]``: message start events of the latest versions.
- ``_message_started[(tenant, bpmn_process_id, correlation_key)]``: active message-started instances.

Every index is keyed by tenant first: a message published to one tenant only ever meets the
subscriptions and start events of that tenant's instances and definitions (as in Zeebe).
A message correlates at most once per bpmnProcessId; expiry runs on the scheduler thread.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from .. import defaults
from . import model, rejections, state
from .expressions import feel, type_name
from .tenancy import DEFAULT_TENANT
from .variables import visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["MessagesMixin", "correlation_key_text"]

_Key = Tuple[str, str, str]  # (tenant, name, correlation key)


def correlation_key_text(value: Any, expression: str) -> str:
    """A correlation key value as Zeebe uses it: strings as they are, numbers in string form.

    Raises:
        StepFailure: Not a string or number (EXTRACT_VALUE_ERROR incident).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return feel.to_string(value)
    if hasattr(value, "is_integer") and not isinstance(value, bool):  # Decimal from FEEL
        return str(int(value)) if value == int(value) else str(value)
    raise state.StepFailure(
        "EXTRACT_VALUE_ERROR",
        f"Failed to extract the correlation key for '{expression}': The value must be either a string or a "
        f"number, but was '{type_name(value)}'.")


class MessagesMixin:
    def __init__(self) -> None:
        self._subscriptions: Dict[_Key, "OrderedDict[int, state.Subscription]"] = {}
        self._buffer: Dict[_Key, "OrderedDict[int, state.Message]"] = {}
        self._message_ids: Dict[Tuple[str, str, str, str], int] = {}
        self._start_subscriptions: Dict[Tuple[str, str], Dict[str, Tuple[model.ProcessDefinition, str]]] = {}
        self._message_started: Dict[_Key, int] = {}  # (tenant, bpmn process id, correlation key)
        # buffered messages in all of _buffer (kept beside it: summing the buckets per publish is O(keys))
        self._buffered_count = 0
        self.max_buffered_messages = defaults.ENGINE_MAX_BUFFERED_MESSAGES

    def _reset_buffered_count(self) -> None:
        self._buffered_count = 0

    # ------------------------------------------------------------------ catch subscriptions
    def _open_subscription(self: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None and element.message is not None
        self._activated(ei)
        self._subscribe(ei, element.message, None)

    def _subscribe(self: "Engine", ei: state.ElementInstance, message: model.MessageRef,
                   boundary: Optional[model.Element]) -> None:
        """Open a subscription for ``ei`` (or for its ``boundary`` event); take a buffered match."""
        context = visible(ei)
        name = feel.to_string(message.name.evaluate(context))
        assert message.correlation_key is not None
        key = correlation_key_text(message.correlation_key.evaluate(context), message.correlation_key.text.strip())
        subscription = state.Subscription(self._next_key(), name, key, ei, boundary)
        self._rec_subscription(subscription, "CREATED")
        tenant = ei.instance.definition.tenant_id
        buffered = self._buffer.get((tenant, name, key))
        if buffered:
            for msg in buffered.values():
                if subscription.bpmn_process_id not in msg.correlated:
                    msg.correlated.add(subscription.bpmn_process_id)
                    self._lock.log_later(logger, logging.DEBUG, "buffered message %d correlated to instance %d",
                                         msg.key, ei.instance.key)
                    self._rec_subscription(subscription, "CORRELATED", msg)
                    self._agenda.append((self._correlated, (subscription, dict(msg.variables) or None)))
                    if boundary is None or boundary.interrupting:
                        return
                    break
        bucket = self._subscriptions.get((tenant, name, key))
        if bucket is None:
            bucket = self._subscriptions[(tenant, name, key)] = OrderedDict()
        bucket[subscription.key] = subscription
        if boundary is None:
            ei.subscription = subscription
        else:
            if ei.boundary_subscriptions is None:
                ei.boundary_subscriptions = []
            ei.boundary_subscriptions.append(subscription)

    def _correlated(self: "Engine", subscription: state.Subscription, variables: Optional[Dict[str, Any]]) -> None:
        ei = subscription.element_instance
        if subscription.boundary is None:
            if ei.subscription is subscription:
                ei.subscription = None
            self._complete(ei, variables)
        else:
            self._trigger_boundary(ei, subscription.boundary, variables)

    def _close_subscription(self: "Engine", subscription: state.Subscription, intent: str = "DELETED") -> None:
        bucket_key = (subscription.element_instance.instance.definition.tenant_id, subscription.name,
                      subscription.correlation_key)
        bucket = self._subscriptions.get(bucket_key)
        if bucket is not None:
            if bucket.pop(subscription.key, None) is not None:
                self._rec_subscription(subscription, intent)
            if not bucket:
                del self._subscriptions[bucket_key]

    def _rec_subscription(self: "Engine", subscription: state.Subscription, intent: str,
                          msg: Optional[state.Message] = None) -> None:
        if self._kinds is not None:
            ei = subscription.element_instance
            element = subscription.boundary if subscription.boundary is not None else ei.element
            self._rec("MESSAGE_SUBSCRIPTION", intent, subscription.key, {
                "message_name": subscription.name, "correlation_key": subscription.correlation_key,
                "element_id": element.id if element is not None else "", "element_instance_key": ei.key,
                "process_instance_key": ei.instance.key, "bpmn_process_id": subscription.bpmn_process_id,
                "message_key": msg.key if msg is not None else -1,
                "variables": dict(msg.variables) if msg is not None else {},
                "interrupting": subscription.boundary.interrupting if subscription.boundary is not None else True})

    def _rec_message(self: "Engine", msg: state.Message, intent: str, time_to_live_ms: int = -1) -> None:
        if self._kinds is not None:
            self._rec("MESSAGE", intent, msg.key, {
                "name": msg.name, "correlation_key": msg.correlation_key, "message_id": msg.message_id,
                "time_to_live": time_to_live_ms, "variables": dict(msg.variables)})

    # ------------------------------------------------------------------ start subscriptions
    def _open_start_subscriptions(self: "Engine", definition: model.ProcessDefinition) -> None:
        bpmn_id = definition.bpmn_process_id
        tenant = definition.tenant_id
        for start_key in [k for k in self._start_subscriptions if k[0] == tenant]:
            by_process = self._start_subscriptions[start_key]
            if by_process.pop(bpmn_id, None) is not None and not by_process:
                del self._start_subscriptions[start_key]
        for element_id in definition.process.message_starts:
            message = definition.process.elements[element_id].message
            assert message is not None
            name = feel.to_string(message.name.evaluate({}))
            self._start_subscriptions.setdefault((tenant, name), {})[bpmn_id] = (definition, element_id)

    def _start_by_message(self: "Engine", definition: model.ProcessDefinition, element_id: str,
                          msg: state.Message) -> None:
        instance = self._new_instance(definition, msg.variables)
        if msg.correlation_key:
            instance.message_start_key = msg.correlation_key
            self._message_started[(definition.tenant_id, definition.bpmn_process_id,
                                   msg.correlation_key)] = instance.key
        msg.correlated.add(definition.bpmn_process_id)
        self._lock.log_later(logger, logging.DEBUG, "message %d ('%s') started instance %d of '%s'", msg.key,
                             msg.name, instance.key, definition.bpmn_process_id)
        self._start_at(instance, [element_id])

    def _message_instance_ended(self: "Engine", instance: state.ProcessInstance) -> None:
        bpmn_id = instance.definition.bpmn_process_id
        tenant = instance.definition.tenant_id
        key = instance.message_start_key
        assert key is not None
        if self._message_started.get((tenant, bpmn_id, key)) == instance.key:
            del self._message_started[(tenant, bpmn_id, key)]
        # a buffered message held back by this instance may start the next one now
        for (start_tenant, name), by_process in self._start_subscriptions.items():
            entry = by_process.get(bpmn_id) if start_tenant == tenant else None
            if entry is None:
                continue
            for msg in (self._buffer.get((tenant, name, key)) or {}).values():
                if bpmn_id not in msg.correlated:
                    self._start_by_message(entry[0], entry[1], msg)
                    return

    # ------------------------------------------------------------------ publish
    def publish_message(self: "Engine", name: str, correlation_key: str, time_to_live_ms: int = 0,
                        message_id: str = "", variables: Optional[Dict[str, Any]] = None,
                        tenant_id: str = DEFAULT_TENANT) -> int:
        """PublishMessage: correlate now, start message-start instances, buffer for the TTL.

        Only instances and definitions of ``tenant_id`` see the message.

        Returns:
            The message key (also when nothing correlated).

        Raises:
            AlreadyExistsError: A message with this id, name and key is still buffered.
        """
        with self._lock:
            if time_to_live_ms > 0 and self._buffered_count >= self.max_buffered_messages:
                # refused before anything happens, as a command under backpressure is
                raise rejections.backpressure(
                    f"the embedded engine holds {self._buffered_count} buffered messages, its limit; let some "
                    "expire or correlate, or publish with a shorter time to live")
            if message_id and (tenant_id, name, correlation_key, message_id) in self._message_ids:
                raise rejections.already_exists(
                    "PUBLISH", f"Expected to publish a new message with id '{message_id}', but a message with "
                    "that id was already published")
            msg = state.Message(self._next_key(), name, correlation_key, dict(variables or {}), message_id)
            self._rec_message(msg, "PUBLISHED", time_to_live_ms)
            bucket = self._subscriptions.get((tenant_id, name, correlation_key))
            if bucket:
                for subscription in list(bucket.values()):
                    if subscription.bpmn_process_id in msg.correlated:
                        continue
                    msg.correlated.add(subscription.bpmn_process_id)
                    self._rec_subscription(subscription, "CORRELATED", msg)
                    boundary = subscription.boundary
                    if boundary is None or boundary.interrupting:
                        del bucket[subscription.key]  # a non-interrupting boundary keeps listening
                    self._agenda.append((self._correlated, (subscription, dict(msg.variables) or None)))
                if not bucket:
                    self._subscriptions.pop((tenant_id, name, correlation_key), None)
            starts = self._start_subscriptions.get((tenant_id, name), {})
            for bpmn_id, (definition, element_id) in list(starts.items()):
                if bpmn_id in msg.correlated:
                    continue
                if correlation_key and (tenant_id, bpmn_id, correlation_key) in self._message_started:
                    continue
                self._start_by_message(definition, element_id, msg)
            if time_to_live_ms > 0:
                buffered = self._buffer.get((tenant_id, name, correlation_key))
                if buffered is None:
                    buffered = self._buffer[(tenant_id, name, correlation_key)] = OrderedDict()
                buffered[msg.key] = msg
                self._buffered_count += 1
                if message_id:
                    self._message_ids[(tenant_id, name, correlation_key, message_id)] = msg.key
                msg.expiry = self._scheduler.call_later(time_to_live_ms / 1000.0, self._message_expired,
                                                        msg.key, name, correlation_key, tenant_id)
            self._drain()
            return msg.key

    def _message_expired(self: "Engine", message_key: int, name: str, correlation_key: str,
                         tenant_id: str = DEFAULT_TENANT) -> None:
        with self._lock:
            buffered = self._buffer.get((tenant_id, name, correlation_key))
            msg = buffered.pop(message_key, None) if buffered is not None else None
            if msg is not None:
                self._buffered_count -= 1
            if buffered is not None and not buffered:
                del self._buffer[(tenant_id, name, correlation_key)]
            if msg is not None:
                self._rec_message(msg, "EXPIRED")
            if msg is not None and msg.message_id:
                id_key = (tenant_id, name, correlation_key, msg.message_id)
                if self._message_ids.get(id_key) == message_key:
                    del self._message_ids[id_key]

    def messages(self: "Engine") -> list:
        """Buffered messages (inspection), oldest first per name/key."""
        with self._lock:
            return [
                {"key": m.key, "name": m.name, "correlation_key": m.correlation_key, "message_id": m.message_id,
                 "variables": dict(m.variables), "correlated_to": sorted(m.correlated), "tenant_id": tenant}
                for (tenant, _, _), bucket in self._buffer.items() for m in bucket.values()
            ]
