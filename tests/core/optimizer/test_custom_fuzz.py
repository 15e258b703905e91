"""Fuzzing the custom surface: whatever a student types gets either the parser's own ExpressionError (shown
at the field) or a surface that can be drawn and raced on. No other exception may escape, from making the
surface, from its value and gradient on floats and on numpy grids, or from the words for where f is
undefined. Checked against Python itself where the expression is plain arithmetic."""

import math
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visionlab.core.optimizer.custom_surface import make_custom_surface
from visionlab.core.optimizer.expression import FUNCTIONS, ExpressionError
from visionlab.core.optimizer.mathns import ARRAY, SCALAR

ATOMS = st.sampled_from(["x", "y", "pi", "e", "0", "1", "2", "0.5", "3.7", "1e3", "1e308", "1e-300", "10"])
OPERATORS = ("+", "-", "*", "/", "**", "^")


def _combine(children):
    binary = st.tuples(children, st.sampled_from(OPERATORS), children).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    call = st.tuples(st.sampled_from(FUNCTIONS), children).map(lambda t: f"{t[0]}({t[1]})")
    return binary | call | children.map(lambda c: f"({c})") | children.map(lambda c: f"-{c}")


EXPRESSIONS = st.recursive(ATOMS, _combine, max_leaves=12)
# Random text over the characters an expression uses (and some it must refuse), so most of it is nearly valid.
NEAR_TEXT = st.text(alphabet="xy+-*/^().e0123456789 sincotaxplgqrbh_,;'[]=π", max_size=40)
POINTS = [(0.0, 0.0), (1.0, -1.0), (-2.5, 2.5), (1e-9, 3.0), (-0.3, 0.7)]
FUZZ = settings(max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))


def _made(text: str):
    """(surface, None) or (None, the parser's ExpressionError); any other exception fails the test."""
    try:
        return make_custom_surface(text), None
    except ExpressionError as error:
        return None, error


def _drawn(surface, text: str) -> np.ndarray:
    """Use every part of a surface the lab uses (map grid, gradients, the racers' points, the words for
    where f is undefined); returns the map's grid of values."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "divide by zero" warnings would be errors here too
        xs, ys, z = surface.evaluate(9)
        with np.errstate(all="ignore"):
            gx, gy = surface.grad(*np.meshgrid(xs, ys), ARRAY)
        assert np.shape(gx * np.ones_like(z)) == (9, 9)
    for x, y in POINTS:
        value = surface.value(x, y, SCALAR)
        assert isinstance(float(value), float)
        surface.grad(x, y, SCALAR)
        reason = surface.undefined_reason(x, y)
        assert isinstance(reason, str)
        if not math.isfinite(value):
            assert reason, (text, x, y)  # an undefined point is always explained
    return z


def _refused_at_the_field_or_drawn(text: str) -> None:
    surface, error = _made(text)
    if error is not None:  # the field's inline message: a position inside the text and one line of words
        assert 0 <= error.position <= len(text) and error.message and "\n" not in error.message
    else:  # a surface the map can draw: a 9×9 grid with at least one finite loss
        z = _drawn(surface, text)
        assert z.shape == (9, 9) and np.isfinite(z).any()


@FUZZ
@given(EXPRESSIONS)
def test_generated_expressions_are_refused_or_drawn(text):
    surface, error = _made(text)
    assert (surface is None) != (error is None)
    _refused_at_the_field_or_drawn(text)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(NEAR_TEXT, st.text(max_size=60)))
def test_random_strings_are_refused_or_drawn(text):
    surface, error = _made(text)
    assert (surface is None) != (error is None)
    _refused_at_the_field_or_drawn(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 40), st.integers(-5, 5), st.sampled_from(["+", "-", "*", "/"]),
       st.floats(-3, 3), st.floats(-3, 3))
def test_arithmetic_agrees_with_python(a, b, op, x, y):
    """An independent reference: Python's own arithmetic on the same numbers."""
    text = f"{a} {op} ({b}) * x + y"
    try:
        surface = make_custom_surface(text)
    except ExpressionError:
        assert op == "/" and b == 0  # the only refusal: a division by a constant 0
        return
    expected = eval(f"{a} {op} ({b}) * {x!r} + {y!r}")  # noqa: S307 - the test's reference, on literals only
    assert surface.value(x, y, SCALAR) == expected or math.isclose(surface.value(x, y, SCALAR), expected,
                                                                    rel_tol=1e-12, abs_tol=1e-12)


def test_failing_constants_are_refused_with_their_position():
    for text, position, words in (("x + 1/(1-1)", 5, "division by zero"), ("log(-1) + x", 0, "log of a negative"),
                                  ("x * exp(1000)", 4, "too large"), ("sqrt(-x*x - 1)", 0, "no finite value")):
        try:
            make_custom_surface(text)
        except ExpressionError as error:
            assert words in error.message and error.position == position, (text, error)
        else:
            raise AssertionError(f"{text} was accepted")
