"""The sweep views as a student meets them: a note until Run, "done" after, keys under the plots, and captions
whose numbers are recomputed here from closed forms and from the sweeps' own arrays."""

import numpy as np
import pyqtgraph as pg
import pytest

from visionlab.core.optimizer.engine import run_racer
from visionlab.core.optimizer.mathns import torch_namespace
from visionlab.core.optimizer.presets import PALETTE
from visionlab.core.optimizer.sweeps import NOT_CONVERGED
from visionlab.qt.optimizer.panel import OptimizerPanel

TORCH = torch_namespace()


def run_view(panel, view, qtbot, timeout=60000):
    panel.tabs.setCurrentWidget(view)
    view.start()
    qtbot.waitUntil(lambda: not view.busy() and view.run_button.isEnabled(), timeout=timeout)
    qtbot.wait(30)


def below(widget, above):
    """Whether `widget` starts below the bottom of `above` (both mapped to the window)."""
    top = widget.mapTo(widget.window(), widget.rect().topLeft()).y()
    bottom = above.mapTo(above.window(), above.rect().bottomLeft()).y()
    return top >= bottom


def test_each_sweep_view_says_press_run_until_its_result_and_done_after(small_panel, qtbot, load_preset):
    panel = small_panel
    load_preset(panel, "sharp_flat")
    for view in (panel.basin, panel.lr_strip, panel.sharp_flat):
        panel.tabs.setCurrentWidget(view)
        qtbot.wait(20)
        assert view.waiting.isVisible() and not view.plot.isVisible()  # no empty plot on meaningless axes
        assert f"Press “{view.run_button.text()}”" in view.waiting.text()
    panel.basin.resolution.setCurrentIndex(0)
    panel.basin.steps.setValue(100)
    panel.sharp_flat.seeds.setValue(20)
    for view in (panel.basin, panel.lr_strip, panel.sharp_flat):
        run_view(panel, view, qtbot)
        assert view.plot.isVisible() and not view.waiting.isVisible()
        assert view.progress.text() == "done" and view.progress.value() == view.progress.maximum()
    panel.sharp_flat.cancel_button.setEnabled(False)
    load_preset(panel, "six_on_rosenbrock")  # the statistics are about a surface that is gone: the note again
    load_preset(panel, "sharp_flat")
    panel.tabs.setCurrentWidget(panel.sharp_flat)
    assert panel.sharp_flat.waiting.isVisible()


def test_the_learning_rate_strip_key_is_under_the_plot_and_best_rates_are_the_closed_forms(small_panel, qtbot,
                                                                                           load_preset):
    """too_large_lr: SGD on ½(x² + 10·y²) from (−2.5, 2): after N steps x = x₀(1 − η)ᴺ, y = y₀(1 − 10η)ᴺ."""
    panel = small_panel
    load_preset(panel, "too_large_lr")
    view = panel.lr_strip
    view.count.setValue(50)
    run_view(panel, view, qtbot)
    lrs, finals = view.result
    (x0, y0), steps = panel.config.start, panel.config.steps
    with np.errstate(all="ignore"):
        xs, ys = x0 * (1 - lrs) ** steps, y0 * (1 - 10 * lrs) ** steps
        limit = panel.surface.divergence_limit
        closed = np.where((np.abs(xs) < limit) & (np.abs(ys) < limit), 0.5 * (xs ** 2 + 10 * ys ** 2), np.inf)
    caption = view.caption.text()
    for title, final in finals.items():
        assert np.array_equal(np.isinf(final), np.isinf(closed))
        np.testing.assert_allclose(final[np.isfinite(final)], closed[np.isfinite(closed)], rtol=1e-9, atol=1e-300)
        assert f"{title}: best η ≈ {lrs[np.argmin(closed)]:.2g}" in caption
    assert panel.lr_strip.plot.getPlotItem().legend is None  # no legend over the crosses
    key = view.key
    assert key.isVisible() and below(key, view.plot)
    assert all(title in key.text() for title in finals) and "diverged" in key.text()


