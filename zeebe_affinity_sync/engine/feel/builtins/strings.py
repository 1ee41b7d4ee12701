"""String functions, including the regex ones (XPath/Java regex translated to Python ``re``)."""
from __future__ import annotations

import base64
import re
import uuid as _uuid
from typing import Any, List, Optional

from zeebe_affinity_sync.engine.feel import limits
from zeebe_affinity_sync.engine.feel.builtins import builtin
from zeebe_affinity_sync.engine.feel.values import is_number, num

_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE, "x": re.VERBOSE, "q": 0}
_MAX_PATTERN = 10_000


def _str(*values: Any) -> bool:
    return all(type(v) is str for v in values)


def _position(value: Any) -> Optional[int]:
    if not is_number(value) or type(value) is bool:
        return None
    return int(num(value))


def compile_pattern(pattern: Any, flags: Any = None) -> Optional["re.Pattern[str]"]:
    """A Java/XPath regex as a Python pattern; ``None`` when it is invalid.

    Translations: the flags ``i s m x`` (``q`` quotes the whole pattern), possessive quantifiers
    and atomic groups become their greedy forms only on Pythons without them, ``\\p{L}``-style
    classes for the common letters/digits, and ``(?<name>`` groups (same in Python 3.11+).
    """
    if type(pattern) is not str or len(pattern) > _MAX_PATTERN:
        return None
    bits = 0
    if flags is not None:
        if type(flags) is not str:
            return None
        for flag in flags:
            if flag not in _FLAGS:
                return None
            bits |= _FLAGS[flag]
        if "q" in flags:
            pattern = re.escape(pattern)
    pattern = (pattern.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{Lu}", "[A-Z]")
               .replace(r"\p{Ll}", "[a-z]").replace(r"\p{N}", r"\d").replace(r"\p{Nd}", r"\d")
               .replace(r"\p{Alpha}", "[A-Za-z]").replace(r"\p{Digit}", "[0-9]")
               .replace(r"\p{Alnum}", "[A-Za-z0-9]").replace(r"\p{Punct}", r"[!-/:-@\[-`{-~]")
               .replace(r"\p{Upper}", "[A-Z]").replace(r"\p{Lower}", "[a-z]")
               .replace(r"\p{Space}", r"\s").replace(r"\P{L}", r"[\W\d_]"))
    try:
        return re.compile(pattern, bits)
    except (re.error, OverflowError, RecursionError):
        return None


def _replacement(template: str) -> Any:
    """Java's ``$1``/``${name}`` replacement syntax (``\\$`` a literal ``$``) as a function of
    the match; a group that did not take part gives ``""``."""
    parts: List[Any] = []  # ("text", s) | ("group", int or name)
    i, n = 0, len(template)
    literal: List[str] = []

    def flush() -> None:
        if literal:
            parts.append(("text", "".join(literal)))
            literal.clear()

    while i < n:
        ch = template[i]
        if ch == "\\" and i + 1 < n:
            literal.append(template[i + 1])
            i += 2
        elif ch == "$" and i + 1 < n and template[i + 1].isdigit():
            j = i + 2
            while j < n and template[j].isdigit():
                j += 1
            flush()
            parts.append(("group", int(template[i + 1:j])))
            i = j
        elif ch == "$" and template.startswith("{", i + 1) and template.find("}", i) > 0:
            end = template.find("}", i)
            flush()
            parts.append(("group", template[i + 2:end]))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    flush()

    def expand(m: "re.Match[str]") -> str:
        out = []
        for what, part in parts:
            if what == "text":
                out.append(part)
            else:
                if isinstance(part, int) and part > m.re.groups:
                    # Java takes the longest group number that exists: $12 with one group is $1 + "2"
                    text = str(part)
                    while len(text) > 1 and int(text) > m.re.groups:
                        text = text[:-1]
                    if int(text) > m.re.groups:
                        raise ValueError(f"no group {part}")
                    out.append((m.group(int(text)) or "") + str(part)[len(text):])
                    continue
                out.append(m.group(part) or "")
        return "".join(out)

    return expand


