"""Analytic gradients of every surface equal torch autograd; the lecture's momentum forms map onto torch's."""

import math
import time

import numpy as np
import pytest
import torch

from visionlab.core.optimizer.catalog import SURFACE_KEYS, get_surface
from visionlab.core.optimizer.engine import Racer, run_racer
from visionlab.core.optimizer.mathns import SCALAR, torch_namespace
from visionlab.core.optimizer.surfaces import FLAT_CENTER, SHARP_CENTER

TORCH = torch_namespace()


@pytest.mark.parametrize("key", SURFACE_KEYS)
def test_analytic_gradient_equals_autograd(key):
    surface = get_surface(key)
    rng = np.random.default_rng(0)
    x_min, x_max, y_min, y_max = surface.bounds
    for x, y in zip(rng.uniform(x_min, x_max, 25), rng.uniform(y_min, y_max, 25), strict=True):
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        value = surface.value(tx, ty, TORCH)
        value.backward()
        gx, gy = surface.grad(float(x), float(y), SCALAR)
        assert value.item() == pytest.approx(surface.value(float(x), float(y), SCALAR), rel=1e-12, abs=1e-12)
        scale = max(1.0, abs(tx.grad.item()), abs(ty.grad.item()))
        assert abs(gx - tx.grad.item()) <= 1e-9 * scale
        assert abs(gy - ty.grad.item()) <= 1e-9 * scale


@pytest.mark.parametrize("key", SURFACE_KEYS)
def test_known_minima_have_zero_gradient_and_grid_has_values(key):
    surface = get_surface(key)
    for mx, my in surface.minima:
        gx, gy = surface.grad(mx, my, SCALAR)
        assert math.hypot(gx, gy) < 5e-3 * max(1.0, abs(surface.value(mx, my, SCALAR)))
    xs, ys, z = surface.grid(50)
    assert z.shape == (50, 50) and np.isfinite(z).mean() > 0.99


def test_sharp_minimum_is_sharper_than_the_flat_one():
    surface = get_surface("sharp_flat")

    def curvature(center):
        h = 1e-4
        x, y = center
        return (surface.grad(x + h, y, SCALAR)[0] - surface.grad(x - h, y, SCALAR)[0]) / (2 * h)

    assert curvature(SHARP_CENTER) > 10 * curvature(FLAT_CENTER) > 0


def lecture_momentum(surface, start, lr, alpha, steps):
    theta, v = np.array(start, float), np.zeros(2)
    path = [theta.copy()]
    for _ in range(steps):
        v = alpha * v - lr * np.array(surface.grad(theta[0], theta[1], SCALAR))
        theta = theta + v
        path.append(theta.copy())
    return np.array(path)


def lecture_nesterov(surface, start, lr, alpha, steps):
    theta, v = np.array(start, float), np.zeros(2)
    thetas, lookaheads = [theta.copy()], [theta.copy()]
    for _ in range(steps):
        ahead = theta + alpha * v
        v = alpha * v - lr * np.array(surface.grad(ahead[0], ahead[1], SCALAR))
        theta = theta + v
        thetas.append(theta.copy())
        lookaheads.append(theta + alpha * v)
    return np.array(thetas), np.array(lookaheads)


def test_lecture_momentum_form_gives_torchs_path():
    surface = get_surface("rosenbrock")
    traj = run_racer(surface, Racer("momentum", {"lr": 5e-4, "momentum": 0.9}), (-1.5, 2.0), 300)
    ours = np.stack([traj.xs, traj.ys], 1)
    assert np.abs(ours - lecture_momentum(surface, (-1.5, 2.0), 5e-4, 0.9, 300)).max() < 1e-9


def test_torch_nesterov_parameter_is_the_lectures_lookahead_point():
    surface = get_surface("rosenbrock")
    traj = run_racer(surface, Racer("nesterov", {"lr": 5e-4, "momentum": 0.9}), (-1.5, 2.0), 300)
    torch_params = np.stack([traj.xs, traj.ys], 1)
    thetas, lookaheads = lecture_nesterov(surface, (-1.5, 2.0), 5e-4, 0.9, 300)
    assert np.abs(torch_params - lookaheads).max() < 1e-9  # torch keeps θ + α·v
    assert np.abs(torch_params - thetas).max() > 1e-3  # ...which is not the lecture's θ itself


def test_scalar_and_array_paths_agree():
    surface = get_surface("himmelblau")
    from visionlab.core.optimizer.engine import run_many

    racer = Racer("adam", {"lr": 0.05})
    starts_x, starts_y = np.array([-0.5, 1.0, 2.0]), np.array([-0.5, 3.0, -2.0])
    *_, (t, x, y) = run_many(surface, racer, starts_x, starts_y, 200)
    for i in range(3):
        traj = run_racer(surface, racer, (starts_x[i], starts_y[i]), 200)
        assert (traj.xs[-1], traj.ys[-1]) == pytest.approx((x[i], y[i]), abs=1e-12)


def test_divergence_is_reported_with_its_step_and_the_path_kept():
    surface = get_surface("rosenbrock")
    traj = run_racer(surface, Racer("sgd", {"lr": 0.1}), (-1.5, 2.0), 500)
    assert traj.diverged_at is not None and 1 <= traj.diverged_at < 20
    assert traj.status().startswith(f"diverged at step {traj.diverged_at}")
    assert len(traj.xs) == traj.diverged_at and np.isfinite(traj.xs).all()


def test_custom_expression_domain_error_marks_divergence():
    surface = get_surface("custom", expression="log(x) + y**2")
    traj = run_racer(surface, Racer("sgd", {"lr": 5.0}), (0.5, 1.0), 50)
    assert traj.diverged_at is not None


def test_regression_surface_minibatch_noise_shrinks_with_batch_size():
    surface = get_surface("regression")
    spreads = []
    for batch in (1, 16, 200):
        traj = run_racer(surface, Racer("sgd", {"lr": 0.05}, batch_size=batch), (-1.5, 2.5), 600, seed=1)
        spreads.append(np.std(traj.xs[-200:]))
    assert spreads[0] > spreads[1] > spreads[2]
    w1, w2 = surface.minima[0]
    assert abs(w1 - 2.0) < 0.3 and abs(w2 + 1.0) < 0.3  # the data really were made from y = 2x − 1


def test_race_is_fast_enough_to_recompute_while_dragging():
    surface = get_surface("rosenbrock")
    racers = [Racer(k, {"lr": 1e-3}) for k in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")]
    start = time.perf_counter()
    for racer in racers:
        run_racer(surface, racer, (-1.5, 2.0), 1000)
    # Generous bound (shared noisy machine): the benchmark measures the real figure (≈ 10 ms).
    assert time.perf_counter() - start < 0.5
