"""The Optimizer Lab as a student uses it: presets, clicks, sliders, bad input, sweeps, exports."""


import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QImage

from visionlab.qt.optimizer.panel import OptimizerPanel
from visionlab.qt.optimizer.readouts import STATUS_COLORS, short_status


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
    others = panel.trajectories[:5]
    for position in range(300, 700, 50):
        row.slider.setValue(position)
        finals.add(round(float(panel.trajectories[5].xs[-1]), 6))
        assert panel.config.racers[5].hp["lr"] == pytest.approx(row.from_slider(position))
    assert len(finals) == 8
    # Only Adam's path was rerun; every path still equals the lab's own fresh run of the whole race.
    assert all(a is b for a, b in zip(others, panel.trajectories[:5], strict=True))
    for shown, fresh in zip(panel.trajectories, panel.config.run(panel.surface), strict=True):
        assert np.array_equal(shown.xs, fresh.xs) and np.array_equal(shown.ys, fresh.ys)


def drag(qtbot, slider, pixels):
    """Press on the slider's handle, move `pixels` to the right, release: as a student's mouse would."""
    from PySide6.QtWidgets import QStyle, QStyleOptionSlider

    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                           QStyle.SubControl.SC_SliderHandle, slider).center()
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=handle)
    for step in range(1, pixels + 1):
        qtbot.mouseMove(slider, handle + QPoint(step, 0))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=handle + QPoint(pixels, 0))


def test_a_30_pixel_drag_of_the_learning_rate_is_a_small_change(qtbot, open_panel):
    panel = open_panel(OptimizerPanel(), size=(1024, 633))  # the small window: the narrowest slider
    qtbot.waitUntil(lambda: len(panel.trajectories) > 0, timeout=5000)
    for key in ("adam", "sgd", "adagrad", "adadelta"):
        panel.controls.add_box.setCurrentIndex(panel.controls.add_box.findData(key))
        panel.controls._add_racer() if key != "adam" else panel.controls.racer_list.setCurrentRow(5)
        row = panel.controls.params.rows["lr"]
        index = panel.controls.selected_index()
        before = panel.config.racers[index].settings()["lr"]
        drag(qtbot, row.slider, 30)
        after = panel.config.racers[index].hp["lr"]
        assert after > before and after / before < 3.5, (key, before, after)  # not 0.05 → 100 any more
        assert panel.trajectories[index].racer.hp["lr"] == after
        panel.controls._remove_racer() if key != "adam" else None


def test_a_learning_rate_beyond_the_slider_is_typed_in_the_field(panel):
    panel.controls.racer_list.setCurrentRow(5)  # Adam: slider 1e-4 … 1, torch allows up to 100
    row = panel.controls.params.rows["lr"]
    row.field.setText("20")
    row.field.editingFinished.emit()
    assert panel.controls.params.error_text("lr") == ""
    assert panel.config.racers[5].hp["lr"] == 20.0 and panel.trajectories[5].racer.settings()["lr"] == 20.0
    assert row.slider.value() == row.slider.maximum()  # pinned at its end, the field holds the value
    assert "type any value from" in row.slider.toolTip()


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


def test_divergence_is_marked_and_the_ui_stays_alive(panel, load_preset):
    load_preset(panel, "too_large_lr")
    outcomes = [t.outcome() for t in panel.trajectories]
    assert [o.kind for o in outcomes[:2]] == ["ok", "ok"] and outcomes[2].failed
    panel.set_step(panel.config.steps)
    cell = panel.side.table.item(2, 5)
    assert cell.text() in (outcomes[2].text, "diverged") and cell.toolTip() == outcomes[2].text
    assert cell.foreground().color().name() == STATUS_COLORS["diverged"]
    assert outcomes[2].text in panel.message.full_text and panel.message.is_error


