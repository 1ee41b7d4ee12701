"""Deploy-time checks Zeebe makes on the Zeebe extensions of a BPMN file, and refusals of what
the embedded engine does not implement.

One pass over the whole XML document (every process, every nested scope), independent of the
parser that builds the model (:mod:`.bpmn`), so that every problem of a file is reported at once
and nested elements are never skipped. Each problem names the element it concerns the way
Zeebe's deployment rejection does: the closest ancestor with an ``id``, then the path to the
offending extension element (``task > extensionElements > output``).

What Zeebe checks here (Zeebe 8.8, ``ZeebeRuntimeValidators`` / ``ZeebeExpressionValidator``):

* attributes that must be FEEL expressions (a leading ``=``): sequence flow conditions, message
  subscription correlation keys, output mapping sources, multi-instance ``inputCollection`` and
  ``outputElement``, ``zeebe:script`` expressions, ad-hoc completion conditions;
* attributes that may be static or FEEL, and are mandatory: input mapping sources, task types,
  called process ids, decision ids, the job priority;
* mapping targets must be variable paths (``a.b``), not ``$.a`` nor reserved words;
* static candidate users / groups must be comma-separated lists, static dates valid date-times;
* every FEEL expression must parse (as in Zeebe, an unknown function is not a deploy error: Camunda evaluates it to null).

What the embedded engine refuses because it does not implement it (never silently ignored):
process-level execution listeners and ones of other event types than start / end, task
listeners, ad-hoc subprocesses, decision bindings other than ``latest``, and any ``zeebe:``
extension element it does not know.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple
from xml.etree.ElementTree import Element as XmlElement

from . import timers
from .expressions import ExpressionSyntaxError, compile_value

__all__ = ["Problem", "validate", "format_problems", "UNSUPPORTED_EXTENSIONS", "KNOWN_EXTENSIONS"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_B = "{%s}" % BPMN_NS
_Z = "{%s}" % ZEEBE_NS

#: Zeebe's variable path pattern and the FEEL words a path may not be (ZeebeExpressionValidator)
_PATH = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)*")
_PATH_TEXT = "[a-zA-Z_][a-zA-Z0-9_]*(\\.[a-zA-Z_][a-zA-Z0-9_]*)*"
_RESERVED_HEADER_PREFIX = "io.camunda.zeebe:"
_RESERVED = ("null", "true", "false", "function", "if", "then", "else", "for", "between", "instance", "of")

#: zeebe: extension elements the engine knows (handled by the parser, or pure metadata that does
#: not change how an instance runs); children of these are checked by their parent's rules
KNOWN_EXTENSIONS = frozenset({
    "taskDefinition", "taskHeaders", "header", "ioMapping", "input", "output", "subscription",
    "calledElement", "calledDecision", "loopCharacteristics", "userTask", "script", "formDefinition",
    "userTaskForm", "assignmentDefinition", "taskSchedule", "priorityDefinition", "properties",
    "property", "versionTag", "executionListeners", "executionListener",
})
#: zeebe: extension elements whose behaviour the engine does not implement -> why
UNSUPPORTED_EXTENSIONS: Dict[str, str] = {
    "taskListeners": "task listeners ('zeebe:taskListeners') are not supported by the embedded engine",
    "taskListener": "task listeners ('zeebe:taskListener') are not supported by the embedded engine",
    "adHoc": "ad-hoc subprocesses ('zeebe:adHoc') are not supported by the embedded engine",
    "linkedResources": "linked resources ('zeebe:linkedResources') are not supported by the embedded engine",
    "linkedResource": "linked resources ('zeebe:linkedResource') are not supported by the embedded engine",
}
#: BPMN element types refused wherever they appear (nested scopes included)
_UNSUPPORTED_TYPES = {
    "adHocSubProcess": "ad-hoc subprocesses are not supported by the embedded engine",
}


@dataclass(frozen=True)
class Problem:
    """One deployment problem: where (Zeebe's element identifier) and what."""

    element: str
    message: str


def _local(tag: str) -> Tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


class _Walker:
    def __init__(self) -> None:
        self.problems: List[Problem] = []
        self.owner_type = ""  # BPMN type of the closest element with an id (for the messages)

    def add(self, where: str, message: str, attribute: Optional[str] = None) -> None:
        if attribute is not None:
            message = f"{message} (attribute '{attribute}' in {self.owner_type})"
        self.problems.append(Problem(where, message))

    # --------------------------------------------------------------- expression rules
    def expression(self, where: str, text: Optional[str], attribute: str, *, mandatory: bool, non_static: bool,
                   static_check: Optional[Tuple[Callable[[str], bool], str]] = None) -> None:
        """Zeebe's ExpressionVerification: presence, parse, and the static-value rules."""
        if text is None:
            if mandatory:
                self.add(where, "Expected expression but not found.", attribute)
            return
        try:
            value = compile_value(text)
        except ExpressionSyntaxError as exc:
            self.add(where, str(exc), attribute)
            return
        if value.is_expression:
            return
        if non_static:
            self.add(where, f"Expected expression but found static value '{text}'. An expression must start "
                            f"with '=' (e.g. '={text}').", attribute)
        elif static_check is not None and not static_check[0](text):
            self.add(where, f"Expected static value to {static_check[1]}, but found '{text}'.", attribute)

    def timer(self, where: str, name: str, text: str) -> None:
        """A timer value: FEEL must parse; a static one must be a valid date / duration / cycle."""
        kind = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}[name]
        try:
            value = compile_value(text)
        except ExpressionSyntaxError as exc:
            self.add(where, str(exc), name)
            return
        if value.is_expression:
            return
        try:
            _TIMER_PARSERS[name](text)
        except (ValueError, OverflowError) as exc:
            self.add(where, f"Invalid timer {kind} expression ({exc})", name)

    def path(self, where: str, text: Optional[str], attribute: str = "target") -> None:
        if not text:
            self.add(where, "Expected path expression but not found.", attribute)
            return
        if not _PATH.fullmatch(text):
            self.add(where, f"Expected path expression '{text}' but doesn't match the pattern '{_PATH_TEXT}'.",
                     attribute)
        if text in _RESERVED:
            self.add(where, f"Expected path expression '{text}' but is one of the reserved words "
                            f"({', '.join(_RESERVED)}).", attribute)

    # --------------------------------------------------------------- the walk
    def walk(self, node: XmlElement, owner: str, path: str) -> None:
        """Visit ``node`` and its subtree; ``owner`` is the closest id, ``path`` the identifier."""
        ns, name = _local(node.tag)
        node_id = node.get("id")
        if node_id and ns == BPMN_NS and _names_element(name):
            owner, path = node_id, node_id
            self.owner_type = name
        if ns == BPMN_NS:
            self.bpmn_element(node, name, path)
        elif ns == ZEEBE_NS and not self.zeebe_element(node, name, path):
            return  # refused as a whole: its children are not looked at
        owner_type = self.owner_type
        for child in node:
            self.owner_type = owner_type
            cns, cname = _local(child.tag)
            if cns not in (BPMN_NS, ZEEBE_NS):
                continue  # diagram interchange, Camunda 7 or modeler extensions: no behaviour here
            named = child.get("id") and cns == BPMN_NS and _names_element(cname)
            child_path = path if named else f"{path} > {cname}"
            self.walk(child, owner, child_path)

    def bpmn_element(self, node: XmlElement, name: str, where: str) -> None:
        if name in _UNSUPPORTED_TYPES:
            self.add(where, f"Element of type '{name}': {_UNSUPPORTED_TYPES[name]}")
        if name == "conditionExpression":
            self.expression(where, (node.text or "").strip(), "conditionExpression", mandatory=True, non_static=True)
        elif name == "completionCondition":
            self.expression(where, (node.text or "").strip() or None, "completionCondition", mandatory=False,
                            non_static=False)
        elif name in _TIMER_PARSERS:
            self.timer(where, name, (node.text or "").strip())
        elif name in ("message", "signal", "escalation"):
            if node.get("name") is not None:
                self.expression(where, node.get("name"), "name", mandatory=False, non_static=False)

    def zeebe_element(self, node: XmlElement, name: str, where: str) -> bool:
        """Check one zeebe: element; False if it is refused as a whole."""
        if name in UNSUPPORTED_EXTENSIONS:
            self.add(where, f"Extension element 'zeebe:{name}' in {self.owner_type}: {UNSUPPORTED_EXTENSIONS[name]}")
            return False
        if name not in KNOWN_EXTENSIONS:
            self.add(where, f"Extension element 'zeebe:{name}' in {self.owner_type} is not known to the embedded "
                            "engine, which refuses what it cannot run")
            return False
        check = _ZEEBE_RULES.get(name)
        if check is not None:
            check(self, node, where)
        return True


