"""Racer statuses (ok / left the view / escaped / diverged) and the numbers in the presets' set-up texts."""

import csv
import io

import numpy as np
import pytest

from visionlab.core.optimizer.catalog import get_surface
from visionlab.core.optimizer.engine import DIVERGED, ESCAPED, LEFT_VIEW, OK, Racer, Trajectory, run_racer
from visionlab.core.optimizer.export import trajectories_csv
from visionlab.core.optimizer.lab import LabConfig
from visionlab.core.optimizer.presets import PRESETS_BY_KEY
from visionlab.core.optimizer.torch_reference import torch_path


def preset_run(key):
    config = LabConfig.from_preset(PRESETS_BY_KEY[key])
    return config, config.run()


def first_outside(xs, ys, bounds):
    x_min, x_max, y_min, y_max = bounds
    return next(i for i, (x, y) in enumerate(zip(xs, ys, strict=True))
                if not (x_min <= x <= x_max and y_min <= y <= y_max))


def test_the_saddle_escape_is_not_a_failure():
    config, (sgd, momentum) = preset_run("momentum_saddle")
    left = first_outside(momentum.xs, momentum.ys, (-2, 2, -2, 2))
    end = momentum.outcome()
    assert (end.kind, end.step, end.failed) == (ESCAPED, left, False)
    assert momentum.status() == f"left the view at step {left}, downhill (no bottom): not followed further"
    assert momentum.diverged_at is None and momentum.stopped_at == momentum.steps_done + 1
    assert momentum.outcome(left - 1).kind == OK
    assert momentum.status(left + 5) == f"left the view at step {left}"
    # SGD leaves too, hundreds of steps later, and is still on the map's far side: left the view, not ok.
    assert sgd.outcome().kind == LEFT_VIEW and sgd.status() == f"left the view at step {sgd.left_view_at}"
    assert sgd.outcome(sgd.left_view_at - 1).kind == OK


def test_too_large_a_rate_diverges_where_torch_runs_past_the_limit():
    config, trajectories = preset_run("too_large_lr")
    wild = trajectories[2]
    surface = config.make_surface()
    path = torch_path(surface, wild.racer, config.start, config.steps)
    past = int(np.flatnonzero(np.abs(path).max(axis=1) >= surface.divergence_limit)[0])
    end = wild.outcome()
    assert (end.kind, end.step, end.failed) == (DIVERGED, past, True) and wild.diverged_at == past
    assert wild.status() == f"diverged at step {past} (ran away)"
    assert wild.outcome(past - 1).kind == LEFT_VIEW  # outside the map before it is past the limit
    assert [t.outcome().kind for t in trajectories[:2]] == [OK, OK]


def test_a_racer_far_outside_the_map_has_left_the_view():
    surface = get_surface("rosenbrock")
    traj = run_racer(surface, Racer("nadam", {"lr": 1.0}), (-1.5, 2.0), 1000)
    assert traj.stopped_at is None and not traj.in_view[-1]
    inside = [i for i in range(len(traj.xs)) if traj.in_view[i]]
    assert traj.outcome().kind == LEFT_VIEW and traj.outcome().step == inside[-1] + 1
    assert traj.left_view_at == first_outside(traj.xs, traj.ys, surface.bounds)


def test_a_racer_that_comes_back_is_ok_again():
    traj = Trajectory(Racer("sgd"), np.array([0.0, 5.0, 6.0, 0.5]), np.zeros(4), np.zeros(4), bounds=(-1, 1, -1, 1))
    assert [traj.outcome(k).kind for k in range(4)] == [OK, LEFT_VIEW, LEFT_VIEW, OK]
    assert traj.status(2) == "left the view at step 1" and traj.left_view_at == 1
    assert Trajectory(Racer("sgd"), np.array([9.0]), np.zeros(1), np.zeros(1)).status() == "ok"  # no bounds known


def test_a_bottomless_custom_surface_escapes_and_a_bowl_diverges():
    plane = get_surface("custom", expression="x - y")
    down = run_racer(plane, Racer("sgd", {"lr": 50.0}), (0.0, 0.0), 200)
    assert down.outcome().kind == ESCAPED and down.losses[-1] < -1000
    bowl = get_surface("custom", expression="x**2 + y**2")
    up = run_racer(bowl, Racer("sgd", {"lr": 1.5}), (1.0, 1.0), 200)  # θ ← −2θ: the loss grows ×4 a step
    assert up.outcome().kind == DIVERGED and up.losses[-1] > 1e6
    nan = run_racer(get_surface("custom", expression="log(x) + y**2"), Racer("sgd", {"lr": 5.0}), (0.5, 1.0), 50)
    assert nan.outcome().kind == DIVERGED


def test_the_csv_says_escaped_not_diverged():
    _, trajectories = preset_run("momentum_saddle")
    rows = list(csv.DictReader(io.StringIO(trajectories_csv(trajectories))))
    statuses = {r["racer"]: r["status"] for r in rows}
    assert statuses["Momentum"].startswith("left the view") and "downhill (no bottom)" in statuses["Momentum"]
    assert statuses["SGD"].startswith("left the view") and "diverged" not in "".join(statuses.values())


def test_setup_texts_quote_the_presets_own_settings():
    saddle = PRESETS_BY_KEY["momentum_saddle"]
    assert f"y = {saddle.start[1]:g}" in saddle.story
    valley = PRESETS_BY_KEY["ill_conditioned"]
    kappa, sgd_lr = valley.surface_params["condition"], valley.racers[0].hp["lr"]
    for quoted in (f"κ = {kappa:g}", f"η = {sgd_lr:g}", f"2/κ = {2 / kappa:g}"):
        assert quoted in valley.story
    assert sgd_lr < 2 / kappa and valley.surface_params["angle_deg"] == 0.0  # "along the axes"
    steep = PRESETS_BY_KEY["too_large_lr"]
    assert f"κ = {steep.surface_params['condition']:g}" in steep.story
    batches = PRESETS_BY_KEY["batch_variants"]
    count = int(get_surface("regression").params["count"])
    assert f"on {count} points" in batches.story and [r.batch_size for r in batches.racers] == [0, 16, 1]
    look = PRESETS_BY_KEY["nesterov_vs_momentum"]
    assert {r.hp["momentum"] for r in look.racers} == {0.95} and "α = 0.95" in look.story
    assert f"condition number {look.surface_params['condition']:g}" in look.story
    noisy = PRESETS_BY_KEY["sharp_flat"]
    assert f"σ = {noisy.noise_scale:g}" in noisy.story
    sharp, flat = get_surface("sharp_flat").minima[:2]
    assert "near (1.2, 0)" in noisy.story and "near (−1.1, 0)" in noisy.story
    assert sharp == pytest.approx((1.2, 0.0), abs=0.05) and flat == pytest.approx((-1.1, 0.0), abs=0.05)
