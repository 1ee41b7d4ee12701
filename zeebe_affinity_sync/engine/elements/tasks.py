"""Tasks: job tasks (service, send, script with a job), script tasks with ``zeebe:script``,
user tasks (job-worker and Camunda), receive tasks; undefined and manual tasks pass through."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import state
from ..expressions import feel
from ..usertasks import user_task_headers
from ..variables import visible
from .base import ElementBehavior

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Engine

__all__ = ["JobTask", "ReceiveTask", "ScriptTask", "UserTask"]


class JobTask(ElementBehavior):
    """A task (or message throw event) done by a job worker: the job is created on activation;
    completing it completes the element with the job's variables."""

    def __init__(self, bpmn_element_type: str) -> None:
        self.bpmn_element_type = bpmn_element_type

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._create_job(ei)


class ScriptTask(JobTask):
    """``zeebe:script``: evaluate the FEEL expression and complete with ``{resultVariable: result}``
    (merged like job variables); without it the script task is a job."""

    def __init__(self) -> None:
        super().__init__("SCRIPT_TASK")

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None
        if element.script is None:
            engine._create_job(ei)
            return
        assert element.result_variable is not None
        result = feel.to_json(element.script.evaluate(visible(ei)))
        engine._activated(ei)
        engine._complete(ei, {element.result_variable: result})


class UserTask(ElementBehavior):
    """A job-worker user task is a job of type ``io.camunda.zeebe:userTask`` whose headers say
    who and when; a Camunda user task (``zeebe:userTask``) waits for ``complete_user_task``."""

    bpmn_element_type = "USER_TASK"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        element = ei.element
        assert element is not None and element.user_task is not None
        if element.user_task.camunda:
            engine._create_user_task(ei)
        else:
            engine._create_job(ei, user_task_headers(ei))

    def terminate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._cancel_user_task(ei)
        engine._release_wait_state(ei)


class ReceiveTask(ElementBehavior):
    bpmn_element_type = "RECEIVE_TASK"

    def activate(self, engine: "Engine", ei: state.ElementInstance) -> None:
        engine._open_subscription(ei)