def _names_element(name: str) -> bool:
    """Whether an id on this BPMN element names it in messages (event definitions and other
    parts of an element carry ids too, but the user knows the element by the flow node's id)."""
    return not name.endswith(("EventDefinition", "LoopCharacteristics", "Expression", "Condition"))


def _input(w: _Walker, node: XmlElement, where: str) -> None:
    # no source means null (Zeebe accepts an empty input source since 8.8)
    w.expression(where, node.get("source"), "source", mandatory=False, non_static=False)
    w.path(where, node.get("target"))


def _output(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("source"), "source", mandatory=True, non_static=True)
    w.path(where, node.get("target"))


def _subscription(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("correlationKey"), "correlationKey", mandatory=True, non_static=True)


def _loop(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("inputCollection"), "inputCollection", mandatory=True, non_static=True)
    w.expression(where, node.get("outputElement"), "outputElement", mandatory=False, non_static=True)


#: elements whose work a zeebe:taskDefinition may describe (a job); elsewhere Zeebe refuses it
_JOB_ELEMENTS = ("serviceTask", "sendTask", "scriptTask", "businessRuleTask", "intermediateThrowEvent", "endEvent",
                 "adHocSubProcess")


def _task_definition(w: _Walker, node: XmlElement, where: str) -> None:
    if w.owner_type not in _JOB_ELEMENTS:
        w.add(where, f"Extension element 'zeebe:taskDefinition' is not allowed on a {w.owner_type} (only on "
                     "service, send, script and business rule tasks and message throw / end events)")
        return
    w.expression(where, node.get("type"), "type", mandatory=True, non_static=False)
    w.expression(where, node.get("retries", "3"), "retries", mandatory=True, non_static=False)