def test_each_preset_tells_its_story_with_its_own_run(panel, qtbot, load_preset):
    from visionlab.core.optimizer.presets import PRESETS

    for preset in PRESETS:
        load_preset(panel, preset.key)
        story = panel.controls.story.text()
        # the label shows what the claims say about the run on screen, and every claim holds on it
        assert story == preset.tell(panel.trajectories), preset.key
        assert all(claim.check(panel.trajectories) for claim in preset.claims), preset.key
        assert "not on this run" not in story and story != preset.story, preset.key
    load_preset(panel, "too_large_lr")
    panel.controls.racer_list.setCurrentRow(2)
    panel.controls.params.changed.emit("lr", 0.1)  # the diverging racer now converges: the story follows the run
    qtbot.waitUntil(lambda: "not on this run" in panel.controls.story.text(), timeout=1000)
    assert panel.controls.story.text() == panel.config.story(panel.trajectories)


def test_leaving_the_view_is_said_plainly_not_as_a_failure(panel, load_preset):
    load_preset(panel, "momentum_saddle")
    outcomes = [t.outcome() for t in panel.trajectories]
    away = [o for o in outcomes if o.kind != "ok"]
    assert away and not any(o.failed for o in away)  # the saddle has no bottom: leaving is the point
    assert not panel.message.is_error
    for traj, outcome in zip(panel.trajectories, outcomes, strict=True):
        if outcome.kind != "ok":
            assert f"{traj.racer.title()}: {outcome.text}" in panel.message.full_text
    for row, outcome in enumerate(outcomes):
        cell = panel.side.table.item(row, 5)
        assert cell.text() in (outcome.text, short_status(outcome.kind)) and "diverged" not in cell.text()
        assert cell.foreground().color().name() != STATUS_COLORS["diverged"]


def test_a_long_message_is_elided_and_moves_nothing(panel, qtbot):
    bar_height, map_size = panel.message.height(), panel.map.size()
    text = "; ".join(f"Racer {i}: left the view at step {i}" for i in range(40))
    panel.message.show_message(text, error=True)
    qtbot.wait(50)
    assert panel.message.height() == bar_height and panel.map.size() == map_size
    shown = panel.message.shown_lines()
    assert len(shown) == 2 and shown[-1].endswith("…") and panel.message.toolTip() == text
    assert text.startswith(" ".join(shown)[:-1])  # the start of the message, broken at spaces
    assert all(panel.message.fontMetrics().horizontalAdvance(line) <= panel.message.width() for line in shown)


@pytest.mark.parametrize("size", [(1400, 833), (1024, 633)], ids=["1400x900", "1024x700"])
@pytest.mark.parametrize("preset", ["momentum_saddle", "too_large_lr", "six_on_rosenbrock"])
def test_every_column_of_the_values_table_is_visible(qtbot, open_panel, size, preset, load_preset):
    """The panel's share of a 1400×900 / 1024×700 main window: every column inside the viewport, every number
    whole, every status either core's sentence or its kind, never cut."""
    panel = open_panel(OptimizerPanel(), size=size)
    qtbot.waitUntil(lambda: len(panel.trajectories) > 0, timeout=5000)
    load_preset(panel, preset)
    panel.set_step(panel.config.steps)
    table = panel.side.table
    qtbot.wait(50)
    assert panel.width() <= size[0]  # the panel fits the window: nothing pushed out on the right
    right = table.columnViewportPosition(5) + table.columnWidth(5)
    assert right <= table.viewport().width() and not table.horizontalScrollBar().isVisible()
    metrics = table.fontMetrics()
    for row, traj in enumerate(panel.trajectories):
        for col in range(1, 6):
            text = table.item(row, col).text()
            assert metrics.horizontalAdvance(text) + 6 <= table.columnWidth(col), (text, table.columnWidth(col))
        outcome = traj.outcome(panel.step)
        assert table.item(row, 5).text() in (outcome.text, short_status(outcome.kind))
        if size[0] == 1400:  # at the default size the racers' names are whole too
            assert metrics.horizontalAdvance(traj.racer.title()) + 6 <= table.columnWidth(0)


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


