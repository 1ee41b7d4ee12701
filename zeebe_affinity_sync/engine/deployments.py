"""Deployments: parse and validate outside the lock, then version atomically under it.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`. Versioning is per bpmnProcessId:
the same resource name with byte-identical content is a duplicate (the existing version is
returned), anything else is a new version. Deploying a process with message start events moves
its start subscriptions to the new version. Definitions belong to a tenant: versions count per
(tenant, bpmnProcessId), and lookups only see the requesting tenant's definitions.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from . import model, rejections
from .bpmn import BpmnParseError, checksum, parse_resource
from .dmn.parser import DmnParseError, parse_dmn
from .dmn.registry import DecisionsMixin, DeployedResources
from .tenancy import DEFAULT_TENANT

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["DeploymentsMixin"]

_BPMN_SUFFIXES = (".bpmn", ".xml")
_DMN_SUFFIX = ".dmn"


class DeploymentsMixin(DecisionsMixin):
    def deploy(self: "Engine", resources: Sequence[Tuple[str, bytes]], tenant_id: str = DEFAULT_TENANT, *,
               decisions_out: Optional[List[DeployedResources]] = None,
               ) -> Tuple[int, List[model.ProcessDefinition]]:
        """Deploy BPMN and DMN resources atomically into ``tenant_id``.

        Args:
            resources: ``(name, content)`` pairs; ``*.bpmn``/``*.xml`` are processes, ``*.dmn``
                decisions.
            tenant_id: The tenant the processes and decisions belong to.
            decisions_out: If given, receives one :class:`DeployedResources` with the decisions and
                decision requirements of the deployment (for the DeployResource response).

        Returns:
            The deployment key and one definition per executable process (existing ones for
            duplicates).

        Raises:
            InvalidArgumentError: No resources, an unsupported resource type, or invalid BPMN.
        """
        if not resources:
            raise rejections.invalid("CREATE", "Expected to deploy at least one resource, but none given")
        problems: List[str] = []
        parsed: List[Tuple[str, bytes, List[model.Process]]] = []
        seen: Dict[str, str] = {}
        graphs = self._parse_decisions(resources, problems)
        for name, content in resources:
            if name.lower().endswith(_DMN_SUFFIX):
                continue
            if not name.lower().endswith(_BPMN_SUFFIXES):
                problems.append(f"'{name}': the embedded engine deploys BPMN and DMN; name the resource "
                                "'*.bpmn', '*.xml' or '*.dmn' (forms are not supported)")
                continue
            try:
                processes = parse_resource(name, content)
            except BpmnParseError as exc:
                problems.append(str(exc))
                continue
            for proc in processes:
                if proc.bpmn_process_id in seen:
                    problems.append(f"Duplicated process id in resources '{seen[proc.bpmn_process_id]}' "
                                    f"and '{name}'")
                seen[proc.bpmn_process_id] = name
            parsed.append((name, content, processes))
        if problems:
            raise rejections.invalid(
                "CREATE",
                "Expected to deploy new resources, but encountered the following errors:\n" + "\n".join(problems),
            )
        with self._lock:
            deployment_key = self._next_key()
            deployed_decisions = self._deploy_decision_graphs(deployment_key, graphs, tenant_id)
            if decisions_out is not None:
                decisions_out.append(deployed_decisions)
            result = []
            for name, content, processes in parsed:
                digest = checksum(content)
                for proc in processes:
                    versions = self._versions.setdefault((tenant_id, proc.bpmn_process_id), [])
                    latest = versions[-1] if versions else None
                    if latest is not None and latest.resource_name == name and latest.checksum == digest:
                        result.append(latest)
                        continue
                    definition = model.ProcessDefinition(
                        key=self._next_key(), bpmn_process_id=proc.bpmn_process_id,
                        version=len(versions) + 1, resource_name=name, checksum=digest,
                        process=proc, deployment_key=deployment_key, resource=content,
                        tenant_id=tenant_id,
                    )
                    versions.append(definition)
                    self._definitions[definition.key] = definition
                    self._rec("PROCESS", "CREATED", definition.key, {
                        "bpmn_process_id": definition.bpmn_process_id, "version": definition.version,
                        "process_definition_key": definition.key, "resource_name": name,
                        "checksum": digest, "deployment_key": deployment_key,
                        "tenant_id": getattr(definition, "tenant_id", "<default>")})
                    self._open_start_subscriptions(definition)
                    self._open_timer_starts(definition)
                    self._open_signal_starts(definition)
                    result.append(definition)
                    self._lock.log_later(logger, logging.INFO, "deployed process '%s' version %d (key %d) from '%s'",
                                         definition.bpmn_process_id, definition.version, definition.key, name)
            self._rec("DEPLOYMENT", "CREATED", deployment_key, {
                "resources": [name for name, _, _ in parsed],
                "processes": [{"bpmn_process_id": d.bpmn_process_id, "version": d.version,
                               "process_definition_key": d.key, "resource_name": d.resource_name} for d in result]})
            return deployment_key, result

    @staticmethod
    def _parse_decisions(resources: Sequence[Tuple[str, bytes]], problems: List[str]) -> list:
        """Parse the ``*.dmn`` resources (outside the lock); problems are appended."""
        graphs = []
        ids: Dict[str, str] = {}
        for name, content in resources:
            if not name.lower().endswith(_DMN_SUFFIX):
                continue
            try:
                graph = parse_dmn(name, content)
            except DmnParseError as exc:
                problems.append(str(exc))
                continue
            for decision in graph.decisions:
                if decision.id in ids:
                    problems.append(f"Duplicated decision id '{decision.id}' in resources '{ids[decision.id]}' "
                                    f"and '{name}'")
                ids[decision.id] = name
            graphs.append(graph)
        return graphs

    def _latest(self: "Engine", bpmn_process_id: str,
                tenant_id: str = DEFAULT_TENANT) -> Optional[model.ProcessDefinition]:
        versions = self._versions.get((tenant_id, bpmn_process_id))
        return versions[-1] if versions else None

    def _find_definition(self: "Engine", bpmn_process_id: str, version: int, key: int,
                         tenant_id: str = DEFAULT_TENANT) -> model.ProcessDefinition:
        if bpmn_process_id:
            versions = self._versions.get((tenant_id, bpmn_process_id), [])
            if version < 0:
                if versions:
                    return versions[-1]
                raise rejections.process_not_found(
                    "CREATE", f"Expected to find process definition with process ID '{bpmn_process_id}', "
                    "but none found")
            if 1 <= version <= len(versions):
                return versions[version - 1]
            raise rejections.process_not_found(
                "CREATE", f"Expected to find process definition with process ID '{bpmn_process_id}' and "
                f"version '{version}', but none found")
        if key >= 0:
            definition = self._definitions.get(key)
            if definition is None or definition.tenant_id != tenant_id:  # another tenant's: not there for us
                raise rejections.process_not_found(
                    "CREATE", f"Expected to find process definition with key '{key}', but none found")
            return definition
        raise rejections.invalid(
            "CREATE", "Expected at least a bpmnProcessId or a key greater than -1, but none given")
