import numpy as np
import pytest
import scipy.optimize
import torch

from visionlab.core.jobs import JobCancelled
from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import Racer, run_racer
from visionlab.core.optimizer.mathns import torch_namespace
from visionlab.core.optimizer.presets import PRESETS
from visionlab.core.optimizer.sweeps import (
    DIVERGED,
    NOT_CONVERGED,
    basin_map,
    learning_rate_strip,
    sharp_flat_picture,
    sharp_flat_statistics,
)
from visionlab.core.optimizer.torch_reference import torch_path

TORCH = torch_namespace()


def autograd_gradient_and_hessian(surface, point):
    """∇L and the Hessian at `point` from torch autograd (independent of the analytic gradient)."""
    def loss(theta):
        return surface.value(theta[0], theta[1], TORCH)
    theta = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(loss(theta), theta)
    hessian = torch.autograd.functional.hessian(loss, theta.detach())
    return gradient.numpy(), hessian.numpy()


def test_basin_map_attractors_are_true_minima_and_starts_end_where_torch_optim_ends():
    surface = get_surface("himmelblau")
    racer = Racer("adam", {"lr": 0.05})
    result = basin_map(surface, racer, surface.bounds, resolution=32, steps=400)
    assert result.labels.shape == (32, 32)
    assert len(result.attractors) == 4
    for point in result.attractors:  # each is a local minimum by autograd: ∇L = 0, Hessian positive definite
        gradient, hessian = autograd_gradient_and_hessian(surface, point)
        assert np.linalg.norm(gradient) < 1e-3 and np.linalg.eigvalsh(hessian).min() > 0
    distances = [np.hypot(a[0] - b[0], a[1] - b[1]) for i, a in enumerate(result.attractors)
                 for b in result.attractors[i + 1:]]
    assert min(distances) > 1.0  # four different minima, not one found four times
    fractions = result.fractions()
    assert all(fractions[f"minimum {i}"] > 0.1 for i in range(1, 5))
    # A start's colour is the minimum that torch.optim.Adam's own path from that start ends in.
    xs = np.linspace(-5, 5, 32)
    for i, j in ((3, 5), (20, 27), (30, 2), (12, 16)):
        end = torch_path(surface, racer, (xs[j], xs[i]), 400)[-1]
        nearest = int(np.argmin([np.hypot(end[0] - ax, end[1] - ay) for ax, ay in result.attractors]))
        assert result.labels[i, j] == nearest
        assert 0 < result.steps_to_converge[i, j] <= 400


def test_basin_map_marks_divergence_and_reports_progress_and_cancels():
    surface = get_surface("rosenbrock")
    seen = []
    result = basin_map(surface, Racer("sgd", {"lr": 0.01}), surface.bounds, 16, 100,
                       progress=lambda f, m: seen.append(f))
    assert (result.labels == DIVERGED).any()
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(JobCancelled):
        basin_map(surface, Racer("adam"), surface.bounds, 16, 100, should_stop=lambda: True)


def test_learning_rate_strip_shows_sgd_diverging_beyond_two_over_curvature():
    surface = get_surface("quadratic", condition=10.0, angle_deg=0.0)
    lrs = np.array([0.01, 0.1, 0.19, 0.21, 0.5])
    _, results = learning_rate_strip(surface, [Racer("sgd")], surface.start, 300, lrs)
    final = results["SGD"]
    assert np.isfinite(final[:3]).all() and final[2] < 1e-6
    assert np.isinf(final[3:]).all()  # η > 2/κ = 0.2 diverges


def test_learning_rate_strip_passes_the_race_noise_on():
    surface = get_surface("quadratic", condition=10.0, angle_deg=0.0)
    lrs = np.array([0.05, 0.1, 0.15])
    racer = Racer("sgd", batch_size=1)
    _, exact = learning_rate_strip(surface, [racer], surface.start, 400, lrs)
    _, noisy = learning_rate_strip(surface, [racer], surface.start, 400, lrs, noise=True, noise_scale=2.0)
    # Without noise SGD converges to the minimum 0; with noise σ = 2 it keeps bouncing around it.
    assert exact["SGD (batch 1)"].max() < 1e-6 and noisy["SGD (batch 1)"].min() > 1e-4


def test_sharp_flat_picture_matches_autograd_curvature_and_the_lecture():
    surface = get_surface("sharp_flat")
    picture = sharp_flat_picture(surface, shift=0.25)
    u = np.array(picture.direction)
    for minimum in (picture.sharp, picture.flat):
        theta = np.array(picture.origin) + minimum.position * u
        gradient, hessian = autograd_gradient_and_hessian(surface, theta)
        assert np.linalg.norm(gradient) < 1e-6  # it is a minimum
        assert minimum.curvature == pytest.approx(u @ hessian @ u, rel=1e-5)  # d²L/ds² = uᵀHu
        shifted = theta - picture.shift * u
        expected = surface.value(torch.tensor(shifted[0]), torch.tensor(shifted[1]), TORCH).item()
        assert minimum.test == pytest.approx(expected, abs=1e-12)
        # A small shift δ raises the loss by ½·uᵀHu·δ² (second order, autograd's Hessian).
        small = sharp_flat_picture(surface, shift=0.01)
        same = small.sharp if minimum is picture.sharp else small.flat
        assert same.rise == pytest.approx(0.5 * (u @ hessian @ u) * 0.01 ** 2, rel=0.05)
    assert picture.sharp.curvature > 10 * picture.flat.curvature
    assert picture.flat.rise < 0.1 < picture.sharp.rise  # the lecture: the flat minimum stays low
    # The curves: the test curve is the training curve moved by the shift along the line.
    inside = (picture.positions > picture.positions[0] + 0.25)
    moved = np.interp(picture.positions[inside] - 0.25, picture.positions, picture.train)
    assert np.allclose(picture.test[inside], moved, atol=2e-3)
    # The line runs through both minima: the lowest loss on it is L's lowest minimum (scipy, from each).
    lowest = min(scipy.optimize.minimize(lambda p: surface.value(p[0], p[1], np), m).fun for m in surface.minima)
    assert picture.train.min() == pytest.approx(lowest, abs=1e-4)