def test_an_expression_that_fails_when_computed_is_refused_at_the_field(panel, qtbot):
    box = panel.controls.surface_box
    box.setCurrentIndex(box.findData("custom"))
    qtbot.wait(20)
    shown, map_size, controls_width = panel.surface, panel.map.size(), panel.controls.width()
    for text, words in (("x**2 + 1/(1-1)", "division by zero"), ("sqrt(-1 - x*x)", "no finite value"),
                        ("x*" * 200 + "yy", "unknown name"), ("x+" * 249 + "+", "expected a number")):
        panel.controls.expression.setText(text)
        panel.controls.expression.editingFinished.emit()
        qtbot.wait(20)
        error = panel.controls.expression_error
        assert words in error.text() and "the last accepted f" in error.text() and error.isVisible()
        assert panel.surface is shown and not panel.message.is_error  # nothing raw in the top bar
        # a long refusal wraps in the column: the column and the map keep their sizes
        assert panel.map.size() == map_size and panel.controls.width() == controls_width
        assert error.width() <= panel.controls.viewport().width()
    panel.controls.expression.setText("log(x) + y**2")  # defined for x > 0 only: drawn, the rest hatched
    panel.controls.expression.editingFinished.emit()
    assert panel.controls.expression_error.text() == "" and panel.surface.formula == "log(x) + y**2"
    assert panel.map.undefined_share == pytest.approx(0.5, abs=0.02) and panel.map.hatch.isVisible()


def test_play_advances_and_pause_stops(panel, qtbot):
    panel.set_step(0)
    panel.play_button.click()
    qtbot.waitUntil(lambda: panel.step >= 50, timeout=3000)
    panel.play_button.click()
    stopped_at = panel.step
    qtbot.wait(150)
    assert panel.step == stopped_at and not panel.play_timer.isActive()


def test_weight_decay_comparison_adds_dashed_twins(panel, load_preset):
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
    missing = tmp_path / "no such folder" / "deeper"
    for name, export in (("race.csv", panel.export_csv), ("view.png", panel.export_png),
                         ("race.gif", panel.export_animation)):
        export(str(missing / name))  # one clear line, and the folder is not created behind the user's back
        qtbot.waitUntil(lambda: "Export failed" in panel.message.text(), timeout=10000)
        assert panel.message.full_text == f"Export failed: the folder {missing} does not exist."
        assert not missing.parent.exists()
    panel.export_csv(str(tmp_path))  # a folder, not a file name
    assert "is a folder" in panel.message.full_text and "Error" not in panel.message.full_text


def test_a_failing_export_says_one_plain_line():
    from visionlab.qt.optimizer.exports import _plain

    assert _plain("PermissionError: [Errno 13] Permission denied: '/x/a.csv'") == "Permission denied: '/x/a.csv'"
    assert _plain("ValueError: choose a .gif or .mp4 file name\nmore") == "choose a .gif or .mp4 file name"


def test_settings_round_trip(panel, qtbot, tmp_path, load_preset):
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


def test_3d_view_explains_itself_offscreen_and_shares_the_play_bar(panel):
    panel.tabs.setCurrentWidget(panel.view3d)
    assert panel.view3d.gl is None
    assert "needs OpenGL" in panel.view3d.message.text()
    assert panel.playback.isVisible()
    panel.set_step(42)
    assert panel.view3d.step == 42
    panel.tabs.setCurrentWidget(panel.basin)
    assert not panel.playback.isVisible()  # sweeps have no steps to play
    panel.tabs.setCurrentWidget(panel.map)
    assert panel.playback.isVisible()


def symlog_tick_value(label):
    digits = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
    sign = -1.0 if label.startswith("−") else 1.0
    body = label.lstrip("−")
    return sign * (10.0 ** int(body[2:].translate(digits)) if body.startswith("10") and not body.isdigit()
                   else float(body))


@pytest.mark.parametrize("preset, kind", [("six_on_rosenbrock", "log"), ("momentum_saddle", "symlog"),
                                          ("sharp_flat", "gap")])
