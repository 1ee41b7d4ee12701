"""Range functions (DMN 1.3 section 10.3.2.3.8): ``before``, ``after``, ``meets``, ``met by``,
``overlaps``, ``overlaps before``/``after``, ``finishes``, ``finished by``, ``includes``,
``during``, ``starts``, ``started by``, ``coincides``. A point is any comparable value."""
from __future__ import annotations

from typing import Any

from zeebe_affinity_sync.engine.feel import ops
from zeebe_affinity_sync.engine.feel.builtins import builtin
from zeebe_affinity_sync.engine.feel.values import Range, compare


def _c(a: Any, b: Any) -> int:
    c = compare(a, b)
    if c is None:
        raise TypeError("not comparable")
    return c


def _r(v: Any) -> bool:
    return type(v) is Range


def before(a: Any, b: Any) -> bool:
    if not _r(a) and not _r(b):
        return _c(a, b) < 0
    if not _r(a):
        c = _c(a, b.start)
        return c < 0 or (c == 0 and not b.start_included)
    if not _r(b):
        c = _c(a.end, b)
        return c < 0 or (c == 0 and not a.end_included)
    c = _c(a.end, b.start)
    return c < 0 or (c == 0 and (not a.end_included or not b.start_included))


def meets(a: Any, b: Any) -> bool:
    if not (_r(a) and _r(b)):
        raise TypeError("ranges expected")
    return a.end_included and b.start_included and _c(a.end, b.start) == 0


def overlaps(a: Any, b: Any) -> bool:
    if not (_r(a) and _r(b)):
        raise TypeError("ranges expected")
    c1 = _c(a.end, b.start)
    c2 = _c(a.start, b.end)
    return (c1 > 0 or (c1 == 0 and a.end_included and b.start_included)) and \
        (c2 < 0 or (c2 == 0 and a.start_included and b.end_included))


def overlaps_before(a: Any, b: Any) -> bool:
    if not (_r(a) and _r(b)):
        raise TypeError("ranges expected")
    s = _c(a.start, b.start)
    e1 = _c(a.end, b.start)
    e2 = _c(a.end, b.end)
    return (s < 0 or (s == 0 and a.start_included and not b.start_included)) and \
        (e1 > 0 or (e1 == 0 and a.end_included and b.start_included)) and \
        (e2 < 0 or (e2 == 0 and (not a.end_included or b.end_included)))


def finishes(a: Any, b: Any) -> bool:
    if not _r(b):
        raise TypeError("range expected")
    if not _r(a):
        return b.end_included and _c(a, b.end) == 0
    s = _c(a.start, b.start)
    return a.end_included == b.end_included and _c(a.end, b.end) == 0 and \
        (s > 0 or (s == 0 and (not a.start_included or b.start_included)))


def includes(a: Any, b: Any) -> bool:
    if not _r(a):
        raise TypeError("range expected")
    if not _r(b):
        return ops.in_range(b, a) is True
    s = _c(a.start, b.start)
    e = _c(a.end, b.end)
    return (s < 0 or (s == 0 and (a.start_included or not b.start_included))) and \
        (e > 0 or (e == 0 and (a.end_included or not b.end_included)))


def starts(a: Any, b: Any) -> bool:
    if not _r(b):
        raise TypeError("range expected")
    if not _r(a):
        return b.start_included and _c(a, b.start) == 0
    e = _c(a.end, b.end)
    return _c(a.start, b.start) == 0 and a.start_included == b.start_included and \
        (e < 0 or (e == 0 and (not a.end_included or b.end_included)))


def coincides(a: Any, b: Any) -> bool:
    if not _r(a) and not _r(b):
        return _c(a, b) == 0
    if not (_r(a) and _r(b)):
        raise TypeError("two points or two ranges expected")
    return _c(a.start, b.start) == 0 and a.start_included == b.start_included and \
        _c(a.end, b.end) == 0 and a.end_included == b.end_included


def _register(name: str, fn: Any, first: str, second: str) -> None:
    builtin(name, first, second)(fn)
    for names in (("point1", "point2"), ("point", "range"), ("range", "point"), ("range1", "range2")):
        if names != (first, second):
            builtin(name, *names)(fn)


_register("before", before, "point1", "point2")
_register("after", lambda a, b: before(b, a), "point1", "point2")
_register("meets", meets, "range1", "range2")
_register("met by", lambda a, b: meets(b, a), "range1", "range2")
_register("overlaps", overlaps, "range1", "range2")
_register("overlaps before", overlaps_before, "range1", "range2")
_register("overlaps after", lambda a, b: overlaps_before(b, a), "range1", "range2")
_register("finishes", finishes, "point", "range")
_register("finished by", lambda a, b: finishes(b, a), "range", "point")
_register("includes", includes, "range", "point")
_register("during", lambda a, b: includes(b, a), "point", "range")
_register("starts", starts, "point", "range")
_register("started by", lambda a, b: starts(b, a), "range", "point")
_register("coincides", coincides, "point1", "point2")
