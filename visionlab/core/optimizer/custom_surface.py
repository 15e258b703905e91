"""Turns a parsed expression into a Surface with an exact gradient (forward-mode differentiation), and says
in words where that surface is undefined.

Each node becomes a closure returning (value, d/dx, d/dy); the closures work with Python floats, numpy arrays
and torch tensors through the math namespace `xp`, like the built-in surfaces. They never raise: where f is
undefined (log or sqrt of a negative number, 0/0) they give NaN and where it overflows ±inf, in all three
namespaces, as numpy does. So the race, the grid and the map all see one answer, and the map can hatch the
undefined region instead of painting it as a high loss. Parts without x or y are computed once, when the
surface is made: one that is no number (1/0, log(−1), exp(1000)) is refused with its position, as is an
expression with no finite value anywhere in the view.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np

from visionlab.core.i18n import _
from visionlab.core.optimizer.expression import Binary, Call, ExpressionError, Node, Num, Unary, Var, parse, to_python
from visionlab.core.optimizer.mathns import ARRAY
from visionlab.core.optimizer.surfaces import Bounds, Surface

Dual = tuple[Any, Any, Any]  # value, d/dx, d/dy
CHECK_GRID = 41  # points a side where a new expression must have a finite value somewhere


# -- math that answers like numpy: NaN outside a function's domain, ±inf on overflow, never an exception ------

def _safe(function: Callable[[float], float]) -> Callable[[float], float]:
    def safe(a: float) -> float:
        try:
            return function(a)
        except ValueError:  # outside the domain, or sin(inf)
            return math.nan
        except OverflowError:  # only exp overflows here, upwards
            return math.inf
    return safe


def _scalar_log(a: float) -> float:
    return -math.inf if a == 0 else _safe(math.log)(a)


def _scalar_pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        odd = a < 0 and float(b).is_integer() and b % 2 == 1
        return -math.inf if odd else math.inf
    except ValueError:  # 0 to a negative power (numpy: inf), a negative number to a fractional one (NaN)
        return math.inf if a == 0 else math.nan


def _scalar_div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)


def _scalar_sign(a: float) -> float:
    return a if a != a else float((a > 0) - (a < 0))


SAFE_SCALAR = SimpleNamespace(
    name="scalar", sin=_safe(math.sin), cos=_safe(math.cos), tan=_safe(math.tan), exp=_safe(math.exp),
    log=_scalar_log, sqrt=_safe(math.sqrt), tanh=math.tanh, pow=_scalar_pow, sign=_scalar_sign, div=_scalar_div,
)
_SAFE_ARRAY = SimpleNamespace(**vars(ARRAY), div=np.divide)


def _ops(xp: SimpleNamespace) -> SimpleNamespace:
    """The namespace the closures use: `xp` plus a division that never raises."""
    if xp.name == "scalar":
        return SAFE_SCALAR
    if xp.name == "array":
        return _SAFE_ARRAY
    return SimpleNamespace(**vars(xp), div=operator.truediv)  # torch: tensors divide by zero as numpy does


# -- one rule per node kind: (child duals, ops) -> dual. The closures and the explanation both use these. ----

def _negate(a: Dual, ops) -> Dual:
    return -a[0], -a[1], -a[2]


def _add(a: Dual, b: Dual, ops) -> Dual:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _subtract(a: Dual, b: Dual, ops) -> Dual:
    return a[0] - b[0], a[1] - b[1], a[2] - b[2]


def _multiply(a: Dual, b: Dual, ops) -> Dual:
    return a[0] * b[0], a[1] * b[0] + a[0] * b[1], a[2] * b[0] + a[0] * b[2]


def _divide(a: Dual, b: Dual, ops) -> Dual:
    quotient = ops.div(a[0], b[0])  # (u/w)' = (u' − (u/w)·w')/w: no w², which would underflow to 0 first
    return quotient, ops.div(a[1] - quotient * b[1], b[0]), ops.div(a[2] - quotient * b[2], b[0])


def _power(a: Dual, b: Dual, ops) -> Dual:
    value, log_a = ops.pow(a[0], b[0]), ops.log(a[0])
    return (value, value * (b[1] * log_a + b[0] * ops.div(a[1], a[0])),
            value * (b[2] * log_a + b[0] * ops.div(a[2], a[0])))


def _power_of_constant(n: float, a: Dual, ops) -> Dual:
    """a**n for a constant n: defined for negative a when n is a whole number."""
    slope = n * ops.pow(a[0], n - 1) if n != 0 else 0.0
    return ops.pow(a[0], n), slope * a[1], slope * a[2]


def _constant_to_power(c: float, b: Dual, ops) -> Dual:
    """c**b for a constant c: the slope needs log c, computed once (0 for c = 0, where c**b is flat)."""
    log_c = math.log(c) if c > 0 else 0.0 if c == 0 else math.nan
    value = ops.pow(c, b[0])
    return value, value * log_c * b[1], value * log_c * b[2]


def _slope_of(func: str, a, ops) -> tuple[Any, Any]:
    """(func(a), func'(a))."""
    if func in ("sin", "cos"):
        sin, cos = ops.sin(a), ops.cos(a)
        return (sin, cos) if func == "sin" else (cos, -sin)
    if func in ("tan", "tanh"):
        value = getattr(ops, func)(a)
        return value, 1 + value * value if func == "tan" else 1 - value * value
    if func == "exp":
        value = ops.exp(a)
        return value, value
    if func == "log":  # 1/a is a number below 0 too, where log is not: 0·√a makes the slope NaN there as well
        return ops.log(a), ops.div(1.0, a) + 0 * ops.sqrt(a)
    if func == "sqrt":
        value = ops.sqrt(a)
        return value, ops.div(0.5, value)
    return abs(a), ops.sign(a)  # abs


def _call(func: str, a: Dual, ops) -> Dual:
    value, slope = _slope_of(func, a[0], ops)
    return value, slope * a[1], slope * a[2]


_BINARY = {"+": _add, "-": _subtract, "*": _multiply, "/": _divide, "**": _power}


def _rule(node: Unary | Binary | Call) -> tuple[Callable[..., Dual], tuple[Node, ...]]:
    """The rule computing `node` and the children whose duals it takes."""
    if isinstance(node, Unary):
        return _negate, (node.operand,)
    if isinstance(node, Call):
        return partial(_call, node.func), (node.arg,)
    if node.op == "**" and isinstance(node.right, Num):
        return partial(_power_of_constant, node.right.value), (node.left,)
    if node.op == "**" and isinstance(node.left, Num):
        return partial(_constant_to_power, node.left.value), (node.right,)
    return _BINARY[node.op], (node.left, node.right)


def compile_dual(node: Node) -> Callable[[Any, Any, Any], Dual]:
    """`node` (constants folded) as a closure (x, y, ops) -> (value, d/dx, d/dy)."""
    if isinstance(node, Num):
        c = node.value
        return lambda x, y, ops: (c, 0.0, 0.0)
    if isinstance(node, Var):
        if node.name == "x":
            return lambda x, y, ops: (x, 1.0, 0.0)
        return lambda x, y, ops: (y, 0.0, 1.0)
    rule, children = _rule(node)
    if len(children) == 1:
        inner = compile_dual(children[0])
        return lambda x, y, ops: rule(inner(x, y, ops), ops)
    left, right = compile_dual(children[0]), compile_dual(children[1])
    return lambda x, y, ops: rule(left(x, y, ops), right(x, y, ops), ops)


# -- constants computed once, and the words for where f is not a number ----------------------------------

def fold_constants(node: Node) -> Node:
    """`node` with every part that has no x or y replaced by its number. A part that is no finite number
    (1/0, log(−1), exp(1000), 1e999) raises ExpressionError at its position, as does a division by a constant 0."""
    if isinstance(node, Num):
        if not math.isfinite(node.value):
            raise ExpressionError(_("this number is too large for a float (at most 1.8e308)"), node.pos)
        return node
    if isinstance(node, Var):
        return node
    folded: Unary | Binary | Call
    if isinstance(node, Unary):
        folded = Unary(node.op, fold_constants(node.operand), node.pos)
    elif isinstance(node, Call):
        folded = Call(node.func, fold_constants(node.arg), node.pos)
    else:
        folded = Binary(node.op, fold_constants(node.left), fold_constants(node.right), node.pos)
    rule, children = _rule(folded)
    if not all(isinstance(child, Num) for child in children):
        if isinstance(folded, Binary) and folded.op == "/" and folded.right == Num(0.0):
            raise ExpressionError(_("division by zero: the divisor is 0 for every x and y"), folded.pos)
        return folded
    inputs = [(child.value, 0.0, 0.0) for child in children if isinstance(child, Num)]
    value = rule(*inputs, SAFE_SCALAR)[0]
    if not math.isfinite(value):
        raise ExpressionError(_why(folded, _operands(folded, [i[0] for i in inputs])), folded.pos)
    return Num(float(value), folded.pos)


def _operands(node: Node, child_values: list[float]) -> list[float]:
    """The values of `node`'s operands, including a constant side its rule keeps to itself (c**y, x**n)."""
    if isinstance(node, Binary) and node.op == "**" and len(child_values) == 1:
        if isinstance(node.right, Num):
            return [child_values[0], node.right.value]
        if isinstance(node.left, Num):
            return [node.left.value, child_values[0]]
    return child_values


def _num(v: float) -> str:
    return "∞" if v == math.inf else "−∞" if v == -math.inf else f"{v:.4g}".replace("-", "−")


def _why(node: Node, operands: list[float]) -> str:
    """Why `node` gave no finite number from `operands`, in a student's words."""
    a, b = (_num(v) for v in (operands[0], operands[-1])) if operands else ("?", "?")
    first, last = (operands[0], operands[-1]) if operands else (math.nan, math.nan)
    if isinstance(node, Call):
        if node.func in ("log", "sqrt") and first < 0:
            return _("{func} of a negative number: {func}({a})").format(func=node.func, a=a)
        if node.func == "log" and first == 0:
            return _("log(0) is −∞")
        if not math.isfinite(first):
            return _("{func}({a}) is not a number").format(func=node.func, a=a)
        return _("{func}({a}) is too large for a float (beyond 1.8e308)").format(func=node.func, a=a)
    if isinstance(node, Binary):
        if node.op == "/" and last == 0:
            return _("division by zero: {a}/0").format(a=a)
        if node.op == "**" and first < 0 and not float(last).is_integer():
            return _("a negative number to a fractional power: ({a})**{b}").format(a=a, b=b)
        if node.op == "**" and first == 0 and last < 0:
            return _("0 to a negative power: 0**{b}").format(b=b)
        if not (math.isfinite(first) and math.isfinite(last)):
            return _("{a} {op} {b} is not a number").format(a=a, op=node.op, b=b)
        return _("{a} {op} {b} is too large for a float (beyond ±1.8e308)").format(a=a, op=node.op, b=b)
    return _("not a number")


def _why_no_slope(node: Node, operands: list[float]) -> str:
    if isinstance(node, Call):
        return _("{func} has no finite slope at {a}").format(func=node.func, a=_num(operands[0]))
    if isinstance(node, Binary) and node.op == "**":
        return _("a power has no finite slope at ({a})**{b}").format(a=_num(operands[0]), b=_num(operands[-1]))
    return _("the slope is not a finite number here")


def _trace(node: Node, x: float, y: float, steps: list) -> Dual:
    """`node` at (x, y), appending (node, dual, its inputs' duals) for every node, children first."""
    if isinstance(node, (Num, Var)):
        dual = compile_dual(node)(x, y, SAFE_SCALAR)
        steps.append((node, dual, ()))
        return dual
    rule, children = _rule(node)
    inputs = tuple(_trace(child, x, y, steps) for child in children)
    dual = rule(*inputs, SAFE_SCALAR)
    steps.append((node, dual, inputs))
    return dual


def explain_at(tree: Node, x: float, y: float) -> tuple[str, int] | None:
    """Why f, or its gradient, is no finite number at (x, y), and the position to blame; None where both are.

    The blame goes to the first node that turns finite inputs into the trouble: NaN first (undefined), then
    ±inf (overflow, log 0), then a slope."""
    steps: list = []
    final = _trace(tree, float(x), float(y), steps)
    tests = ((_why, lambda d: d[0] != d[0]), (_why, lambda d: not math.isfinite(d[0])),
             (_why_no_slope, lambda d: not (math.isfinite(d[1]) and math.isfinite(d[2]))))
    for words, bad in tests:
        if bad(final):
            for node, dual, inputs in steps:
                if bad(dual) and not any(bad(i) for i in inputs):
                    return words(node, _operands(node, [i[0] for i in inputs])), node.pos
    return None


def make_custom_surface(text: str, bounds: Bounds = (-3, 3, -3, 3),
                        start: tuple[float, float] | None = None) -> Surface:
    """Raises ExpressionError (with the position) for text that is not a valid expression, that has a part
    without x or y that is no number, or that has no finite value anywhere in the view."""
    tree = fold_constants(parse(text))
    dual = compile_dual(tree)

    def explain(x: float, y: float) -> str:
        found = explain_at(tree, x, y)
        return found[0] if found else ""

    x_min, x_max, y_min, y_max = bounds
    surface = Surface(
        "custom", "Custom f(x, y)", text.strip(),
        lambda x, y, xp: dual(x, y, _ops(xp))[0],
        lambda x, y, xp: dual(x, y, _ops(xp))[1:],
        bounds, start or (x_min + 0.8 * (x_max - x_min), y_min + 0.8 * (y_max - y_min)),
        to_python(tree), (), False, _("Your own surface; the gradient is exact (forward-mode differentiation)."),
        explain=explain,
    )
    xs, ys, z = surface.evaluate(CHECK_GRID)
    if not np.isfinite(z).any():
        cx, cy = xs[CHECK_GRID // 2], ys[CHECK_GRID // 2]
        reason, position = explain_at(tree, cx, cy) or (_("not a number"), 0)
        raise ExpressionError(_("f has no finite value anywhere in the view ({grid}×{grid} points checked); at "
                                "({x:g}, {y:g}): {reason}").format(grid=CHECK_GRID, x=cx, y=cy, reason=reason),
                              position)
    return surface

