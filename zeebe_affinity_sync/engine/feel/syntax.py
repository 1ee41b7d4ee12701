"""The parser's toolbox: the token cursor, constant folding, and the rules for unary tests
(DMN input entries, ``in``) and for calls, named arguments and function definitions. The
grammar proper is in :mod:`.parser`, whose ``_Parser`` extends :class:`TestsAndCalls`."""
from __future__ import annotations

from typing import List, Optional, Sequence

from zeebe_affinity_sync.engine.feel import limits, ops
from zeebe_affinity_sync.engine.feel import nodes as n
from zeebe_affinity_sync.engine.feel.builtins import BUILTINS, MAX_NAME_WORDS
from zeebe_affinity_sync.engine.feel.exceptions import FeelSyntaxError
from zeebe_affinity_sync.engine.feel.lexer import END, NAME, OP, QNAME, STRING, Token
from zeebe_affinity_sync.engine.feel.values import DEC, norm_number

MAX_DEPTH = limits.MAX_DEPTH
MAX_TREE_DEPTH = limits.MAX_TREE_DEPTH

COMPARISON = frozenset(("=", "!=", "<", "<=", ">", ">="))
NAME_STOP = frozenset(("and", "or", "then", "else", "between", "in", "instance", "of", "satisfies",
                        "return"))
TYPE_NAMES = ("years and months duration", "days and time duration", "date and time", "number",
               "string", "boolean", "context", "list", "date", "time", "range", "function", "Any",
               "Null", "null")
LITERALS = {"true": True, "false": False, "null": None}
SPACED_PROPERTIES = frozenset(("time offset", "start included", "end included"))


def scalar_literal(node: n.Node) -> bool:
    return isinstance(node, n.Literal) and type(node.value) not in (list, dict)


def fold(node: n.Node, children: Sequence[n.Node]) -> n.Node:
    """Replace a pure node whose operands are all constants by its (scalar) value."""
    if not all(scalar_literal(child) for child in children):
        return node
    value = node.ev({})
    return n.Literal(value) if type(value) not in (list, dict) else node


def number(text: str):
    if "." in text:
        return norm_number(DEC.create_decimal(text))
    return int(text)


