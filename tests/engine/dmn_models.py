"""Small DMN documents built in code for the decision tests (the real files are in ``dmn/``)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple
from xml.sax.saxutils import escape

NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table(decision_id: str, inputs: Sequence[str], outputs: Sequence[str],
          rules: Sequence[Tuple[Sequence[str], Sequence[str]]], *, hit_policy: Optional[str] = None,
          aggregation: Optional[str] = None, required: Sequence[str] = (), name: str = "") -> str:
    """One ``<decision>`` with a decision table: ``inputs`` are input expressions, ``outputs``
    output names, each rule ``(input entries, output entries)``."""
    attrs = (f' hitPolicy="{hit_policy}"' if hit_policy else "") + (f' aggregation="{aggregation}"' if aggregation else "")
    parts = [f'<decision id="{decision_id}" name="{escape(name or decision_id)}">']
    for i, req in enumerate(required):
        parts.append(f'<informationRequirement id="req_{decision_id}_{i}"><requiredDecision href="#{req}"/>'
                     '</informationRequirement>')
    parts.append(f'<decisionTable id="table_{decision_id}"{attrs}>')
    for i, expression in enumerate(inputs, 1):
        parts.append(f'<input id="in{i}" label="Input {i}"><inputExpression id="ie{i}"><text>{escape(expression)}'
                     '</text></inputExpression></input>')
    for i, output in enumerate(outputs, 1):
        parts.append(f'<output id="out{i}" label="Output {i}" name="{output}"/>')
    for r, (entries, results) in enumerate(rules, 1):
        parts.append(f'<rule id="rule{r}">')
        parts.extend(f'<inputEntry id="r{r}i{i}"><text>{escape(t)}</text></inputEntry>' for i, t in enumerate(entries))
        parts.extend(f'<outputEntry id="r{r}o{i}"><text>{escape(t)}</text></outputEntry>' for i, t in enumerate(results))
        parts.append("</rule>")
    parts.append("</decisionTable></decision>")
    return "".join(parts)


def literal(decision_id: str, expression: str, *, variable: str = "", required: Sequence[str] = ()) -> str:
    parts = [f'<decision id="{decision_id}" name="{decision_id}">']
    for i, req in enumerate(required):
        parts.append(f'<informationRequirement id="req_{decision_id}_{i}"><requiredDecision href="#{req}"/>'
                     '</informationRequirement>')
    parts.append(f'<variable id="var_{decision_id}" name="{variable or decision_id}"/>')
    parts.append(f'<literalExpression id="lit_{decision_id}"><text>{escape(expression)}</text></literalExpression>')
    parts.append("</decision>")
    return "".join(parts)


def definitions(*decisions: str, drg_id: str = "drg", name: str = "DRG") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="{NS}" id="{drg_id}" name="{name}" '
            f'namespace="http://camunda.org/schema/1.0/dmn">' + "".join(decisions) + "</definitions>").encode()
