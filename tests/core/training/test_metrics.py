"""The step curves' smoothing: TensorBoard's debiased EMA over steps, placed where its data lie."""

import numpy as np
import pytest

from visionlab.core.training.metrics import StepSmoother, ema_alpha


def tensorboard_smoothing(values: list[float], weight: float) -> list[float]:
    """TensorBoard's scalar smoothing, line for line (its "smoothing" slider is `weight` = β)."""
    last, accumulated, out = 0.0, 0, []
    for value in values:
        last = last * weight + (1 - weight) * value
        accumulated += 1
        out.append(last / (1 - weight ** accumulated))
    return out


def smooth_reports(values, positions, steps, window):
    smoother = StepSmoother(window)
    for value, position, count in zip(values, positions, steps, strict=True):
        smoother.add(value, position, count)
    return smoother.xs, smoother.ys


def reports(seed: int = 0, count: int = 30):
    """Report means, positions (centres, in epochs) and step counts as a run sends them: 5 steps each, with
    a shorter report closing every 17-step epoch."""
    rng = np.random.default_rng(seed)
    steps, positions, done = [], [], 0
    for _ in range(count):
        in_epoch = done % 17
        n = min(5, 17 - in_epoch)
        positions.append((done + (n - 1) / 2) / 17)  # the centre of the steps it averages
        steps.append(n)
        done += n
    values = list(2.3 * np.exp(-np.asarray(positions)) + 0.1 * rng.standard_normal(count))
    return values, positions, steps


@pytest.mark.parametrize("window", [1, 3, 10, 50])
def test_smoothed_values_equal_tensorboard_over_the_steps_each_report_stands_for(window):
    values, positions, steps = reports()
    _, smoothed = smooth_reports(values, positions, steps, window)
    per_step = np.repeat(values, steps)  # each report counts as its steps, each at the report's mean
    expected = np.asarray(tensorboard_smoothing(list(per_step), 1 - ema_alpha(window)))[np.cumsum(steps) - 1]
    assert smoothed == pytest.approx(list(expected), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("window", [3, 10, 50])
def test_each_point_sits_at_the_weighted_mean_position_of_what_it_averages(window):
    values, positions, steps = reports(1)
    xs, _ = smooth_reports(values, positions, steps, window)
    beta = 1 - ema_alpha(window)
    per_step_x = np.repeat(positions, steps)
    for index, end in enumerate(np.cumsum(steps)):
        weights = (1 - beta) * beta ** np.arange(end - 1, -1, -1.0)  # step k of `end` weighs (1-β)·β^(end-1-k)
        assert xs[index] == pytest.approx(float((weights * per_step_x[:end]).sum() / weights.sum()), rel=1e-12)


def test_on_a_straight_trend_the_smoothed_curve_lies_on_it_and_does_not_trail():
    """Reports once per epoch (a tiny data set: 3 steps an epoch), a loss falling 0.05 per epoch: the EMA drawn
    at each newest report trails by its weights' mean age, γ/(1−γ) reports with γ = β³ (≈ 1.2 epochs here);
    drawn at its weights' mean position it lies on the line."""
    epochs = np.arange(60)
    positions, values, steps = list(epochs + 1 / 3), list(3.0 - 0.05 * (epochs + 1 / 3)), [3] * 60
    xs, ys = smooth_reports(values, positions, steps, 10)
    assert ys == pytest.approx(list(3.0 - 0.05 * np.asarray(xs)), abs=1e-12)
    lagging = tensorboard_smoothing(values, (1 - ema_alpha(10)) ** 3)  # at the newest report's position
    assert values[-1] - lagging[-1] < -0.05  # that one is higher than the line by more than an epoch's fall
    gamma = (1 - ema_alpha(10)) ** 3
    assert positions[-1] - xs[-1] == pytest.approx(gamma / (1 - gamma))  # honest: it describes ~1.2 epochs ago


def test_window_one_is_the_raw_reports():
    values, positions, steps = reports(2)
    assert smooth_reports(values, positions, steps, 1) == (pytest.approx(positions), pytest.approx(values))
