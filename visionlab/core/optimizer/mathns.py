"""Math namespaces so that one formula serves three worlds.

Surfaces and optimizer update rules are written once against a namespace `xp` that is either `SCALAR`
(Python floats, fastest for a single path: a few microseconds a step), `ARRAY` (numpy, for thousands of
paths at once in the basin map) or `TORCH` (tensors, so that tests can check our analytic gradients
against autograd and our paths against torch.optim).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np


def _scalar_sign(a: float) -> float:
    return float((a > 0) - (a < 0))


SCALAR = SimpleNamespace(
    name="scalar", sin=math.sin, cos=math.cos, tan=math.tan, exp=math.exp, log=math.log, sqrt=math.sqrt,
    tanh=math.tanh, pow=math.pow, sign=_scalar_sign, pi=math.pi, e=math.e,
)

ARRAY = SimpleNamespace(
    name="array", sin=np.sin, cos=np.cos, tan=np.tan, exp=np.exp, log=np.log, sqrt=np.sqrt,
    tanh=np.tanh, pow=np.power, sign=np.sign, pi=math.pi, e=math.e,
)


def torch_namespace() -> SimpleNamespace:
    """Built on demand: importing torch costs seconds and the GUI never needs it for the lab."""
    import torch

    return SimpleNamespace(
        name="torch", sin=torch.sin, cos=torch.cos, tan=torch.tan, exp=torch.exp, log=torch.log,
        sqrt=torch.sqrt, tanh=torch.tanh, pow=torch.pow, sign=torch.sign, pi=math.pi, e=math.e,
    )
