"""Every optimizer's path equals torch.optim's, step for step (float64, ≥ 200 steps, ≤ 1e-6)."""

import numpy as np
import pytest

from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import Racer, run_racer
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.torch_reference import torch_path

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
