"""The in-memory Zeebe state machine: instances, token flow, timers, call activities.

Concurrency: **one lock** (``Engine._lock``, a re-entrant :class:`~.lock.EngineLock`) guards
every piece of runtime state (all dicts below and every record in :mod:`.state`). Each public
command takes it, does its work (including the token flow it triggers, run from the ``_agenda``
queue so nothing recurses deeply) and releases it; nothing blocks on I/O while holding it (log
lines at INFO and above go through ``_lock.log_later`` and are written after the release).
Parsing BPMN and serialising JSON happen outside it. Threads that wait (parked ActivateJobs, with-result callers) wait on their
own ``threading.Event`` after releasing the lock. The scheduler thread's callbacks take the lock
like any command.

Deployments live in :mod:`.deployments`, job handling in :mod:`.jobs`, message correlation in
:mod:`.messages`, message / timer boundary events in :mod:`.boundaries`, error events and
incidents in :mod:`.incidents` and the read-only views in :mod:`.inspection` (mixins on the same
lock and state); this module has the core: instances,
token flow, timers, call activities, cancellation and variables.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from .. import defaults
from . import model, rejections, state
from .boundaries import BoundariesMixin
from .deployments import DeploymentsMixin
from .expressions import ExpressionError, duration_seconds, feel, type_name
from .incidents import IncidentsMixin
from .inspection import InspectionMixin
from .jobs import JobsMixin
from .lock import EngineLock
from .messages import MessagesMixin
from .scheduler import Scheduler
from .tenancy import DEFAULT_TENANT
from .variables import propagate, select, set_local, set_target, visible

logger = logging.getLogger(__name__)

__all__ = ["Engine", "KEY_BASE", "DEFAULT_STEP_BUDGET"]

#: Zeebe encodes the partition in the high bits: partition 1 keys start at 2**51.
KEY_BASE = 1 << 51
#: Token-flow steps run per lock hold before the rest is deferred to the scheduler thread.
DEFAULT_STEP_BUDGET = 10_000

_Failure = state.StepFailure


class Engine(DeploymentsMixin, JobsMixin, MessagesMixin, BoundariesMixin, IncidentsMixin, InspectionMixin):
    """The runtime behind :class:`~zeebe_affinity_sync.engine.EmbeddedZeebe`.

    Args:
        history_size: Finished process instances kept for inspection (oldest dropped first).
        step_budget: Token-flow steps one command may run while holding the lock; a flow that
            needs more (a loop without a wait state) continues from the scheduler thread, which
            first lets every command that is waiting for the lock have it.

    Raises:
        ValueError: ``step_budget`` is not a positive int.
    """

    def __init__(self, *, history_size: int = defaults.ENGINE_HISTORY_SIZE,
                 step_budget: int = DEFAULT_STEP_BUDGET) -> None:
        if isinstance(step_budget, bool) or not isinstance(step_budget, int) or step_budget < 1:
            raise ValueError(f"step_budget must be an int >= 1 (token-flow steps per lock hold), got {step_budget!r}")
        self._lock = EngineLock()
        self._scheduler = Scheduler()
        self._step_budget = step_budget
        # everything below: guarded by _lock; mutated by whichever gRPC/scheduler thread holds it
        self._counter = 0
        self._definitions: Dict[int, model.ProcessDefinition] = {}
        self._versions: Dict[Tuple[str, str], List[model.ProcessDefinition]] = {}  # (tenant, bpmn id)
        self._instances: Dict[int, state.ProcessInstance] = {}
        self._element_instances: Dict[int, state.ElementInstance] = {}  # roots included
        self._incidents: Dict[int, state.Incident] = {}
        self._result_waiters: Dict[int, List[state.ResultWaiter]] = {}
        self._history: Deque[Dict[str, Any]] = deque(maxlen=max(0, history_size))
        self._agenda: Deque[Tuple[Callable[..., None], Tuple[Any, ...]]] = deque()
        self._yields = 0  # times a token flow used up its step budget and gave up the lock
        self._closed = False
        JobsMixin.__init__(self)
        MessagesMixin.__init__(self)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._scheduler.start()

    def close(self) -> None:
        """Stop the scheduler and wake every waiting request (they answer with what they have)."""
        with self._lock:
            self._closed = True
            self._wake_all_requests()
            for waiters in self._result_waiters.values():
                for waiter in waiters:
                    waiter.event.set()
        self._scheduler.stop()
        self._scheduler.join(5.0)

    @property
    def closed(self) -> bool:
        return self._closed

    def _next_key(self) -> int:
        self._counter += 1
        return KEY_BASE + self._counter

    def _drain(self) -> None:
        """Run queued token-flow steps until none are left (caller holds the lock).

        A process can loop without a wait state (e.g. a gateway that routes back forever). So
        that such an instance cannot hold the lock for good, at most ``step_budget`` steps run
        per call; the rest continue from the scheduler thread, which lets every command that is
        waiting for the lock have it (:meth:`EngineLock.let_waiters_in`) before it goes on.
        """
        agenda = self._agenda
        budget = self._step_budget
        steps = 0
        while agenda:
            if steps >= budget:
                pending, self._agenda = agenda, deque()
                self._yields += 1
                self._scheduler.call_later(0, self._resume, pending)
                self._lock.log_later(logger, logging.DEBUG, "token flow yielded the lock after %d steps (%d pending)",
                                     steps, len(pending))
                return
            step, args = agenda.popleft()
            steps += 1
            try:
                step(*args)
            except Exception:  # a bug in one step must not wedge the engine
                logger.exception("engine step %s%r failed", getattr(step, "__name__", step), args)

    def _resume(self, pending: Deque[Tuple[Callable[..., None], Tuple[Any, ...]]]) -> None:
        self._lock.let_waiters_in()  # scheduler thread, not holding the lock: commands first
        with self._lock:
            pending.extend(self._agenda)
            self._agenda = pending
            self._drain()

    # ------------------------------------------------------------------ instances
    def create_instance(
        self,
        bpmn_process_id: str = "",
        *,
        version: int = -1,
        definition_key: int = -1,
        variables: Optional[Dict[str, Any]] = None,
        start_elements: Sequence[str] = (),
        await_result: Optional[List[str]] = None,
        tenant_id: str = DEFAULT_TENANT,
    ) -> Tuple[Dict[str, Any], Optional[state.ResultWaiter]]:
        """Create and start a process instance.

        Args:
            await_result: If not ``None``, register a waiter for the instance's completion that
                will carry these variables (all if empty).

        Returns:
            A summary dict (``process_instance_key``, ``process_definition_key``,
            ``bpmn_process_id``, ``version``) and the waiter (or ``None``).

        Raises:
            ProcessNotFoundError, InvalidArgumentError, FailedPreconditionError.
        """
        with self._lock:
            definition = self._find_definition(bpmn_process_id, version, definition_key, tenant_id)
            process = definition.process
            if start_elements:
                for element_id in start_elements:
                    element = process.elements.get(element_id)
                    if element is None:
                        raise rejections.invalid(
                            "CREATE", f"Expected to create instance of process with start instructions but "
                            f"no element found with id '{element_id}'.")
                    if element.kind in (model.START_EVENT, model.BOUNDARY_EVENT):
                        raise rejections.invalid(
                            "CREATE", f"Expected to create instance of process with start instructions but "
                            f"the element with id '{element_id}' targets a {element.kind}, which is not allowed.")
                targets = list(start_elements)
            elif process.none_start is None:
                raise rejections.invalid_state(
                    "CREATE", "Expected to create instance of process with none start event, but there is "
                    "no such event")
            else:
                targets = [process.none_start]
            instance = self._new_instance(definition, variables or {})
            waiter = None
            if await_result is not None:
                waiter = state.ResultWaiter(list(await_result))
                self._result_waiters.setdefault(instance.key, []).append(waiter)
            self._lock.log_later(logger, logging.DEBUG, "created instance %d of '%s' v%d", instance.key,
                                 definition.bpmn_process_id, definition.version)
            self._start_at(instance, targets)
            self._drain()
            return self._summary(instance), waiter

    def forget_waiter(self, process_instance_key: int, waiter: state.ResultWaiter) -> None:
        """Drop a with-result waiter that gave up (timeout or client gone)."""
        with self._lock:
            waiters = self._result_waiters.get(process_instance_key)
            if waiters and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._result_waiters[process_instance_key]

    @staticmethod
    def _summary(instance: state.ProcessInstance) -> Dict[str, Any]:
        d = instance.definition
        return {"process_instance_key": instance.key, "process_definition_key": d.key,
                "bpmn_process_id": d.bpmn_process_id, "version": d.version}

    def _new_instance(self, definition: model.ProcessDefinition, variables: Dict[str, Any],
                      parent: Optional[state.ElementInstance] = None) -> state.ProcessInstance:
        instance = state.ProcessInstance(self._next_key(), definition, time.time())
        instance.root.variables = dict(variables)
        instance.root.phase = state.ACTIVATED_ELEMENT
        instance.parent_element = parent
        self._instances[instance.key] = instance
        self._element_instances[instance.key] = instance.root
        return instance

    def _start_at(self, instance: state.ProcessInstance, element_ids: Sequence[str]) -> None:
        for element_id in element_ids:
            instance.active += 1
            self._agenda.append((self._activate_element, (instance, instance.definition.process.elements[element_id])))

    def cancel_instance(self, process_instance_key: int) -> None:
        """Cancel a root process instance.

        Raises:
            ProcessNotFoundError: No such active instance.
            FailedPreconditionError: It was started by a call activity.
        """
        with self._lock:
            instance = self._instances.get(process_instance_key)
            if instance is None:
                raise rejections.process_not_found(
                    "CANCEL", f"Expected to cancel a process instance with key '{process_instance_key}', but "
                    "no such process was found")
            if instance.parent_element is not None:
                root = instance
                while root.parent_element is not None:
                    root = root.parent_element.instance
                raise rejections.invalid_state(
                    "CANCEL", f"Expected to cancel a process instance with key '{process_instance_key}', but "
                    f"it is created by a parent process instance. Cancel the root process instance "
                    f"'{root.key}' instead.")
            self._terminate_instance(instance, "CANCELED")
            self._lock.log_later(logger, logging.DEBUG, "canceled instance %d", process_instance_key)
            self._drain()

    def set_variables(self, element_instance_key: int, variables: Dict[str, Any], local: bool = False) -> int:
        """SetVariables: merge ``variables`` into a scope (locally or by propagation).

        Returns:
            The key of this variable document.

        Raises:
            NotFoundError: No such active element instance.
        """
        with self._lock:
            scope = self._element_instances.get(element_instance_key)
            if scope is None:
                raise rejections.not_found(
                    "UPDATE", f"Expected to update variables for element with key '{element_instance_key}', "
                    "but no such element was found")
            if local:
                set_local(scope, variables)
            else:
                propagate(scope, variables)
            return self._next_key()

    # ------------------------------------------------------------------ token flow
    def _activate_element(self, instance: state.ProcessInstance, element: model.Element) -> None:
        if instance.state != "ACTIVE":
            return
        ei = state.ElementInstance(self._next_key(), element, instance, instance.root)
        instance.elements[ei.key] = ei
        self._element_instances[ei.key] = ei
        self._enter(ei)

    def _enter(self, ei: state.ElementInstance) -> None:
        """Activate ``ei`` (again, when an incident on its activation is resolved)."""
        ei.phase = state.ACTIVATING
        element = ei.element
        assert element is not None
        try:
            if element.inputs:
                ei.variables.update(self._map(element.inputs, visible(ei.parent)))
            if element.boundary_events:
                self._close_boundaries(ei)  # a retried activation opens them afresh
                self._open_boundaries(ei)
            kind = element.kind
            if kind == model.SERVICE_TASK:
                self._create_job(ei)
            elif kind == model.RECEIVE_TASK or (kind == model.INTERMEDIATE_CATCH and element.event == model.MESSAGE):
                self._open_subscription(ei)
            elif kind == model.INTERMEDIATE_CATCH and element.event == model.TIMER:
                self._start_timer(ei)
            elif kind == model.CALL_ACTIVITY:
                self._start_child(ei)
            elif kind == model.END_EVENT and element.event == model.ERROR:
                self._throw_from_end_event(ei)
            else:
                ei.phase = state.ACTIVATED_ELEMENT
                self._complete(ei, None)
        except _Failure as failure:
            self._raise_incident(ei, failure.error_type, str(failure))
        except ExpressionError as exc:
            self._raise_incident(ei, "EXTRACT_VALUE_ERROR", str(exc))

    @staticmethod
    def _map(mappings: Sequence[model.Mapping], context: Dict[str, Any]) -> Dict[str, Any]:
        """Evaluate input or output mappings in order; a later one sees the earlier results.

        Raises:
            StepFailure: IO_MAPPING_ERROR, naming the expression that failed.
        """
        results: Dict[str, Any] = {}
        for mapping in mappings:
            try:
                value = feel.to_json(mapping.source.evaluate({**context, **results}))
            except ExpressionError as exc:
                raise _Failure("IO_MAPPING_ERROR", str(exc)) from exc
            set_target(results, mapping.target, value, context)
        return results

    def _complete(self, ei: state.ElementInstance, event_variables: Optional[Dict[str, Any]]) -> None:
        """Leave ``ei``: output mappings / variable merge, pick outgoing flows, take them."""
        if self._element_instances.get(ei.key) is not ei:
            return  # terminated after this step was queued
        ei.phase = state.COMPLETING
        element = ei.element
        assert element is not None
        try:
            if element.outputs:
                if event_variables:
                    ei.variables.update(event_variables)
                propagate(ei.parent, self._map(element.outputs, visible(ei)))
            elif event_variables:
                propagate(ei, event_variables)
            flows = self._select_flows(ei)
        except (_Failure, ExpressionError) as exc:
            ei.pending_variables = event_variables
            error_type = exc.error_type if isinstance(exc, _Failure) else "EXTRACT_VALUE_ERROR"
            self._raise_incident(ei, error_type, str(exc))
            return
        instance = ei.instance
        self._leave(ei)
        for flow in flows:
            self._take_flow(instance, flow)
        self._check_done(instance)

    def _select_flows(self, ei: state.ElementInstance) -> List[model.SequenceFlow]:
        element = ei.element
        assert element is not None
        flows = ei.instance.definition.process.flows
        if element.kind != model.EXCLUSIVE_GATEWAY or not element.outgoing:
            return [flows[f] for f in element.outgoing]
        context = visible(ei)
        for flow_id in element.outgoing:
            if flow_id == element.default_flow:
                continue
            flow = flows[flow_id]
            if flow.condition is None:
                return [flow]
            value = flow.condition.evaluate(context)
            if not isinstance(value, bool):
                raise _Failure(
                    "EXTRACT_VALUE_ERROR",
                    f"Expected result of the expression '{flow.condition.expression_text}' to be 'BOOLEAN', "
                    f"but was '{type_name(value)}'.")
            if value:
                return [flow]
        if element.default_flow:
            return [flows[element.default_flow]]
        raise _Failure("CONDITION_ERROR", "Expected at least one condition to evaluate to true, or to have a "
                       f"default flow (exclusive gateway '{element.id}')")

    def _take_flow(self, instance: state.ProcessInstance, flow: model.SequenceFlow) -> None:
        target = instance.definition.process.elements[flow.target]
        if target.kind == model.PARALLEL_GATEWAY and len(target.incoming) > 1:
            counts = instance.joins.setdefault(target.id, {})
            counts[flow.id] = counts.get(flow.id, 0) + 1
            instance.waiting += 1
            if all(counts.get(f, 0) > 0 for f in target.incoming):
                for f in target.incoming:
                    counts[f] -= 1
                instance.waiting -= len(target.incoming)
                instance.active += 1
                self._agenda.append((self._activate_element, (instance, target)))
            return
        instance.active += 1
        self._agenda.append((self._activate_element, (instance, target)))

    def _leave(self, ei: state.ElementInstance) -> None:
        if ei.boundary_subscriptions or ei.boundary_timers:
            self._close_boundaries(ei)
        instance = ei.instance
        if instance.elements.pop(ei.key, None) is not None:
            instance.active -= 1
        self._element_instances.pop(ei.key, None)

    def _check_done(self, instance: state.ProcessInstance) -> None:
        if instance.state == "ACTIVE" and instance.active <= 0 and instance.waiting <= 0:
            self._complete_instance(instance)

    def _complete_instance(self, instance: state.ProcessInstance) -> None:
        instance.state = "COMPLETED"
        self._retire(instance)
        self._lock.log_later(logger, logging.DEBUG, "instance %d of '%s' completed", instance.key,
                             instance.definition.bpmn_process_id)
        parent = instance.parent_element
        if parent is not None and parent.key in self._element_instances:
            parent.child = None
            element = parent.element
            assert element is not None
            variables = dict(instance.root.variables) if element.propagate_all_child_variables else {}
            self._agenda.append((self._complete, (parent, variables)))
        waiters = self._result_waiters.pop(instance.key, None)
        if waiters:
            for waiter in waiters:
                waiter.variables = select(instance.root.variables, waiter.fetch)
                waiter.event.set()

    def _retire(self, instance: state.ProcessInstance) -> None:
        """Remove a finished instance from the live maps and keep a summary in the history."""
        self._instances.pop(instance.key, None)
        self._element_instances.pop(instance.key, None)
        if instance.message_start_key is not None:
            self._message_instance_ended(instance)
        if self._history.maxlen:
            summary = self._instance_view(instance)
            summary["ended"] = time.time()
            self._history.append(summary)

    def _terminate_instance(self, instance: state.ProcessInstance, final_state: str) -> None:
        for ei in list(instance.elements.values()):
            self._terminate_element(ei)
        instance.state = final_state
        instance.active = 0
        instance.waiting = 0
        instance.joins.clear()
        # a with-result caller of a cancelled instance is not answered (it times out, like Zeebe)
        self._result_waiters.pop(instance.key, None)
        self._retire(instance)

    def _terminate_element(self, ei: state.ElementInstance) -> None:
        if ei.job is not None:
            self._remove_job(ei.job)
            ei.job = None
        if ei.subscription is not None:
            self._close_subscription(ei.subscription)
            ei.subscription = None
        if ei.timer is not None:
            self._scheduler.cancel(ei.timer)
            ei.timer = None
        if ei.incident is not None:
            self._incidents.pop(ei.incident.key, None)
            ei.incident = None
        if ei.child is not None:
            child, ei.child = ei.child, None
            self._terminate_instance(child, "TERMINATED")
        self._leave(ei)

    # ------------------------------------------------------------------ timers
    def _start_timer(self, ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None and element.timer_duration is not None
        value = element.timer_duration.evaluate(visible(ei))
        seconds = duration_seconds(value, element.timer_duration.text)
        ei.phase = state.ACTIVATED_ELEMENT
        ei.timer = self._scheduler.call_later(seconds, self._timer_fired, ei.key)

    def _timer_fired(self, element_instance_key: int) -> None:
        with self._lock:
            ei = self._element_instances.get(element_instance_key)
            if ei is None or ei.timer is None or ei.timer.cancelled:
                return
            ei.timer = None
            self._complete(ei, None)
            self._drain()

    # ------------------------------------------------------------------ call activities
    def _start_child(self, ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None and element.called_process_id is not None
        context = visible(ei)
        process_id = element.called_process_id.evaluate(context)
        if not isinstance(process_id, str) or not process_id:
            raise _Failure("EXTRACT_VALUE_ERROR",
                           f"Expected the called element's process id to be a non-empty STRING, but was "
                           f"'{type_name(process_id)}'.")
        definition = self._latest(process_id, ei.instance.definition.tenant_id)  # the caller's tenant
        if definition is None:
            raise _Failure("CALLED_ELEMENT_ERROR",
                           f"Expected process with BPMN process id '{process_id}' to be deployed, but not found.")
        if definition.process.none_start is None:
            raise _Failure("CALLED_ELEMENT_ERROR",
                           f"Expected process with BPMN process id '{process_id}' to have a none start event, "
                           "but not found.")
        variables = context if element.propagate_all_parent_variables else dict(ei.variables)
        child = self._new_instance(definition, variables, parent=ei)
        ei.child = child
        ei.phase = state.ACTIVATED_ELEMENT
        self._start_at(child, [definition.process.none_start])