def test_the_loss_plot_says_what_it_plots_and_its_label_fits(panel, preset, kind, load_preset):
    import scipy.optimize

    load_preset(panel, preset)
    plot, axis = panel.side.loss, panel.side.loss.axis
    scale = plot.scale
    assert scale.kind == kind
    assert "x1e" not in axis.labelString() and "(x" not in axis.labelString()  # no SI prefix over log ticks
    assert axis.label.boundingRect().width() <= axis.height()  # the rotated label is not clipped
    for curve, traj in zip(plot.curves, panel.trajectories, strict=True):
        x = curve.xData  # the data given, not getData(): that is decimated to one min/max pair per pixel
        assert np.array_equal(x, np.arange(len(traj.losses)))  # step k at x = k: the curve is not shifted
    if kind == "gap":  # L* is the lowest minimum of the surface (scipy from each listed minimum)
        lowest = min(scipy.optimize.minimize(lambda p: panel.surface.value(p[0], p[1], np), m).fun
                     for m in panel.surface.minima)
        assert scale.reference == pytest.approx(lowest, abs=1e-9)
        assert f"L* = {scale.reference:.4g}" in plot.getPlotItem().titleLabel.text
    if kind == "symlog":  # each tick label is the true loss at that height
        low, high = axis.range
        ticks = [v for _, values in axis.tickValues(low, high, axis.height()) for v in values]
        assert len(ticks) >= 3
        for tick, label in zip(ticks, axis.tickStrings(ticks, 1, 1), strict=True):
            loss = symlog_tick_value(label)
            assert scale.transform(np.array([loss]))[0] == pytest.approx(tick, abs=1e-9)
        c = scale.linear_within
        assert f"linear within ±{c:g}" in plot.getPlotItem().titleLabel.text
        raw = np.concatenate([t.losses for t in panel.trajectories])
        assert np.nanmin(raw) < 0  # a loss with no bottom, drawn unshifted


@pytest.mark.xvfb
def test_3d_view_renders_under_xvfb(panel, qtbot, tmp_path):
    import pyqtgraph.opengl as gl

    panel.tabs.setCurrentWidget(panel.view3d)
    assert panel.view3d.ensure_gl()
    qtbot.wait(300)
    image = panel.view3d.grab_image()
    path = tmp_path / "view3d.png"
    assert image.save(str(path))
    pixels = np.array([[image.pixelColor(x, y).red() for x in range(0, image.width(), 7)]
                       for y in range(0, image.height(), 7)])
    assert pixels.std() > 10  # a surface, not a blank background
    texts = [item.text for item in panel.view3d.gl.items if isinstance(item, gl.GLTextItem)]
    x_min, x_max, y_min, y_max = panel.surface.bounds
    assert {"x", "y", "loss", f"{x_min:.3g}", f"{x_max:.3g}", f"{y_min:.3g}", f"{y_max:.3g}"} <= set(texts)
    # The markers sit where each racer is at the step the play bar shows, and follow it.
    for step in (25, 300):
        panel.set_step(step)
        heads = panel.view3d.head_positions()
        for head, traj in zip(heads, panel.trajectories, strict=True):
            k = min(step, len(traj.xs) - 1)
            assert x_min + (head[0] + 1) / 2 * (x_max - x_min) == pytest.approx(traj.xs[k], abs=1e-5)
            assert y_min + (head[1] + 1) / 2 * (y_max - y_min) == pytest.approx(traj.ys[k], abs=1e-5)
    exported = tmp_path / "exported3d.png"
    panel.export_png(str(exported))  # the PNG export of the 3D tab keeps what OpenGL drew, labels included
    qtbot.waitUntil(lambda: exported.exists(), timeout=5000)
    drawn = panel.view3d.grab_image().convertToFormat(QImage.Format.Format_RGB32)
    assert QImage(str(exported)).convertToFormat(QImage.Format.Format_RGB32) == drawn
    panel.set_step(0)
    panel.play_button.click()
    qtbot.waitUntil(lambda: panel.view3d.step >= 50, timeout=3000)  # the same play bar drives the 3D view
    panel.play_button.click()
