"""Every optimizer's path equals torch.optim's, step for step (float64).

Short paths (200–300 steps, every optimizer and hyperparameter) agree within 1e-6. Over the lab's own
paths (every racer of every preset over its own steps; all ten optimizers at defaults over 1000 steps on
six-hump camel and the regression data, where rounding is amplified late; Rosenbrock is in the presets) every
path the engine measures regular (engine.trace_step's sensitivity, checked against torch's own in
test_chaos.py) agrees within REGULAR_TOLERANCE; chaotic ones are allowed to part. The bench
(`visionlab bench optimizer`) runs the same comparison over every built-in surface.
"""

import numpy as np
import pytest

from visionlab.core.optimizer import chaos
from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import CHAOS_THRESHOLD, Racer, run_racer, trace_step
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.presets import PRESETS
from visionlab.core.optimizer.torch_reference import torch_path

REGULAR_TOLERANCE = 1e-9  # measured ≤ 1e-10 on every regular path (docs/optimizer.md, Matching torch.optim)

# (surface, start, steps, learning rates chosen so that each optimizer moves but does not blow up)
CASES = [
    ("rosenbrock", (-1.5, 2.0), 300, {"sgd": 1e-3, "momentum": 5e-4, "nesterov": 5e-4, "adagrad": 0.3,
                                       "rmsprop": 0.01, "adam": 0.05, "adamw": 0.05, "nadam": 0.05,
                                       "radam": 1e-3, "adadelta": 1.0}),
    ("himmelblau", (-0.5, -0.5), 250, {"sgd": 0.005, "momentum": 0.002, "nesterov": 0.002, "adagrad": 0.5,
                                        "rmsprop": 0.05, "adam": 0.1, "adamw": 0.1, "nadam": 0.1,
                                        "radam": 0.1, "adadelta": 1.0}),
    ("quadratic", (-2.5, 2.0), 200, {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5,
                                      "rmsprop": 0.05, "adam": 0.1, "adamw": 0.1, "nadam": 0.1,
                                      "radam": 0.1, "adadelta": 1.0}),
    ("six_hump_camel", (-1.9, -0.2), 200, {"sgd": 0.01, "momentum": 0.005, "nesterov": 0.005, "adagrad": 0.2,
                                            "rmsprop": 0.02, "adam": 0.05, "adamw": 0.05, "nadam": 0.05,
                                            "radam": 0.05, "adadelta": 1.0}),
]


def engine_path(surface, racer, start, steps, **kw):
    traj = run_racer(surface, racer, start, steps, **kw)
    assert traj.diverged_at is None, traj.status()
    return np.stack([traj.xs, traj.ys], axis=1)


@pytest.mark.parametrize("surface_key,start,steps,rates", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("key", list(OPTIMIZERS))
def test_path_equals_torch_optim(surface_key, start, steps, rates, key):
    surface = get_surface(surface_key)
    racer = Racer(key, {"lr": rates[key]})
    ours = engine_path(surface, racer, start, steps)
    theirs = torch_path(surface, racer, start, steps)
    assert ours.shape == theirs.shape == (steps + 1, 2)
    assert np.abs(ours - ours[0]).max() > 1e-3  # it really moved
    assert np.abs(ours - theirs).max() <= 1e-6


@pytest.mark.parametrize("key,hp", [
    ("momentum", {"lr": 1e-3, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1}),
    ("nesterov", {"lr": 1e-3, "momentum": 0.95, "weight_decay": 0.05}),
    ("adagrad", {"lr": 0.3, "lr_decay": 0.01, "initial_accumulator_value": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": 1, "weight_decay": 0.1}),
    ("adam", {"lr": 0.02, "beta1": 0.3, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.2}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.5}),
    ("nadam", {"lr": 0.02, "momentum_decay": 0.01, "weight_decay": 0.1}),
    ("radam", {"lr": 2e-3, "beta2": 0.99, "weight_decay": 0.1}),
    ("adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1}),
])
def test_every_hyperparameter_matches_torch(key, hp):
    surface = get_surface("rosenbrock")
    racer = Racer(key, hp)
    ours = engine_path(surface, racer, (-1.5, 2.0), 250)
    assert np.abs(ours - torch_path(surface, racer, (-1.5, 2.0), 250)).max() <= 1e-6


@pytest.mark.parametrize("batch", [1, 16])
def test_minibatch_paths_on_the_data_surface_match_torch(batch):
    surface = get_surface("regression")
    racer = Racer("momentum", {"lr": 0.02}, batch_size=batch)
    ours = engine_path(surface, racer, (-1.5, 2.5), 300, seed=3)
    assert np.abs(ours - torch_path(surface, racer, (-1.5, 2.5), 300, seed=3)).max() <= 1e-6


def test_gradient_noise_matches_torch_with_the_same_seed():
    surface = get_surface("himmelblau")
    racer = Racer("adam", {"lr": 0.05}, batch_size=4)
    ours = engine_path(surface, racer, (0.0, 0.0), 200, seed=7, noise=True, noise_scale=5.0)
    theirs = torch_path(surface, racer, (0.0, 0.0), 200, seed=7, noise=True, noise_scale=5.0)
    assert np.abs(ours - theirs).max() <= 1e-6
    clean = engine_path(surface, racer, (0.0, 0.0), 200)
    assert np.abs(ours - clean).max() > 1e-2  # the noise really changed the path


def _regular_paths_match(cases):
    checked = 0
    for case in cases:
        traj = run_racer(case.surface, case.racer, case.start, case.steps, **case.run_options)
        if traj.steps_done < 1:
            continue
        info = trace_step(case.surface, case.racer, case.start, traj.steps_done, **case.run_options)
        if info is None or info["sensitivity"] > CHAOS_THRESHOLD:
            continue  # chaotic: torch's own path moves by more than 1e-6 under a 1e-12 disturbance
        theirs = torch_path(case.surface, case.racer, case.start, traj.steps_done, **case.run_options)
        gap = float(np.abs(np.stack([traj.xs, traj.ys], axis=1) - theirs).max())
        assert gap <= REGULAR_TOLERANCE, (case.name, gap)
        checked += 1
    return checked


@pytest.mark.parametrize("preset", [p.key for p in PRESETS])
def test_every_regular_preset_path_equals_torch_optim_over_its_own_steps(preset):
    cases = [c for c in chaos.preset_paths() if c.name.startswith(preset + "/") and c.racer.settings().get(
        "bias_correction", 1)]
    assert _regular_paths_match(cases) >= 1  # every preset has at least one regular racer


@pytest.mark.parametrize("surface_key", ["six_hump_camel", "regression"])
def test_all_ten_optimizers_at_defaults_equal_torch_where_regular(surface_key):
    cases = [c for c in chaos.default_paths() if c.name.startswith(surface_key + "/")]
    assert len(cases) == 10 and _regular_paths_match(cases) >= 6