def test_small_batches_end_in_the_flat_minimum_more_often():
    surface = get_surface("sharp_flat")
    stats = sharp_flat_statistics(surface, Racer("sgd", {"lr": 0.1}), surface.start, 1500, batch_sizes=(1, 256),
                                  seeds=100, noise_scale=2.0)
    assert stats[1]["flat"] > 0.5 > stats[256]["flat"]
    assert stats[256]["sharp"] > 0.9


@pytest.mark.parametrize("preset", PRESETS, ids=[p.key for p in PRESETS])
def test_every_preset_runs_and_valid_hyperparameters(preset):
    from visionlab.core.optimizer.hyperparams import OPTIMIZERS

    surface = get_surface(preset.surface, **preset.surface_params)
    for racer in preset.racers:
        assert OPTIMIZERS[racer.key].validate(racer.settings()) == {}
        traj = run_racer(surface, racer, preset.start, preset.steps, noise=preset.noise, noise_scale=preset.noise_scale)
        assert traj.steps_done > 0


def test_a_basin_map_with_more_minima_than_colours_calls_no_settled_start_not_converged():
    from visionlab.core.optimizer.sweeps import MAX_ATTRACTORS, NOT_CONVERGED, OTHER_MINIMUM

    surface = get_surface("rastrigin")  # dozens of local minima in the view
    racer = Racer("sgd", {"lr": 0.002})
    result = basin_map(surface, racer, surface.bounds, resolution=24, steps=300)
    assert len(result.attractors) == MAX_ATTRACTORS and (result.labels == OTHER_MINIMUM).any()
    x_min, x_max, y_min, y_max = surface.bounds
    xs, ys = np.linspace(x_min, x_max, 24), np.linspace(y_min, y_max, 24)
    checked = 0
    for i, j in zip(*np.nonzero(result.labels == OTHER_MINIMUM), strict=True):
        if checked == 4:
            break
        checked += 1
        # The start's own path, by scipy: it ends at a point where Rastrigin has a local minimum (∇L ≈ 0,
        # found again by scipy.optimize from the path's end) and it has stopped moving.
        traj = run_racer(surface, racer, (xs[j], ys[i]), 300)
        end = np.array([traj.xs[-1], traj.ys[-1]])
        found = scipy.optimize.minimize(lambda p: surface.value(p[0], p[1], np), end).x
        assert np.hypot(*(found - end)) < 1e-2 and np.hypot(traj.xs[-1] - traj.xs[-2], traj.ys[-1] - traj.ys[-2]) < 1e-4
    fractions = result.fractions()
    moving = 1 - np.isfinite(result.steps_to_converge).mean() - fractions["diverged"]
    assert fractions["not converged"] == pytest.approx(moving) and result.labels[result.labels == NOT_CONVERGED].size \
        == round(moving * result.labels.size)


def test_rosenbrock_basin_map_lists_only_its_minimum_and_calls_the_valley_ends_not_converged():
    """Adam's ends along Rosenbrock's valley floor have tiny steps but are no minima: scipy, started from each,
    walks on to (1, 1). Only (1, 1) is listed; those starts are "not converged"."""
    surface = get_surface("rosenbrock")
    racer = Racer("adam", {"lr": 0.02})
    steps, n = 300, 24
    result = basin_map(surface, racer, surface.bounds, resolution=n, steps=steps)
    assert result.attractors == [(1.0, 1.0)] and result.racer == "Adam" and result.steps == steps
    x_min, x_max, y_min, y_max = surface.bounds
    xs, ys = np.linspace(x_min, x_max, n), np.linspace(y_min, y_max, n)
    radius = 0.02 * np.hypot(x_max - x_min, y_max - y_min)
    stalled = 0
    for i, j in zip(*np.nonzero(result.labels == NOT_CONVERGED), strict=True):
        traj = run_racer(surface, racer, (xs[j], ys[i]), steps)
        end = np.array([traj.xs[-1], traj.ys[-1]])
        if np.hypot(*(end - [traj.xs[-2], traj.ys[-2]])) >= 1e-4:
            continue  # still moving: not converged on any count
        stalled += 1  # it stopped moving, away from a minimum: scipy from there goes on to (1, 1)
        found = scipy.optimize.minimize(lambda p: surface.value(p[0], p[1], np), end, method="BFGS").x
        assert np.hypot(*(found - (1.0, 1.0))) < 1e-3 and np.hypot(*(end - found)) > radius
    assert stalled >= 3  # the ends the old map listed as "minima" (1.11, 1.23), (0.94, 0.87), ...
    for i, j in list(zip(*np.nonzero(result.labels == 0), strict=True))[:5]:  # coloured (1, 1): its path ends there
        traj = run_racer(surface, racer, (xs[j], ys[i]), steps)
        assert np.hypot(traj.xs[-1] - 1.0, traj.ys[-1] - 1.0) < radius
