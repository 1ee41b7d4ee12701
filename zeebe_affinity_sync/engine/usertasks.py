"""User tasks: job-worker user tasks (a job with Zeebe's ``io.camunda.zeebe:*`` headers) and
Camunda user tasks (``zeebe:userTask``), which wait until completed through the Python API.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`; everything runs under the engine
lock. Real Zeebe serves Camunda user tasks over its REST API only (the 8.4 gRPC gateway has no
user-task RPC); here :meth:`UserTasksMixin.user_tasks` lists them and
:meth:`UserTasksMixin.complete_user_task` completes one. Assignment, schedule and priority
expressions are evaluated when the task is entered, as Zeebe does; a value of the wrong type
raises an EXTRACT_VALUE_ERROR incident on the task.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from . import model, rejections, state
from .expressions import Value, type_name
from .variables import visible

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["UserTasksMixin", "user_task_headers", "USER_TASK_HEADERS"]

#: Zeebe's reserved header names of a job-worker user task (``Protocol.USER_TASK_*_HEADER_NAME``)
USER_TASK_HEADERS = {
    "assignee": "io.camunda.zeebe:assignee",
    "candidate_groups": "io.camunda.zeebe:candidateGroups",
    "candidate_users": "io.camunda.zeebe:candidateUsers",
    "due_date": "io.camunda.zeebe:dueDate",
    "follow_up_date": "io.camunda.zeebe:followUpDate",
    "form_key": "io.camunda.zeebe:formKey",
}
DEFAULT_PRIORITY = 50  # Zeebe's priority of a user task without zeebe:priorityDefinition


def _string(value: Optional[Value], context: Dict[str, Any]) -> Optional[str]:
    if value is None:
        return None
    result = value.evaluate(context)
    if result is None and value.is_expression:
        return None
    if not isinstance(result, str):
        raise state.StepFailure("EXTRACT_VALUE_ERROR", f"Expected result of the expression "
                                f"'{value.expression_text}' to be 'STRING', but was '{type_name(result)}'.")
    return result


def _strings(value: Optional[Value], context: Dict[str, Any]) -> Optional[List[str]]:
    """A candidate list: static text is comma-separated, an expression must give a list of strings."""
    if value is None:
        return None
    if not value.is_expression:
        return [part.strip() for part in str(value.static).split(",") if part.strip()]
    result = value.evaluate(context)
    if isinstance(result, (list, tuple)) and all(isinstance(item, str) for item in result):
        return list(result)
    raise state.StepFailure("EXTRACT_VALUE_ERROR", f"Expected result of the expression '{value.expression_text}' "
                            f"to be 'ARRAY' of 'STRING', but was '{type_name(result)}'.")


def _date(value: Optional[Value], context: Dict[str, Any]) -> Optional[str]:
    """An ISO 8601 date-time with offset (what Zeebe's dueDate / followUpDate hold)."""
    if value is None:
        return None
    result = value.evaluate(context)
    if result is None and value.is_expression:
        return None
    if isinstance(result, datetime):
        if result.tzinfo is None:
            raise state.StepFailure("EXTRACT_VALUE_ERROR", f"Expected result of the expression "
                                    f"'{value.expression_text}' to be a date and time with a time zone, but it "
                                    "has none.")
        return result.isoformat()
    text = result if isinstance(result, str) else None
    if text is not None:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return text
    raise state.StepFailure("EXTRACT_VALUE_ERROR", f"Expected result of the expression '{value.text}' to be a "
                            "valid date and time string with a time zone (ISO 8601, e.g. "
                            f"2023-02-28T13:13:10+02:00), but was '{result}'.")


def _priority(value: Optional[Value], context: Dict[str, Any]) -> int:
    if value is None:
        return DEFAULT_PRIORITY
    result = value.evaluate(context)
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not 0 <= result <= 100 \
            or int(result) != result:
        raise state.StepFailure("EXTRACT_VALUE_ERROR", f"Expected result of the expression '{value.expression_text}' "
                                f"to be a number between 0 and 100, but was '{result}'.")
    return int(result)


def _properties(spec: model.UserTaskSpec, context: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "assignee": _string(spec.assignee, context),
        "candidate_groups": _strings(spec.candidate_groups, context),
        "candidate_users": _strings(spec.candidate_users, context),
        "due_date": _date(spec.due_date, context),
        "follow_up_date": _date(spec.follow_up_date, context),
        "form_key": spec.form_key,
    }


def user_task_headers(ei: state.ElementInstance) -> str:
    """The custom headers of a job-worker user task's job, as Zeebe encodes them (JSON text):
    the element's task headers plus assignee, candidate groups / users (JSON lists), due and
    follow-up dates and the form key, each only when set.

    Raises:
        StepFailure: An expression gave a value of the wrong type (EXTRACT_VALUE_ERROR).
    """
    element = ei.element
    assert element is not None and element.user_task is not None
    spec = element.user_task
    headers: Dict[str, str] = json.loads(element.headers)
    values = _properties(spec, visible(ei))
    for field, header in USER_TASK_HEADERS.items():
        value = values[field]
        if value:
            headers[header] = json.dumps(value, separators=(",", ":")) if isinstance(value, list) else value
    return json.dumps(headers)


class UserTasksMixin:
    def __init__(self) -> None:
        # guarded by the engine lock: live Camunda user tasks by key, in creation order
        self._user_tasks: Dict[int, state.UserTask] = {}

    def _create_user_task(self: "Engine", ei: state.ElementInstance) -> None:
        """Enter a Camunda user task: evaluate its properties, then wait for completion."""
        element = ei.element
        assert element is not None and element.user_task is not None
        spec = element.user_task
        context = visible(ei)
        properties = _properties(spec, context)
        properties["priority"] = _priority(spec.priority, context)
        properties["external_form_reference"] = _string(spec.external_reference, context)
        properties["form_id"] = spec.form_id
        task = state.UserTask(self._next_key(), ei, properties, json.loads(element.headers), self._clock.now_ms())
        self._rec_user_task(task, "CREATING")
        self._activated(ei)
        ei.user_task = task
        self._user_tasks[task.key] = task
        self._rec_user_task(task, "CREATED")

    def _cancel_user_task(self: "Engine", ei: state.ElementInstance) -> None:
        task = ei.user_task
        if task is not None:
            ei.user_task = None
            self._user_tasks.pop(task.key, None)
            self._rec_user_task(task, "CANCELING")
            self._rec_user_task(task, "CANCELED")

    def _rec_user_task(self: "Engine", task: state.UserTask, intent: str,
                       variables: Optional[Dict[str, Any]] = None) -> None:
        if self._kinds is not None:
            fields = self._user_task_view(task)
            fields["variables"] = dict(variables) if variables else {}
            del fields["key"]
            fields["user_task_key"] = task.key
            self._rec("USER_TASK", intent, task.key, fields)

    def _user_task_view(self: "Engine", task: state.UserTask) -> Dict[str, Any]:
        ei = task.element_instance
        d = ei.instance.definition
        view = {
            "key": task.key, "element_id": ei.element.id if ei.element else "", "element_instance_key": ei.key,
            "process_instance_key": ei.instance.key, "bpmn_process_id": d.bpmn_process_id,
            "process_definition_key": d.key, "process_definition_version": d.version,
            "custom_headers": dict(task.headers), "creation_date": task.created,
            "tenant_id": getattr(d, "tenant_id", "<default>"), "state": task.state,
        }
        view.update(task.properties)
        for field in ("candidate_groups", "candidate_users"):
            view[field] = list(view[field] or [])
        return view

    def user_tasks(self: "Engine", *, process_instance_key: Optional[int] = None,
                   element_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """Open Camunda user tasks (oldest first) as plain dicts, with their visible ``variables``."""
        with self._lock:
            out = []
            for task in self._user_tasks.values():
                ei = task.element_instance
                if process_instance_key is not None and ei.instance.key != process_instance_key:
                    continue
                if element_id is not None and (ei.element is None or ei.element.id != element_id):
                    continue
                view = self._user_task_view(task)
                view["variables"] = visible(ei)
                out.append(view)
            return out

    def complete_user_task(self: "Engine", key_or_element_id: Union[int, str],
                           variables: Optional[Dict[str, Any]] = None, *,
                           process_instance_key: Optional[int] = None) -> None:
        """Complete an open Camunda user task, by its key or by its element id.

        The variables are merged like a completed job's: into the task's scope, propagated
        outward (or through the task's output mappings).

        Raises:
            NotFoundError: No such open user task.
            InvalidArgumentError: An element id that names several open tasks (pass
                ``process_instance_key``), or variables that are not a dict.
        """
        if variables is not None and not isinstance(variables, dict):
            raise TypeError(f"variables must be a dict, got {type(variables).__name__}")
        with self._lock:
            task = self._find_user_task(key_or_element_id, process_instance_key)
            ei = task.element_instance
            self._rec_user_task(task, "COMPLETING", variables)
            self._user_tasks.pop(task.key, None)
            ei.user_task = None
            task.state = "COMPLETED"
            self._rec_user_task(task, "COMPLETED", variables)
            self._complete(ei, dict(variables) if variables else None)
            self._drain()

    def _find_user_task(self: "Engine", key_or_element_id: Union[int, str],
                        process_instance_key: Optional[int]) -> state.UserTask:
        if isinstance(key_or_element_id, bool) or not isinstance(key_or_element_id, (int, str)):
            raise TypeError(f"pass a user task key (int) or an element id (str), got {key_or_element_id!r}")
        if isinstance(key_or_element_id, int):
            task = self._user_tasks.get(key_or_element_id)
            if task is None or (process_instance_key is not None
                                and task.element_instance.instance.key != process_instance_key):
                raise rejections.not_found(
                    "COMPLETE", f"Expected to complete user task with key '{key_or_element_id}', but no such user "
                    "task was found")
            return task
        matches = [t for t in self._user_tasks.values()
                   if t.element_instance.element is not None and t.element_instance.element.id == key_or_element_id
                   and (process_instance_key is None or t.element_instance.instance.key == process_instance_key)]
        if not matches:
            where = f" in process instance {process_instance_key}" if process_instance_key is not None else ""
            raise rejections.not_found(
                "COMPLETE", f"Expected to complete a user task of element '{key_or_element_id}'{where}, but none is "
                "open")
        if len(matches) > 1:
            raise rejections.invalid(
                "COMPLETE", f"Element '{key_or_element_id}' has {len(matches)} open user tasks (keys "
                f"{[t.key for t in matches]}); pass a key, or the process_instance_key")
        return matches[0]
