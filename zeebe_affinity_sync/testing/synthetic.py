"""Synthetic BPMN for ``mock_child_process``: a process that sets variables and ends at once.

The variables become FEEL literals in ``zeebe:output`` mappings of the none start event, so the
child instance runs start -> end in one step and a call activity to it completes at once with
them (child variables propagate to the parent, Zeebe's default).
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any, Dict, Optional
from xml.sax.saxutils import quoteattr

__all__ = ["feel_literal", "child_process_bpmn"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def feel_literal(value: Any) -> str:
    """A FEEL expression whose value is ``value`` (JSON types only).

    Raises:
        TypeError: ``value`` is not JSON-like (or a dict key is not a string).
        ValueError: A float is NaN or infinite (FEEL has no such numbers).
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"FEEL has no {value!r}: give a finite number")
        # FEEL number literals have no exponent: write 1e-05 as 0.00001
        return format(Decimal(repr(value)), "f")
    if isinstance(value, str):
        # json.dumps escapes exactly what a FEEL string literal needs (quotes, backslashes, controls)
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(feel_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"variable keys must be strings, got {key!r}")
            parts.append(f"{json.dumps(key)}: {feel_literal(item)}")
        return "{" + ", ".join(parts) + "}"
    raise TypeError(f"cannot put a {type(value).__name__} into a process variable: use JSON types "
                    "(dict, list, str, int, float, bool, None)")


def child_process_bpmn(bpmn_process_id: str, variables: Optional[Dict[str, Any]] = None) -> bytes:
    """The BPMN XML of a process ``bpmn_process_id`` that sets ``variables`` and ends.

    Raises:
        ValueError: Not a valid process id or variable name. TypeError: Non-JSON values.
    """
    if not isinstance(bpmn_process_id, str) or not _PROCESS_ID.match(bpmn_process_id):
        raise ValueError(f"{bpmn_process_id!r} is not a valid BPMN process id (letters, digits, _ . -; "
                         "not starting with a digit)")
    if variables is not None and not isinstance(variables, dict):
        raise TypeError(f"variables must be a dict, got {type(variables).__name__}")
    outputs = []
    for name, value in (variables or {}).items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{name!r} is not a variable name a process can set (letters, digits and _)")
        outputs.append(f'          <zeebe:output source={quoteattr("=" + feel_literal(value))} target="{name}" />')
    mapping = ""
    if outputs:
        mapping = ("      <bpmn:extensionElements>\n        <zeebe:ioMapping>\n" + "\n".join(outputs)
                   + "\n        </zeebe:ioMapping>\n      </bpmn:extensionElements>\n")
    pid = quoteattr(bpmn_process_id)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="mock-child-definitions" '
        'targetNamespace="https://zeebe-affinity-sync/testing">\n'
        f'  <bpmn:process id={pid} name="mocked child process" isExecutable="true">\n'
        f'    <bpmn:startEvent id="mock-start">\n{mapping}'
        '      <bpmn:outgoing>mock-flow</bpmn:outgoing>\n'
        '    </bpmn:startEvent>\n'
        '    <bpmn:sequenceFlow id="mock-flow" sourceRef="mock-start" targetRef="mock-end" />\n'
        '    <bpmn:endEvent id="mock-end" />\n'
        '  </bpmn:process>\n'
        '</bpmn:definitions>\n'
    ).encode()
