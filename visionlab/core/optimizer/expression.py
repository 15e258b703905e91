"""A safe parser for the custom surface: the student types f(x, y), we compute it and its exact gradient.

The text is never handed to eval, exec, compile or ast.parse. A small tokenizer and a recursive-descent
parser build a tree of a handful of node kinds; anything else (names we do not know, attributes, strings,
brackets, commas, lambdas...) is refused with the position of the first offending character. Length and
nesting depth are limited so hostile input is refused in microseconds.

Grammar:
    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?          # right-associative, -x**2 == -(x**2) as in Python
    atom   := NUMBER | "x" | "y" | "pi" | "e" | FUNC "(" expr ")" | "(" expr ")"
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from visionlab.core.errors import UserError
from visionlab.core.i18n import _

MAX_LENGTH = 500
MAX_DEPTH = 60
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh")
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")
KNOWN_NAMES = frozenset(FUNCTIONS) | frozenset(CONSTANTS) | frozenset(VARIABLES)
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_SHOWN = 20  # characters of a quoted token in a message: a 500-letter name must not make the message as wide


class ExpressionError(UserError, ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(_("{message} (at position {position})").format(message=message, position=position + 1))
        self.message = message
        self.position = position


def _unknown_name(token: str) -> str:
    return _("unknown name {name}: use x, y, pi, e or {functions}").format(name=_quoted(token),
                                                                           functions=", ".join(FUNCTIONS))


def _quoted(token: str) -> str:
    return f"'{token}'" if len(token) <= _SHOWN else f"'{token[:_SHOWN]}…'"


# Each node keeps the position of its token (the operator of a Binary) so that an error found later, when the
# tree is computed (a division by zero in its constants), can still point at the character to blame.
@dataclass(frozen=True)
class Num:
    value: float
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Var:
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    func: str
    arg: Node
    pos: int = field(default=0, compare=False)


Node = Num | Var | Unary | Binary | Call


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) tuples; kinds: num, name, op, end."""
    tokens = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        number = _NUMBER.match(text, i)
        if number:
            tokens.append(("num", number.group(), i))
            i = number.end()
            continue
        name = _NAME.match(text, i)
        if name:
            if name.group() not in KNOWN_NAMES:
                raise ExpressionError(_unknown_name(name.group()), i)
            tokens.append(("name", name.group(), i))
            i = name.end()
            continue
        if text.startswith("**", i):
            tokens.append(("op", "**", i))
            i += 2
            continue
        if ch in "+-*/^()":
            tokens.append(("op", ch, i))
            i += 1
            continue
        raise ExpressionError(_("unexpected character '{char}'").format(char=ch), i)
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        kind, value, pos = self.take()
        if value != text or kind != "op":
            found = _("the end") if kind == "end" else _quoted(value)
            raise ExpressionError(_("expected '{text}' but found {found}").format(text=text, found=found), pos)

    def nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(_("nested too deeply (more than {depth} levels)").format(depth=MAX_DEPTH), pos)

    def parse(self) -> Node:
        node = self.expr()
        kind, value, pos = self.peek()
        if kind != "end":
            raise ExpressionError(_("unexpected {token} (an operator such as * is missing?)").format(
                token=_quoted(value)), pos)
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            _kind, op, pos = self.take()
            node = Binary(op, node, self.term(), pos)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            _kind, op, pos = self.take()
            node = Binary(op, node, self.unary(), pos)
        return node

    def unary(self) -> Node:
        kind, value, pos = self.peek()
        if kind == "op" and value in ("+", "-"):
            self.take()
            self.nest(pos)
            operand = self.unary()
            self.depth -= 1
            return operand if value == "+" else Unary("-", operand, pos)
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        kind, value, pos = self.peek()
        if kind == "op" and value in ("**", "^"):
            self.take()
            self.nest(pos)
            exponent = self.unary()
            self.depth -= 1
            return Binary("**", base, exponent, pos)
        return base

    def atom(self) -> Node:
        kind, value, pos = self.take()
        if kind == "num":
            return Num(float(value), pos)
        if kind == "name":
            if value in VARIABLES:
                return Var(value, pos)
            if value in CONSTANTS:
                return Num(CONSTANTS[value], pos)
            if value in FUNCTIONS:
                self.expect("(")
                self.nest(pos)
                arg = self.expr()
                self.depth -= 1
                self.expect(")")
                return Call(value, arg, pos)
            raise ExpressionError(_unknown_name(value), pos)
        if kind == "op" and value == "(":
            self.nest(pos)
            node = self.expr()
            self.depth -= 1
            self.expect(")")
            return node
        found = _("the end of the expression") if kind == "end" else _quoted(value)
        raise ExpressionError(_("expected a number, x, y, a function or '(' but found {found}").format(found=found),
                              pos)


def parse(text: str) -> Node:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(_("too long ({length} characters; at most {limit})").format(length=len(text),
                                                                                      limit=MAX_LENGTH), MAX_LENGTH)
    if not text.strip():
        raise ExpressionError(_("the expression is empty"), 0)
    return _Parser(text).parse()


def uses_variables(node: Node) -> set[str]:
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Num):
        return set()
    if isinstance(node, Unary):
        return uses_variables(node.operand)
    if isinstance(node, Call):
        return uses_variables(node.arg)
    return uses_variables(node.left) | uses_variables(node.right)


def to_python(node: Node) -> str:
    """The tree as Python/torch source (for the exported snippet; every sub-expression parenthesised)."""
    if isinstance(node, Num):  # a negative constant (folded) keeps its sign apart: -2.0 ** x is -(2.0 ** x)
        return repr(node.value) if node.value >= 0 else f"({node.value!r})"
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Unary):
        return f"(-{to_python(node.operand)})"
    if isinstance(node, Call):
        return f"torch.{node.func}({to_python(node.arg)})"
    return f"({to_python(node.left)} {node.op} {to_python(node.right)})"
