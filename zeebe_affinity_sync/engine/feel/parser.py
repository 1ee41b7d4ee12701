"""Recursive-descent FEEL parser: tokens -> :mod:`nodes` tree.

Precedence, lowest first (each level is one method)::

    for / if / some / every / function     (also allowed wherever a value is)
    or
    and
    = != < <= > >=  between  in  instance of     (not chainable)
    + -
    * /
    **
    unary -
    postfix: .name  [filter/index]  (call)
    literals, names, (...), [...] lists and ranges, {...}, @"..." temporal literals

Names may contain spaces (``string length``, ``date and time``, ``order.total price``): a run of
words is one name; a built-in's name is matched longest-first before a ``(``. Constant
sub-expressions with a scalar result are folded at compile time.
"""
from __future__ import annotations

from typing import List, Tuple

from zeebe_affinity_sync.engine.feel import limits, ops, temporal
from zeebe_affinity_sync.engine.feel import nodes as n
from zeebe_affinity_sync.engine.feel.builtins import BUILTINS
from zeebe_affinity_sync.engine.feel.exceptions import FeelSyntaxError
from zeebe_affinity_sync.engine.feel.lexer import END, NAME, NUMBER, OP, QNAME, STRING, Token, tokenize
from zeebe_affinity_sync.engine.feel.syntax import (
    COMPARISON, LITERALS, NAME_STOP, TYPE_NAMES, MAX_DEPTH, MAX_TREE_DEPTH, TestsAndCalls, fold, number,
    scalar_literal,
)

__all__ = ["parse", "parse_unary_tests", "MAX_DEPTH", "MAX_TREE_DEPTH"]

def parse(source: str, text: str) -> n.Node:
    """Parse FEEL ``text`` (what follows the ``=`` of ``source``) into a node tree.

    Raises:
        FeelSyntaxError: The text is not FEEL; the message says where.
    """
    return _run(source, text, lambda p: p.expression())


def parse_unary_tests(source: str, text: str) -> n.UnaryTests:
    """Parse DMN unary tests (an input entry): ``-``, ``"a","b"``, ``< 5``, ``[1..5]``,
    ``not(1, 2)``, ``? > 5`` or any expression."""
    return _run(source, text, lambda p: p.unary_tests_top())


def _run(source: str, text: str, rule) -> n.Node:
    if len(text) > limits.MAX_EXPRESSION_LENGTH:
        raise FeelSyntaxError(source, f"the expression is longer than {limits.MAX_EXPRESSION_LENGTH:,} "
                                      f"characters ({len(text):,})", None, "split it into several mappings")
    parser = _Parser(source, tokenize(text, source))
    try:
        node = rule(parser)
    except RecursionError:
        raise FeelSyntaxError(source, "expression is nested too deeply") from None
    token = parser.peek()
    if token.kind != END:
        parser.fail(token, "expected an operator or the end of the expression")
    if node.depth > MAX_TREE_DEPTH:
        raise FeelSyntaxError(source, f"expression is more than {MAX_TREE_DEPTH} operations deep", None,
                              "split it into several mappings")
    return node