class TokenCursor:
    """Position in the token list, error reporting and the nesting guard."""

    def __init__(self, source: str, tokens: List[Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.range_end = False  # parsing the upper bound of a range: a '[' closes it (`]1..5[`)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != END:
            self.i += 1
        return token

    def at_op(self, *ops_: str) -> bool:
        token = self.tokens[self.i]
        return token.kind == OP and token.text in ops_

    def at_word(self, *words: str) -> bool:
        token = self.tokens[self.i]
        return token.kind == NAME and token.text in words

    def fail(self, token: Token, expected: str = "") -> None:
        if token.kind == END:
            reason = "unexpected end of expression"
        else:
            shown = f'"{token.text}"' if token.kind == STRING else f"'{token.text}'"
            reason = f"unexpected {shown}"
        raise FeelSyntaxError(self.source, reason, token.pos, expected)

    def expect_op(self, op: str, what: str) -> Token:
        if not self.at_op(op):
            self.fail(self.peek(), f"expected '{op}' {what}")
        return self.next()

    def expect_word(self, word: str, what: str) -> Token:
        if not self.at_word(word):
            self.fail(self.peek(), f"expected '{word}' {what}")
        return self.next()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FeelSyntaxError(self.source, f"expression is nested more than {MAX_DEPTH} levels deep",
                                  self.peek().pos, "split it into several mappings")

    def leave(self) -> None:
        self.depth -= 1

    # ---------------------------------------------------------------- grammar


class TestsAndCalls(TokenCursor):
    """Unary tests and calls; the grammar methods (``expression``, ``additive``...) come from the
    subclass."""

    def in_tests(self) -> n.UnaryTests:
        if self.at_op("(") and not self._interval_ahead():
            self.next()
            tests = [self.unary_test()]
            while self.at_op(","):
                self.next()
                tests.append(self.unary_test())
            self.expect_op(")", "to close the list of tests")
            return n.UnaryTests(tests)
        return n.UnaryTests([self.unary_test()])

    def _filter_ahead(self) -> bool:
        """In a range's upper bound, at '[': a filter (`[1..l[2]]`) rather than the closing
        bracket of an open range (`[1..5[`)? A filter's ']' is followed by the range's end."""
        depth = 0
        for j in range(self.i, len(self.tokens)):
            token = self.tokens[j]
            if token.kind == OP and token.text in ("(", "[", "{"):
                depth += 1
            elif token.kind == OP and token.text in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    after = self.tokens[j + 1] if j + 1 < len(self.tokens) else token
                    return after.kind == OP and after.text in ("]", ")", "[")
            elif token.kind == END:
                return False
        return False

    def _interval_ahead(self) -> bool:
        """At '(' or '[': is this an interval (`(1..5)`) rather than a list of tests?"""
        depth = 0
        for token in self.tokens[self.i:]:
            if token.kind == OP and token.text in ("(", "[", "{"):
                depth += 1
            elif token.kind == OP and token.text in (")", "]", "}"):
                depth -= 1
                if depth <= 0:
                    return False
            elif depth == 1 and token.kind == OP and token.text == "..":
                return True
            elif depth == 1 and token.kind == OP and token.text == ",":
                return False
            elif token.kind == END:
                return False
        return False

    def unary_tests_top(self) -> n.UnaryTests:
        if self.at_op("-") and self.peek(1).kind == END:
            self.next()
            return n.UnaryTests([], any=True)
        if self.peek().kind == END:
            return n.UnaryTests([], any=True)
        if self.at_word("not") and self.peek(1).text == "(":
            start = self.i
            self.next()
            self.next()
            tests = [self.unary_test()]
            while self.at_op(","):
                self.next()
                tests.append(self.unary_test())
            if self.at_op(")") and self.peek(1).kind == END:
                self.next()
                return n.UnaryTests(tests, negated=True)
            self.i = start  # `not(x) = y`: an ordinary expression
        tests = [self.unary_test()]
        while self.at_op(","):
            self.next()
            tests.append(self.unary_test())
        return n.UnaryTests(tests)

    def unary_test(self) -> n.Node:
        token = self.peek()
        after = self.peek(1)
        if token.kind == NAME and token.text in ("true", "false") and (
                after.kind == END or (after.kind == OP and after.text in (",", ")"))):
            self.next()
            return n.InputEquals(token.text == "true")
        if token.kind == OP and token.text in ("<", "<=", ">", ">=", "=", "!="):
            self.next()
            return n.Compare1(ops.COMPARISONS[token.text], self.additive())
        if token.kind == OP and token.text == "]" or (token.kind == OP and token.text in ("(", "[")
                                                      and self._interval_ahead()):
            return self.primary()
        return self.expression()

    def _function_name(self) -> Optional[str]:
        """A (user) function name of several words directly before '(' (consumed), else None."""
        j = self.i
        while self.tokens[j].kind == NAME and self.tokens[j].text not in NAME_STOP:
            j += 1
        if j == self.i or self.tokens[j].kind != OP or self.tokens[j].text != "(":
            return None
        words = [t.text for t in self.tokens[self.i:j]]
        self.i = j
        return " ".join(words)

    def words(self, allow_keywords: bool) -> str:
        words = [self.next().text]
        while self.peek().kind == NAME and (allow_keywords or self.peek().text not in NAME_STOP) \
                and self.peek().text not in LITERALS:
            words.append(self.next().text)
        return " ".join(words)

    def property_name(self) -> str:
        """After '.': one name, or a property whose name has a space (``time offset``)."""
        first = self.next().text
        second = self.peek()
        if second.kind == NAME and f"{first} {second.text}" in SPACED_PROPERTIES:
            self.next()
            return f"{first} {second.text}"
        return first

    def builtin_name(self) -> Optional[str]:
        """The longest built-in function name starting here and followed by '('."""
        for count in range(MAX_NAME_WORDS, 0, -1):
            tokens = self.tokens[self.i:self.i + count + 1]
            if len(tokens) < count + 1 or any(t.kind != NAME for t in tokens[:count]):
                continue
            if tokens[count].kind != OP or tokens[count].text != "(":
                continue
            name = " ".join(t.text for t in tokens[:count])
            if name in BUILTINS:
                return name
        return None

    def function_definition(self) -> n.Node:
        self.next()
        self.expect_op("(", "after 'function'")
        params: List[str] = []
        while not self.at_op(")"):
            token = self.peek()
            if token.kind not in (NAME, QNAME):
                self.fail(token, "expected a parameter name")
            params.append(self.words(allow_keywords=False) if token.kind == NAME else self.next().text)
            if self.at_op(":"):
                self.next()
                self.type_name()
            if not self.at_op(","):
                break
            self.next()
        self.expect_op(")", "to close the parameters")
        if self.at_word("external"):
            self.fail(self.peek(), "external functions are not supported")
        return n.FunctionDef(params, self.expression())

    def call(self, name: str, builtin, target: Optional[n.Node]) -> n.Node:
        self.expect_op("(", "")
        self.enter()
        args: List[n.Node] = []
        named: Optional[List[str]] = None
        while not self.at_op(")"):
            param = self._named_param()
            if param is not None:
                if named is None:
                    if args:
                        self.fail(self.peek(), "positional and named arguments cannot be mixed")
                    named = []
                named.append(param)
            elif named is not None:
                self.fail(self.peek(), "positional and named arguments cannot be mixed")
            args.append(self.expression())
            if not self.at_op(","):
                break
            self.next()
        self.expect_op(")", "to close the argument list")
        self.leave()
        node = n.Call(name, builtin, target, args, named)
        # A built-in called with arguments it has no overload for stays a call: Zeebe deploys it
        # and Camunda's engine answers null (checked at run time, after function variables).
        if builtin is not None and builtin.pure and all(scalar_literal(a) for a in args) and named is None \
                and not builtin.check_arity(len(args), named):
            return fold(node, args)
        return node

    def _named_param(self) -> Optional[str]:
        """At `name: value` inside a call: consume the name and ':' and return the name."""
        j = self.i
        words = []
        while self.tokens[j].kind in (NAME, QNAME):
            words.append(self.tokens[j].text)
            j += 1
            if self.tokens[j - 1].kind == QNAME:
                break
        if not words or self.tokens[j].kind != OP or self.tokens[j].text != ":":
            return None
        self.i = j + 1
        return " ".join(words)

