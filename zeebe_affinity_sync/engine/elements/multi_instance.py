"""The multi-instance body: runs its activity once per item of ``inputCollection``, in parallel
or one after the other, and collects ``outputCollection`` (Zeebe 8.8's documented behaviour).

The body is an element instance of the activity with ``body=True`` (records say
``MULTI_INSTANCE_BODY``); its children are the inner instances (the activity itself). Boundary
events belong to the body; input / output mappings apply to each inner instance.

- Each inner instance gets the local variables ``loopCounter`` (1-based), ``inputElement``
  (if named) and, when ``outputElement`` is a plain variable (``= result``), that variable set to
  ``null`` — so a job's result lands there and not in the process.
- ``outputCollection`` is a local variable of the body, one ``null`` per item, each replaced by
  ``outputElement`` when its inner instance completes (same index as its item, also in parallel);
  it propagates to the body's scope when the body completes (not when it is interrupted).
- ``completionCondition`` is evaluated each time an inner instance completes, with the body's
  variables plus ``numberOfInstances``, ``numberOfActiveInstances``, ``numberOfCompletedInstances``
  and ``numberOfTerminatedInstances``; when true the remaining instances are terminated (parallel)
  or not started (sequential) and the body completes. A non-boolean result is an incident on the
  inner instance that was completing.
- An empty collection completes the body at once (``outputCollection`` = ``[]``).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Optional

from .. import state
from ..expressions import feel, type_name
from ..variables import visible
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["MultiInstanceBody", "LoopState"]

_PLAIN_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class LoopState:
    """Per body instance, guarded by the engine lock."""

    __slots__ = ("items", "next", "completed", "terminated", "done")

    def __init__(self, items: list) -> None:
        self.items = items
        self.next = 0          # index of the next item to start
        self.completed = 0
        self.terminated = 0
        self.done = False      # the completion condition was met


def _output_variable(ei: state.ElementInstance) -> Optional[str]:
    loop = ei.element.loop if ei.element is not None else None
    if loop is None or loop.output_element is None or not loop.output_element.is_expression:
        return None
    text = loop.output_element.expression_text
    return text.split(".", 1)[0] if _PLAIN_PATH.match(text) else None


class MultiInstanceBody(ElementBehavior):
    bpmn_element_type = "MULTI_INSTANCE_BODY"
    is_scope = True

    def activate(self, engine: "Engine", body: state.ElementInstance) -> None:
        element = body.element
        assert element is not None and element.loop is not None
        loop = element.loop
        items = loop.input_collection.evaluate(visible(body))
        if not isinstance(items, (list, tuple)):
            raise state.StepFailure(
                "EXTRACT_VALUE_ERROR", f"Expected result of the expression '{loop.input_collection.expression_text}' "
                f"to be 'ARRAY', but was '{type_name(items)}'.")
        body.children = {}
        body.mi = LoopState(list(items))
        if loop.output_collection:
            engine._set_variables(body, {loop.output_collection: [None] * len(items)}, True)
        engine._activated(body)
        if loop.sequential:
            if items:
                self._start_next(engine, body)
        else:
            while body.mi.next < len(items):
                self._start_next(engine, body)
        engine._check_scope(body)  # an empty collection: done at once

    def _start_next(self, engine: "Engine", body: state.ElementInstance) -> None:
        element = body.element
        assert element is not None and element.loop is not None
        mi: LoopState = body.mi
        index = mi.next
        mi.next += 1
        inner = engine._spawn(body, element)
        local: Dict[str, Any] = {"loopCounter": index + 1}
        if element.loop.input_element:
            local[element.loop.input_element] = mi.items[index]
        output_variable = _output_variable(inner)
        if output_variable and output_variable not in local:
            local[output_variable] = None
        engine._set_variables(inner, local, True)

    def inner_completing(self, engine: "Engine", body: state.ElementInstance, inner: state.ElementInstance) -> bool:
        """Collect the inner instance's output; True if the completion condition is now met.

        Raises:
            StepFailure / ExpressionError: The output or the condition cannot be evaluated
                (an incident on the inner instance; resolving it retries the completion).
        """
        element = body.element
        assert element is not None and element.loop is not None
        loop = element.loop
        mi: LoopState = body.mi
        if loop.output_collection and loop.output_element is not None:
            value = feel.to_json(loop.output_element.evaluate(visible(inner)))
            collection = list(body.variables.get(loop.output_collection) or [None] * len(mi.items))
            index = inner.variables.get("loopCounter", 1) - 1
            if 0 <= index < len(collection):
                collection[index] = value
            engine._set_variables(body, {loop.output_collection: collection}, True)
        if loop.completion_condition is None:
            return False
        context = visible(body)
        active = len(body.children or ()) - 1  # this one is about to leave
        context.update({
            "numberOfInstances": len(mi.items), "numberOfActiveInstances": active,
            "numberOfCompletedInstances": mi.completed + 1, "numberOfTerminatedInstances": mi.terminated,
        })
        result = loop.completion_condition.evaluate(context)
        if not isinstance(result, bool):
            raise state.StepFailure(
                "EXTRACT_VALUE_ERROR", f"Expected result of the expression "
                f"'{loop.completion_condition.expression_text}' to be 'BOOLEAN', but was '{type_name(result)}'.")
        return result

    def inner_completed(self, engine: "Engine", body: state.ElementInstance, satisfied: bool) -> None:
        """An inner instance has left: stop early, start the next (sequential), or wait."""
        element = body.element
        assert element is not None and element.loop is not None
        mi: LoopState = body.mi
        mi.completed += 1
        if satisfied and not mi.done:
            mi.done = True
            mi.terminated += len(body.children or ())
            engine._terminate_children(body)
        elif not mi.done and element.loop.sequential and mi.next < len(mi.items):
            self._start_next(engine, body)

    def terminate(self, engine: "Engine", body: state.ElementInstance) -> None:
        engine._terminate_children(body)
        engine._release_wait_state(body)

    def child_flow_done(self, engine: "Engine", body: state.ElementInstance) -> None:
        engine._complete(body, None)

    def body_output(self, engine: "Engine", body: state.ElementInstance) -> None:
        """The body completes: its outputCollection propagates to its scope."""
        element = body.element
        assert element is not None and element.loop is not None and body.parent is not None
        name = element.loop.output_collection
        if name:
            engine._set_variables(body.parent, {name: body.variables.get(name, [])}, False)