def _binding(w: _Walker, node: XmlElement, where: str, what: str) -> None:
    binding = (node.get("bindingType") or "latest").strip()
    if binding != "latest":
        w.add(where, f"Attribute 'bindingType' of '{what}' is '{binding}': only 'latest' is supported by the "
                     "embedded engine (it always calls the latest deployed version)")


def _called_element(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("processId"), "processId", mandatory=True, non_static=False)


def _called_decision(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("decisionId"), "decisionId", mandatory=True, non_static=False)
    _binding(w, node, where, "zeebe:calledDecision")


def _csv(text: str) -> bool:
    return all(part.strip() for part in text.split(",")) if text.strip() else False


def _assignment(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("assignee"), "assignee", mandatory=False, non_static=False)
    for attr in ("candidateGroups", "candidateUsers"):
        w.expression(where, node.get(attr), attr, mandatory=False, non_static=False,
                     static_check=(_csv, "be a list of comma-separated values, e.g. 'a,b,c'"))


def _date_time(text: str) -> bool:
    return _parses(timers.parse_date_time)(text)


def _schedule(w: _Walker, node: XmlElement, where: str) -> None:
    for attr in ("dueDate", "followUpDate"):
        w.expression(where, node.get(attr), attr, mandatory=False, non_static=False,
                     static_check=(_date_time, "be a valid DateTime String, e.g. '2023-03-02T15:35+02:00'"))


