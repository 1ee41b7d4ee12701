"""Parse and validate a DMN 1.1-1.3 resource (as the Camunda Modeler writes it).

Parsing goes through :mod:`defusedxml`; every FEEL text is compiled here so a broken input
entry, output entry or expression refuses the deployment, naming the decision, the rule and the
column. Problems are collected, not stopped at the first one.
"""
from __future__ import annotations

import hashlib
from typing import Dict, List, Optional, Set, Tuple
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from zeebe_affinity_sync.engine import feel
from zeebe_affinity_sync.engine.dmn import model

__all__ = ["DmnParseError", "parse_dmn", "DMN_NAMESPACES"]

DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",   # DMN 1.3 (Camunda Modeler 4+)
    "http://www.omg.org/spec/DMN/20180521/MODEL/",    # DMN 1.2
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",   # DMN 1.1
    "http://www.omg.org/spec/DMN/20151101/dmn11.xsd",  # DMN 1.1 (as Camunda 7 tools write it)
)
_CAMUNDA_NS = "{http://camunda.org/schema/1.0/dmn}"
_UNSUPPORTED_HIT_POLICIES = ("PRIORITY", "OUTPUT ORDER")


class DmnParseError(ValueError):
    """A resource is not a valid DMN model Camunda 8.8 can evaluate.

    Attributes:
        resource_name: The resource the problems were found in.
        problems: One line per problem, each naming the element where it applies.
    """

    def __init__(self, resource_name: str, problems: List[str]) -> None:
        self.resource_name = resource_name
        self.problems = list(problems)
        super().__init__(f"'{resource_name}': " + "; ".join(self.problems))


def _local(tag: str) -> Tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def parse_dmn(resource_name: str, content: bytes) -> model.DecisionGraph:
    """Parse one DMN resource.

    Raises:
        DmnParseError: Broken or unsafe XML, or an invalid/unsupported model (all problems listed).
    """
    try:
        root = SafeET.fromstring(content)
    except defusedxml.DefusedXmlException as exc:
        raise DmnParseError(resource_name, [
            f"refused unsafe XML ({type(exc).__name__}): entity declarations and external references "
            "are not allowed in DMN resources; remove the DOCTYPE"]) from exc
    except ParseError as exc:
        raise DmnParseError(resource_name, [f"failed to parse XML: {exc}"]) from exc
    ns, name = _local(root.tag)
    if name != "definitions" or ns not in DMN_NAMESPACES:
        raise DmnParseError(resource_name, [
            f"root element must be a DMN 'definitions' (namespace {DMN_NAMESPACES[0]}), but was "
            f"'{root.tag}'; is this a DMN 1.3 file?"])
    return _Parser(resource_name, root, ns, content).parse()