def test_the_sharp_flat_key_is_under_its_bars(small_panel, qtbot, load_preset):
    panel = small_panel
    load_preset(panel, "sharp_flat")
    view = panel.sharp_flat
    view.seeds.setValue(20)
    run_view(panel, view, qtbot)
    assert view.plot.getPlotItem().legend is None and not any(
        isinstance(item, pg.LegendItem) for item in view.plot.scene().items())
    assert view.key.isVisible() and below(view.key, view.plot)
    text = view.key.text()
    assert "ends in the flat minimum" in text and "sharp" in text and "elsewhere" in text
    assert view.key.width() <= view.width()


def test_the_basin_caption_names_racer_steps_and_its_median_is_the_arrays(small_panel, qtbot, load_preset):
    panel = small_panel
    load_preset(panel, "six_on_rosenbrock")
    assert panel.basin.steps.value() == panel.config.steps  # the race's steps by default
    panel.controls.racer_list.setCurrentRow(5)  # Adam
    panel.basin.resolution.setCurrentIndex(0)
    panel.basin.steps.setValue(300)
    run_view(panel, panel.basin, qtbot)
    result = panel.basin.result
    caption = panel.basin.caption.text()
    assert caption.startswith("Adam, 300 steps from each of 4096 starts") and "not converged in 300 steps" in caption
    assert "(1.00, 1.00)" in caption and caption.count("■") == 3  # the one minimum, not converged, diverged
    assert result.attractors == [(1.0, 1.0)]
    panel.basin.mode.setCurrentIndex(1)
    finite = np.sort(result.steps_to_converge[np.isfinite(result.steps_to_converge)])
    n = len(finite)
    median = finite[n // 2] if n % 2 else 0.5 * (finite[n // 2 - 1] + finite[n // 2])
    assert f"Median over converged starts: {median:.0f}." in panel.basin.caption.text()
    # the array itself, at a few starts, from the racer's own path: the last step of 1e-4 or more, plus one
    x_min, x_max, y_min, y_max = result.bounds
    xs, ys = np.linspace(x_min, x_max, 64), np.linspace(y_min, y_max, 64)
    racer = panel.config.racers[5]
    converged = list(zip(*np.nonzero(np.isfinite(result.steps_to_converge)), strict=True))
    for i, j in converged[:: max(1, len(converged) // 6)][:6]:
        traj = run_racer(panel.surface, racer, (xs[j], ys[i]), 300)
        lengths = np.hypot(np.diff(traj.xs), np.diff(traj.ys))
        assert result.steps_to_converge[i, j] == np.flatnonzero(lengths >= 1e-4)[-1] + 2
    assert (result.labels == NOT_CONVERGED).sum() == np.isnan(result.steps_to_converge).sum() - (
        result.labels == -1).sum()


def test_basin_map_runs_off_the_gui_thread_and_can_be_cancelled(panel, qtbot, load_preset):
    load_preset(panel, "himmelblau_basins")
    panel.tabs.setCurrentWidget(panel.basin)
    panel.basin.resolution.setCurrentIndex(0)
    panel.basin.steps.setValue(300)
    panel.basin.start()
    qtbot.waitUntil(lambda: panel.basin.result is not None, timeout=30000)
    assert panel.basin.result.labels.shape == (64, 64)
    assert len(panel.basin.result.attractors) == 4
    assert "(3.00, 2.00)" in panel.basin.caption.text()
    panel.basin.steps.setValue(5000)
    panel.basin.resolution.setCurrentIndex(2)
    panel.basin.start()
    qtbot.wait(100)
    panel.basin.cancel()  # returns at once; the sweep notices within a chunk of work
    qtbot.waitUntil(lambda: not panel.basin.busy() and panel.basin.run_button.isEnabled(), timeout=2000)


def test_learning_rate_strip_labels_every_decade_and_colours_each_racers_crosses(qtbot, open_panel):
    panel = open_panel(OptimizerPanel(), size=(1024, 633))
    qtbot.waitUntil(lambda: len(panel.trajectories) > 0, timeout=5000)
    panel.tabs.setCurrentWidget(panel.lr_strip)
    panel.lr_strip.count.setValue(50)
    panel.lr_strip.start()
    qtbot.waitUntil(lambda: not panel.lr_strip.busy() and "best η" in panel.lr_strip.caption.text(), timeout=60000)
    view = panel.lr_strip
    axis = view.rate_axis
    def decade_labels() -> dict:
        levels = axis.tickValues(*axis.range, axis.width())
        return {round(v, 6): label for _, values in levels
                for v, label in zip(values, axis.tickStrings(values, 1, 1), strict=True)}

    # The plot was behind the "Press Run" note until now: its axis gets its width (and ticks) from a queued
    # relayout, so wait (bounded) until every decade 1e-5 … 10 has a tick.
    qtbot.waitUntil(lambda: view.plot.isVisible() and all(d in decade_labels() for d in range(-5, 2)), timeout=3000)
    labels = decade_labels()
    for decade in range(-5, 2):  # each labelled with its own value
        assert parse_power(labels[decade]) == pytest.approx(10.0 ** decade)
    _, finals = view.result
    diverged = {PALETTE[i].lower() for i, final in enumerate(finals.values()) if np.isinf(final).any()}
    crosses = [item for item in view.plot.listDataItems() if item.opts["symbol"] == "x"]
    assert len(diverged) >= 2 and len(crosses) == len(diverged)
    assert {item.opts["symbolPen"].color().name() for item in crosses} == diverged  # each in its racer's colour
    assert len({float(item.yData[0]) for item in crosses}) == len(crosses)  # one row each
    caption = view.caption
    # Every line of the caption shows, once the layout has taken the new text (a queued relayout).
    qtbot.waitUntil(lambda: caption.height() >= caption.heightForWidth(caption.width()), timeout=2000)


def parse_power(label):
    digits = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
    return 10.0 ** int(label[2:].translate(digits)) if label.startswith("10") and len(label) > 2 and \
        not label[2:].isdigit() else float(label)


def test_sharp_flat_caption_follows_the_surface_and_draws_the_lecture_picture(panel, qtbot, load_preset):
    import torch

    panel.tabs.setCurrentWidget(panel.sharp_flat)
    panel.sharp_flat.start()  # on Rosenbrock: cannot run, and says why
    assert "choose the 'Sharp vs flat minima' surface" in panel.sharp_flat.caption.text()
    load_preset(panel, "sharp_flat")
    assert "Cannot run" not in panel.sharp_flat.caption.text()
    assert panel.sharp_flat.run_button.isEnabled()
    picture = panel.sharp_flat.picture
    u, text = np.array(picture.direction), panel.sharp_flat.picture_label.text()
    for minimum in (picture.flat, picture.sharp):  # the numbers in the sentence, recomputed with torch
        theta = np.array(picture.origin) + minimum.position * u
        train, test = (panel.surface.value(torch.tensor(p[0]), torch.tensor(p[1]), TORCH).item()
                       for p in (theta, theta - picture.shift * u))
        assert f"by {test - train:.3f} ({train:.3f} → {test:.3f})" in text
    assert "the flat minimum stays low, the sharp one does not" in text
    curves = panel.sharp_flat.picture_plot.listDataItems()
    assert len(curves) == 4  # train, shifted "test", and the rise at each minimum
    panel.sharp_flat.seeds.setValue(40)
    panel.sharp_flat.start()
    qtbot.waitUntil(lambda: "batch 1: flat" in panel.sharp_flat.caption.text(), timeout=30000)
    load_preset(panel, "six_on_rosenbrock")
    assert "need the 'Sharp vs flat minima' surface" in panel.sharp_flat.caption.text()
    assert panel.sharp_flat.picture is None and not panel.sharp_flat.picture_plot.listDataItems()
    assert not panel.sharp_flat.picture_plot.isVisible() and "is drawn on the" in panel.sharp_flat.picture_label.text()
