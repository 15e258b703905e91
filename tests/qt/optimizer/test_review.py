"""Defects a student-eyed review found in the Optimizer Lab, each checked as the student met it."""

import math

import numpy as np
import pyqtgraph as pg
import pytest

from visionlab.core.optimizer.mathns import torch_namespace
from visionlab.qt.optimizer.panel import OptimizerPanel

TORCH = torch_namespace()


@pytest.fixture
def panel_1400(qtbot, open_panel):
    """The panel's share of a 1400×900 main window."""
    widget = open_panel(OptimizerPanel(), size=(1400, 833))
    qtbot.waitUntil(lambda: len(widget.trajectories) > 0, timeout=5000)
    return widget


def choose_surface(panel, key):
    box = panel.controls.surface_box
    box.setCurrentIndex(box.findData(key))


def enter_expression(panel, text):
    panel.controls.expression.setText(text)
    panel.controls.expression.editingFinished.emit()


def test_a_long_formula_error_wraps_in_the_column_at_1024x700(small_panel, qtbot):
    panel = small_panel
    choose_surface(panel, "custom")
    qtbot.wait(50)
    controls, body = panel.controls, panel.controls.widget()
    sizes = controls.width(), body.width(), panel.map.width()
    enter_expression(panel, "x**2+" + "sin(y)*" * 30 + "foo(x)")  # an unknown name deep in a long expression
    qtbot.wait(50)
    error = controls.expression_error
    assert "unknown name 'foo'" in error.text() and error.isVisible()
    assert (controls.width(), body.width(), panel.map.width()) == sizes
    assert body.width() <= controls.viewport().width()  # nothing cut on the right: the "−" button is whole
    remove = controls.remove_button
    assert remove.mapTo(body, remove.rect().topRight()).x() < controls.viewport().width()
    assert error.width() <= controls.viewport().width()
    assert error.height() >= error.heightForWidth(error.width()) - 1  # wrapped, all lines shown


def load_preset(panel, key):
    box = panel.controls.preset_box
    box.setCurrentIndex(box.findData(key))
    box.activated.emit(box.currentIndex())


def every_axis(panel):
    """Each axis of the panel's plots (map, colour bar, loss plot and the sweep views once they are built)."""
    for index in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(index)  # the sweep views build their plots when first shown
    panel.tabs.setCurrentIndex(0)
    axes = [panel.map.colour_bar.axis]
    for plot in panel.findChildren(pg.PlotWidget):
        axes += [plot.getPlotItem().getAxis(name) for name in ("left", "bottom", "right", "top")]
    return axes


def test_no_axis_rescales_its_values_with_an_si_prefix(panel_1400, qtbot):
    """On the sharp-vs-flat surface the losses are ≈ −0.9 … 0.5: pyqtgraph labelled the colour bar
    "loss (x0.001)" over ticks that read −0.8 … 0.4. Every axis must read as the values are."""
    panel = panel_1400
    load_preset(panel, "sharp_flat")
    qtbot.wait(50)
    axes = every_axis(panel)
    assert len(axes) >= 4 * 5 + 1  # map, loss plot, basin map, LR strip, sharp-vs-flat picture (+ its bars)
    for axis in axes:
        axis.setRange(-0.000874, 0.0004)  # values that get a prefix (µ, "x1e+06") when auto SI prefixes are on
        assert axis.autoSIPrefixScale == 1.0, axis.labelString()
        assert "(x" not in axis.labelString() and "(m" not in axis.labelString()
    bar = panel.map.colour_bar
    lowest = min(float(traj.losses[-1]) for traj in panel.trajectories)
    assert lowest == pytest.approx(-0.874, abs=0.01)  # the table's number for the sharp minimum
    assert min(bar.values) <= lowest <= max(bar.values)  # the colour bar's own numbers contain it


def test_a_start_where_f_is_undefined_is_said_once_not_as_divergence(panel_1400, qtbot):
    panel = panel_1400
    choose_surface(panel, "custom")
    enter_expression(panel, "log(x) + y**2")  # defined for x > 0 only
    panel.controls.start_x.setValue(-2.5)
    panel.controls.start_y.setValue(2.0)
    qtbot.wait(20)
    with pytest.raises(ValueError):
        math.log(-2.5)  # the reference: f is undefined at this start
    message = panel.message.full_text
    assert "(-2.5, 2) is where f is undefined" in message and "click a defined point" in message
    assert "log of a negative number" in message and not panel.message.is_error and "diverged" not in message
    table = panel.side.table
    for row, traj in enumerate(panel.trajectories):
        assert traj.diverged_at is None and not traj.outcome().failed and traj.steps_done == 0
        assert "diverged" not in table.item(row, 5).text()
    assert not any("✗" in title for title in panel.map._titles)
    for index in range(len(panel.trajectories)):  # every racer's internals say the same, at any slider step
        panel.side.internals.racer_box.setCurrentIndex(index)
        for step in (0, panel.config.steps):
            panel.set_step(step)
            text = panel.side.internals.text.text()
            assert "is where f is undefined" in text and "Move the step slider" not in text
    panel.controls.start_x.setValue(1.5)  # a defined start: the race runs again
    qtbot.wait(20)
    assert all(t.steps_done >= 1 and not t.undefined_start for t in panel.trajectories)
    assert "undefined" not in panel.message.full_text


