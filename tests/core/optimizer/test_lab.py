import json

import pytest

from visionlab.core.optimizer.engine import Racer
from visionlab.core.optimizer.expression import ExpressionError
from visionlab.core.optimizer.lab import LabConfig
from visionlab.core.optimizer.presets import PRESETS


def test_config_round_trips_through_json():
    config = LabConfig.default()
    config.racers.append(Racer("radam", {"lr": 0.02}, 8, "mine"))
    again = LabConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again.to_dict() == config.to_dict()
    assert [t.xs[-1] for t in again.run()] == [t.xs[-1] for t in config.run()]


def test_damaged_settings_drop_bad_racers_and_reject_bad_surfaces():
    config = LabConfig.from_dict({"surface": "beale", "racers": [{"key": "nope"}, {"key": "adam"}], "junk": 1})
    assert [r.key for r in config.racers] == ["adam"]
    with pytest.raises(ExpressionError):
        LabConfig.from_dict({"surface": "custom", "expression": "import os"})


def test_compare_without_decay_adds_twins():
    config = LabConfig.from_preset(next(p for p in PRESETS if p.key == "weight_decay"))
    config.compare_no_decay = True
    titles = [r.title() for r in config.all_racers()]
    assert "Adam λ=1 · λ=0" in titles and len(titles) == 5
    paths = {t.racer.title(): t for t in config.run()}
    # the twin without decay ends at Rosenbrock's own minimum; the decayed one is pulled toward 0
    assert abs(paths["Adam λ=1 · λ=0"].xs[-1] - 1.0) < 0.05
    assert abs(paths["Adam λ=1"].xs[-1]) < 0.8


def test_internals_of_the_default_lab_show_torchs_adam_state():
    """The default race's Adam at step 3: m, v and the step shown are torch.optim.Adam's own (autograd)."""
    import torch

    from visionlab.core.optimizer.engine import trace_step
    from visionlab.core.optimizer.internals import quantities
    from visionlab.core.optimizer.mathns import torch_namespace

    config = LabConfig.default()
    surface, racer = config.make_surface(), next(r for r in config.racers if r.key == "adam")
    shown = {s.key: s.value for s in quantities(racer, 3, trace_step(surface, racer, config.start, 3))}
    theta = torch.tensor(config.start, dtype=torch.float64, requires_grad=True)
    h = racer.settings()
    optimizer = torch.optim.Adam([theta], lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"])
    for _ in range(3):
        optimizer.zero_grad()
        before = theta.detach().clone()
        surface.value(theta[0], theta[1], torch_namespace()).backward()
        optimizer.step()
    state = optimizer.state[theta]
    assert shown["exp_avg"] == pytest.approx(tuple(state["exp_avg"].tolist()), rel=1e-12)
    assert shown["exp_avg_sq"] == pytest.approx(tuple(state["exp_avg_sq"].tolist()), rel=1e-12)
    assert shown["delta"] == pytest.approx(tuple((theta.detach() - before).tolist()), rel=1e-9)
    assert shown["m_hat"] == pytest.approx(tuple((state["exp_avg"] / (1 - h["beta1"] ** 3)).tolist()), rel=1e-12)


def test_internals_of_the_nesterov_preset_show_torchs_parameter_and_the_lectures_theta():
    import torch

    from visionlab.core.optimizer.engine import trace_step
    from visionlab.core.optimizer.internals import describe
    from visionlab.core.optimizer.mathns import SCALAR, torch_namespace

    config = LabConfig.from_preset(next(p for p in PRESETS if p.key == "nesterov_vs_momentum"))
    surface, racer = config.make_surface(), next(r for r in config.racers if r.key == "nesterov")
    h, steps = racer.settings(), 5
    info = trace_step(surface, racer, config.start, steps)
    theta = torch.tensor(config.start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=h["lr"], momentum=h["momentum"], nesterov=True)
    lecture, velocity = list(config.start), [0.0, 0.0]
    for _ in range(steps):
        optimizer.zero_grad()
        surface.value(theta[0], theta[1], torch_namespace()).backward()
        optimizer.step()
        # the lecture's form: θ' = θ + α·v; v ← α·v − η·∇L(θ'); θ ← θ + v
        g = surface.grad(lecture[0] + h["momentum"] * velocity[0], lecture[1] + h["momentum"] * velocity[1], SCALAR)
        velocity = [h["momentum"] * v - h["lr"] * gi for v, gi in zip(velocity, g, strict=True)]
        lecture = [t + v for t, v in zip(lecture, velocity, strict=True)]
    assert info["after"] == pytest.approx(tuple(theta.detach().tolist()), rel=1e-12)
    assert info["lecture_theta"] == pytest.approx(tuple(lecture), rel=1e-12)
    assert "look-ahead point" in describe(racer, steps, info)


def test_a_start_where_f_is_undefined_takes_no_step_and_is_no_divergence():
    import math

    from visionlab.core.optimizer.custom_surface import make_custom_surface
    from visionlab.core.optimizer.engine import UNDEFINED_START, run_racer

    surface = make_custom_surface("log(x) + y**2")
    with pytest.raises(ValueError):
        math.log(-2.5)  # the reference: log is undefined at x = −2.5
    stuck = run_racer(surface, Racer("sgd"), (-2.5, 2.0), 120)
    assert stuck.steps_done == 0 and stuck.diverged_at is None
    assert stuck.outcome().kind == UNDEFINED_START and not stuck.outcome().failed
    assert "log of a negative number" in stuck.undefined_start
    moving = run_racer(surface, Racer("sgd", {"lr": 0.01}), (1.5, 2.0), 120)
    assert moving.steps_done >= 100 and moving.undefined_start == "" and moving.outcome().kind != UNDEFINED_START
