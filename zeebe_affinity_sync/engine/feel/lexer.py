"""FEEL tokenizer: text -> list of :class:`Token`, each with its 0-based position.

Words are all ``NAME`` tokens (keywords included): whether ``and`` or ``string`` is a keyword, a
function name or a variable depends on where it stands, which only the parser knows.
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional

from zeebe_affinity_sync.engine.feel.exceptions import FeelSyntaxError

__all__ = ["Token", "tokenize", "NAME", "QNAME", "NUMBER", "STRING", "OP", "END"]

NAME = "name"      # a word: variable, keyword or part of a function name
QNAME = "qname"    # a backtick name: always a variable / entry name, never a keyword
NUMBER = "number"  # text of a numeric literal
STRING = "string"  # value of a string literal (escapes resolved)
OP = "op"          # punctuation and operators
END = "end"        # end of the expression


class Token(NamedTuple):
    kind: str
    text: str
    pos: int


# Longest first, so "**" wins over "*" and "<=" over "<".
_OPERATORS = ("**", "..", "!=", "<=", ">=", "+", "-", "*", "/", "=", "<", ">", "(", ")", "[", "]",
              "{", "}", ",", ".", ":", "@", "?")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
# After these tokens a "." is a path step, elsewhere ".5" is a number.
_VALUE_END = frozenset((")", "]", "}"))


def _is_name_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_" or ch == "$"


def _is_name_part(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or ch == "$"


def tokenize(text: str, source: str) -> List[Token]:
    """Split FEEL text into tokens, ending with one ``END`` token.

    Args:
        text: The FEEL text (after the leading ``=``).
        source: The expression as the user wrote it, for error messages.

    Raises:
        FeelSyntaxError: An unknown character, an unterminated string or backtick name.
    """
    tokens: List[Token] = []
    i, n = 0, len(text)
    previous: Optional[Token] = None
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch == "/" and text.startswith("//", i):  # line comment
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch == "/" and text.startswith("/*", i):  # block comment
            end = text.find("*/", i + 2)
            if end < 0:
                raise FeelSyntaxError(source, "unterminated comment '/*'", start)
            i = end + 2
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit() and not _ends_value(previous)):
            while i < n and text[i].isdigit():
                i += 1
            if i + 1 < n and text[i] == "." and text[i + 1].isdigit():
                i += 1
                while i < n and text[i].isdigit():
                    i += 1
            if i < n and _is_name_start(text[i]):
                raise FeelSyntaxError(source, f"unexpected '{text[i]}' after number", i)
            token = Token(NUMBER, text[start:i], start)
        elif _is_name_start(ch):
            while i < n and _is_name_part(text[i]):
                i += 1
            token = Token(NAME, text[start:i], start)
        elif ch == '"':
            value, i = _read_string(text, i, source)
            token = Token(STRING, value, start)
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise FeelSyntaxError(source, "unterminated backtick name", start)
            if end == i + 1:
                raise FeelSyntaxError(source, "empty backtick name", start)
            token = Token(QNAME, text[i + 1:end], start)
            i = end + 1
        else:
            for op in _OPERATORS:
                if text.startswith(op, i):
                    break
            else:
                hint = " (FEEL negation is the function not(x))" if ch == "!" else ""
                hint = hint or (" (strings use double quotes)" if ch == "'" else "")
                raise FeelSyntaxError(source, f"unexpected character '{ch}'{hint}", start)
            i += len(op)
            token = Token(OP, op, start)
        tokens.append(token)
        previous = token
    tokens.append(Token(END, "", n))
    return tokens


def _ends_value(token: Optional[Token]) -> bool:
    if token is None:
        return False
    if token.kind == OP:
        return token.text in _VALUE_END
    return True


def _read_string(text: str, i: int, source: str) -> "tuple[str, int]":
    start = i
    i += 1
    parts: List[str] = []
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return "".join(parts), i + 1
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "u":
                digits = text[i + 2:i + 6]
                if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise FeelSyntaxError(source, "invalid unicode escape (expected \\uXXXX)", i)
                code = int(digits, 16)
                low = text[i + 6:i + 12]
                if 0xD800 <= code < 0xDC00 and low[:2] == "\\u" and all(c in _HEX for c in low[2:]) \
                        and len(low) == 6 and 0xDC00 <= int(low[2:], 16) < 0xE000:
                    # a surrogate pair (\\uD83D\\uDC0E) is one character, as in Java
                    code = 0x10000 + ((code - 0xD800) << 10) + (int(low[2:], 16) - 0xDC00)
                    i += 6
                parts.append(chr(code))
                i += 6
                continue
            if nxt == "U":
                j = i + 2
                while j < n and j < i + 8 and text[j] in _HEX:
                    j += 1
                if j - i - 2 < 5 or int(text[i + 2:j], 16) > 0x10FFFF:
                    raise FeelSyntaxError(source, "invalid unicode escape (expected \\U and 5 or 6 hex digits)", i)
                parts.append(chr(int(text[i + 2:j], 16)))
                i = j
                continue
            # Unknown escapes stay as written (regex patterns like "\d" keep working).
            parts.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        parts.append(ch)
        i += 1
    raise FeelSyntaxError(source, "unterminated string literal", start)