def _parses(parse: Callable[[str], object]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            parse(text)
        except (ValueError, OverflowError):
            return False
        return True
    return check


def _check_duration(text: str) -> None:
    timers.parse_interval(text).after(timers.utc_now())  # a huge one overflows


def _check_cycle(text: str) -> None:
    timers.parse_cycle(text).first_due(timers.utc_now())


#: timer element -> a function raising ValueError / OverflowError for an invalid static value
_TIMER_PARSERS: Dict[str, Callable[[str], object]] = {
    "timeDate": timers.parse_date_time, "timeDuration": _check_duration, "timeCycle": _check_cycle,
}


def _priority(text: str) -> bool:
    try:
        return 0 <= int(text.strip()) <= 100
    except ValueError:
        return False


def _priority_definition(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("priority"), "priority", mandatory=True, non_static=False,
                 static_check=(_priority, "be a valid Number between 0 and 100"))


def _script(w: _Walker, node: XmlElement, where: str) -> None:
    w.expression(where, node.get("expression"), "expression", mandatory=True, non_static=True)


def _execution_listener(w: _Walker, node: XmlElement, where: str) -> None:
    event_type = (node.get("eventType") or "").strip()
    if w.owner_type == "process":
        w.add(where, "process-level execution listeners are not supported by the embedded engine (listeners on "
                     "flow elements are)", "eventType")
    elif event_type not in ("start", "end"):
        w.add(where, f"Expected an execution listener of event type 'start' or 'end', but found '{event_type}' "
                     "(the embedded engine supports these two)", "eventType")
    w.expression(where, node.get("type"), "type", mandatory=True, non_static=False)
    w.expression(where, node.get("retries", "3"), "retries", mandatory=True, non_static=False)


def _form_definition(w: _Walker, node: XmlElement, where: str) -> None:
    given = [a for a in ("formKey", "formId", "externalReference") if (node.get(a) or "").strip()]
    if len(given) != 1:
        w.add(where, "Exactly one of the attributes 'formId', 'formKey' or 'externalReference' must be present and "
                     "not empty")


def _task_headers(w: _Walker, node: XmlElement, where: str) -> None:
    keys = [h.get("key") for h in node.findall(_Z + "header") if h.get("key") is not None]
    for key in keys:
        if key.startswith(_RESERVED_HEADER_PREFIX):
            w.add(where, f"Attribute 'key' contains '{key}', but header keys starting with "
                         f"'{_RESERVED_HEADER_PREFIX}' are reserved for internal use.")
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        w.add(where, f"Headers contain duplicate entries for key '{key}'")


_ZEEBE_RULES: Dict[str, Callable[[_Walker, XmlElement, str], None]] = {
    "input": _input, "output": _output, "subscription": _subscription, "loopCharacteristics": _loop,
    "taskDefinition": _task_definition, "calledElement": _called_element, "calledDecision": _called_decision,
    "assignmentDefinition": _assignment, "taskSchedule": _schedule, "priorityDefinition": _priority_definition,
    "script": _script, "taskHeaders": _task_headers, "executionListener": _execution_listener,
    "formDefinition": _form_definition,
}


def validate(root: XmlElement) -> List[Problem]:
    """Every problem of one ``bpmn:definitions`` document, in document order."""
    walker = _Walker()
    for child in root:
        ns, name = _local(child.tag)
        if ns != BPMN_NS:
            continue
        if name == "process" and child.get("isExecutable", "false").strip().lower() != "true":
            continue  # Zeebe deploys executable processes only; drafts beside them are not checked
        if name in ("process", "message", "signal", "escalation", "error"):
            walker.walk(child, child.get("id", name), child.get("id", name))
    return walker.problems


# "Element 'x' of type 'y': ..." / "Sequence flow 'f': ..." / "Process 'p': ..." -> element x / f / p
_LEGACY = re.compile(r"^(?:Element|Sequence flow|Process|Message) '([^']*)'")


def format_problems(problems: List[Problem], legacy: List[str]) -> str:
    """Zeebe's validation text: ``- Element: <id>`` then ``    - ERROR: <message>`` per problem,
    grouped by element in first-seen order. ``legacy`` are the model parser's one-line problems;
    their element is read from their leading ``Element 'id'`` (the whole line is the message)."""
    grouped: Dict[str, List[str]] = {}
    for problem in problems:
        grouped.setdefault(problem.element, []).append(problem.message)
    for line in legacy:
        if any(line.endswith(problem.message) for problem in problems):
            continue  # the same expression error, already named by the checks
        match = _LEGACY.match(line)
        grouped.setdefault(match.group(1) if match else "definitions", []).append(line)
    out = []
    for element, messages in grouped.items():
        out.append(f"- Element: {element}")
        out.extend(f"    - ERROR: {message}" for message in _unique(messages))
    return "\n".join(out)


def _unique(messages: List[str]) -> Iterator[str]:
    seen = set()
    for message in messages:
        if message not in seen:
            seen.add(message)
            yield message
