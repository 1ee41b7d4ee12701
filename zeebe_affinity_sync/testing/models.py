"""Read-only look-ups in the deployed process models, for checks that must not wait.

The engine keeps each deployed version as an immutable :class:`~zeebe_affinity_sync.engine.model.ProcessDefinition`;
these helpers read them (element ids through the engine's ``element_ids``; kinds and job types
from the models, under the engine lock, then outside it: the models are frozen) to know which
element ids and job types exist, so a typo in a test fails at once with the names that do.
"""
from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Set

from ..errors import NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from ..engine.runtime import Engine

__all__ = ["definitions", "element_ids", "element_kinds", "job_types", "suggest"]


def definitions(engine: "Engine") -> List[Any]:
    """Every deployed process version (model objects), oldest first."""
    with engine._lock:
        return list(engine._definitions.values())


def _definition(engine: "Engine", process_definition_key: int) -> Optional[Any]:
    with engine._lock:
        return engine._definitions.get(process_definition_key)


def element_ids(engine: "Engine", process_definition_key: int) -> List[str]:
    """The BPMN ids of every flow node of one process version (nested ones too), in document
    order; empty for an unknown version."""
    try:
        return list(engine.element_ids(process_definition_key))
    except NotFoundError:
        return []


def element_kinds(engine: "Engine", process_definition_key: int) -> Dict[str, str]:
    """Element id -> the model's kind (``serviceTask``, ``userTask``...) of one process version."""
    definition = _definition(engine, process_definition_key)
    if definition is None:
        return {}
    return {element_id: element.kind for element_id, element in definition.process.elements.items()}


def job_types(engine: "Engine") -> Set[Optional[str]]:
    """Static job types of every deployed service task; ``None`` in the set when some task's type
    is an expression (then any type may turn up)."""
    found: Set[Optional[str]] = set()
    for definition in definitions(engine):
        for element in definition.process.elements.values():
            job_type = getattr(element, "job_type", None)
            if job_type is None:
                continue
            found.add(None if job_type.is_expression else str(job_type.static))
    return found


def suggest(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, else ``""``."""
    options = list(candidates)
    by_lower = {c.lower(): c for c in options}
    if name.lower() in by_lower:  # a different case is the likeliest slip
        return f" (did you mean {by_lower[name.lower()]!r}?)"
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
