"""List functions. Each is O(n) or O(n log n): membership and de-duplication hash through
:func:`values.hash_key` (FEEL equality: ``1`` and ``1.0`` are one value, contexts compare by
entries), never pairwise."""
from __future__ import annotations

import functools
import math
from decimal import Decimal
from typing import Any, Dict, List, Optional, Sequence

from zeebe_affinity_sync.engine.feel import limits
from zeebe_affinity_sync.engine.feel.builtins import builtin, call_function
from zeebe_affinity_sync.engine.feel.builtins.numeric import number
from zeebe_affinity_sync.engine.feel.values import DEC, compare, equal, hash_key, kind, norm_number, num


def _list(value: Any) -> Optional[list]:
    return list(value) if type(value) in (list, tuple) else None


def _varargs(args: Sequence[Any]) -> Optional[list]:
    """Functions called with one list or with the items as arguments (``min([1,2])``, ``min(1,2)``)."""
    if len(args) == 1 and type(args[0]) in (list, tuple):
        return list(args[0])
    return list(args)


def _numbers(items: Sequence[Any]) -> Optional[List[Decimal]]:
    result = []
    for item in items:
        value = number(item)
        if value is None:
            return None
        result.append(value)
    return result


def _position(value: Any) -> Optional[int]:
    value = number(value)
    if value is None or value == 0:
        return None
    return int(value)


@builtin("list contains", "list", "element")
def list_contains(lst: Any, element: Any) -> Any:
    items = _list(lst)
    if items is None:
        return None
    return any(equal(item, element) is True for item in items)


@builtin("count", "list")
def count(lst: Any) -> Any:
    items = _list(lst)
    return None if items is None else len(items)


def _extreme(args: Sequence[Any], sign: int) -> Any:
    items = _varargs(args)
    if not items:
        return None
    best = items[0]
    kinds = {kind(best)}
    for item in items[1:]:
        kinds.add(kind(item))
        c = compare(item, best)
        if c is None:
            return None
        if c * sign > 0:
            best = item
    if len(kinds) > 1:
        return None
    return num(best)


@builtin("min", "list...")
def min_(*args: Any) -> Any:
    return _extreme(args, -1)


@builtin("max", "list...")
def max_(*args: Any) -> Any:
    return _extreme(args, 1)


@builtin("sum", "list...")
def sum_(*args: Any) -> Any:
    values = _numbers(_varargs(args) or [])
    if not values:
        return None
    total = Decimal(0)
    for v in values:
        total = DEC.add(total, v)
    return norm_number(total)


@builtin("product", "list...")
def product(*args: Any) -> Any:
    values = _numbers(_varargs(args) or [])
    if not values:
        return None
    total = Decimal(1)
    for v in values:
        total = DEC.multiply(total, v)
    return norm_number(total)


@builtin("mean", "list...")
def mean(*args: Any) -> Any:
    values = _numbers(_varargs(args) or [])
    if not values:
        return None
    return norm_number(DEC.divide(sum(values, Decimal(0)), Decimal(len(values))))


@builtin("median", "list...")
def median(*args: Any) -> Any:
    values = _numbers(_varargs(args) or [])
    if not values:
        return None
    values.sort()
    middle = len(values) // 2
    if len(values) % 2:
        return norm_number(values[middle])
    return norm_number(DEC.divide(values[middle - 1] + values[middle], Decimal(2)))


@builtin("stddev", "list...")
def stddev(*args: Any) -> Any:
    values = _numbers(_varargs(args) or [])
    if not values or len(values) < 2:
        return None
    average = DEC.divide(sum(values, Decimal(0)), Decimal(len(values)))
    deviation = sum(((v - average) ** 2 for v in values), Decimal(0))
    result = math.sqrt(float(DEC.divide(deviation, Decimal(len(values) - 1))))
    return norm_number(Decimal(repr(result)))


