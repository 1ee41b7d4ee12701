"""Parse and validate BPMN 2.0 XML into the immutable :mod:`.model`.

Parsing is done with :mod:`defusedxml` (entity declarations, external references and DTD tricks
are refused) and by namespace, never by prefix. Validation collects every problem it finds so the
deployer sees them all at once, in the spirit of Zeebe's own deployment rejection. Anything
outside the supported BPMN subset is refused, naming the element id and type.
"""
from __future__ import annotations

import hashlib
import json
from typing import Dict, List, Optional, Sequence, Tuple
from xml.etree.ElementTree import Element as XmlElement
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from . import model, validation
from .expressions import ExpressionSyntaxError, Value, compile_value

__all__ = ["BpmnParseError", "parse_resource", "checksum", "BPMN_NS", "ZEEBE_NS"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

_B = "{%s}" % BPMN_NS
_Z = "{%s}" % ZEEBE_NS

#: BPMN flow nodes we execute -> model kind
_FLOW_NODES = {
    "startEvent": model.START_EVENT,
    "endEvent": model.END_EVENT,
    "serviceTask": model.SERVICE_TASK,
    "exclusiveGateway": model.EXCLUSIVE_GATEWAY,
    "parallelGateway": model.PARALLEL_GATEWAY,
    "intermediateCatchEvent": model.INTERMEDIATE_CATCH,
    "intermediateThrowEvent": model.INTERMEDIATE_THROW,
    "receiveTask": model.RECEIVE_TASK,
    "boundaryEvent": model.BOUNDARY_EVENT,
    "callActivity": model.CALL_ACTIVITY,
    "eventBasedGateway": model.EVENT_BASED_GATEWAY,
    "inclusiveGateway": model.INCLUSIVE_GATEWAY,
    "userTask": model.USER_TASK,
    "sendTask": model.SEND_TASK,
    "scriptTask": model.SCRIPT_TASK,
    "businessRuleTask": model.BUSINESS_RULE_TASK,
    "task": model.TASK,
    "manualTask": model.MANUAL_TASK,
    "subProcess": model.SUB_PROCESS,
}
#: activities that may carry a multi-instance marker
_MULTI_INSTANCE_KINDS = (model.SERVICE_TASK, model.RECEIVE_TASK, model.USER_TASK, model.SEND_TASK, model.SCRIPT_TASK,
                         model.TASK, model.MANUAL_TASK, model.SUB_PROCESS, model.CALL_ACTIVITY)
#: kinds whose work is a job (``zeebe:taskDefinition``); script tasks only without ``zeebe:script``
_JOB_KINDS = (model.SERVICE_TASK, model.SEND_TASK, model.SCRIPT_TASK, model.BUSINESS_RULE_TASK)
#: process children that carry no behaviour
_IGNORED_PROCESS_CHILDREN = {
    "sequenceFlow", "extensionElements", "documentation", "laneSet", "textAnnotation",
    "association", "dataObject", "dataObjectReference", "dataStoreReference", "group",
}
#: event definitions an event subprocess may start with (edge adds escalation and signal)
EVENT_SUBPROCESS_STARTS = [model.MESSAGE, model.TIMER, model.ERROR, model.SIGNAL, model.ESCALATION]
_EVENT_DEFINITIONS = {
    "messageEventDefinition": model.MESSAGE,
    "timerEventDefinition": model.TIMER,
    "errorEventDefinition": model.ERROR,
    "signalEventDefinition": model.SIGNAL,
    "escalationEventDefinition": model.ESCALATION,
    "linkEventDefinition": model.LINK,
    "terminateEventDefinition": model.TERMINATE,
    "compensateEventDefinition": model.COMPENSATION,
}
_EVENT_NAMES = {model.NONE: "none", model.MESSAGE: "message", model.TIMER: "timer", model.ERROR: "error",
                model.SIGNAL: "signal", model.ESCALATION: "escalation", model.LINK: "link",
                model.TERMINATE: "terminate", model.COMPENSATION: "compensation"}
#: timer definitions Zeebe allows, per event kind (process-level start events: date and cycle -
#: checked after the scopes are known; intermediate catch: date and duration; boundary: all, a
#: cycle only when non-interrupting; event subprocess starts: all, a cycle only when non-interrupting)
_TIMER_KINDS = {
    model.START_EVENT: ("timeDate", "timeDuration", "timeCycle"),
    model.INTERMEDIATE_CATCH: ("timeDate", "timeDuration"),
    model.BOUNDARY_EVENT: ("timeDate", "timeDuration", "timeCycle"),
}
#: activities a boundary event may be attached to
_BOUNDARY_HOSTS = (model.SERVICE_TASK, model.CALL_ACTIVITY, model.RECEIVE_TASK, model.USER_TASK, model.SEND_TASK,
                   model.SCRIPT_TASK, model.TASK, model.MANUAL_TASK, model.SUB_PROCESS, model.BUSINESS_RULE_TASK)


class BpmnParseError(ValueError):
    """A resource is not a valid, supported BPMN model.

    The message is Zeebe's validation text: ``'<resource>': - Element: <id>`` and one
    ``    - ERROR: <message>`` line per problem of that element, every problem of the file at once.

    Attributes:
        resource_name: The resource the problems were found in.
        problems: One line per problem of the model parser, each naming the element where it applies.
        checks: The problems of the extension checks (:mod:`.validation`).
    """

    def __init__(self, resource_name: str, problems: List[str],
                 checks: Sequence[validation.Problem] = ()) -> None:
        self.resource_name = resource_name
        self.problems = list(problems)
        self.checks = list(checks)
        super().__init__(f"'{resource_name}': " + validation.format_problems(self.checks, self.problems))


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def parse_resource(resource_name: str, content: bytes) -> List[model.Process]:
    """Parse one BPMN resource into its executable processes.

    Args:
        resource_name: Used in error messages.
        content: The XML bytes.

    Returns:
        One :class:`~.model.Process` per executable process, in document order.

    Raises:
        BpmnParseError: The XML is broken or unsafe, or the model is invalid or unsupported.
    """
    try:
        root = SafeET.fromstring(content)
    except defusedxml.DefusedXmlException as exc:
        raise BpmnParseError(resource_name, [
            f"refused unsafe XML ({type(exc).__name__}): entity declarations and external "
            "references are not allowed in BPMN resources; remove the DOCTYPE"
        ]) from exc
    except ParseError as exc:
        raise BpmnParseError(resource_name, [f"failed to parse XML: {exc}"]) from exc
    if root.tag != _B + "definitions":
        raise BpmnParseError(resource_name, [
            f"root element must be '{{{BPMN_NS}}}definitions', but was '{root.tag}'; "
            "is this a BPMN 2.0 file?"
        ])
    # the extension checks walk the whole document; their problems join the parser's in one error
    checks = validation.validate(root)
    try:
        processes = _Parser(resource_name, root).parse()
    except BpmnParseError as exc:
        raise BpmnParseError(resource_name, exc.problems, checks) from None
    if checks:
        raise BpmnParseError(resource_name, [], checks)
    return processes


def _local(tag: str) -> Tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


class _Parser:
    def __init__(self, resource_name: str, root: XmlElement) -> None:
        self.resource_name = resource_name
        self.root = root
        self.problems: List[str] = []
        self.messages: Dict[str, model.MessageRef] = {}
        self.errors: Dict[str, Optional[str]] = {}
        self.signals: Dict[str, Optional[str]] = {}
        self.escalations: Dict[str, Optional[str]] = {}

    # ------------------------------------------------------------------ helpers
    def problem(self, text: str) -> None:
        self.problems.append(text)

    def value(self, text: Optional[str], where: str) -> Optional[Value]:
        if text is None:
            return None
        try:
            return compile_value(text)
        except ExpressionSyntaxError as exc:
            self.problem(f"{where}: {exc}")
            return None

    @staticmethod
    def ext(node: XmlElement, name: str) -> List[XmlElement]:
        ext = node.find(_B + "extensionElements")
        if ext is None:
            return []
        return ext.findall(_Z + name)

    # ------------------------------------------------------------------ top level
    def parse(self) -> List[model.Process]:
        for msg in self.root.findall(_B + "message"):
            self.parse_message(msg)
        for err in self.root.findall(_B + "error"):
            if err.get("id"):
                self.errors[err.get("id", "")] = err.get("errorCode")
        for sig in self.root.findall(_B + "signal"):
            if sig.get("id"):
                self.signals[sig.get("id", "")] = sig.get("name")
        for esc in self.root.findall(_B + "escalation"):
            if esc.get("id"):
                self.escalations[esc.get("id", "")] = esc.get("escalationCode")
        processes = []
        for proc in self.root.findall(_B + "process"):
            if proc.get("isExecutable", "false").strip().lower() != "true":
                continue
            built = self.parse_process(proc)
            if built is not None:
                processes.append(built)
        if not processes and not self.problems:
            self.problem("Must contain at least one executable process")
        if self.problems:
            raise BpmnParseError(self.resource_name, self.problems)
        return processes

    def parse_message(self, msg: XmlElement) -> None:
        mid = msg.get("id", "")
        where = f"Message '{mid}'"
        name = self.value(msg.get("name"), where) if msg.get("name") else None
        subs = self.ext(msg, "subscription")
        key = None
        if subs:
            key_text = subs[0].get("correlationKey")
            key = self.value(key_text, where) if key_text else None
        if name is None:
            name = Value("", "", None)
        self.messages[mid] = model.MessageRef(mid, name, key)

    def parse_process(self, proc: XmlElement) -> Optional[model.Process]:
        pid = proc.get("id", "")
        if not pid:
            self.problem("Process: attribute 'id' must be present")
            return None
        flows: Dict[str, model.SequenceFlow] = {}
        flow_scopes: Dict[str, Optional[str]] = {}
        raw: Dict[str, dict] = {}
        self.collect(proc, None, raw, flows, flow_scopes)

        for fid, flow in flows.items():
            for end, ref in (("sourceRef", flow.source), ("targetRef", flow.target)):
                if ref not in raw:
                    self.problem(f"Sequence flow '{fid}': {end} '{ref}' does not name a flow node of process '{pid}'")
                elif raw[ref]["scope"] != flow_scopes[fid]:
                    self.problem(f"Sequence flow '{fid}': {end} '{ref}' is not in the same (sub)process as the flow")
        for fid, flow in flows.items():
            if flow.source in raw:
                raw[flow.source]["outgoing"].append(fid)
            if flow.target in raw:
                raw[flow.target]["incoming"].append(fid)

        for eid, data in raw.items():
            self.check_node(eid, data, raw, flows)
        # boundary events hang on their host activity
        for eid, data in raw.items():
            host = data.get("attached_to")
            if data["kind"] == model.BOUNDARY_EVENT and host in raw:
                raw[host]["boundary_events"].append(eid)
        for eid, data in raw.items():
            if data["boundary_events"]:
                self.check_boundaries(eid, data["boundary_events"], raw)

        process_event_subprocesses = self.check_scopes(raw)
        starts = [e for e, d in raw.items() if d["kind"] == model.START_EVENT and d["scope"] is None]
        for e in starts:
            if raw[e]["event"] not in (model.NONE, model.MESSAGE, model.TIMER, model.SIGNAL):
                self.problem(f"Element '{e}' of type 'startEvent': a {raw[e]['event']} start event of a process "
                             "is not supported (supported here: none, message, timer, signal)")
            elif raw[e]["event"] == model.TIMER and raw[e].get("timer_duration") is not None:
                self.problem(f"Element '{e}' of type 'startEvent': a timer 'timeDuration' is not allowed here "
                             "(allowed: timeDate, timeCycle)")
        for e, d in raw.items():  # event subprocess starts: a cycle only when non-interrupting
            if d["kind"] == model.START_EVENT and d["scope"] is not None and d.get("timer_cycle") is not None \
                    and d.get("interrupting", True):
                self.problem(f"Element '{e}' of type 'startEvent': a timer 'timeCycle' is not allowed on an "
                             "interrupting event subprocess start (allowed: timeDate, timeDuration)")
        if not starts:
            self.problem(f"Process '{pid}': Must have at least one start event")
        none_starts = [e for e in starts if raw[e]["event"] == model.NONE]
        if len(none_starts) > 1:
            self.problem(f"Process '{pid}': Must have at most one none start event, found {none_starts}")
        message_starts = tuple(e for e in starts if raw[e]["event"] == model.MESSAGE)
        timer_starts = tuple(e for e in starts if raw[e]["event"] == model.TIMER)
        signal_starts = tuple(e for e in starts if raw[e]["event"] == model.SIGNAL)
        link_catches = self.check_links(pid, raw)
        uses_compensation = self.check_compensation(proc, raw)
        names = [raw[e]["message"].name.text for e in message_starts if raw[e].get("message")]
        if len(set(names)) != len(names):
            self.problem(f"Process '{pid}': Multiple message start events with the same name are not allowed")

        elements = {}
        for eid, data in raw.items():
            data = dict(data)
            data["incoming"] = tuple(data["incoming"])
            data["outgoing"] = tuple(data["outgoing"])
            data["boundary_events"] = tuple(data["boundary_events"])
            elements[eid] = model.Element(id=eid, **data)
        return model.Process(
            bpmn_process_id=pid,
            name=proc.get("name", ""),
            elements=elements,
            flows=flows,
            none_start=none_starts[0] if none_starts else None,
            message_starts=message_starts,
            version_tag=_version_tag(proc),
            uses_compensation=uses_compensation,
            timer_starts=timer_starts,
            signal_starts=signal_starts,
            link_catches=link_catches,
            event_subprocesses=process_event_subprocesses,
        )

    def check_scopes(self, raw: Dict[str, dict]) -> Tuple[str, ...]:
        """Check the start events of every subprocess and link each scope to its event
        subprocesses; returns the ids of the process's own event subprocesses."""
        starts: Dict[Optional[str], List[str]] = {}
        for eid, data in raw.items():
            if data["kind"] == model.START_EVENT:
                starts.setdefault(data["scope"], []).append(eid)
        process_esps: List[str] = []
        for eid, data in raw.items():
            if data["kind"] != model.SUB_PROCESS:
                continue
            where = f"Element '{eid}' of type 'subProcess'"
            inner = starts.get(eid, [])
            if len(inner) != 1:
                self.problem(f"{where}: Must have exactly one start event, found {len(inner)}")
                continue
            start = raw[inner[0]]
            data["start"] = inner[0]
            start_where = f"Element '{inner[0]}' of type 'startEvent'"
            if not data["triggered_by_event"]:
                if start["event"] != model.NONE:
                    self.problem(f"{start_where}: the start event of an embedded subprocess must be a none start "
                                 "event")
                continue
            if data["incoming"] or data["outgoing"]:
                self.problem(f"{where}: an event subprocess must not have incoming or outgoing sequence flows")
            if start["event"] not in EVENT_SUBPROCESS_STARTS:
                self.problem(f"{start_where}: the start event of an event subprocess must have an event definition "
                             f"(supported here: {', '.join(EVENT_SUBPROCESS_STARTS)})")
            if start["event"] == model.ERROR and not start.get("interrupting", True):
                self.problem(f"{start_where}: an error start event is always interrupting "
                             "(isInterrupting='false' not allowed)")
            message = start.get("message")
            if start["event"] == model.MESSAGE and message is not None and message.correlation_key is None:
                self.problem(f"{start_where}: Message '{message.id}' must have a 'zeebe:subscription' with a "
                             "correlationKey")
            if data["scope"] is None:
                process_esps.append(eid)
            else:
                raw[data["scope"]]["event_subprocesses"].append(eid)
        for eid, data in raw.items():
            data["event_subprocesses"] = tuple(data["event_subprocesses"])
        return tuple(process_esps)

    def collect(self, container: XmlElement, scope: Optional[str], raw: Dict[str, dict],
                flows: Dict[str, model.SequenceFlow], flow_scopes: Dict[str, Optional[str]]) -> None:
        """Parse the flow nodes and sequence flows of a process or subprocess, nested ones too,
        into one flat map; each node remembers its enclosing subprocess (``scope``)."""
        for flow in container.findall(_B + "sequenceFlow"):
            fid = flow.get("id", "")
            cond_node = flow.find(_B + "conditionExpression")
            cond = None
            if cond_node is not None and (cond_node.text or "").strip():
                cond = self.value(cond_node.text.strip(), f"Sequence flow '{fid}'")
            flows[fid] = model.SequenceFlow(fid, flow.get("sourceRef", ""), flow.get("targetRef", ""), cond)
            flow_scopes[fid] = scope
        for child in container:
            ns, name = _local(child.tag)
            if ns != BPMN_NS:
                continue
            if name in _IGNORED_PROCESS_CHILDREN or name in ("multiInstanceLoopCharacteristics",
                                                            "standardLoopCharacteristics", "incoming", "outgoing"):
                continue
            eid = child.get("id", "")
            if name not in _FLOW_NODES:
                self.problem(
                    f"Element '{eid}' of type '{name}' is not supported by the embedded engine "
                    "(supported: " + ", ".join(sorted(_FLOW_NODES)) + ")"
                )
                continue
            if eid in raw:
                self.problem(f"Element '{eid}': duplicate id")
                continue
            data = self.parse_node(child, name, eid)
            data["scope"] = scope
            raw[eid] = data
            if name == "subProcess":
                self.collect(child, eid, raw, flows, flow_scopes)

    # ------------------------------------------------------------------ flow nodes
    def parse_node(self, node: XmlElement, tag: str, eid: str) -> dict:
        kind = _FLOW_NODES[tag]
        where = f"Element '{eid}' of type '{tag}'"
        data: dict = {"kind": kind, "name": node.get("name", ""), "incoming": [], "outgoing": [],
                      "boundary_events": [], "event_subprocesses": []}
        definitions = [c for c in node if _local(c.tag)[0] == BPMN_NS and _local(c.tag)[1].endswith("EventDefinition")]
        event = model.NONE
        if len(definitions) > 1:
            self.problem(f"{where}: Must have at most one event definition")
        elif definitions:
            dname = _local(definitions[0].tag)[1]
            event = _EVENT_DEFINITIONS.get(dname, "")
            if not event:
                self.problem(f"{where}: event definition '{dname}' is not supported by the embedded engine")
                event = model.NONE
        data["event"] = event
        definition = definitions[0] if definitions else None
        if node.find(_B + "standardLoopCharacteristics") is not None:
            # Zeebe has no standard loops; running the activity once would be silently wrong
            self.problem(f"{where}: 'standardLoopCharacteristics' is not supported (use a multi-instance marker)")
        multi = node.find(_B + "multiInstanceLoopCharacteristics")
        if multi is not None:
            self.parse_loop(multi, kind, data, where)

        allowed = {
            # timer / error / escalation starts of event subprocesses: check_scopes checks where
            model.START_EVENT: (model.NONE, model.MESSAGE, model.TIMER, model.ERROR, model.SIGNAL, model.ESCALATION),
            model.END_EVENT: (model.NONE, model.ERROR, model.MESSAGE, model.TERMINATE, model.SIGNAL, model.ESCALATION,
                              model.COMPENSATION),
            model.INTERMEDIATE_CATCH: (model.MESSAGE, model.TIMER, model.SIGNAL, model.LINK),
            model.INTERMEDIATE_THROW: (model.NONE, model.MESSAGE, model.SIGNAL, model.ESCALATION, model.LINK,
                                       model.COMPENSATION),
            model.BOUNDARY_EVENT: (model.ERROR, model.MESSAGE, model.TIMER, model.SIGNAL, model.ESCALATION,
                                   model.COMPENSATION),
        }.get(kind, (model.NONE,))
        if event not in allowed:
            kinds = _EVENT_NAMES
            self.problem(
                f"{where}: a {kinds.get(event, event)} {tag} is not supported by the embedded engine "
                f"(supported here: {', '.join(kinds[a] for a in allowed)})"
            )

        scripts = self.ext(node, "script") if kind == model.SCRIPT_TASK else []
        if scripts:
            self.parse_script(node, scripts, data, where)
        if kind == model.BUSINESS_RULE_TASK:
            scripts = self.ext(node, "calledDecision")  # a called decision is not a job either
            if scripts:
                self.parse_called_decision(node, scripts, data, where)
        is_job = kind in _JOB_KINDS and not scripts or (
            kind in (model.END_EVENT, model.INTERMEDIATE_THROW) and event == model.MESSAGE)
        if kind == model.USER_TASK:
            self.parse_user_task(node, data, where)
        if is_job:
            defs = self.ext(node, "taskDefinition")
            if len(defs) != 1:
                self.problem(f"{where}: Must have exactly one 'zeebe:taskDefinition' extension element")
            else:
                jtype = defs[0].get("type", "").strip()
                if not jtype:
                    self.problem(f"{where}: Attribute 'type' of 'zeebe:taskDefinition' must be present and not empty")
                else:
                    data["job_type"] = self.value(jtype, where)
                retries = defs[0].get("retries", "3").strip() or "3"
                rv = self.value(retries, where)
                if rv is not None and not rv.is_expression:
                    try:
                        rv = Value(retries, int(retries), None)
                    except ValueError:
                        self.problem(f"{where}: retries '{retries}' must be an integer or an expression")
                        rv = None
                data["job_retries"] = rv
            headers = []
            for hs in self.ext(node, "taskHeaders"):
                for h in hs.findall(_Z + "header"):
                    headers.append((h.get("key", ""), h.get("value", "")))
            # serialised once here, not under the engine lock for every job
            data["headers"] = json.dumps(dict(headers)) if headers else "{}"

        self.parse_listeners(node, data, where)
        mappings = self.ext(node, "ioMapping")
        if len(mappings) > 1:
            self.problem(f"{where}: Must have at most one 'zeebe:ioMapping' extension element")
        if mappings:
            if kind in (model.EXCLUSIVE_GATEWAY, model.PARALLEL_GATEWAY):
                self.problem(f"{where}: 'zeebe:ioMapping' is not allowed on gateways")
            data["inputs"] = self.parse_mappings(mappings[0], "input", where)
            data["outputs"] = self.parse_mappings(mappings[0], "output", where)

        if kind in (model.EXCLUSIVE_GATEWAY, model.INCLUSIVE_GATEWAY):
            data["default_flow"] = node.get("default")
        if definition is not None and event in (model.SIGNAL, model.ESCALATION, model.LINK):
            self.parse_named_event(kind, event, definition, data, where, node)
        if definition is not None and event == model.COMPENSATION and kind != model.BOUNDARY_EVENT:
            if (definition.get("waitForCompletion") or "true").strip().lower() == "false":
                self.problem(f"{where}: waitForCompletion='false' is not supported (Zeebe waits for the handlers)")
            data["compensate_activity"] = (definition.get("activityRef") or "").strip() or None
        if node.get("isForCompensation", "false").strip().lower() == "true":
            data["is_for_compensation"] = True

        if (event == model.MESSAGE and not is_job) or kind == model.RECEIVE_TASK:
            ref = node.get("messageRef") if kind == model.RECEIVE_TASK else (
                definition.get("messageRef") if definition is not None else None)
            msg = self.messages.get(ref or "")
            if msg is None:
                self.problem(f"{where}: Must reference a message (messageRef '{ref or ''}' not found)")
            else:
                if not msg.name.text:
                    self.problem(f"{where}: Message '{msg.id}' must have a name")
                if kind != model.START_EVENT and msg.correlation_key is None:
                    self.problem(
                        f"{where}: Message '{msg.id}' must have a 'zeebe:subscription' with a correlationKey"
                    )
                data["message"] = msg

        if event == model.TIMER and definition is not None:
            self.parse_timer(kind, definition, data, where, node)

        if event == model.ERROR and definition is not None:
            ref = definition.get("errorRef")
            if kind == model.END_EVENT:
                if not ref or ref not in self.errors or not self.errors.get(ref):
                    self.problem(f"{where}: Must reference an error with an errorCode (errorRef '{ref or ''}')")
                else:
                    data["error_code"] = self.value(self.errors[ref] or "", where)
            elif kind in (model.BOUNDARY_EVENT, model.START_EVENT):
                if ref:
                    if ref not in self.errors:
                        self.problem(f"{where}: errorRef '{ref}' does not name a bpmn:error")
                    else:
                        code = self.errors[ref]
                        if code and code.strip().startswith("="):
                            self.problem(f"{where}: the errorCode of a catching error event must be static")
                        data["catch_error_code"] = code or None

        if kind == model.SUB_PROCESS:
            data["triggered_by_event"] = node.get("triggeredByEvent", "false").strip().lower() == "true"
        if kind == model.START_EVENT:
            # only meaningful for the start event of an event subprocess
            data["interrupting"] = node.get("isInterrupting", "true").strip().lower() != "false"
        if kind == model.BOUNDARY_EVENT:
            data["attached_to"] = node.get("attachedToRef")
            data["interrupting"] = node.get("cancelActivity", "true").strip().lower() != "false"
            if not data["interrupting"] and event == model.ERROR:
                self.problem(f"{where}: an error boundary event is always interrupting (cancelActivity='false' not allowed)")

        if kind == model.CALL_ACTIVITY:
            called = self.ext(node, "calledElement")
            if len(called) != 1 or not called[0].get("processId", "").strip():
                self.problem(f"{where}: Must have exactly one 'zeebe:calledElement' extension element with a processId")
            else:
                data["called_process_id"] = self.value(called[0].get("processId", "").strip(), where)
                data["propagate_all_child_variables"] = (
                    called[0].get("propagateAllChildVariables", "true").strip().lower() != "false")
                binding = (called[0].get("bindingType") or "latest").strip()
                data["called_binding"] = binding
                if binding == "versionTag":
                    tag = (called[0].get("versionTag") or "").strip()
                    if not tag:
                        self.problem(f"{where}: Attribute 'versionTag' of 'zeebe:calledElement' must be present and "
                                     "not empty when bindingType is 'versionTag'")
                    data["called_version_tag"] = tag
                elif binding not in ("latest", "deployment"):
                    self.problem(f"{where}: Attribute 'bindingType' of 'zeebe:calledElement' must be 'latest', "
                                 f"'deployment' or 'versionTag', but was '{binding}'")
                data["propagate_all_parent_variables"] = (
                    called[0].get("propagateAllParentVariables", "true").strip().lower() != "false")
        return data

    def parse_listeners(self, node: XmlElement, data: dict, where: str) -> None:
        """``zeebe:executionListeners``: start and end listener jobs (validation checks the values)."""
        starts, ends = [], []
        for group in self.ext(node, "executionListeners"):
            for listener in group.findall(_Z + "executionListener"):
                event_type = (listener.get("eventType") or "").strip()
                job_type = self.value((listener.get("type") or "").strip(), where)
                retries = self.value((listener.get("retries") or "3").strip(), where)
                if job_type is None or retries is None or not job_type.text:
                    continue
                if event_type not in ("start", "end"):
                    continue  # validation names it
                target = starts if event_type == "start" else ends
                target.append(model.Listener(event_type, job_type, retries))
        if starts:
            data["start_listeners"] = tuple(starts)
        if ends:
            data["end_listeners"] = tuple(ends)

    def parse_timer(self, kind: str, definition: XmlElement, data: dict, where: str, node: XmlElement) -> None:
        found = [(name, (definition.find(_B + name).text or "").strip())  # type: ignore[union-attr]
                 for name in ("timeDuration", "timeDate", "timeCycle") if definition.find(_B + name) is not None]
        if len(found) != 1:
            self.problem(f"{where}: Must have exactly one of 'timeDuration', 'timeDate' or 'timeCycle'")
            return
        name, text = found[0]
        allowed = _TIMER_KINDS.get(kind, ())
        if kind == model.BOUNDARY_EVENT and node.get("cancelActivity", "true").strip().lower() != "false":
            allowed = ("timeDate", "timeDuration")  # an interrupting timer fires once: a cycle makes no sense
        if name not in allowed:
            self.problem(f"{where}: a timer '{name}' is not allowed here (allowed: {', '.join(allowed)})")
            return
        if not text:
            return  # validation reports the empty value
        value = self.value(text, where)
        data[{"timeDuration": "timer_duration", "timeDate": "timer_date", "timeCycle": "timer_cycle"}[name]] = value

    def parse_named_event(self, kind: str, event: str, definition: XmlElement, data: dict, where: str,
                          node: XmlElement) -> None:
        """Signal, escalation and link event definitions."""
        if event == model.LINK:
            name = (definition.get("name") or "").strip()
            if not name:
                self.problem(f"{where}: a link event must have a name")
            data["link_name"] = name
            return
        if event == model.SIGNAL:
            ref = definition.get("signalRef") or ""
            if ref not in self.signals or not (self.signals[ref] or "").strip():
                self.problem(f"{where}: Must reference a signal with a name (signalRef '{ref}')")
                return
            data["signal_name"] = self.value((self.signals[ref] or "").strip(), where)
            return
        ref = definition.get("escalationRef")
        code = self.escalations.get(ref or "") if ref else None
        if ref and ref not in self.escalations:
            self.problem(f"{where}: escalationRef '{ref}' does not name a bpmn:escalation")
            return
        if kind in (model.END_EVENT, model.INTERMEDIATE_THROW):
            if not code or not code.strip():
                self.problem(f"{where}: Must reference an escalation with an escalationCode (escalationRef "
                             f"'{ref or ''}')")
                return
            data["escalation_code"] = self.value(code.strip(), where)
        else:  # catching: no reference or an empty code catches every escalation
            if code and code.strip().startswith("="):
                self.problem(f"{where}: the escalationCode of a catching escalation event must be static")
            data["catch_escalation_code"] = code.strip() if code and code.strip() else None

    def parse_loop(self, multi: XmlElement, kind: str, data: dict, where: str) -> None:
        """``multiInstanceLoopCharacteristics`` + ``zeebe:loopCharacteristics`` (activities only)."""
        if kind not in _MULTI_INSTANCE_KINDS:
            self.problem(f"{where}: a multi-instance marker is only allowed on tasks, subprocesses and call "
                         "activities")
            return
        specs = self.ext(multi, "loopCharacteristics")
        if len(specs) != 1:
            self.problem(f"{where}: a multi-instance activity must have exactly one 'zeebe:loopCharacteristics' "
                         "extension element")
            return
        spec = specs[0]
        collection_text = (spec.get("inputCollection") or "").strip()
        if not collection_text:
            self.problem(f"{where}: Attribute 'inputCollection' of 'zeebe:loopCharacteristics' must be present "
                         "and not empty")
            return
        if not collection_text.startswith("="):
            self.problem(f"{where}: 'inputCollection' must be a FEEL expression starting with '=' "
                         f"(e.g. '= {collection_text}')")
            return
        collection = self.value(collection_text, where)
        output_collection = (spec.get("outputCollection") or "").strip() or None
        output_text = (spec.get("outputElement") or "").strip() or None
        if bool(output_collection) != bool(output_text):
            self.problem(f"{where}: 'outputCollection' and 'outputElement' of 'zeebe:loopCharacteristics' go "
                         "together: set both or neither")
        output_element = self.value(output_text, where) if output_text else None
        if output_element is not None and not output_element.is_expression:
            self.problem(f"{where}: 'outputElement' must be a FEEL expression starting with '='")
        condition = None
        condition_node = multi.find(_B + "completionCondition")
        if condition_node is not None and (condition_node.text or "").strip():
            condition_text = condition_node.text.strip()
            if not condition_text.startswith("="):
                self.problem(f"{where}: 'completionCondition' must be a FEEL expression starting with '='")
            else:
                condition = self.value(condition_text, where)
        if collection is None:
            return
        data["loop"] = model.LoopSpec(
            sequential=multi.get("isSequential", "false").strip().lower() == "true",
            input_collection=collection, input_element=(spec.get("inputElement") or "").strip() or None,
            output_collection=output_collection, output_element=output_element, completion_condition=condition)

    def parse_script(self, node: XmlElement, scripts: List[XmlElement], data: dict, where: str) -> None:
        """``zeebe:script``: a FEEL expression whose result goes into ``resultVariable``."""
        if len(scripts) > 1 or self.ext(node, "taskDefinition"):
            self.problem(f"{where}: Must have either one 'zeebe:script' or one 'zeebe:taskDefinition' extension "
                         "element")
            return
        expression = (scripts[0].get("expression") or "").strip()
        result = (scripts[0].get("resultVariable") or "").strip()
        if not expression.startswith("="):
            self.problem(f"{where}: the 'expression' of 'zeebe:script' must be a FEEL expression starting with '='")
        elif not result:
            self.problem(f"{where}: Attribute 'resultVariable' of 'zeebe:script' must be present and not empty")
        else:
            data["script"] = self.value(expression, where)
            data["result_variable"] = result

    def parse_called_decision(self, node: XmlElement, called: List[XmlElement], data: dict, where: str) -> None:
        """``zeebe:calledDecision decisionId=... resultVariable=...`` of a business rule task."""
        if len(called) > 1 or self.ext(node, "taskDefinition"):
            self.problem(f"{where}: Must have either one 'zeebe:calledDecision' or one 'zeebe:taskDefinition' "
                         "extension element")
            return
        decision_id = (called[0].get("decisionId") or "").strip()
        result = (called[0].get("resultVariable") or "").strip()
        if not decision_id:
            self.problem(f"{where}: Attribute 'decisionId' of 'zeebe:calledDecision' must be present and not empty")
        elif not result:
            self.problem(f"{where}: Attribute 'resultVariable' of 'zeebe:calledDecision' must be present and not "
                         "empty")
        else:
            data["called_decision"] = self.value(decision_id, where)
            data["result_variable"] = result

    def parse_user_task(self, node: XmlElement, data: dict, where: str) -> None:
        """Assignment, schedule, form and priority of a Camunda or job-worker user task."""
        camunda = bool(self.ext(node, "userTask"))
        spec: dict = {"camunda": camunda}
        for ext_name, attributes in (("assignmentDefinition", ("assignee", "candidateGroups", "candidateUsers")),
                                     ("taskSchedule", ("dueDate", "followUpDate")),
                                     ("priorityDefinition", ("priority",))):
            found = self.ext(node, ext_name)
            if len(found) > 1:
                self.problem(f"{where}: Must have at most one 'zeebe:{ext_name}' extension element")
            if not found:
                continue
            for attribute in attributes:
                text = (found[0].get(attribute) or "").strip()
                if text:
                    field = {"candidateGroups": "candidate_groups", "candidateUsers": "candidate_users",
                             "dueDate": "due_date", "followUpDate": "follow_up_date"}.get(attribute, attribute)
                    spec[field] = self.value(text, where)
        priority = spec.get("priority")
        if priority is not None and not priority.is_expression:
            try:
                number = int(priority.text)
            except ValueError:
                number = -1
            if not 0 <= number <= 100:
                self.problem(f"{where}: the priority of a user task must be an integer from 0 to 100, got "
                             f"'{priority.text}'")
            else:
                spec["priority"] = Value(priority.text, number, None)
        forms = self.ext(node, "formDefinition")
        if len(forms) > 1:
            self.problem(f"{where}: Must have at most one 'zeebe:formDefinition' extension element")
        if forms:
            form = forms[0]
            set_attributes = [a for a in ("formKey", "formId", "externalReference") if (form.get(a) or "").strip()]
            if len(set_attributes) > 1:
                self.problem(f"{where}: 'zeebe:formDefinition' must have only one of formKey, formId, "
                             f"externalReference, found {set_attributes}")
            spec["form_key"] = (form.get("formKey") or "").strip() or None
            spec["form_id"] = (form.get("formId") or "").strip() or None
            if (form.get("externalReference") or "").strip():
                spec["external_reference"] = self.value(form.get("externalReference", "").strip(), where)
        data["user_task"] = model.UserTaskSpec(**spec)
        if not camunda:  # a job worker's task: the headers are static text, built per job when they are expressions
            data["job_type"] = Value(model.USER_TASK_JOB_TYPE, model.USER_TASK_JOB_TYPE, None)
            data["job_retries"] = Value("3", 3, None)
        headers = [(h.get("key", ""), h.get("value", "")) for hs in self.ext(node, "taskHeaders")
                   for h in hs.findall(_Z + "header")]
        data["headers"] = json.dumps(dict(headers)) if headers else "{}"

    def parse_mappings(self, io: XmlElement, tag: str, where: str) -> Tuple[model.Mapping, ...]:
        out = []
        for m in io.findall(_Z + tag):
            source, target = m.get("source"), (m.get("target") or "").strip()
            if not target:
                self.problem(f"{where}: every zeebe:{tag} needs a 'target'")
                continue
            value = self.value(source if source is not None else "=null", where)
            if value is not None:
                out.append(model.Mapping(value, target))
        return tuple(out)

    def check_node(self, eid: str, data: dict, raw: Dict[str, dict], flows: Dict[str, model.SequenceFlow]) -> None:
        kind = data["kind"]
        where = f"Element '{eid}' of type '{kind}'"
        if kind == model.START_EVENT and data["incoming"]:
            self.problem(f"{where}: Start events must not have incoming sequence flows")
        if kind == model.BOUNDARY_EVENT:
            if data["incoming"]:
                self.problem(f"{where}: Boundary events must not have incoming sequence flows")
            host = data.get("attached_to")
            if host not in raw:
                self.problem(f"{where}: attachedToRef '{host}' does not name an activity of this process")
            elif raw[host]["kind"] not in _BOUNDARY_HOSTS:
                self.problem(f"{where}: boundary events are supported on service tasks, receive tasks "
                             f"and call activities, not on '{raw[host]['kind']}'")
        if kind == model.END_EVENT and data["outgoing"]:
            self.problem(f"{where}: End events must not have outgoing sequence flows")
        for fid in data["outgoing"]:
            flow = flows[fid]
            if flow.condition is not None and kind not in (model.EXCLUSIVE_GATEWAY, model.INCLUSIVE_GATEWAY):
                self.problem(f"Sequence flow '{fid}': conditions are only supported on flows leaving an "
                             "exclusive or inclusive gateway")
        if kind == model.EVENT_BASED_GATEWAY:
            if len(data["outgoing"]) < 2:
                self.problem(f"{where}: Event-based gateway must have at least 2 outgoing sequence flows.")
            for fid in data["outgoing"]:
                target = raw.get(flows[fid].target)
                if target is None:
                    continue
                if target["kind"] != model.INTERMEDIATE_CATCH or target["event"] not in (
                        model.MESSAGE, model.TIMER, model.SIGNAL):
                    self.problem(f"{where}: Event-based gateway must not have an outgoing sequence flow to other "
                                 "elements than message, timer or signal intermediate catch events.")
        if kind in (model.EXCLUSIVE_GATEWAY, model.INCLUSIVE_GATEWAY):
            default = data.get("default_flow")
            if default and default not in data["outgoing"]:
                self.problem(f"{where}: default flow '{default}' must be an outgoing sequence flow of the gateway")
            if len(data["outgoing"]) > 1 or default:
                for fid in data["outgoing"]:
                    if fid != default and flows[fid].condition is None:
                        self.problem(f"Sequence flow '{fid}': Must have a condition expression, because it "
                                     f"leaves {kind} '{eid}' and is not its default flow")

    def check_compensation(self, proc: XmlElement, raw: Dict[str, dict]) -> bool:
        """Tie every compensation boundary event to its handler (through its association) and
        check handlers and throw events; True if the process uses compensation."""
        associations = {a.get("sourceRef", ""): a.get("targetRef", "") for a in proc.iter(_B + "association")}
        used = False
        for eid, data in raw.items():
            where = f"Element '{eid}' of type '{data['kind']}'"
            if data["kind"] == model.BOUNDARY_EVENT and data["event"] == model.COMPENSATION:
                used = True
                handler = associations.get(eid)
                host = raw.get(data.get("attached_to") or "")
                if handler not in raw or not raw[handler].get("is_for_compensation"):
                    self.problem(f"{where}: a compensation boundary event must be associated with a compensation "
                                 "handler (an activity with isForCompensation='true')")
                elif host is not None:
                    if host.get("loop") is not None:
                        self.problem(f"{where}: compensation of a multi-instance activity is not supported by the "
                                     "embedded engine")
                    host["compensation_handler"] = handler
                if data["outgoing"]:
                    self.problem(f"{where}: a compensation boundary event must not have outgoing sequence flows")
            if data.get("is_for_compensation"):
                if data["incoming"] or data["outgoing"]:
                    self.problem(f"{where}: a compensation handler must not have incoming or outgoing sequence flows")
                if data["boundary_events"]:
                    self.problem(f"{where}: a compensation handler must not have boundary events")
            ref = data.get("compensate_activity")
            if ref is not None and ref not in raw:
                self.problem(f"{where}: activityRef '{ref}' does not name an activity of this process")
        return used

    def check_links(self, pid: str, raw: Dict[str, dict]) -> Dict[str, str]:
        """Link catch events by scope and name (:func:`model.link_key`; unique in the scope);
        every link throw must find its catch in its own scope."""
        catches: Dict[str, str] = {}
        for eid, data in raw.items():
            if data["event"] == model.LINK and data["kind"] == model.INTERMEDIATE_CATCH:
                name = model.link_key(data.get("scope"), data.get("link_name") or "")
                if name in catches:
                    self.problem(f"Element '{eid}': Multiple intermediate catch link event definitions with the "
                                 f"same name '{name}' are not allowed.")
                catches[name] = eid
        for eid, data in raw.items():
            if data["event"] == model.LINK and data["kind"] == model.INTERMEDIATE_THROW:
                if model.link_key(data.get("scope"), data.get("link_name") or "") not in catches:
                    self.problem(f"Element '{eid}': Can't find a catch link event for the throw link event with "
                                 f"the name '{data.get('link_name') or ''}' in process '{pid}'.")
        return catches

    def check_boundaries(self, host: str, boundary_ids: List[str], raw: Dict[str, dict]) -> None:
        errors = [b for b in boundary_ids if raw[b]["event"] == model.ERROR]
        codes = [raw[b].get("catch_error_code") for b in errors]
        catch_all = [b for b, c in zip(errors, codes) if c is None]
        if len(catch_all) > 1:
            self.problem(f"Element '{host}': Must not have more than one catch-all error boundary event")
        specific = [c for c in codes if c is not None]
        if len(set(specific)) != len(specific):
            self.problem(f"Element '{host}': Multiple error catch events with the same error code are not allowed")


def _version_tag(proc: XmlElement) -> Optional[str]:
    """The ``zeebe:versionTag value`` of a process, if any (call activities may bind to it)."""
    ext = proc.find(_B + "extensionElements")
    tag = ext.find(_Z + "versionTag") if ext is not None else None
    value = (tag.get("value") or "").strip() if tag is not None else ""
    return value or None