class _Parser:
    def __init__(self, resource_name: str, root: Element, ns: str, content: bytes) -> None:
        self.resource_name = resource_name
        self.root = root
        self.ns = "{" + ns + "}"
        self.content = content
        self.problems: List[str] = []

    def child(self, element: Element, name: str) -> Optional[Element]:
        return element.find(self.ns + name)

    def children(self, element: Element, name: str) -> List[Element]:
        return element.findall(self.ns + name)

    def text(self, element: Optional[Element], where: str = "") -> str:
        if element is None:
            return ""
        language = (element.get("expressionLanguage") or "").strip()
        if language and "feel" not in language.lower():  # "feel", FEEL's namespace URIs
            self.problems.append(f"{where or element.get('id', 'an expression')}: the expression language "
                                 f"'{language}' is not supported (Camunda 8 evaluates FEEL only)")
            return ""
        found = self.child(element, "text")
        return (found.text or "").strip() if found is not None else ""

    def parse(self) -> model.DecisionGraph:
        graph_id = self.root.get("id", "")
        if not graph_id:
            self.problems.append("the 'definitions' element has no 'id' (the decision requirements id)")
        decisions: List[model.Decision] = []
        seen: Set[str] = set()
        for element in self.children(self.root, "decision"):
            decision = self.decision(element)
            if decision is None:
                continue
            if decision.id in seen:
                self.problems.append(f"decision id '{decision.id}' is used twice")
            seen.add(decision.id)
            decisions.append(decision)
        bkms = [b for b in (self.knowledge_model(e) for e in self.children(self.root, "businessKnowledgeModel"))
                if b is not None]
        bkm_ids = {b.id for b in bkms}
        if not decisions and not self.problems:
            self.problems.append("the resource contains no decision")
        for owner in list(decisions) + bkms:
            for required in owner.knowledge:
                if required not in bkm_ids:
                    self.problems.append(f"'{owner.id}' requires the business knowledge model '{required}', "
                                         "which is not in this resource")
        for decision in decisions:
            for required in decision.required:
                if required not in seen:
                    self.problems.append(f"decision '{decision.id}' requires decision '{required}', "
                                         "which is not in this resource")
        self.check_cycles(decisions)
        if self.problems:
            raise DmnParseError(self.resource_name, self.problems)
        return model.DecisionGraph(
            id=graph_id, name=self.root.get("name", graph_id), decisions=tuple(decisions),
            knowledge_models=tuple(bkms),
            resource_name=self.resource_name, checksum=hashlib.sha256(self.content).hexdigest(),
            resource=self.content)

    def check_cycles(self, decisions: List[model.Decision]) -> None:
        graph = {d.id: d.required for d in decisions}
        state: Dict[str, int] = {}

        def visit(node: str, path: List[str]) -> None:
            if state.get(node) == 2 or node not in graph:
                return
            if state.get(node) == 1:
                self.problems.append("the required decisions form a cycle: " + " -> ".join(path + [node]))
                return
            state[node] = 1
            for nxt in graph[node]:
                visit(nxt, path + [node])
            state[node] = 2

        for d in decisions:
            visit(d.id, [])

    def decision(self, element: Element) -> Optional[model.Decision]:
        decision_id = element.get("id", "")
        if not decision_id:
            self.problems.append("a decision has no 'id'")
            return None
        where = f"decision '{decision_id}'"
        required = []
        for requirement in self.children(element, "informationRequirement"):
            ref = self.child(requirement, "requiredDecision")
            if ref is not None:
                required.append(ref.get("href", "").lstrip("#"))
        table = self.child(element, "decisionTable")
        literal = self.child(element, "literalExpression")
        logic: object
        if table is not None:
            logic = self.table(table, where)
        elif literal is not None:
            variable = self.child(element, "variable")
            name = variable.get("name", "") if variable is not None else ""
            logic = model.LiteralExpression(self.expression(self.text(literal), f"{where} literal expression"),
                                            name or decision_id)
        else:
            self.problems.append(f"{where} has neither a decision table nor a literal expression "
                                 "(Camunda 8.8 evaluates only these)")
            return None
        # As Camunda's DMN engine: a required decision's result is named by its <variable>, or
        # else by the decision id.
        variable = self.child(element, "variable")
        result_name = (variable.get("name") or "").strip() if variable is not None else ""
        return model.Decision(decision_id, element.get("name", decision_id), logic, tuple(required),
                              result_name or decision_id, self.knowledge_refs(element))

    def knowledge_refs(self, element: Element) -> Tuple[str, ...]:
        refs = []
        for requirement in self.children(element, "knowledgeRequirement"):
            ref = self.child(requirement, "requiredKnowledge")
            if ref is not None:
                refs.append(ref.get("href", "").lstrip("#"))
        return tuple(refs)

    def knowledge_model(self, element: Element) -> Optional[model.BusinessKnowledgeModel]:
        bkm_id = element.get("id", "")
        where = f"business knowledge model '{bkm_id}'"
        logic_element = self.child(element, "encapsulatedLogic")
        if not bkm_id or logic_element is None:
            self.problems.append(f"{where or 'a business knowledge model'} needs an id and an encapsulatedLogic")
            return None
        params = tuple((p.get("name") or "").strip() for p in self.children(logic_element, "formalParameter"))
        table = self.child(logic_element, "decisionTable")
        literal = self.child(logic_element, "literalExpression")
        if table is not None:
            logic: object = self.table(table, where)
        elif literal is not None:
            logic = model.LiteralExpression(self.expression(self.text(literal), f"{where} literal expression"), bkm_id)
        else:
            self.problems.append(f"{where} has neither a decision table nor a literal expression")
            return None
        variable = self.child(element, "variable")
        name = (variable.get("name") or "").strip() if variable is not None else ""
        return model.BusinessKnowledgeModel(bkm_id, name or element.get("name", bkm_id), params, logic,
                                            self.knowledge_refs(element))

    def expression(self, text: str, where: str) -> object:
        if not text:
            return None
        try:
            return feel.compile_expression(text)
        except feel.FeelSyntaxError as exc:
            self.problems.append(f"{where}: {exc}")
            return None

    def table(self, element: Element, where: str) -> model.DecisionTable:
        hit_policy = (element.get("hitPolicy") or "UNIQUE").strip().upper()
        aggregation = element.get("aggregation")
        if hit_policy in _UNSUPPORTED_HIT_POLICIES:
            self.problems.append(f"{where}: the hit policy '{hit_policy}' is not supported "
                                 f"(Camunda 8.8 evaluates {', '.join(model.HIT_POLICIES)})")
        elif hit_policy not in model.HIT_POLICIES:
            self.problems.append(f"{where}: unknown hit policy '{hit_policy}'")
        if aggregation is not None:
            aggregation = aggregation.strip().upper()
            if hit_policy != "COLLECT":
                self.problems.append(f"{where}: an aggregation ('{aggregation}') needs the hit policy COLLECT")
            elif aggregation not in model.AGGREGATIONS:
                self.problems.append(f"{where}: unknown aggregation '{aggregation}' (use SUM, MIN, MAX or COUNT)")
        inputs = []
        for i, item in enumerate(self.children(element, "input"), 1):
            input_id = item.get("id", f"input{i}")
            text = self.text(self.child(item, "inputExpression"), f"{where} input '{input_id}'")
            inputs.append(model.Input(input_id, item.get("label") or text, self.expression(
                text, f"{where} input '{input_id}'"), text, (item.get(_CAMUNDA_NS + "inputVariable") or "").strip()))
        outputs = []
        for i, item in enumerate(self.children(element, "output"), 1):
            outputs.append(model.Output(item.get("id", f"output{i}"), item.get("label", ""), item.get("name", "")))
        if not outputs:
            self.problems.append(f"{where}: the decision table has no output")
        if len(outputs) > 1:
            for output in outputs:
                if not output.name:
                    self.problems.append(f"{where}: output '{output.id}' needs a name (the table has "
                                         "several outputs)")
        if aggregation and len(outputs) > 1:
            self.problems.append(f"{where}: an aggregation needs exactly one output")
        rules = []
        for index, item in enumerate(self.children(element, "rule"), 1):
            rule_id = item.get("id", f"rule{index}")
            rule_where = f"{where} rule '{rule_id}'"
            entries = self.children(item, "inputEntry")
            results = self.children(item, "outputEntry")
            if len(entries) != len(inputs) or len(results) != len(outputs):
                self.problems.append(f"{rule_where}: has {len(entries)} input and {len(results)} output entries, "
                                     f"but the table has {len(inputs)} inputs and {len(outputs)} outputs")
                continue
            tests = []
            for column, (entry, spec) in enumerate(zip(entries, inputs), 1):
                text = self.text(entry)
                try:
                    tests.append(feel.compile_unary_tests(text))
                except feel.FeelSyntaxError as exc:
                    self.problems.append(f"{rule_where} input entry {column} ('{spec.label}'): {exc}")
            values = [self.expression(self.text(entry), f"{rule_where} output entry {column}")
                      for column, entry in enumerate(results, 1)]
            rules.append(model.Rule(rule_id, index, tuple(tests), tuple(values)))
        return model.DecisionTable(hit_policy, aggregation, tuple(inputs), tuple(outputs), tuple(rules))