@builtin("mode", "list...")
def mode(*args: Any) -> Any:
    items = _varargs(args)
    if items is None:
        return None
    values = _numbers(items)
    if values is None:
        return None
    counts: Dict[Any, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    if not counts:
        return []
    top = max(counts.values())
    return sorted(norm_number(v) for v, c in counts.items() if c == top)


def _all(items: Sequence[Any]) -> Any:
    result: Any = True
    for item in items:
        if item is False:
            return False
        if item is not True:
            result = None
    return result


def _any(items: Sequence[Any]) -> Any:
    result: Any = False
    for item in items:
        if item is True:
            return True
        if item is not False:
            result = None
    return result


@builtin("and", "list...")
def and_(*args: Any) -> Any:
    return _all(_varargs(args))


@builtin("all", "list...")
def all_(*args: Any) -> Any:
    return _all(_varargs(args))


@builtin("or", "list...")
def or_(*args: Any) -> Any:
    return _any(_varargs(args))


@builtin("any", "list...")
def any_(*args: Any) -> Any:
    return _any(_varargs(args))


def _index(items: Sequence[Any], position: int) -> int:
    return position - 1 if position > 0 else len(items) + position


@builtin("sublist", "list", "start position|start", "length?")
def sublist(lst: Any, start: Any, length: Any = None) -> Any:
    items, position = _list(lst), _position(start)
    if items is None or position is None:
        return None
    begin = max(_index(items, position), 0)
    if length is None:
        return items[begin:]
    size = number(length)
    if size is None or size < 0:
        return None
    return items[begin:begin + int(size)]


@builtin("append", "list", "items...?")
def append(lst: Any, *items: Any) -> Any:
    base = _list(lst)
    if base is None:
        return None
    limits.check_size(len(base) + len(items))
    return base + list(items)


@builtin("concatenate", "lists...")
def concatenate(*lists: Any) -> Any:
    result: List[Any] = []
    for value in lists:
        if type(value) in (list, tuple):
            result.extend(value)
        else:
            return None
        limits.check_size(len(result))
    return result


def _take(items: List[Any], n: int) -> List[Any]:
    return items[:n] if n > 0 else []


def _drop(items: List[Any], n: int) -> List[Any]:
    return items[n:] if n > 0 else list(items)


@builtin("insert before", "list", "position", "newItem")
def insert_before(lst: Any, position: Any, item: Any) -> Any:
    # As Camunda (take/drop around the index): a position past either end appends / prepends.
    items, index = _list(lst), _position(position)
    if items is None or index is None:
        return None
    at = _index(items, index)
    return _take(items, at) + [item] + _drop(items, at)


@builtin("remove", "list", "position")
def remove(lst: Any, position: Any) -> Any:
    # As Camunda: a position outside the list removes nothing.
    items, index = _list(lst), _position(position)
    if items is None or index is None:
        return None
    return _take(items, _index(items, index)) + _drop(items, _index(items, index + 1) if index != -1 else len(items))


@builtin("reverse", "list")
def reverse(lst: Any) -> Any:
    items = _list(lst)
    return None if items is None else items[::-1]


@builtin("index of", "list", "match")
def index_of(lst: Any, match: Any) -> Any:
    items = _list(lst)
    if items is None:
        return None
    key = hash_key(match)
    return [i for i, item in enumerate(items, 1) if hash_key(item) == key and equal(item, match) is True]


def _distinct(items: Sequence[Any]) -> List[Any]:
    seen = set()
    result = []
    for item in items:
        key = hash_key(item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


@builtin("union", "lists...")
def union(*lists: Any) -> Any:
    items: List[Any] = []
    for value in lists:
        if type(value) in (list, tuple):
            items.extend(value)
        else:
            items.append(value)
        limits.check_size(len(items))
    return _distinct(items)


@builtin("distinct values", "list")
def distinct_values(lst: Any) -> Any:
    items = _list(lst)
    return None if items is None else _distinct(items)


@builtin("duplicate values", "list")
def duplicate_values(lst: Any) -> Any:
    items = _list(lst)
    if items is None:
        return None
    counts: Dict[Any, int] = {}
    for item in items:
        key = hash_key(item)
        counts[key] = counts.get(key, 0) + 1
    return [item for item in _distinct(items) if counts[hash_key(item)] > 1]


@builtin("flatten", "list")
def flatten(lst: Any) -> Any:
    items = _list(lst)
    if items is None:
        return None
    result: List[Any] = []
    stack = [iter(items)]
    while stack:
        for item in stack[-1]:
            if type(item) in (list, tuple):
                if len(stack) > 200:
                    return None
                stack.append(iter(item))
                break
            result.append(item)
        else:
            stack.pop()
        if len(result) > limits.MAX_ITEMS:
            limits.check_size(len(result))
    return result


@builtin("sort", "list", "precedes", pure=False)
def sort(lst: Any, precedes: Any) -> Any:
    items = _list(lst)
    if items is None:
        return None
    order = getattr(precedes, "order", None)
    if order is not None:
        fast = _sort_by_key(items, order)
        if fast is not None:
            return fast

    def cmp(a: Any, b: Any) -> int:
        result = call_function(precedes, a, b)
        if type(result) is not bool:
            raise TypeError("the precedes function must give a boolean")
        return -1 if result else 1

    return sorted(items, key=functools.cmp_to_key(cmp))


def _sort_by_key(items: List[Any], order: Any) -> Optional[List[Any]]:
    """``sort(l, function(x, y) x.p < y.p)`` by keys: one key per item, O(n log n) comparisons
    of plain values instead of n log n FEEL calls. ``None`` when the keys are not all of one
    orderable kind (the general path then decides, with Camunda's null rules)."""
    from zeebe_affinity_sync.engine.feel.nodes import get_entry

    descending, path = order
    keys = []
    for item in items:
        key = item
        for step in path:
            key = get_entry(key, step)
        keys.append(num(key))
    kinds = {kind(k) for k in keys}
    if len(kinds) != 1 or not kinds <= {"NUMBER", "STRING", "DATE", "DURATION", "PERIOD"}:
        return None
    limits.tick(len(items))
    ranked = sorted(range(len(items)), key=keys.__getitem__, reverse=descending)
    return [items[i] for i in ranked]


@builtin("sort", "list")
def sort_natural(lst: Any) -> Any:
    # Not in Camunda's reference (sort needs `precedes` there): ascending order, null if mixed.
    items = _list(lst)
    if items is None:
        return None
    if len({kind(i) for i in items}) > 1:
        return None

    def cmp(a: Any, b: Any) -> int:
        c = compare(a, b)
        if c is None:
            raise TypeError("not comparable")
        return c

    return sorted(items, key=functools.cmp_to_key(cmp))


@builtin("string join", "list", "delimiter?", "prefix?", "suffix?")
def string_join(lst: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> Any:
    items = _list(lst)
    if items is None:
        return None
    for part in (delimiter, prefix, suffix):
        if part is not None and type(part) is not str:
            return None
    if any(item is not None and type(item) is not str for item in items):
        return None
    joined = (delimiter or "").join(item for item in items if item is not None)
    if len(joined) > limits.MAX_STRING:
        raise limits.LimitExceeded(f"the result string would have more than {limits.MAX_STRING:,} characters")
    return (prefix or "") + joined + (suffix or "")


@builtin("is empty", "list")
def is_empty(lst: Any) -> Any:
    items = _list(lst)
    return None if items is None else not items


@builtin("partition", "list", "size")
def partition(lst: Any, size: Any) -> Any:
    items, n = _list(lst), number(size)
    if items is None or n is None or int(n) <= 0:
        return None
    step = int(n)
    return [items[i:i + step] for i in range(0, len(items), step)]
