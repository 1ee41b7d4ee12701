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

from typing import List, Optional, Sequence, Tuple

from zeebe_affinity_sync.engine.feel import limits, ops, temporal
from zeebe_affinity_sync.engine.feel import nodes as n
from zeebe_affinity_sync.engine.feel.builtins import BUILTINS, MAX_NAME_WORDS
from zeebe_affinity_sync.engine.feel.exceptions import FeelSyntaxError
from zeebe_affinity_sync.engine.feel.lexer import END, NAME, NUMBER, OP, QNAME, STRING, Token, tokenize
from zeebe_affinity_sync.engine.feel.values import DEC, norm_number

__all__ = ["parse", "parse_unary_tests", "MAX_DEPTH", "MAX_TREE_DEPTH"]

MAX_DEPTH = limits.MAX_DEPTH
MAX_TREE_DEPTH = limits.MAX_TREE_DEPTH

_COMPARISON = frozenset(("=", "!=", "<", "<=", ">", ">="))
_KEYWORDS = frozenset(("and", "or", "then", "else", "between", "in", "instance", "of", "satisfies",
                       "return", "if", "for", "some", "every", "function", "true", "false", "null",
                       "not"))
_NAME_STOP = frozenset(("and", "or", "then", "else", "between", "in", "instance", "of", "satisfies",
                        "return"))
_TYPE_NAMES = ("years and months duration", "days and time duration", "date and time", "number",
               "string", "boolean", "context", "list", "date", "time", "range", "function", "Any",
               "Null", "null")
_LITERALS = {"true": True, "false": False, "null": None}
_SPACED_PROPERTIES = frozenset(("time offset", "start included", "end included"))


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


def _scalar_literal(node: n.Node) -> bool:
    return isinstance(node, n.Literal) and type(node.value) not in (list, dict)


def _fold(node: n.Node, children: Sequence[n.Node]) -> n.Node:
    """Replace a pure node whose operands are all constants by its (scalar) value."""
    if not all(_scalar_literal(child) for child in children):
        return node
    value = node.ev({})
    return n.Literal(value) if type(value) not in (list, dict) else node


def _number(text: str):
    if "." in text:
        return norm_number(DEC.create_decimal(text))
    return int(text)


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
        if _scalar_literal(cond):
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
        return operands[0] if len(operands) == 1 else _fold(n.Logic(False, operands), operands)

    def conjunction(self) -> n.Node:
        operands = [self.comparison()]
        while self.at_word("and"):
            self.next()
            operands.append(self.comparison())
        return operands[0] if len(operands) == 1 else _fold(n.Logic(True, operands), operands)

    def comparison(self) -> n.Node:
        left = self.additive()
        token = self.peek()
        if token.kind == OP and token.text in _COMPARISON:
            self.next()
            right = self.additive()
            node: n.Node = _fold(n.Binary(ops.COMPARISONS[token.text], left, right), (left, right))
        elif self.at_word("between"):
            self.next()
            low = self.additive()
            self.expect_word("and", "in 'between ... and ...'")
            high = self.additive()
            node = _fold(n.Between(left, low, high), (left, low, high))
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
        if following.kind == OP and following.text in _COMPARISON:
            self.fail(following, "comparisons cannot be chained: use 'and' (a < b and b < c)")
        return node

    def type_name(self) -> str:
        words = []
        start = self.peek()
        while self.peek().kind == NAME:
            words.append(self.next().text)
            joined = " ".join(words)
            if joined in _TYPE_NAMES and not (joined in ("date", "days", "years") and self.at_word("and")):
                break
        joined = " ".join(words)
        if joined not in _TYPE_NAMES:
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

    def additive(self) -> n.Node:
        left = self.multiplicative()
        while self.at_op("+", "-"):
            fn = ops.ARITHMETIC[self.next().text]
            right = self.multiplicative()
            left = _fold(n.Binary(fn, left, right), (left, right))
        return left

    def multiplicative(self) -> n.Node:
        left = self.power()
        while self.at_op("*", "/"):
            fn = ops.ARITHMETIC[self.next().text]
            right = self.power()
            left = _fold(n.Binary(fn, left, right), (left, right))
        return left

    def power(self) -> n.Node:
        left = self.unary()
        while self.at_op("**"):
            self.next()
            right = self.unary()
            left = _fold(n.Binary(ops.power, left, right), (left, right))
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
                node = _fold(n.Negate(node), (node,))
            return node
        return self.postfix()

    def power_operand(self) -> n.Node:
        # `-2 ** 2` is -(2 ** 2)
        left = self.postfix()
        while self.at_op("**"):
            self.next()
            right = self.unary()
            left = _fold(n.Binary(ops.power, left, right), (left, right))
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

    def _function_name(self) -> Optional[str]:
        """A (user) function name of several words directly before '(' (consumed), else None."""
        j = self.i
        while self.tokens[j].kind == NAME and self.tokens[j].text not in _NAME_STOP:
            j += 1
        if j == self.i or self.tokens[j].kind != OP or self.tokens[j].text != "(":
            return None
        words = [t.text for t in self.tokens[self.i:j]]
        self.i = j
        return " ".join(words)

    def words(self, allow_keywords: bool) -> str:
        words = [self.next().text]
        while self.peek().kind == NAME and (allow_keywords or self.peek().text not in _NAME_STOP) \
                and self.peek().text not in _LITERALS:
            words.append(self.next().text)
        return " ".join(words)

    def property_name(self) -> str:
        """After '.': one name, or a property whose name has a space (``time offset``)."""
        first = self.next().text
        second = self.peek()
        if second.kind == NAME and f"{first} {second.text}" in _SPACED_PROPERTIES:
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

    def primary(self) -> n.Node:
        token = self.peek()
        if token.kind == NUMBER:
            self.next()
            return n.Literal(_number(token.text))
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
            if text in _LITERALS:
                self.next()
                return n.Literal(_LITERALS[text])
            if text in ("if", "for", "some", "every") and (text == "if" or self.peek(2).text == "in"):
                return self.expression()
            if text == "function" and self.peek(1).text == "(":
                return self.function_definition()
            name = self.builtin_name()
            if name is not None:
                for _ in name.split(" "):
                    self.next()
                return self.call(name, BUILTINS[name], None)
            if text in _NAME_STOP:
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
        if builtin is not None and builtin.pure and all(_scalar_literal(a) for a in args) and named is None \
                and not builtin.check_arity(len(args), named):
            return _fold(node, args)
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