class _Parser(TestsAndCalls):
    """The grammar, lowest precedence first (token handling, unary tests and calls: ``syntax``)."""

    def expression(self) -> n.Node:
        self.enter()
        range_end, self.range_end = self.range_end, False
        try:
            if self.at_word("for") and self.peek(1).kind in (NAME, QNAME) and self.peek(2).text == "in":
                return self.for_loop()
            if self.at_word("if"):
                return self.if_expression()
            if self.at_word("some", "every") and self.peek(1).kind in (NAME, QNAME) and \
                    self.peek(2).text == "in":
                return self.quantified()
            return self.disjunction()
        finally:
            self.range_end = range_end
            self.leave()

    def if_expression(self) -> n.Node:
        self.next()
        cond = self.expression()
        self.expect_word("then", "after the 'if' condition")
        then = self.expression()
        if not self.at_word("else"):
            self.fail(self.peek(), "'if' needs an 'else' branch")
        self.next()
        otherwise = self.expression()
        if scalar_literal(cond):
            return then if cond.value is True else otherwise
        return n.If(cond, then, otherwise)

    def iterators(self, keyword: str) -> List[Tuple[str, n.Node]]:
        result = []
        while True:
            token = self.next()
            if token.kind not in (NAME, QNAME):
                self.fail(token, f"expected a variable name after '{keyword}'")
            self.expect_word("in", "after the loop variable")
            domain = self.expression()
            if self.at_op(".."):
                self.next()
                domain = n.RangeNode(domain, self.expression(), True, True)
            result.append((token.text, domain))
            if not self.at_op(","):
                return result
            self.next()

    def for_loop(self) -> n.Node:
        self.next()
        iterators = self.iterators("for")
        self.expect_word("return", "after the 'for' iterators")
        return n.For(iterators, self.expression())

    def quantified(self) -> n.Node:
        every = self.next().text == "every"
        iterators = self.iterators("some/every")
        self.expect_word("satisfies", "after the iterators")
        return n.Quantified(every, iterators, self.expression())

    def disjunction(self) -> n.Node:
        operands = [self.conjunction()]
        while self.at_word("or"):
            self.next()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else fold(n.Logic(False, operands), operands)

    def conjunction(self) -> n.Node:
        operands = [self.comparison()]
        while self.at_word("and"):
            self.next()
            operands.append(self.comparison())
        return operands[0] if len(operands) == 1 else fold(n.Logic(True, operands), operands)

    def comparison(self) -> n.Node:
        left = self.additive()
        token = self.peek()
        if token.kind == OP and token.text in COMPARISON:
            self.next()
            right = self.additive()
            node: n.Node = fold(n.Binary(ops.COMPARISONS[token.text], left, right), (left, right))
        elif self.at_word("between"):
            self.next()
            low = self.additive()
            self.expect_word("and", "in 'between ... and ...'")
            high = self.additive()
            node = fold(n.Between(left, low, high), (left, low, high))
        elif self.at_word("in"):
            self.next()
            node = n.In(left, self.in_tests())
        elif self.at_word("instance") and self.peek(1).text == "of":
            self.next()
            self.next()
            node = n.InstanceOf(left, self.type_name())
        else:
            return left
        following = self.peek()
        if following.kind == OP and following.text in COMPARISON:
            self.fail(following, "comparisons cannot be chained: use 'and' (a < b and b < c)")
        return node

    def type_name(self) -> str:
        words = []
        start = self.peek()
        while self.peek().kind == NAME:
            words.append(self.next().text)
            joined = " ".join(words)
            if joined in TYPE_NAMES and not (joined in ("date", "days", "years") and self.at_word("and")):
                break
        joined = " ".join(words)
        if joined not in TYPE_NAMES:
            self.fail(start, "expected a type name (number, string, boolean, date, list, context, ...)")
        if joined in ("list", "context", "range") and self.at_op("<"):
            depth = 0
            while True:  # generic parameters are accepted and not checked (list<number>)
                token = self.next()
                if token.kind == END:
                    self.fail(token, "expected '>'")
                depth += token.text == "<"
                depth -= token.text == ">"
                if depth == 0:
                    break
        return joined

    def additive(self) -> n.Node:
        left = self.multiplicative()
        while self.at_op("+", "-"):
            fn = ops.ARITHMETIC[self.next().text]
            right = self.multiplicative()
            left = fold(n.Binary(fn, left, right), (left, right))
        return left

    def multiplicative(self) -> n.Node:
        left = self.power()
        while self.at_op("*", "/"):
            fn = ops.ARITHMETIC[self.next().text]
            right = self.power()
            left = fold(n.Binary(fn, left, right), (left, right))
        return left

    def power(self) -> n.Node:
        left = self.unary()
        while self.at_op("**"):
            self.next()
            right = self.unary()
            left = fold(n.Binary(ops.power, left, right), (left, right))
        return left

    def unary(self) -> n.Node:
        if self.at_op("-"):
            start = self.peek()
            count = 0
            while self.at_op("-"):
                self.next()
                count += 1
                if count > 10:
                    raise FeelSyntaxError(self.source, "too many minus signs in a row", start.pos)
            operand = self.power_operand()
            node = operand
            for _ in range(count):
                node = fold(n.Negate(node), (node,))
            return node
        return self.postfix()

    def power_operand(self) -> n.Node:
        # `-2 ** 2` is -(2 ** 2)
        left = self.postfix()
        while self.at_op("**"):
            self.next()
            right = self.unary()
            left = fold(n.Binary(ops.power, left, right), (left, right))
        return left

    def postfix(self) -> n.Node:
        node = self.primary()
        while True:
            if self.at_op("."):
                self.next()
                token = self.peek()
                if token.kind == QNAME:
                    name = self.next().text
                elif token.kind == NAME:
                    name = self.property_name()
                else:
                    self.fail(token, "expected a name after '.'")
                    raise AssertionError
                node = n.Path(node, name)
            elif self.at_op("[") and (not self.range_end or self._filter_ahead()):
                self.next()
                self.enter()
                cond = self.expression()
                self.leave()
                self.expect_op("]", "to close the filter")
                node = n.Filter(node, cond)
            elif self.at_op("("):
                node = self.call("", None, node)
            else:
                return node
            if node.depth > MAX_TREE_DEPTH:
                raise FeelSyntaxError(self.source, f"expression is more than {MAX_TREE_DEPTH} operations deep",
                                      None, "split it into several mappings")

    def primary(self) -> n.Node:
        token = self.peek()
        if token.kind == NUMBER:
            self.next()
            return n.Literal(number(token.text))
        if token.kind == STRING:
            self.next()
            return n.Literal(token.text)
        if token.kind == QNAME:
            self.next()
            if self.at_op("("):
                return self.call(token.text, None, None)
            return n.Name(token.text)
        if token.kind == OP:
            return self.bracketed(token)
        if token.kind == NAME:
            text = token.text
            if text in LITERALS:
                self.next()
                return n.Literal(LITERALS[text])
            if text in ("if", "for", "some", "every") and (text == "if" or self.peek(2).text == "in"):
                return self.expression()
            if text == "function" and self.peek(1).text == "(":
                return self.function_definition()
            name = self.builtin_name()
            if name is not None:
                for _ in name.split(" "):
                    self.next()
                return self.call(name, BUILTINS[name], None)
            if text in NAME_STOP:
                self.fail(token)
            if text == "not":
                self.fail(token, "negation is the function not(x)")
            name = self._function_name()
            if name is not None:
                return self.call(name, None, None)
            self.next()
            return n.Name(text)
        self.fail(token)
        raise AssertionError

    def bracketed(self, token: Token) -> n.Node:
        text = token.text
        if text == "?":
            self.next()
            return n.InputValue()
        if text == "@":
            self.next()
            literal = self.peek()
            if literal.kind != STRING:
                self.fail(literal, 'expected a string after \'@\' (@"2021-01-01")')
            self.next()
            value = temporal.parse_temporal(literal.text)
            if value is None and temporal.looks_temporal(literal.text):
                return n.Literal(None)  # a well-formed but impossible date (2024-06-31) is null
            if value is None:
                raise FeelSyntaxError(self.source, f"'{literal.text[:60]}' is not a date, time, date-time "
                                      "or duration", literal.pos)
            return n.Literal(value)
        if text == "(":
            self.next()
            self.enter()
            inner = self.expression()
            if self.at_op(".."):
                self.next()
                return self.range_rest(inner, False)
            self.leave()
            self.expect_op(")", "to close '('")
            return inner
        if text == "[":
            self.next()
            self.enter()
            if self.at_op("]"):
                self.next()
                self.leave()
                return n.Literal([])
            first = self.expression()
            if self.at_op(".."):
                self.next()
                return self.range_rest(first, True)
            items = [first]
            while self.at_op(","):
                self.next()
                items.append(self.expression())
            self.leave()
            self.expect_op("]", "to close the list")
            node = n.ListNode(items)
            return node
        if text == "]":
            self.next()
            self.enter()
            first = self.expression()
            self.expect_op("..", "in the range")
            return self.range_rest(first, False)
        if text == "{":
            return self.context()
        if text == "-":
            return self.unary()
        self.fail(token)
        raise AssertionError

    def range_rest(self, start: n.Node, start_included: bool) -> n.Node:
        range_end, self.range_end = self.range_end, True
        end = self.additive()
        self.range_end = range_end
        self.leave()
        token = self.peek()
        if token.kind == OP and token.text in ("]", ")", "["):
            self.next()
            return n.RangeNode(start, end, start_included, token.text == "]")
        self.fail(token, "expected ')' or ']' to close the range")
        raise AssertionError

    def context(self) -> n.Node:
        self.next()
        self.enter()
        entries: List[Tuple[str, n.Node]] = []
        while not self.at_op("}"):
            token = self.peek()
            if token.kind == STRING or token.kind == QNAME:
                key = self.next().text
            elif token.kind == NAME:
                key = self.words(allow_keywords=True)
            else:
                self.fail(token, "expected a context key (a name or a string)")
                raise AssertionError
            if any(key == existing for existing, _ in entries):
                raise FeelSyntaxError(self.source, f"duplicate context key '{key}'", token.pos)
            self.expect_op(":", "after the context key")
            entries.append((key, self.expression()))
            if not self.at_op(","):
                break
            self.next()
        self.expect_op("}", "to close the context")
        self.leave()
        return n.ContextNode(entries)
