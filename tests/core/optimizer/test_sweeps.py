import numpy as np
import pytest

from visionlab.core.jobs import JobCancelled
from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import Racer, run_racer
from visionlab.core.optimizer.presets import PRESETS
from visionlab.core.optimizer.sweeps import DIVERGED, basin_map, learning_rate_strip, sharp_flat_statistics


def test_basin_map_finds_himmelblaus_four_minima_and_agrees_with_single_paths():
    surface = get_surface("himmelblau")
    racer = Racer("adam", {"lr": 0.05})
    result = basin_map(surface, racer, surface.bounds, resolution=32, steps=400)
    assert result.labels.shape == (32, 32)
    assert sorted(result.attractors) == sorted(surface.minima)
    fractions = result.fractions()
    assert all(fractions[f"minimum {i}"] > 0.1 for i in range(1, 5))
    # Spot-check: a start's colour is the minimum its own path ends in.
    xs = np.linspace(-5, 5, 32)
    for i, j in ((3, 5), (20, 27), (30, 2)):
        traj = run_racer(surface, racer, (xs[j], xs[i]), 400)
        label = result.labels[i, j]
        ax, ay = result.attractors[label]
        assert np.hypot(traj.xs[-1] - ax, traj.ys[-1] - ay) < 0.1
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