@builtin("substring", "string", "start position", "length?")
def substring(string: Any, start: Any, length: Any = None) -> Any:
    # As Camunda: 1-based, negative from the end, 0 is the end of the string; out of range is null
    if type(string) is not str:
        return None
    start = _position(start)
    if start is None:
        return None
    begin = start - 1 if start > 0 else len(string) + start
    if begin < 0 or begin > len(string):
        return None
    if length is None:
        return string[begin:]
    length = _position(length)
    if length is None or length < 0:
        return None
    return string[begin:begin + length]


@builtin("string length", "string")
def string_length(string: Any) -> Any:
    return len(string) if type(string) is str else None


@builtin("upper case", "string")
def upper_case(string: Any) -> Any:
    return string.upper() if type(string) is str else None


@builtin("lower case", "string")
def lower_case(string: Any) -> Any:
    return string.lower() if type(string) is str else None


@builtin("substring before", "string", "match")
def substring_before(string: Any, match: Any) -> Any:
    if not _str(string, match):
        return None
    i = string.find(match)
    return "" if i < 0 else string[:i]


@builtin("substring after", "string", "match")
def substring_after(string: Any, match: Any) -> Any:
    if not _str(string, match):
        return None
    i = string.find(match)
    return "" if i < 0 else string[i + len(match):]


@builtin("contains", "string", "match")
def contains(string: Any, match: Any) -> Any:
    return (match in string) if _str(string, match) else None


@builtin("starts with", "string", "match")
def starts_with(string: Any, match: Any) -> Any:
    return string.startswith(match) if _str(string, match) else None


@builtin("ends with", "string", "match")
def ends_with(string: Any, match: Any) -> Any:
    return string.endswith(match) if _str(string, match) else None


@builtin("matches", "input", "pattern", "flags?")
def matches(value: Any, pattern: Any, flags: Any = None) -> Any:
    if type(value) is not str:
        return None
    compiled = compile_pattern(pattern, flags)
    return None if compiled is None else compiled.search(value) is not None


@builtin("replace", "input", "pattern", "replacement", "flags?")
def replace(value: Any, pattern: Any, replacement: Any, flags: Any = None) -> Any:
    if not _str(value, replacement):
        return None
    compiled = compile_pattern(pattern, flags)
    if compiled is None:
        return None
    if flags is not None and "q" in flags:
        return compiled.sub(lambda m: replacement, value)
    result = compiled.sub(_replacement(replacement), value)
    if len(result) > limits.MAX_STRING:
        raise limits.LimitExceeded(f"the result string would have more than {limits.MAX_STRING:,} characters")
    return result


@builtin("split", "string", "delimiter")
def split(string: Any, delimiter: Any) -> Any:
    if type(string) is not str:
        return None
    compiled = compile_pattern(delimiter)
    if compiled is None:
        return None
    return compiled.split(string) if compiled.groups == 0 else \
        [p for i, p in enumerate(compiled.split(string)) if i % (compiled.groups + 1) == 0]


@builtin("extract", "string|input", "pattern")
def extract(string: Any, pattern: Any) -> Any:
    if type(string) is not str:
        return None
    compiled = compile_pattern(pattern)
    if compiled is None:
        return None
    return [m.group(0) for m in compiled.finditer(string)]


@builtin("trim", "string")
def trim(string: Any) -> Any:
    # Java's String.trim(): strips the characters <= U+0020 at both ends
    return string.strip("".join(chr(c) for c in range(33))) if type(string) is str else None


@builtin("uuid", pure=False)
def uuid() -> str:
    return str(_uuid.uuid4())


@builtin("to base64", "value")
def to_base64(value: Any) -> Any:
    return base64.b64encode(value.encode("utf-8")).decode("ascii") if type(value) is str else None


@builtin("from base64", "value")
def from_base64(value: Any) -> Any:
    # Not in Camunda 8.8 (feel-scala 1.19); later versions have it.
    if type(value) is not str:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


@builtin("is blank", "string")
def is_blank(string: Any) -> Any:
    return string.strip() == "" if type(string) is str else None
