"""The Optimizer Lab's Internals and arrows as a student reads them: each number and arrow against torch."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from visionlab.core.optimizer.mathns import SCALAR, torch_namespace
from visionlab.qt.optimizer.panel import OptimizerPanel
from visionlab.qt.optimizer.readouts import STATUS_COLORS

TORCH = torch_namespace()


def cross(a, b):
    return a[0] * b[1] - a[1] * b[0]


def arrows_on_the_map(panel):
    """(drawn vector, label) of each arrow, from the map's items: a line, its head, its label."""
    items = panel.map.arrow_items
    lines = [i for i in items if hasattr(i, "xData") and i.xData is not None and len(i.xData) == 2]
    labels = [i.toPlainText() for i in items if hasattr(i, "toPlainText")]
    vectors = [(line.xData[1] - line.xData[0], line.yData[1] - line.yData[0]) for line in lines]
    return list(zip(vectors, labels[:len(vectors)], strict=True)), labels


def test_internals_of_nesterov_show_lookahead_and_arrows(panel, load_preset):
    load_preset(panel, "nesterov_vs_momentum")
    panel.side.internals.racer_box.setCurrentIndex(1)
    panel.set_step(10)
    text = panel.side.internals.text.text()
    assert "look-ahead point" in text and "step t = 10" in text and "Regular path" in text
    arrows, labels = arrows_on_the_map(panel)
    assert any(label.startswith("−∇L") for label in labels) and any("torch's parameter" in label for label in labels)
    # The velocity moves the lecture's θ: its arrow runs from θ before to θ after, both from the lecture's form.
    h = panel.trajectories[1].racer.settings()
    theta, v = np.array(panel.config.start), np.zeros(2)
    for _ in range(10):
        g = np.array(panel.surface.grad(*(theta + h["momentum"] * v), SCALAR))
        v = h["momentum"] * v - h["lr"] * g
        theta = theta + v
    line = next(i for i in panel.map.arrow_items if getattr(i, "xData", None) is not None and len(i.xData) == 2
                and i.opts["pen"].color().name() == "#ffffff")
    assert (line.xData[0], line.yData[0]) == pytest.approx(tuple(theta - v), rel=1e-9)
    drawn = (line.xData[1] - line.xData[0], line.yData[1] - line.yData[0])
    assert cross(drawn, v) == pytest.approx(0, abs=1e-9 * np.linalg.norm(drawn) * np.linalg.norm(v))


def test_the_status_column_follows_the_current_step(panel, load_preset):
    load_preset(panel, "momentum_saddle")
    momentum = panel.trajectories[1]
    left = momentum.left_view_at
    assert left is not None
    panel.set_step(left - 1)
    assert panel.side.table.item(1, 5).text() == "ok" == momentum.outcome(left - 1).text
    panel.set_step(left)
    outcome = momentum.outcome(left)
    cell = panel.side.table.item(1, 5)
    assert outcome.kind != "ok" and cell.text() in (outcome.text, outcome.kind) and cell.toolTip() == outcome.text
    assert "✗" not in cell.text() and cell.foreground().color().name() != STATUS_COLORS["diverged"]


def test_the_internals_text_scrolls_rather_than_being_cut_at_1024x700(qtbot, open_panel):
    panel = open_panel(OptimizerPanel(), size=(1024, 633))
    qtbot.waitUntil(lambda: len(panel.trajectories) > 0, timeout=5000)
    panel.side.internals.racer_box.setCurrentIndex(5)  # Adam: the longest text of the default race
    panel.set_step(150)
    qtbot.wait(50)
    view = panel.side.internals
    assert view.text.height() >= view.text.heightForWidth(view.text.width())  # the whole text is laid out
    bar = view.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())  # scrolled to the end, the text's last line is inside the view
    qtbot.wait(20)
    bottom = view.text.mapTo(view, QPoint(0, view.text.height())).y()
    assert bottom <= view.height() and view.text.isVisible()


@pytest.mark.parametrize("racer, step", [(0, 10), (1, 40), (5, 150)], ids=["SGD", "Momentum", "Adam"])
def test_arrow_labels_say_how_much_each_arrow_was_stretched(panel, racer, step):
    import torch

    panel.side.internals.racer_box.setCurrentIndex(racer)
    panel.set_step(step)
    traj = panel.trajectories[racer]
    (gradient, gradient_label), (drawn, label) = arrows_on_the_map(panel)[0]
    # −∇L: its direction and |∇L| from autograd at the point before the step.
    x, y = (torch.tensor(float(v), dtype=torch.float64, requires_grad=True)
            for v in (traj.xs[step - 1], traj.ys[step - 1]))
    panel.surface.value(x, y, TORCH).backward()
    true = -np.array([x.grad.item(), y.grad.item()])
    assert cross(gradient, true) == pytest.approx(0, abs=1e-9 * np.linalg.norm(true)) and np.dot(gradient, true) > 0
    assert f"|∇L| = {np.linalg.norm(true):.3g}" in gradient_label and "direction only" in gradient_label
    # The step (Momentum's velocity is the step too, θ ← θ + v): its true length from the path itself.
    step_vector = np.array([traj.xs[step] - traj.xs[step - 1], traj.ys[step] - traj.ys[step - 1]])
    assert cross(drawn, step_vector) == pytest.approx(0, abs=1e-9 * np.linalg.norm(drawn) + 1e-15)
    ratio = np.linalg.norm(drawn) / np.linalg.norm(step_vector)
    if abs(ratio - 1) < 1e-9:
        assert "true length" in label
    else:
        times = float(label.split("drawn ")[1].split("×")[0].replace(",", ""))
        assert times == pytest.approx(ratio, rel=0.05 if ratio < 10 else 0.5 / ratio + 1e-3)
        assert "longer, to be visible" in label


def test_adam_bias_correction_switch_changes_the_path_and_the_text(panel):
    panel.controls.racer_list.setCurrentRow(5)
    before = panel.trajectories[5].xs.copy()
    panel.controls.params.rows["bias_correction"].check.setChecked(False)
    assert not np.array_equal(panel.trajectories[5].xs, before)
    panel.side.internals.racer_box.setCurrentIndex(5)
    panel.set_step(3)
    assert "bias correction OFF" in panel.side.internals.text.text()
