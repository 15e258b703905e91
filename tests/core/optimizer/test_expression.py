"""The custom-surface parser: correct values and exact gradients, hostile input refused quickly."""

import math
import time

import pytest
import torch

from visionlab.core.optimizer.custom_surface import make_custom_surface
from visionlab.core.optimizer.expression import ExpressionError, parse, to_python
from visionlab.core.optimizer.mathns import SCALAR, torch_namespace


@pytest.mark.parametrize("text,expected", [
    ("x**2 + y**2", 1.0 ** 2 + 2.0 ** 2),
    ("-x**2", -1.0),  # unary minus binds looser than ** (as in Python)
    ("2**3**2", 512.0),  # right-associative
    ("x^2 * 3", 3.0),
    ("sin(pi/2) + e", 1 + math.e),
    ("sqrt(abs(-y*8)) / 4", 1.0),
    ("exp(log(3)) + tanh(0) + cos(0) + tan(0)", 4.0),
    ("1.5e1 - .5", 14.5),
])
def test_values(text, expected):
    surface = make_custom_surface(text)
    assert surface.value(1.0, 2.0, SCALAR) == pytest.approx(expected)


@pytest.mark.parametrize("text", [
    "x**2 + 3*sin(y)**2", "exp(-(x**2 + y**2)) * cos(3*x)", "log(1 + x**2) / sqrt(2 + y**2)",
    "x**y", "abs(x - y) + tanh(x*y)", "tan(0.3*x) - y**3/7", "(x - 1)**2 + 100*(y - x**2)**2",
])
def test_gradient_is_exact(text):
    surface = make_custom_surface(text)
    xp = torch_namespace()
    for x, y in ((0.7, 1.3), (1.9, 0.4), (1.2, 2.2)):
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        surface.value(tx, ty, xp).backward()
        gx, gy = surface.grad(x, y, SCALAR)
        assert gx == pytest.approx(tx.grad.item(), rel=1e-12, abs=1e-12)
        assert gy == pytest.approx(ty.grad.item(), rel=1e-12, abs=1e-12)


def test_python_rendering_evaluates_to_the_same_function():
    node = parse("-x**2 + 3*sin(y)/2 - 2**-1")
    source = to_python(node)
    value = eval(source, {"torch": torch, "x": torch.tensor(0.4), "y": torch.tensor(1.1)})  # our own text
    assert value.item() == pytest.approx(-0.16 + 3 * math.sin(1.1) / 2 - 0.5, rel=1e-6)


@pytest.mark.parametrize("text,position,words", [
    ("__import__('os')", 0, "unknown name"),
    ("x.real", 1, "unexpected character '.'"),
    ("lambda: 1", 0, "unknown name 'lambda'"),
    ("[x for x in y]", 0, "unexpected character '['"),
    ("x +", 3, "found the end"),
    ("sin x", 4, "expected '('"),
    ("2x", 1, "operator"),
    ("(x + y", 6, "expected ')'"),
    ("", 0, "empty"),
    ("x, y", 1, "unexpected character ','"),
    ("open('f')", 0, "unknown name 'open'"),
])
def test_errors_name_the_position(text, position, words):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.position == position
    assert words in info.value.message
    assert f"position {position + 1}" in str(info.value)


@pytest.mark.parametrize("text", ["(" * 10_000 + "x" + ")" * 10_000, "x+" * 500_000 + "x", "-" * 300 + "x",
                                  "2**" * 200 + "2", "sin(" * 100 + "x" + ")" * 100])
def test_hostile_input_is_refused_quickly(text):
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        parse(text)
    assert time.perf_counter() - start < 0.05


def test_the_parser_never_reaches_eval(monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/compile must not be called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    surface = make_custom_surface("x**2 + sin(y)")
    assert surface.value(1.0, 0.0, SCALAR) == 1.0
