"""Turns a parsed expression into a Surface with an exact gradient (forward-mode differentiation).

Each node becomes a closure returning (value, d/dx, d/dy); the closures work with Python floats, numpy
arrays and torch tensors through the math namespace `xp`, like the built-in surfaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from visionlab.core.optimizer.expression import Binary, Call, Node, Num, Unary, Var, parse, to_python
from visionlab.core.optimizer.surfaces import Bounds, Surface

Dual = Callable[[Any, Any, Any], tuple[Any, Any, Any]]


def _derivative_of_call(func: str, a, xp):
    """(f(a), f'(a)) for the supported functions."""
    if func == "sin":
        return xp.sin(a), xp.cos(a)
    if func == "cos":
        return xp.cos(a), -xp.sin(a)
    if func == "tan":
        value = xp.tan(a)
        return value, 1 + value * value
    if func == "exp":
        value = xp.exp(a)
        return value, value
    if func == "log":
        return xp.log(a), 1 / a
    if func == "sqrt":
        value = xp.sqrt(a)
        return value, 0.5 / value
    if func == "abs":
        return abs(a), xp.sign(a)
    if func == "tanh":
        value = xp.tanh(a)
        return value, 1 - value * value
    raise ValueError(f"unknown function {func}")


def compile_dual(node: Node) -> Dual:
    if isinstance(node, Num):
        c = node.value
        return lambda x, y, xp: (c, 0.0, 0.0)
    if isinstance(node, Var):
        if node.name == "x":
            return lambda x, y, xp: (x, 1.0, 0.0)
        return lambda x, y, xp: (y, 0.0, 1.0)
    if isinstance(node, Unary):
        inner = compile_dual(node.operand)

        def negate(x, y, xp):
            v, dx, dy = inner(x, y, xp)
            return -v, -dx, -dy
        return negate
    if isinstance(node, Call):
        arg = compile_dual(node.arg)
        func = node.func

        def call(x, y, xp):
            a, dx, dy = arg(x, y, xp)
            value, slope = _derivative_of_call(func, a, xp)
            return value, slope * dx, slope * dy
        return call
    assert isinstance(node, Binary)
    left, right = compile_dual(node.left), compile_dual(node.right)
    if node.op == "+":
        def add(x, y, xp):
            a, ax, ay = left(x, y, xp)
            b, bx, by = right(x, y, xp)
            return a + b, ax + bx, ay + by
        return add
    if node.op == "-":
        def sub(x, y, xp):
            a, ax, ay = left(x, y, xp)
            b, bx, by = right(x, y, xp)
            return a - b, ax - bx, ay - by
        return sub
    if node.op == "*":
        def mul(x, y, xp):
            a, ax, ay = left(x, y, xp)
            b, bx, by = right(x, y, xp)
            return a * b, ax * b + a * bx, ay * b + a * by
        return mul
    if node.op == "/":
        def div(x, y, xp):
            a, ax, ay = left(x, y, xp)
            b, bx, by = right(x, y, xp)
            return a / b, (ax * b - a * bx) / (b * b), (ay * b - a * by) / (b * b)
        return div
    if isinstance(node.right, Num):  # a constant exponent: defined for negative bases too
        n = node.right.value

        def power_const(x, y, xp):
            a, ax, ay = left(x, y, xp)
            slope = n * xp.pow(a, n - 1) if n != 0 else 0.0
            return xp.pow(a, n), slope * ax, slope * ay
        return power_const

    def power(x, y, xp):
        a, ax, ay = left(x, y, xp)
        b, bx, by = right(x, y, xp)
        value = xp.pow(a, b)
        log_a = xp.log(a)
        return value, value * (bx * log_a + b * ax / a), value * (by * log_a + b * ay / a)
    return power


def make_custom_surface(text: str, bounds: Bounds = (-3, 3, -3, 3),
                        start: tuple[float, float] | None = None) -> Surface:
    """Raises ExpressionError (with the position) for text that is not a valid expression."""
    node = parse(text)
    dual = compile_dual(node)
    x_min, x_max, y_min, y_max = bounds
    surface = Surface(
        "custom", "Custom f(x, y)", text.strip(),
        lambda x, y, xp: dual(x, y, xp)[0],
        lambda x, y, xp: dual(x, y, xp)[1:],
        bounds, start or (x_min + 0.8 * (x_max - x_min), y_min + 0.8 * (y_max - y_min)),
        to_python(node), (), False, "Your own surface; the gradient is exact (forward-mode differentiation).",
    )
    return surface
