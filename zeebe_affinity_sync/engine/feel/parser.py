"""Recursive-descent FEEL parser: tokens -> :mod:`nodes` tree.

Precedence, lowest first (each level is one method)::

    if c then a else b            (also allowed wherever a value is)
    or
    and
    = != < <= > >=  between  in  instance of     (not chainable: `a < b < c` is an error)
    + -
    * /
    **                            (left-assoc; `-2 ** 2` is -(2 ** 2) = -4)
    unary -
    postfix: .name  [filter/index]
    literals, names, (...), [...], {...}, function calls

Constant sub-expressions with a scalar result are folded at compile time.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from zeebe_affinity_sync.engine.feel import values
from zeebe_affinity_sync.engine.feel import nodes as n
from zeebe_affinity_sync.engine.feel.builtins import BUILTINS, MAX_NAME_WORDS, SPECIAL_FUNCTIONS
from zeebe_affinity_sync.engine.feel.exceptions import FeelSyntaxError
from zeebe_affinity_sync.engine.feel.lexer import END, NAME, NUMBER, OP, QNAME, STRING, Token, tokenize

__all__ = ["parse", "MAX_DEPTH", "MAX_TREE_DEPTH"]

MAX_DEPTH = 64         # nested (...), [...], {...}, calls and if's in one expression
MAX_TREE_DEPTH = 200   # operations in a chain (keeps evaluation far below Python's recursion limit)

_COMPARISON = frozenset(("=", "!=", "<", "<=", ">", ">="))
_ARITHMETIC = {"+": values.add, "-": values.subtract, "*": values.multiply, "/": values.divide,
               "**": values.power}
_RESERVED = frozenset(("and", "or", "then", "else", "between", "in", "instance", "of", "satisfies",
                       "return"))
_UNSUPPORTED = {
    "for": "'for' loops", "some": "'some' quantifiers", "every": "'every' quantifiers",
    "function": "function definitions",
}
_TYPE_NAMES = {
    "number": values.NUMBER, "string": values.STRING, "boolean": values.BOOLEAN,
    "context": values.CONTEXT, "list": values.LIST, "days and time duration": values.DURATION,
    "Any": "ANY", "Null": values.NULL,
}
_LITERALS = {"true": True, "false": False, "null": None}


def parse(source: str, text: str) -> n.Node:
    """Parse FEEL ``text`` (what follows the ``=`` of ``source``) into a node tree.

    Raises:
        FeelSyntaxError: The text is not in the supported FEEL subset; the message says where.
    """
    parser = _Parser(source, tokenize(text, source))
    try:
        node = parser.expression()
    except RecursionError:
        raise FeelSyntaxError(source, "expression is nested too deeply") from None
    token = parser.peek()
    if token.kind != END:
        parser.fail(token, "expected an operator or the end of the expression")
    if n.tree_depth(node) > MAX_TREE_DEPTH:
        raise FeelSyntaxError(source, f"expression is more than {MAX_TREE_DEPTH} operations deep", None,
                              "split it into several mappings")
    return node


def _scalar_literal(node: n.Node) -> bool:
    return isinstance(node, n.Literal) and type(node.value) not in (list, dict)


def _fold(node: n.Node, children: Sequence[n.Node]) -> n.Node:
    """Replace a pure node whose operands are all constants by its (scalar) value."""
    if not all(_scalar_literal(child) for child in children):
        return node
    value = node.ev({})
    return n.Literal(value) if type(value) not in (list, dict) else node


class _Parser:
    def __init__(self, source: str, tokens: List[Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.range_end = False  # parsing the upper bound of a range: a '[' closes it (`]1..5[`)

    # ---------------------------------------------------------------- token helpers

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != END:
            self.i += 1
        return token

    def at_op(self, *ops: str) -> bool:
        token = self.tokens[self.i]
        return token.kind == OP and token.text in ops

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

    # ---------------------------------------------------------------- grammar

    def expression(self) -> n.Node:
        self.enter()
        range_end, self.range_end = self.range_end, False
        try:
            return self.disjunction()
        finally:
            self.depth -= 1
            self.range_end = range_end

    def disjunction(self) -> n.Node:
        items = [self.conjunction()]
        while self.at_word("or"):
            self.next()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else _fold(n.Or(items), items)

    def conjunction(self) -> n.Node:
        items = [self.comparison()]
        while self.at_word("and"):
            self.next()
            items.append(self.comparison())
        return items[0] if len(items) == 1 else _fold(n.And(items), items)

    def comparison(self) -> n.Node:
        left = self.additive()
        token = self.peek()
        node: n.Node
        if token.kind == OP and token.text in _COMPARISON:
            self.next()
            right = self.additive()
            node = _fold(n.Compare(token.text, left, right), (left, right))
        elif self.at_word("between"):
            self.next()
            low = self.additive()
            self.expect_word("and", "in 'x between low and high'")
            high = self.additive()
            node = _fold(n.Between(left, low, high), (left, low, high))
        elif self.at_word("in"):
            self.next()
            node = n.In(left, self.positive_tests())
        elif self.at_word("instance"):
            self.next()
            self.expect_word("of", "after 'instance'")
            node = n.InstanceOf(left, self.type_name())
        else:
            return left
        following = self.peek()
        if (following.kind == OP and following.text in _COMPARISON) or self.at_word("between", "in", "instance"):
            self.fail(following, "comparisons cannot be chained; combine them with 'and'")
        return node

    def additive(self) -> n.Node:
        node = self.multiplicative()
        while self.at_op("+", "-"):
            op = self.next().text
            right = self.multiplicative()
            node = _fold(n.Binary(_ARITHMETIC[op], node, right), (node, right))
        return node

    def multiplicative(self) -> n.Node:
        node = self.unary()
        while self.at_op("*", "/"):
            op = self.next().text
            right = self.unary()
            node = _fold(n.Binary(_ARITHMETIC[op], node, right), (node, right))
        return node

    def unary(self) -> n.Node:
        negations = 0
        while self.at_op("-"):
            self.next()
            negations += 1
        if negations > MAX_DEPTH:
            self.fail(self.peek(-1), f"more than {MAX_DEPTH} minus signs in a row")
        node = self.power()
        for _ in range(negations):
            node = _fold(n.Unary(values.negate, node), (node,))
        return node

    def power(self) -> n.Node:
        node = self.postfix()
        while self.at_op("**"):
            self.next()
            negations = 0
            while self.at_op("-"):
                self.next()
                negations += 1
            right = self.postfix()
            for _ in range(negations):
                right = _fold(n.Unary(values.negate, right), (right,))
            node = _fold(n.Binary(values.power, node, right), (node, right))
        return node

    def postfix(self) -> n.Node:
        node = self.primary()
        while True:
            if self.at_op("."):
                self.next()
                token = self.next()
                if token.kind not in (NAME, QNAME):
                    self.fail(token, "expected a name after '.'")
                node = n.Path(node, token.text)
            elif self.at_op("[") and (not self.range_end or self._filter_ahead()):
                self.next()
                test = self.expression()
                self.expect_op("]", "to close the filter")
                node = n.Filter(node, test)
            else:
                return node

    def _filter_ahead(self) -> bool:
        """At the upper bound of a range, is this '[' a filter (`[1..l[2]]`) rather than the
        exclusive closing bracket (`]1..5[`)? A filter has a matching ']' that the range's own
        closing bracket follows."""
        depth = 0
        for k in range(self.i, len(self.tokens)):
            token = self.tokens[k]
            if token.kind == OP and token.text in ("(", "[", "{"):
                depth += 1
            elif token.kind == OP and token.text in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    after = self.tokens[k + 1]
                    return after.kind == OP and after.text in (")", "]", "[", ".")
                if depth < 0:
                    return False
        return False

    def primary(self) -> n.Node:
        token = self.peek()
        if token.kind == NUMBER:
            self.next()
            return n.Literal(values.parse_number(token.text))
        if token.kind == STRING:
            self.next()
            return n.Literal(token.text)
        if token.kind == QNAME:
            self.next()
            return n.Name(token.text)
        if token.kind == OP:
            if token.text == "(":
                self.next()
                node = self.expression()
                self.expect_op(")", "to close '('")
                return node
            if token.text == "[":
                return self.list_literal()
            if token.text == "{":
                return self.context_literal()
            self.fail(token, "expected a value")
        if token.kind == NAME:
            call = self.function_call()
            if call is not None:
                return call
            word = token.text
            if word in _LITERALS:
                self.next()
                return n.Literal(_LITERALS[word])
            if word == "if":
                return self.if_expression()
            if word in _UNSUPPORTED:
                raise FeelSyntaxError(self.source, f"{_UNSUPPORTED[word]} are not in the FEEL subset of the "
                                      "embedded engine", token.pos, "the subset is listed in docs/feel.md")
            if word == "not":
                self.fail(token, "negation is the function not(x)")
            if word in _RESERVED:
                self.fail(token, "expected a value")
            self.next()
            return n.Name(word)
        self.fail(token, "expected a value")
        raise AssertionError("unreachable")  # pragma: no cover

    def if_expression(self) -> n.Node:
        self.enter()
        try:
            self.next()
            condition = self.expression()
            self.expect_word("then", "after the condition of 'if'")
            then = self.expression()
            self.expect_word("else", "after the 'then' branch: 'if' needs an 'else' branch")
            otherwise = self.expression()
        finally:
            self.depth -= 1
        if isinstance(condition, n.Literal):
            return then if condition.value is True else otherwise
        return n.If(condition, then, otherwise)

    def list_literal(self) -> n.Node:
        self.enter()
        try:
            self.next()
            items = self.comma_list("]")
        finally:
            self.depth -= 1
        return n.ListLiteral(items)

    def comma_list(self, close: str) -> List[n.Node]:
        items: List[n.Node] = []
        if not self.at_op(close):
            items.append(self.expression())
            while self.at_op(","):
                self.next()
                items.append(self.expression())
        self.expect_op(close, "or ',' in the list" if close == "]" else "or ',' between arguments")
        return items

    def context_literal(self) -> n.Node:
        self.enter()
        try:
            start = self.next()
            entries: List[Tuple[str, n.Node]] = []
            keys = set()
            while not self.at_op("}"):
                if entries:
                    self.expect_op(",", "between context entries")
                key = self.next()
                if key.kind not in (NAME, QNAME, STRING):
                    self.fail(key, "expected a context key (a name or a string)")
                if key.text in keys:
                    raise FeelSyntaxError(self.source, f"duplicate context key '{key.text}'", key.pos)
                keys.add(key.text)
                self.expect_op(":", f"after the context key '{key.text}'")
                entries.append((key.text, self.expression()))
            if not self.at_op("}"):  # pragma: no cover - the loop only exits on '}'
                self.fail(self.peek(), f"expected '}}' to close the context opened at position {start.pos}")
            self.next()
        finally:
            self.depth -= 1
        return n.ContextLiteral(entries)

    def function_call(self) -> Optional[n.Node]:
        """A built-in call if the words here form a known function name followed by '('."""
        for count in range(MAX_NAME_WORDS, 0, -1):
            words = [self.peek(k) for k in range(count)]
            if any(word.kind != NAME for word in words) or not (
                    self.peek(count).kind == OP and self.peek(count).text == "("):
                continue
            name = " ".join(word.text for word in words)
            if name in BUILTINS or name in SPECIAL_FUNCTIONS:
                break
            if count == 1 and name not in _LITERALS and name not in _RESERVED and name != "if":
                raise FeelSyntaxError(self.source, f"unknown function '{name}'", words[0].pos,
                                      "the supported functions are listed in docs/feel.md")
        else:
            return None
        start = words[0]
        self.i += count
        self.enter()
        try:
            self.next()  # "("
            args = self.comma_list(")")
        finally:
            self.depth -= 1
        if name in SPECIAL_FUNCTIONS:  # "is defined"
            if len(args) != 1:
                raise FeelSyntaxError(self.source, f"function 'is defined' takes 1 argument, got {len(args)}",
                                      start.pos)
            return n.IsDefined(args[0])
        builtin = BUILTINS[name]
        if len(args) < builtin.min_args or (builtin.max_args is not None and len(args) > builtin.max_args):
            if builtin.max_args is None:
                wanted = f"at least {builtin.min_args}"
            elif builtin.min_args == builtin.max_args:
                wanted = str(builtin.min_args)
            else:
                wanted = f"{builtin.min_args} to {builtin.max_args}"
            plural = "" if wanted.split()[-1] == "1" else "s"
            raise FeelSyntaxError(self.source, f"function '{name}' takes {wanted} argument{plural}, "
                                  f"got {len(args)}", start.pos)
        call = n.Call(builtin.function, args)
        return _fold(call, args) if builtin.pure else call

    def positive_tests(self) -> List[n.Test]:
        """The right of ``in``: one test, or several in parentheses/brackets, comma-separated."""
        if self.at_op("(") and not self._range_ahead():
            self.next()
            tests = [self.positive_test()]
            while self.at_op(","):
                self.next()
                tests.append(self.positive_test())
            self.expect_op(")", "to close the tests after 'in'")
            return tests
        return [self.positive_test()]

    def _range_ahead(self) -> bool:
        """Is the '(' here the start of a range `(a..b)` rather than a group of tests?"""
        depth = 0
        for token in self.tokens[self.i:]:
            if token.kind == OP and token.text in ("(", "[", "{"):
                depth += 1
            elif token.kind == OP and token.text in (")", "]", "}"):
                depth -= 1
                if depth <= 0:
                    return False
            elif depth == 1 and token.kind == OP and token.text in ("..", ","):
                return token.text == ".."
        return False

    def positive_test(self) -> n.Test:
        token = self.peek()
        if token.kind == OP and token.text in ("<", "<=", ">", ">="):
            self.next()
            return n.CompareTest(token.text, self.additive())
        if token.kind == OP and token.text in ("(", "[", "]") and (token.text == "]" or self._range_ahead()):
            self.next()
            low = self.additive()
            self.expect_op("..", "in the range")
            self.range_end = True
            try:
                high = self.additive()
            finally:
                self.range_end = False
            close = self.next()
            if close.kind != OP or close.text not in (")", "]", "["):
                self.fail(close, "expected ')' or ']' to close the range")
            return n.RangeTest(low, token.text == "[", high, close.text == "]")
        return n.EqualTest(self.additive())

    def type_name(self) -> str:
        for count in range(4, 0, -1):
            words = [self.peek(k) for k in range(count)]
            if all(word.kind == NAME for word in words):
                name = " ".join(word.text for word in words)
                if name in _TYPE_NAMES:
                    self.i += count
                    return _TYPE_NAMES[name]
        self.fail(self.peek(), "expected a type name: " + ", ".join(sorted(_TYPE_NAMES)))
        raise AssertionError("unreachable")  # pragma: no cover