def test_the_saddle_says_left_the_view_for_both_and_its_texts_fit_at_1024x700(small_panel, qtbot):
    panel = small_panel
    load_preset(panel, "momentum_saddle")
    panel.set_step(panel.config.steps)
    qtbot.wait(50)
    sgd, momentum = (t.outcome() for t in panel.trajectories)
    assert sgd.text.startswith("left the view at step") and momentum.text.startswith("left the view at step")
    assert "not followed further" in momentum.text  # the difference, said in words
    table = panel.side.table
    assert [table.item(row, 5).text().startswith("left the view") for row in range(2)] == [True, True]
    message = panel.message
    lines = message.shown_lines()
    assert 1 <= len(lines) <= 2 and message.toolTip() == message.full_text
    assert all(message.fontMetrics().horizontalAdvance(line) <= message.width() for line in lines)
    assert " ".join(lines).startswith(f"SGD: {sgd.text};")  # SGD's whole status is read, not "SGD: left th…"
    title = panel.side.loss.getPlotItem().titleLabel
    assert "linear within ±" in title.text
    assert title.item.boundingRect().width() <= panel.side.loss.width()  # the title is whole


def test_a_vanished_gradient_gets_no_arrow_but_says_stationary(panel_1400):
    import torch

    panel = panel_1400
    load_preset(panel, "rastrigin_local")
    sgd = next(i for i, t in enumerate(panel.trajectories) if t.racer.key == "sgd")
    panel.side.internals.racer_box.setCurrentIndex(sgd)
    panel.set_step(panel.config.steps)
    traj = panel.trajectories[sgd]
    point = torch.tensor([traj.xs[-2], traj.ys[-2]], dtype=torch.float64, requires_grad=True)  # θ before the step
    panel.surface.value(point[0], point[1], TORCH).backward()
    assert float(point.grad.norm()) < 1e-8  # the reference: autograd's gradient has vanished there
    texts = [item.toPlainText() for item, _, _ in panel.map.labels]
    assert any(text.startswith("∇L ≈ 0 (at a stationary point)") for text in texts)
    assert not any("direction only" in text for text in texts)  # no arrow at an arbitrary angle
    assert not any(isinstance(item, pg.ArrowItem) for item in panel.map.arrow_items)
    moving = next(i for i, t in enumerate(panel.trajectories) if t.racer.key == "rmsprop")  # still bouncing
    panel.side.internals.racer_box.setCurrentIndex(moving)
    assert any("direction only" in item.toPlainText() for item, _, _ in panel.map.labels)


def test_a_loss_of_exactly_zero_stays_on_the_log_plot_at_its_floor(panel_1400):
    panel = panel_1400
    load_preset(panel, "himmelblau_basins")
    plot = panel.side.loss
    raw = np.concatenate([t.losses for t in panel.trajectories])
    assert (raw == 0).any()  # Himmelblau's minima are zeros: some racers land on one exactly
    floor = plot.scale.floor
    assert 0 < floor < raw[raw > 0].min()
    for curve, traj in zip(plot.curves, panel.trajectories, strict=True):
        y = curve.yData
        assert np.isfinite(y).all()  # no curve stops where its loss is 0
        np.testing.assert_array_equal(y[traj.losses == 0], floor)
        np.testing.assert_array_equal(y[traj.losses > 0], traj.losses[traj.losses > 0])
    note = plot.floor_note
    assert note.isVisible() and note.toPlainText() == f"loss = 0 exactly: drawn at {floor:.0e}"
    load_preset(panel, "six_on_rosenbrock")  # no zero: no floor, no note
    assert plot.scale.floor == 0 and not plot.floor_note.isVisible()


