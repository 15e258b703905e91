"""The Optimizer Lab as a student uses it: presets, clicks, sliders, bad input, sweeps, exports."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtGui import QGuiApplication

from visionlab.qt.optimizer.panel import OptimizerPanel


@pytest.fixture
def panel(qtbot, open_panel):
    widget = open_panel(OptimizerPanel(), size=(1300, 850))
    qtbot.waitUntil(lambda: len(widget.trajectories) > 0, timeout=5000)  # drawn right after the first paint
    return widget


def load_preset(panel, key):
    box = panel.controls.preset_box
    box.setCurrentIndex(box.findData(key))
    box.activated.emit(box.currentIndex())


def test_default_race_draws_six_paths_table_and_loss_curves(panel):
    titles = [t.racer.title() for t in panel.trajectories]
    assert titles == ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam"]
    assert len(panel.map.paths) == 6 and all(len(p.xData) > 100 for p in panel.map.paths)
    assert panel.side.table.rowCount() == 6 and panel.side.table.item(5, 0).text() == "Adam"
    assert len(panel.side.loss.curves) == 6
    assert panel.slider.maximum() == 1000 and panel.step == 1000


def test_clicking_the_map_moves_the_start_and_reruns(panel, qtbot):
    view = panel.map.getPlotItem().vb
    scene_point = view.mapViewToScene(QPointF(0.5, -0.5))
    widget_point = panel.map.mapFromScene(scene_point)
    qtbot.mouseClick(panel.map.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)
    qtbot.waitUntil(lambda: abs(panel.config.start[0] - 0.5) < 0.05, timeout=2000)
    assert abs(panel.config.start[1] + 0.5) < 0.05
    assert all(abs(t.xs[0] - panel.config.start[0]) < 1e-12 for t in panel.trajectories)
    assert abs(panel.controls.start_x.value() - 0.5) < 0.05


def test_dragging_the_learning_rate_slider_recomputes_every_time(panel):
    panel.controls.racer_list.setCurrentRow(5)  # Adam
    row = panel.controls.params.rows["lr"]
    finals = set()
    for position in range(300, 700, 50):
        row.slider.setValue(position)
        finals.add(round(float(panel.trajectories[5].xs[-1]), 6))
        assert panel.config.racers[5].hp["lr"] == pytest.approx(row.from_slider(position))
    assert len(finals) == 8


def test_out_of_range_value_is_refused_at_the_field(panel, qtbot):
    panel.controls.racer_list.setCurrentRow(1)  # Momentum
    before = panel.trajectories[1].xs.copy()
    field = panel.controls.params.rows["momentum"].field
    field.setText("1.5")
    field.editingFinished.emit()
    assert "momentum α must be between 0 and 0.999" in panel.controls.params.error_text("momentum")
    assert np.array_equal(panel.trajectories[1].xs, before)
    field.setText("abc")
    field.editingFinished.emit()
    assert "'abc' is not a number" in panel.controls.params.error_text("momentum")
    field.setText("0.5")
    field.editingFinished.emit()
    assert panel.controls.params.error_text("momentum") == ""
    assert panel.config.racers[1].hp["momentum"] == 0.5


def test_divergence_is_marked_and_the_ui_stays_alive(panel):
    load_preset(panel, "too_large_lr")
    statuses = [t.status() for t in panel.trajectories]
    assert statuses[:2] == ["ok", "ok"] and statuses[2].startswith("diverged at step")
    panel.set_step(panel.config.steps)
    assert panel.side.table.item(2, 5).text().startswith("diverged at step")
    assert "diverged at step" in panel.message.text()


def test_custom_expression_errors_are_inline_with_the_position(panel):
    box = panel.controls.surface_box
    box.setCurrentIndex(box.findData("custom"))
    panel.controls.expression.setText("x**2 + __import__('os')")
    panel.controls.expression.editingFinished.emit()
    assert "At position 8: unknown name '__import__'" in panel.controls.expression_error.text()
    panel.controls.expression.setText("x**2 + 4*y**2")
    panel.controls.expression.editingFinished.emit()
    assert panel.controls.expression_error.text() == ""
    assert panel.surface.formula == "x**2 + 4*y**2"
    assert all(t.diverged_at is None for t in panel.trajectories)


def test_play_advances_and_pause_stops(panel, qtbot):
    panel.set_step(0)
    panel.play_button.click()
    qtbot.waitUntil(lambda: panel.step >= 50, timeout=3000)
    panel.play_button.click()
    stopped_at = panel.step
    qtbot.wait(150)
    assert panel.step == stopped_at and not panel.play_timer.isActive()


def test_internals_of_nesterov_show_lookahead_and_arrows(panel):
    load_preset(panel, "nesterov_vs_momentum")
    panel.side.internals.racer_box.setCurrentIndex(1)
    panel.set_step(10)
    text = panel.side.internals.text.text()
    assert "look-ahead point" in text and "step t = 10" in text
    labels = [item.toPlainText() for item in panel.map.arrow_items if hasattr(item, "toPlainText")]
    assert "−∇L (direction)" in labels and any("look-ahead" in label for label in labels)


def test_adam_bias_correction_switch_changes_the_path_and_the_text(panel):
    panel.controls.racer_list.setCurrentRow(5)
    before = panel.trajectories[5].xs.copy()
    panel.controls.params.rows["bias_correction"].check.setChecked(False)
    assert not np.array_equal(panel.trajectories[5].xs, before)
    panel.side.internals.racer_box.setCurrentIndex(5)
    panel.set_step(3)
    assert "bias correction OFF" in panel.side.internals.text.text()


def test_weight_decay_comparison_adds_dashed_twins(panel):
    load_preset(panel, "weight_decay")
    panel.controls.compare_decay.setChecked(True)
    titles = [t.racer.title() for t in panel.trajectories]
    assert "Adam λ=5 · λ=0" in titles
    twin = panel.trajectories[titles.index("Adam λ=5 · λ=0")]
    decayed = panel.trajectories[titles.index("Adam λ=5")]
    assert np.hypot(decayed.xs[-1], decayed.ys[-1]) < np.hypot(twin.xs[-1], twin.ys[-1])  # pulled to the origin
    panel.controls.racer_list.setCurrentRow(2)
    panel.controls.penalized.setChecked(True)
    assert panel.map.image.image is not None


def test_basin_map_runs_off_the_gui_thread_and_can_be_cancelled(panel, qtbot):
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


def test_learning_rate_strip_and_sharp_flat_statistics(panel, qtbot):
    load_preset(panel, "sharp_flat")
    panel.config.steps = 800
    panel.lr_strip.count.setValue(50)
    panel.lr_strip.start()
    qtbot.waitUntil(lambda: not panel.lr_strip.busy() and "best η" in panel.lr_strip.caption.text(), timeout=30000)
    panel.sharp_flat.seeds.setValue(40)
    panel.sharp_flat.start()
    qtbot.waitUntil(lambda: "batch 1: flat" in panel.sharp_flat.caption.text(), timeout=30000)
    load_preset(panel, "six_on_rosenbrock")
    panel.sharp_flat.start()
    assert "choose the 'Sharp vs flat minima' surface" in panel.sharp_flat.caption.text()


def test_exports_write_files_and_copy_python(panel, qtbot, tmp_path):
    for name, export in (("race.csv", panel.export_csv), ("view.png", panel.export_png),
                         ("race.gif", panel.export_animation)):
        export(str(tmp_path / name))
        qtbot.waitUntil(lambda n=name: (tmp_path / n).exists() and "Saved" in panel.message.text(), timeout=30000)
    assert (tmp_path / "race.csv").read_text().startswith("racer,optimizer,step,x,y,loss,status")
    code = panel.copy_python()
    assert "torch.optim.Adam([theta], lr=0.05" in code
    assert QGuiApplication.clipboard().text() == code
    panel.export_animation(str(tmp_path / "race.avi"))
    qtbot.waitUntil(lambda: "Export failed" in panel.message.text(), timeout=10000)


def test_settings_round_trip(panel, qtbot, tmp_path):
    load_preset(panel, "batch_variants")
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel.save_settings(settings)
    other = OptimizerPanel()
    qtbot.addWidget(other)
    other.restore_settings(settings)
    assert other.config.to_dict() == panel.config.to_dict()
    assert other.controls.surface_box.currentData() == "regression"
    settings.setValue("config", "{not json")
    third = OptimizerPanel()
    qtbot.addWidget(third)
    third.restore_settings(settings)  # damaged settings: the default race, no crash
    assert third.config.surface == "rosenbrock"


def test_3d_view_explains_itself_offscreen(panel):
    panel.tabs.setCurrentWidget(panel.view3d)
    assert panel.view3d.gl is None
    assert "needs OpenGL" in panel.view3d.message.text()


@pytest.mark.xvfb
def test_3d_view_renders_under_xvfb(panel, qtbot, tmp_path):
    panel.tabs.setCurrentWidget(panel.view3d)
    assert panel.view3d.ensure_gl()
    qtbot.wait(300)
    image = panel.view3d.grab_image()
    path = tmp_path / "view3d.png"
    assert image.save(str(path))
    pixels = np.array([[image.pixelColor(x, y).red() for x in range(0, image.width(), 7)]
                       for y in range(0, image.height(), 7)])
    assert pixels.std() > 10  # a surface, not a blank background
