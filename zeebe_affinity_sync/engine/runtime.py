"""The in-memory Zeebe state machine: instances, token flow, timers, call activities.

Concurrency: **one lock** (``Engine._lock``, a re-entrant :class:`~.lock.EngineLock`) guards
every piece of runtime state (all dicts below and every record in :mod:`.state`). Each public
command takes it, does its work (including the token flow it triggers, run from the ``_agenda``
queue so nothing recurses deeply) and releases it; nothing blocks on I/O while holding it (log
lines at INFO and above go through ``_lock.log_later`` and are written after the release).
Parsing BPMN and serialising JSON happen outside it. Threads that wait (parked ActivateJobs, with-result callers) wait on their
own ``threading.Event`` after releasing the lock. The scheduler thread's callbacks take the lock
like any command.

What each element kind does is in :mod:`.elements` (one behaviour object per kind: activate,
outgoing flows, arrival of a token, terminate, scope done). Deployments live in
:mod:`.deployments`, job handling in :mod:`.jobs`, message correlation in :mod:`.messages`,
message / timer boundary events in :mod:`.boundaries`, error events and incidents in
:mod:`.incidents` and the read-only views in :mod:`.inspection` (mixins on the same lock and
state); this module has the token machinery: instances, element lifecycles, scopes, timers,
cancellation and variables.
"""
from __future__ import annotations

import logging
from collections import deque
import time
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Sequence, Tuple

from .. import defaults
from . import model, rejections, state
from .boundaries import BoundariesMixin
from .deployments import DeploymentsMixin
from .expressions import ExpressionError, feel
from .incidents import IncidentsMixin
from .inspection import InspectionMixin
from .jobs import JobsMixin
from .clock import EngineClock
from .control import ControlMixin
from .lock import EngineLock
from . import records
from .records import PI_ACTIVATED, PI_ACTIVATING, PI_COMPLETED, PI_COMPLETING, PI_TERMINATED, PI_TERMINATING
from .records import RecordLog, instance_info
from .messages import MessagesMixin
from .scheduler import Scheduler
from .compensation import CompensationMixin
from .tenancy import DEFAULT_TENANT
from .escalations import EscalationsMixin
from .listeners import ListenersMixin
from .signals import SignalsMixin
from .timer_events import TimerEventsMixin
from .usertasks import UserTasksMixin
from .elements import BEHAVIOURS as _BEHAVIOURS
from .elements import MI_BODY as _MI_BODY
from .elements import behaviour_of
from .elements.inclusive_gateway import retry_inclusive_joins
from .variables import propagate, select, set_local, set_target, visible

_time = time.time
_JOB_KINDS = records.Kinds("JOB")  # intent -> the shared (value_type, intent) pair
_job_stub = records.job_stub


def _no_items(items: Iterable[Any]) -> None:  # pragma: no cover - only called when the log is on
    raise AssertionError("the record log is off")

logger = logging.getLogger(__name__)

__all__ = ["Engine", "KEY_BASE", "DEFAULT_STEP_BUDGET"]

#: Zeebe encodes the partition in the high bits: partition 1 keys start at 2**51.
KEY_BASE = state.KEY_BASE
#: Token-flow steps run per lock hold before the rest is deferred to the scheduler thread.
DEFAULT_STEP_BUDGET = 10_000

_Failure = state.StepFailure


_ElementInstance = state.ElementInstance
_ACTIVATING = state.ACTIVATING
_COMPLETING = state.COMPLETING


class _Plan:
    """What the token machinery needs to know about one element on its common path, worked out
    once per element from the frozen model (kept in ``Element.plan``) instead of per token."""

    __slots__ = ("behaviour", "plain_enter", "plain_complete", "targets", "compensation")

    def __init__(self, element: model.Element, process: model.Process) -> None:
        self.behaviour = _BEHAVIOURS[element.kind]
        single = element.loop is None  # never a multi-instance body, nor inside one
        # _enter: nothing between the ACTIVATING record and the behaviour's activate hook
        self.plain_enter = single and not element.inputs and not element.start_listeners \
            and not element.boundary_events and not element.event_subprocesses
        # _complete: no outputs or end listeners, every outgoing flow taken
        self.plain_complete = single and not element.outputs and not element.end_listeners \
            and not self.behaviour.chooses_flows
        targets = []
        for flow_id in element.outgoing:
            flow = process.flows[flow_id]
            target = process.elements[flow.target]
            joiner = _BEHAVIOURS[target.kind]
            targets.append((flow, target, joiner if joiner.joins else None))
        self.targets: Tuple[Tuple[model.SequenceFlow, model.Element, Any], ...] = tuple(targets)
        self.compensation = process.uses_compensation