def test_the_add_box_is_labelled_and_twin_racers_are_told_apart(panel_1400, qtbot):
    from PySide6.QtWidgets import QLabel

    panel = panel_1400
    controls = panel.controls
    box = controls.add_box
    labels = [w for w in box.parentWidget().findChildren(QLabel) if w.text() == "add:"]
    assert len(labels) == 1 and labels[0].geometry().right() <= box.geometry().left()  # right before the box
    assert abs(labels[0].geometry().center().y() - box.geometry().center().y()) <= 3  # on its row
    while len(controls.config.racers) > 1:  # SGD alone
        controls.racer_list.setCurrentRow(1)
        controls.remove_button.click()
    box.setCurrentIndex(box.findData("adam"))
    for _ in range(2):
        controls._add_racer()
    controls.racer_list.setCurrentRow(2)
    controls._param_changed("bias_correction", 0.0)  # as the switch's field does
    qtbot.wait(20)
    names = [controls.racer_list.item(i).text() for i in range(3)]
    assert names == ["● SGD", "● Adam (bias correction on)", "● Adam (bias correction off)"]
    titles = [t.racer.title() for t in panel.trajectories]
    assert titles == ["SGD", "Adam (bias correction on)", "Adam (bias correction off)"]
    assert [panel.side.table.item(i, 0).text() for i in range(3)] == titles
    assert panel.trajectories[1].xs[-1] != panel.trajectories[2].xs[-1]  # they differ in the path too


@pytest.mark.xvfb
def test_the_3d_axes_keep_their_labels_in_a_window_grab(panel_1400, qtbot):
    """The tick labels and the axis names (x, y, loss) are in the picture a screenshot takes, not only in
    OpenGL's frame: a window grab had bare white axes."""
    panel = panel_1400
    panel.tabs.setCurrentWidget(panel.view3d)
    qtbot.wait(300)
    view = panel.view3d
    names = [item.text for item in view.gl.items if hasattr(item, "text")]
    assert {"x", "y", "loss"} <= set(names) and len(names) == 3 * 5 + 3
    frame = view.grab_image()  # rendered again by OpenGL: the labels are there
    from PySide6.QtCore import QPoint, QRect

    # what `visionlab screenshot` sees: the panel grabbed as a whole, cut to the 3D view's rectangle
    window = panel.grab(QRect(view.gl.mapTo(panel, QPoint(0, 0)), view.gl.size())).toImage()
    size = frame.size().boundedTo(window.size())
    a = _pixels(frame.scaled(size))
    b = _pixels(window.scaled(size))
    differing = (np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 60).mean()
    assert differing < 1e-3, f"{differing:.2%} of the pixels differ: labels missing from the window grab"


def _pixels(image):
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * image.height())
    return raw.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3].reshape(
        image.height(), image.width(), 3).copy()  # a copy: the converted image's memory goes with it


def test_the_colour_bar_reads_the_loss_the_map_colours_and_the_ticked_isolines_lie_on_it(panel):
    """On the default Rosenbrock view: each colour-bar label is the loss (closed form) of the pixels coloured
    as the bar's colour at that label, and the brighter isolines (those with a tick) run where L equals a label."""
    from visionlab.qt.optimizer.surface_map import COLOURS

    def rosenbrock(x, y):
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2

    view = panel.map
    assert panel.surface.key == "rosenbrock" and panel.controls.log_scale.isChecked()
    lo, hi = view.colour_bar.levels()
    ticks = view.colour_bar.axis._tickLevels[0]
    assert len(ticks) >= 2 and "log" in view.colour_bar.axis.labelText
    x_min, x_max, y_min, y_max = panel.surface.bounds
    image = view.image.image
    xs, ys = np.linspace(x_min, x_max, image.shape[1]), np.linspace(y_min, y_max, image.shape[0])
    heights = np.log10(rosenbrock(*np.meshgrid(xs, ys)))  # row i is y = ys[i], as the image is drawn
    for position, label in ticks:
        loss = float(label)
        assert position == pytest.approx(math.log10(loss), abs=1e-3)  # the label sits at its own height
        near = np.abs(heights - position) < 0.005
        assert near.sum() >= 5, label
        expected = COLOURS.map((position - lo) / (hi - lo), mode="byte")[:3]
        assert np.abs(image[near][:, :3].astype(int) - expected).max() <= 3, label  # the bar's colour there
    ticked = view.contours[1]
    on_line = np.log10(rosenbrock(np.asarray(ticked.xData), np.asarray(ticked.yData)))
    assert on_line.size > 100
    distance = np.min(np.abs(on_line[:, None] - np.array([p for p, _ in ticks])[None, :]), axis=1)
    assert distance.max() < 1e-6  # every vertex of a ticked isoline has L equal to one of the bar's labels
