"""BPMN documents used by the client and worker tests (plain XML, one per scenario)."""
from __future__ import annotations

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="http://example.test">'
)


def _task(task_id: str, job_type: str, retries: int = 3) -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{job_type}" retries="{retries}"/>'
        "</bpmn:extensionElements></bpmn:serviceTask>"
    )


def _flow(source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="f_{source}_{target}" sourceRef="{source}" targetRef="{target}"/>'


def demo(process_id: str = "affinity-demo") -> bytes:
    """The seed's demo shape: start -> transform -> publish-outcome -> end."""
    return (
        _HEAD + f'<bpmn:process id="{process_id}" isExecutable="true">'
        '<bpmn:startEvent id="start"/>'
        + _task("transform", "transform") + _task("publish", "publish-outcome")
        + '<bpmn:endEvent id="end"/>'
        + _flow("start", "transform") + _flow("transform", "publish") + _flow("publish", "end")
        + "</bpmn:process></bpmn:definitions>"
    ).encode()


def single_task(process_id: str, job_type: str, retries: int = 3) -> bytes:
    """start -> one service task -> end."""
    return (
        _HEAD + f'<bpmn:process id="{process_id}" isExecutable="true">'
        '<bpmn:startEvent id="start"/>' + _task("task", job_type, retries) + '<bpmn:endEvent id="end"/>'
        + _flow("start", "task") + _flow("task", "end") + "</bpmn:process></bpmn:definitions>"
    ).encode()


def with_error_boundary(process_id: str, job_type: str, error_code: str) -> bytes:
    """start -> task (error boundary catching ``error_code`` -> end 'handled') -> end 'ok'."""
    return (
        _HEAD + f'<bpmn:error id="err" errorCode="{error_code}"/>'
        f'<bpmn:process id="{process_id}" isExecutable="true">'
        '<bpmn:startEvent id="start"/>' + _task("task", job_type)
        + '<bpmn:boundaryEvent id="caught" attachedToRef="task"><bpmn:errorEventDefinition errorRef="err"/>'
        "</bpmn:boundaryEvent>"
        '<bpmn:endEvent id="ok"/><bpmn:endEvent id="handled"/>'
        + _flow("start", "task") + _flow("task", "ok") + _flow("caught", "handled")
        + "</bpmn:process></bpmn:definitions>"
    ).encode()


def message_wait(process_id: str, message_name: str) -> bytes:
    """start -> wait for ``message_name`` correlated by ``orderId`` -> end."""
    return (
        _HEAD + f'<bpmn:message id="msg" name="{message_name}"><bpmn:extensionElements>'
        '<zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>'
        f'<bpmn:process id="{process_id}" isExecutable="true">'
        '<bpmn:startEvent id="start"/>'
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="msg"/>'
        "</bpmn:intermediateCatchEvent>"
        '<bpmn:endEvent id="end"/>' + _flow("start", "wait") + _flow("wait", "end")
        + "</bpmn:process></bpmn:definitions>"
    ).encode()