def _plan(element: model.Element, process: model.Process) -> _Plan:
    """``element.plan``, built on first use (under the engine lock; the model is frozen, so it
    never goes stale; every thread that looks later sees the same one)."""
    plan = _Plan(element, process)
    object.__setattr__(element, "plan", plan)  # a cache on the frozen element, not a change of it
    return plan


class Engine(DeploymentsMixin, JobsMixin, MessagesMixin, BoundariesMixin, IncidentsMixin, InspectionMixin,
             ControlMixin, UserTasksMixin, TimerEventsMixin, SignalsMixin, EscalationsMixin, ListenersMixin,
             CompensationMixin):
    """The runtime behind :class:`~zeebe_affinity_sync.engine.EmbeddedZeebe`.

    Args:
        history_size: Finished process instances kept for inspection (oldest dropped first).
        record_log_size: Records kept by the record log (oldest dropped first; 0 = no log).
        step_budget: Token-flow steps one command may run while holding the lock; a flow that
            needs more (a loop without a wait state) continues from the scheduler thread, which
            first lets every command that is waiting for the lock have it.

    Raises:
        ValueError: ``step_budget`` is not a positive int.
    """

    def __init__(self, *, history_size: int = defaults.ENGINE_HISTORY_SIZE,
                 step_budget: int = DEFAULT_STEP_BUDGET,
                 record_log_size: int = defaults.ENGINE_RECORD_LOG_SIZE) -> None:
        if isinstance(step_budget, bool) or not isinstance(step_budget, int) or step_budget < 1:
            raise ValueError(f"step_budget must be an int >= 1 (token-flow steps per lock hold), got {step_budget!r}")
        self._lock = EngineLock()
        self._clock = EngineClock()
        self._lock.clock = self._clock.now  # FEEL now()/today() follow increase_time()
        self._scheduler = Scheduler(clock=self._clock)
        self._step_budget = step_budget
        self._log = RecordLog(record_log_size)
        # held here for the hot path: the log's list of record kinds (None: log off) and the
        # function that appends a record's items (records.WIDTH: how many, by value type)
        self._kinds = self._log.kinds
        self._items: Callable[[Iterable[Any]], None] = self._log.items.extend if self._log.items is not None \
            else _no_items
        if self._kinds is not None:
            # stamps each command's records with the engine time when the lock is let go
            self._lock.on_release = self._log.sealer(self._clock)
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
        self._enter_step = self._enter  # the agenda's most common step, bound once
        self._closed = False
        JobsMixin.__init__(self)
        MessagesMixin.__init__(self)
        BoundariesMixin.__init__(self)
        ControlMixin.__init__(self)
        UserTasksMixin.__init__(self)
        TimerEventsMixin.__init__(self)
        SignalsMixin.__init__(self)
        CompensationMixin.__init__(self)

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

    # ------------------------------------------------------------------ records
    # The entry layouts are read back by records._fields; see the records module for why they
    # hold no live engine objects.
    def _rec_element(self, ei: state.ElementInstance, kind: Tuple[str, str]) -> None:
        """A PROCESS_INSTANCE lifecycle record of ``ei`` (the one place they are written);
        ``kind`` is one of the ``records.PI_*`` constants."""
        kinds = self._kinds
        if kinds is not None:
            kinds.append(kind)
            self._items(ei.rec or self._element_stub(ei))

    _element_stub = staticmethod(records.element_stub)  # builds ei.rec, once per element instance

    def _rec_job(self, job: state.Job, intent: str) -> None:
        kinds = self._kinds
        if kinds is not None:
            kinds.append(_JOB_KINDS[intent])
            # the job's stub (built once), then its fields as they are now (all immutable values)
            self._items((job.rec or _job_stub(job)) + (job.retries, job.deadline, job.worker, job.error_message))

    def _rec_variable(self, scope: state.ElementInstance, name: str, value: Any, created: bool) -> None:
        kinds = self._kinds
        if kinds is not None:
            kinds.append(records.VARIABLE_CREATED if created else records.VARIABLE_UPDATED)
            self._items((name, value, scope.key, scope.instance.info))

    def _rec(self, value_type: str, intent: str, key: int, fields: Dict[str, Any]) -> None:
        """A record of any other value type (fields known now)."""
        if self._kinds is not None:
            self._log.add(value_type, intent, key, fields)

    def _set_variables(self, scope: state.ElementInstance, document: Dict[str, Any], local: bool) -> None:
        """Write a variable document into ``scope`` (locally, or propagated outward)."""
        recorder = self._rec_variable if self._kinds is not None else None
        if local:
            set_local(scope, document, recorder)
        else:
            propagate(scope, document, recorder)

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
                    if element.scope is not None:
                        raise rejections.invalid(
                            "CREATE", f"Expected to create instance of process with start instructions but the "
                            f"element with id '{element_id}' is inside subprocess '{element.scope}'; the embedded "
                            "engine starts instances only at elements of the process itself")
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
        self._counter += 1  # _next_key, inlined
        key = KEY_BASE + self._counter
        instance = state.ProcessInstance(key, definition, self._clock.time())
        root = instance.root
        instance.parent_element = parent
        self._instances[key] = instance
        self._element_instances[key] = root
        root.variables = dict(variables)
        kinds = self._kinds
        if kinds is not None:
            instance.info = info = instance_info(instance)
            items = self._items
            for name, value in variables.items():  # _rec_variable, inlined: all new at the root
                kinds.append(records.VARIABLE_CREATED)
                items((name, value, key, info))
            # _rec_element twice, inlined
            root.rec = stub = (key, -1, False, None, info)  # records.element_stub of a process root
            kinds.append(PI_ACTIVATING)
            kinds.append(PI_ACTIVATED)
            items(stub)
            items(stub)
        root.phase = state.ACTIVATED_ELEMENT
        return instance

    def _start_at(self, instance: state.ProcessInstance, element_ids: Sequence[str]) -> None:
        process = instance.definition.process
        if process.event_subprocesses:  # the process's event subprocesses listen from the start
            try:
                self._open_boundaries(instance.root)
            except (_Failure, ExpressionError) as exc:
                error_type = exc.error_type if isinstance(exc, _Failure) else "EXTRACT_VALUE_ERROR"
                self._raise_incident(instance.root, error_type, str(exc))
        elements = process.elements
        for element_id in element_ids:
            self._spawn(instance.root, elements[element_id])

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
            self._set_variables(scope, variables, local)
            return self._next_key()

    # ------------------------------------------------------------------ token flow
    # The one place an element instance's lifecycle is driven: _spawn (a token reaches an
    # element) -> _activate/_enter (inputs, boundary events, the behaviour's activate hook) ->
    # _activated (a wait state or pass-through) -> _complete (outputs, outgoing flows) -> _leave;
    # or _terminate_element. What differs per element kind is in engine/elements/.
    def _spawn(self, scope: state.ElementInstance, element: model.Element) -> state.ElementInstance:
        """A token reaches ``element`` in ``scope``: create its instance and queue the activation."""
        self._counter += 1  # _next_key, inlined
        key = KEY_BASE + self._counter
        instance = scope.instance
        ei = _ElementInstance(key, element, instance, scope)
        if element.loop is not None and not scope.body:
            ei.body = True  # the multi-instance body; its children are the activity's instances
        if self._kinds is not None:  # records.element_stub, inlined
            ei.rec = (key, scope.key, ei.body, element.id, instance.info)
        scope.children[key] = ei  # type: ignore[index]
        self._element_instances[key] = ei
        self._agenda.append((self._enter_step, (ei,)))
        return ei

    def _enter(self, ei: state.ElementInstance, first: bool = True) -> None:
        """Activate ``ei`` (``first=False``: again, when an incident on its activation is resolved)."""
        if self._element_instances.get(ei.key) is not ei:
            return  # terminated while queued
        ei.phase = _ACTIVATING
        if first:
            kinds = self._kinds
            if kinds is not None:  # _rec_element, inlined on the hot path
                kinds.append(PI_ACTIVATING)
                self._items(ei.rec or self._element_stub(ei))
        element = ei.element
        plan = element.plan or _plan(element, ei.instance.definition.process)  # type: ignore[union-attr]
        if plan.plain_enter:
            # no inputs, listeners, boundary or event subprocesses, no loop: what the long way
            # (below, then _begin_behaviour) comes down to for such an element
            try:
                plan.behaviour.activate(self, ei)
            except _Failure as failure:
                self._raise_incident(ei, failure.error_type, str(failure))
            except ExpressionError as exc:
                self._raise_incident(ei, "EXTRACT_VALUE_ERROR", str(exc))
            return
        assert element is not None
        try:
            body = ei.body
            if element.inputs and not body:
                # an inner instance of a multi-instance activity sees its own loop variables
                self._set_variables(ei, self._map(element.inputs, visible(ei.parent if element.loop is None else ei)),
                                    True)
            # listeners run once for a multi-instance activity: on its body, not on each instance
            if element.start_listeners and (body or element.loop is None) and self._listeners_pending(ei, "start"):
                return  # the element begins when its last start listener's job completes
        except _Failure as failure:
            self._raise_incident(ei, failure.error_type, str(failure))
            return
        except ExpressionError as exc:
            self._raise_incident(ei, "EXTRACT_VALUE_ERROR", str(exc))
            return
        self._begin_behaviour(ei)

    def _begin_behaviour(self, ei: state.ElementInstance) -> None:
        """Open ``ei``'s boundary events and start its own behaviour (after its start listeners)."""
        if self._element_instances.get(ei.key) is not ei:
            return  # terminated meanwhile
        element = ei.element
        assert element is not None
        try:
            if element.boundary_events or element.event_subprocesses:
                self._close_boundaries(ei)  # a retried activation opens them afresh
                self._open_boundaries(ei)
            (_MI_BODY if ei.body else _BEHAVIOURS[element.kind]).activate(self, ei)
        except _Failure as failure:
            self._raise_incident(ei, failure.error_type, str(failure))
        except ExpressionError as exc:
            self._raise_incident(ei, "EXTRACT_VALUE_ERROR", str(exc))

    def _activated(self, ei: state.ElementInstance) -> None:
        """``ei`` is active: a wait state now waits, a pass-through completes next."""
        ei.phase = state.ACTIVATED_ELEMENT
        kinds = self._kinds
        if kinds is not None:  # _rec_element, inlined on the hot path
            kinds.append(PI_ACTIVATED)
            self._items(ei.rec or self._element_stub(ei))

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
        live = self._element_instances
        key = ei.key
        if live.get(key) is not ei:
            return  # terminated after this step was queued
        kinds = self._kinds
        if ei.phase != _COMPLETING:  # not when an incident on completing is resolved
            ei.phase = _COMPLETING
            if kinds is not None:  # _rec_element, inlined on the hot path
                kinds.append(PI_COMPLETING)
                self._items(ei.rec or self._element_stub(ei))
        element = ei.element
        scope = ei.parent
        plan = element.plan or _plan(element, ei.instance.definition.process)  # type: ignore[union-attr]
        if plan.plain_complete:
            # no outputs, end listeners or loop, every outgoing flow taken: what the long way
            # (below) comes down to for such an element, with the flows' targets looked up
            # once per element (plan.targets) instead of once per token
            if event_variables:
                try:  # _set_variables, inlined
                    propagate(ei, event_variables, self._rec_variable if kinds is not None else None)
                except (_Failure, ExpressionError) as exc:
                    ei.pending_variables = event_variables
                    error_type = exc.error_type if isinstance(exc, _Failure) else "EXTRACT_VALUE_ERROR"
                    self._raise_incident(ei, error_type, str(exc))
                    return
            # _leave, inlined
            if ei.boundary_subscriptions or ei.boundary_timers:
                self._close_boundaries(ei)
            if plan.compensation:
                self._compensation_left(ei)
            children = scope.children  # type: ignore[union-attr]
            if children is not None:
                children.pop(key, None)
            live.pop(key, None)
            if kinds is not None:  # _rec_element, inlined on the hot path
                kinds.append(PI_COMPLETED)
                self._items(ei.rec or self._element_stub(ei))
            for flow, target, joiner in plan.targets:
                if joiner is not None:
                    joiner.arrive(self, scope, flow, target)
                else:
                    self._spawn(scope, target)  # type: ignore[arg-type]
            if scope.joins or not scope.children:  # type: ignore[union-attr]  # else _check_scope: nothing to do
                self._check_scope(scope)  # type: ignore[arg-type]
            return
        assert element is not None and scope is not None
        behaviour = _MI_BODY if ei.body else _BEHAVIOURS[element.kind]
        satisfied = False
        # after its end listeners the element leaves: its outputs were applied before them
        after_listeners = ei.listener is not None and ei.listener[0] == "end"
        try:
            if after_listeners:
                pass
            elif ei.body:
                _MI_BODY.body_output(self, ei)
            elif element.outputs:
                if event_variables:
                    self._set_variables(ei, event_variables, True)
                # an inner multi-instance instance merges from itself, so a mapping can fill its
                # local outputElement variable (Zeebe's documented example)
                self._set_variables(ei if scope.body else scope, self._map(element.outputs, visible(ei)), False)
            elif event_variables:
                self._set_variables(ei, event_variables, False)
            if scope.body:  # an inner instance of a multi-instance activity: no flows of its own
                satisfied = _MI_BODY.inner_completing(self, scope, ei)
                flows = []
            elif behaviour.chooses_flows:
                flows = behaviour.outgoing(self, ei)
            else:
                all_flows = ei.instance.definition.process.flows
                flows = [all_flows[f] for f in element.outgoing]
            # listeners run once for a multi-instance activity: on its body, not on each instance
            if element.end_listeners and (ei.body or element.loop is None) and self._listeners_pending(ei, "end"):
                return  # the token leaves when the last end listener's job completes
        except (_Failure, ExpressionError) as exc:
            ei.pending_variables = event_variables
            error_type = exc.error_type if isinstance(exc, _Failure) else "EXTRACT_VALUE_ERROR"
            self._raise_incident(ei, error_type, str(exc))
            return
        self._leave(ei)
        kinds = self._kinds
        if kinds is not None:  # _rec_element, inlined on the hot path
            kinds.append(PI_COMPLETED)
            self._items(ei.rec or self._element_stub(ei))
        if scope.body:
            _MI_BODY.inner_completed(self, scope, satisfied)
        elif flows:
            process_elements = ei.instance.definition.process.elements
            for flow in flows:
                target = process_elements[flow.target]
                target_behaviour = _BEHAVIOURS[target.kind]
                if target_behaviour.joins:
                    target_behaviour.arrive(self, scope, flow, target)
                else:
                    self._spawn(scope, target)
        self._check_scope(scope)

    def _leave(self, ei: state.ElementInstance) -> None:
        if ei.boundary_subscriptions or ei.boundary_timers:
            self._close_boundaries(ei)
        if ei.instance.definition.process.uses_compensation:
            self._compensation_left(ei)
        scope = ei.parent
        if scope is not None and scope.children is not None:
            scope.children.pop(ei.key, None)
        self._element_instances.pop(ei.key, None)

    def _check_scope(self, scope: state.ElementInstance) -> None:
        """Complete ``scope`` once it has no live children and no parked tokens."""
        if scope.joins:  # a token went away: a parked inclusive join may be free to go
            retry_inclusive_joins(self, scope)
        if not scope.children and scope.waiting <= 0 and scope.phase == state.ACTIVATED_ELEMENT \
                and self._element_instances.get(scope.key) is scope:
            (_MI_BODY if scope.body else behaviour_of(scope.element)).child_flow_done(self, scope)

    def _complete_instance(self, instance: state.ProcessInstance) -> None:
        if instance.state != "ACTIVE":
            return
        instance.state = "COMPLETED"
        root = instance.root
        root.phase = state.COMPLETING
        if root.boundary_subscriptions or root.boundary_timers:
            self._close_boundaries(root)
        kinds = self._kinds
        if kinds is not None:  # _rec_element, inlined
            kinds.append(PI_COMPLETING)
            self._items(root.rec or self._element_stub(root))
        self._retire(instance)
        if kinds is not None:
            kinds.append(PI_COMPLETED)
            self._items(root.rec or self._element_stub(root))
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
        if instance.definition.process.uses_compensation:
            self._compensable.pop(instance.key, None)  # the root scope's compensable activities
        self._instances.pop(instance.key, None)
        self._element_instances.pop(instance.key, None)
        if instance.message_start_key is not None:
            self._message_instance_ended(instance)
        if self._history.maxlen:
            summary = self._instance_view(instance)
            summary["ended"] = self._clock.time()
            self._history.append(summary)

    def _terminate_instance(self, instance: state.ProcessInstance, final_state: str) -> None:
        root = instance.root
        root.phase = state.TERMINATING
        self._rec_element(root, PI_TERMINATING)
        self._terminate_children(root)
        self._close_boundaries(root)
        if root.incident is not None:
            self._drop_incident(root.incident)
        instance.state = final_state
        # a with-result caller of a cancelled instance is told so at once (not left to time out)
        for waiter in self._result_waiters.pop(instance.key, None) or ():
            waiter.ended = final_state
            waiter.event.set()
        self._retire(instance)
        self._rec_element(root, PI_TERMINATED)

    def _terminate_children(self, scope: state.ElementInstance,
                            keep: Optional[state.ElementInstance] = None) -> None:
        """Terminate every live child of ``scope`` (but ``keep``) and drop its parked tokens."""
        if scope.children:
            for child in list(scope.children.values()):
                if child is not keep:
                    self._terminate_element(child)
        scope.waiting = 0
        scope.joins = None

    def _terminate_element(self, ei: state.ElementInstance) -> None:
        ei.phase = state.TERMINATING
        self._rec_element(ei, PI_TERMINATING)
        if ei.element is not None:
            (_MI_BODY if ei.body else _BEHAVIOURS[ei.element.kind]).terminate(self, ei)
        if ei.incident is not None:
            self._drop_incident(ei.incident)
        self._leave(ei)
        self._rec_element(ei, PI_TERMINATED)

    def _release_wait_state(self, ei: state.ElementInstance) -> None:
        """Drop the job, subscription or timer ``ei`` waits on (the default terminate hook)."""
        if ei.job is not None:
            job, ei.job = ei.job, None
            self._remove_job(job)
            self._rec_job(job, "CANCELED")
        if ei.subscription is not None:
            self._close_subscription(ei.subscription, "DELETED")
            ei.subscription = None
        if ei.timer is not None:
            self._scheduler.cancel(ei.timer)
            ei.timer = None
            self._rec_timer(ei, ei.element, "CANCELED", -1)

    # ------------------------------------------------------------------ timers
    def _start_timer(self, ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        seconds, _ = self._timer_due(element, visible(ei))  # an intermediate catch never cycles
        self._activated(ei)
        ei.timer = self._scheduler.call_later(seconds, self._timer_fired, ei.key)
        self._rec_timer(ei, element, "CREATED", int((self._clock.time() + max(0.0, seconds)) * 1000))

    def _rec_timer(self, ei: state.ElementInstance, element: Optional[model.Element], intent: str,
                   due_ms: int, repetitions: int = 1) -> None:
        """A TIMER record of a catch event's or a boundary event's timer (``element``) on ``ei``."""
        if self._kinds is not None:
            d = ei.instance.definition
            self._rec("TIMER", intent, ei.key, {
                "element_id": element.id if element is not None else "", "element_instance_key": ei.key,
                "due_date": due_ms, "repetitions": repetitions, "process_instance_key": ei.instance.key,
                "process_definition_key": d.key, "bpmn_process_id": d.bpmn_process_id,
                "target_element_id": element.id if element is not None else ""})

    def _timer_fired(self, element_instance_key: int) -> None:
        with self._lock:
            ei = self._element_instances.get(element_instance_key)
            if ei is None or ei.timer is None or ei.timer.cancelled:
                return
            ei.timer = None
            self._rec_timer(ei, ei.element, "TRIGGERED", int(self._clock.time() * 1000))
            self._complete(ei, None)
            self._drain()
