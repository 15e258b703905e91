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


def test_internals_show_adam_bias_correction_numbers_that_match_the_path():
    from visionlab.core.optimizer.catalog import get_surface
    from visionlab.core.optimizer.engine import run_racer, trace_step
    from visionlab.core.optimizer.internals import describe

    surface = get_surface("rosenbrock")
    racer = Racer("adam", {"lr": 0.05, "beta1": 0.9})
    info = trace_step(surface, racer, (-1.5, 2.0), 3)
    traj = run_racer(surface, racer, (-1.5, 2.0), 3)
    assert info["after"] == (traj.xs[3], traj.ys[3])
    assert info["bias_correction"][0] == pytest.approx(1 - 0.9 ** 3)
    assert info["m_hat"][0] == pytest.approx(info["m"][0] / (1 - 0.9 ** 3))
    text = describe(racer, 3, info)
    assert "m^ = m/(1 − β1^t) = m/0.271" in text
    off = Racer("adam", {"lr": 0.05, "bias_correction": 0})
    assert "bias correction OFF" in describe(off, 3, trace_step(surface, off, (-1.5, 2.0), 3))


def test_internals_of_nesterov_name_the_lookahead_point():
    from visionlab.core.optimizer.catalog import get_surface
    from visionlab.core.optimizer.engine import trace_step
    from visionlab.core.optimizer.internals import describe

    racer = Racer("nesterov", {"lr": 0.01, "momentum": 0.9})
    info = trace_step(get_surface("quadratic"), racer, (-2.5, 2.0), 5)
    assert "look-ahead point" in describe(racer, 5, info)
    lx, ly = info["lecture_theta"]
    vx, vy = info["velocity"]
    assert (lx + 0.9 * vx, ly + 0.9 * vy) == pytest.approx(info["after"])
