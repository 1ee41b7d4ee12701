"""Small BPMN documents for the engine tests, built from a compact description.

Each helper returns XML bytes; element ids double as names so failures are easy to read.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence, Tuple
from xml.sax.saxutils import escape


def attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" '
    'targetNamespace="http://bpmn.io/schema/bpmn">\n'
)
TAIL = "</bpmn:definitions>\n"


def service_task(task_id: str, job_type: str, *, retries: Optional[str] = None, headers: Sequence[Tuple[str, str]] = (),
                 inputs: Sequence[Tuple[str, str]] = (), outputs: Sequence[Tuple[str, str]] = ()) -> str:
    ext = f'<zeebe:taskDefinition type="{attr(job_type)}"' + (f' retries="{retries}"' if retries else "") + "/>"
    if headers:
        ext += "<zeebe:taskHeaders>" + "".join(
            f'<zeebe:header key="{attr(k)}" value="{attr(v)}"/>' for k, v in headers) + "</zeebe:taskHeaders>"
    ext += io_mapping(inputs, outputs)
    return f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>{ext}</bpmn:extensionElements></bpmn:serviceTask>'


def io_mapping(inputs: Sequence[Tuple[str, str]] = (), outputs: Sequence[Tuple[str, str]] = ()) -> str:
    if not inputs and not outputs:
        return ""
    body = "".join(f'<zeebe:input source="{attr(s)}" target="{t}"/>' for s, t in inputs)
    body += "".join(f'<zeebe:output source="{attr(s)}" target="{t}"/>' for s, t in outputs)
    return f"<zeebe:ioMapping>{body}</zeebe:ioMapping>"


def flow(flow_id: str, source: str, target: str, condition: Optional[str] = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    cond = condition.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{cond}</bpmn:conditionExpression>'
            "</bpmn:sequenceFlow>")


def chain(*ids: str) -> str:
    """Sequence flows linking ``ids`` in order."""
    return "".join(flow(f"f_{a}_{b}", a, b) for a, b in zip(ids, ids[1:]))


def process(process_id: str, body: str, *, extra: str = "", executable: bool = True) -> bytes:
    flag = "true" if executable else "false"
    return (HEAD + extra + f'<bpmn:process id="{process_id}" isExecutable="{flag}">' + body
            + "</bpmn:process>" + TAIL).encode()


def tasks_process(process_id: str, job_types: Iterable[str]) -> bytes:
    """start -> one service task per job type -> end."""
    types = list(job_types)
    ids = ["start"] + [f"task_{i}" for i in range(len(types))] + ["end"]
    body = '<bpmn:startEvent id="start"/>'
    body += "".join(service_task(f"task_{i}", t) for i, t in enumerate(types))
    body += '<bpmn:endEvent id="end"/>' + chain(*ids)
    return process(process_id, body)


def message(message_id: str, name: str, correlation_key: str = "=orderId") -> str:
    return (f'<bpmn:message id="{message_id}" name="{name}"><bpmn:extensionElements>'
            f'<zeebe:subscription correlationKey="{correlation_key}"/></bpmn:extensionElements></bpmn:message>')


def error(error_id: str, code: str) -> str:
    return f'<bpmn:error id="{error_id}" errorCode="{code}"/>'
