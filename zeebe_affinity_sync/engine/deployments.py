"""Deployments: parse and validate outside the lock, then version atomically under it.

A mixin of :class:`~zeebe_affinity_sync.engine.runtime.Engine`. Versioning is per bpmnProcessId:
the same resource name with byte-identical content is a duplicate (the existing version is
returned), anything else is a new version. Deploying a process with message start events moves
its start subscriptions to the new version.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from . import model, rejections
from .bpmn import BpmnParseError, checksum, parse_resource

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine

logger = logging.getLogger(__name__)

__all__ = ["DeploymentsMixin"]

_BPMN_SUFFIXES = (".bpmn", ".xml")


class DeploymentsMixin:
    def deploy(self: "Engine", resources: Sequence[Tuple[str, bytes]]) -> Tuple[int, List[model.ProcessDefinition]]:
        """Deploy BPMN resources atomically.

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
        for name, content in resources:
            if not name.lower().endswith(_BPMN_SUFFIXES):
                problems.append(f"'{name}': the embedded engine deploys BPMN only; name the resource "
                                "'*.bpmn' or '*.xml' (DMN and forms are not supported)")
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
            result = []
            for name, content, processes in parsed:
                digest = checksum(content)
                for proc in processes:
                    versions = self._versions.setdefault(proc.bpmn_process_id, [])
                    latest = versions[-1] if versions else None
                    if latest is not None and latest.resource_name == name and latest.checksum == digest:
                        result.append(latest)
                        continue
                    definition = model.ProcessDefinition(
                        key=self._next_key(), bpmn_process_id=proc.bpmn_process_id,
                        version=len(versions) + 1, resource_name=name, checksum=digest,
                        process=proc, deployment_key=deployment_key, resource=content,
                    )
                    versions.append(definition)
                    self._definitions[definition.key] = definition
                    self._rec("PROCESS", "CREATED", definition.key, {
                        "bpmn_process_id": definition.bpmn_process_id, "version": definition.version,
                        "process_definition_key": definition.key, "resource_name": name,
                        "checksum": digest, "deployment_key": deployment_key,
                        "tenant_id": getattr(definition, "tenant_id", "<default>")})
                    self._open_start_subscriptions(definition)
                    result.append(definition)
                    self._lock.log_later(logger, logging.INFO, "deployed process '%s' version %d (key %d) from '%s'",
                                         definition.bpmn_process_id, definition.version, definition.key, name)
            self._rec("DEPLOYMENT", "CREATED", deployment_key, {
                "resources": [name for name, _, _ in parsed],
                "processes": [{"bpmn_process_id": d.bpmn_process_id, "version": d.version,
                               "process_definition_key": d.key, "resource_name": d.resource_name} for d in result]})
            return deployment_key, result

    def _latest(self: "Engine", bpmn_process_id: str) -> Optional[model.ProcessDefinition]:
        versions = self._versions.get(bpmn_process_id)
        return versions[-1] if versions else None

    def _find_definition(self: "Engine", bpmn_process_id: str, version: int, key: int) -> model.ProcessDefinition:
        if bpmn_process_id:
            versions = self._versions.get(bpmn_process_id, [])
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
            if definition is None:
                raise rejections.process_not_found(
                    "CREATE", f"Expected to find process definition with key '{key}', but none found")
            return definition
        raise rejections.invalid(
            "CREATE", "Expected at least a bpmnProcessId or a key greater than -1, but none given")
