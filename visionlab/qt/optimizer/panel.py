"""The Optimizer Lab: optimizers racing on 2D loss surfaces, with their internals laid open.

Everything shown is computed from one LabConfig (core) by the interactive engine, fast enough (a few
milliseconds for six racers × 1000 steps) to recompute on every slider movement. Sweeps and exports are
finite jobs on worker threads.
"""

from __future__ import annotations

import json
import logging

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QWidget,
)

from visionlab.core import atomic, paths
from visionlab.core.optimizer.engine import Racer, Trajectory, trace_step
from visionlab.core.optimizer.export import python_snippet, trajectories_csv
from visionlab.core.optimizer.internals import describe
from visionlab.core.optimizer.lab import LabConfig
from visionlab.core.optimizer.mathns import SCALAR
from visionlab.core.optimizer.presets import PALETTE, PRESETS_BY_KEY
from visionlab.qt.common.first_paint import FirstPaintWatcher
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout, row_layout
from visionlab.qt.common.theme import StatusLine
from visionlab.qt.optimizer.controls import OptimControls
from visionlab.qt.optimizer.readouts import SideColumn
from visionlab.qt.optimizer.surface_3d import Surface3DView
from visionlab.qt.optimizer.surface_map import GRID, SurfaceMap
from visionlab.qt.optimizer.sweeps import BasinView, LearningRateView, SharpFlatView
from visionlab.qt.panel import Panel

log = logging.getLogger(__name__)
SPEEDS = (1, 2, 5, 10, 25, 50)


class OptimizerPanel(Panel):

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        config = LabConfig.default()
        self.surface = config.make_surface()
        self.trajectories: list[Trajectory] = []
        self.colors: list[str] = []
        self.step = 0
        self.jobs = JobRunner(self)  # sweeps (one kind per view) and exports

        self.controls = OptimControls(config)
        self.controls.setMinimumWidth(260)
        self.map = SurfaceMap()
        self.view3d = Surface3DView()
        self.basin = BasinView()
        self.lr_strip = LearningRateView()
        self.sharp_flat = SharpFlatView()
        for view in (self.basin, self.lr_strip, self.sharp_flat):
            view.panel = self
        self.side = SideColumn()

        center = QWidget()
        center_layout = column_layout(center)
        center_layout.addLayout(self._export_bar())
        self.tabs = QTabWidget()
        map_page = QWidget()
        map_layout = column_layout(map_page)
        map_layout.addWidget(self.map, 1)
        map_layout.addLayout(self._playback_bar())
        self.tabs.addTab(map_page, "Map")
        self.tabs.addTab(self.view3d, "3D")
        self.tabs.addTab(self.basin, "Basin map")
        self.tabs.addTab(self.lr_strip, "LR strip")
        self.tabs.addTab(self.sharp_flat, "Sharp vs flat")
        self.tabs.currentChanged.connect(self._tab_changed)
        center_layout.addWidget(self.tabs, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.controls)
        splitter.addWidget(center)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([290, 640, 340])
        splitter.setCollapsible(0, False)
        splitter.setCollapsible(2, False)
        layout = row_layout(self, 2)
        layout.addWidget(splitter)

        self.play_timer = QTimer(self)
        self.play_timer.setInterval(33)  # ≈30 Hz
        self.play_timer.timeout.connect(self._advance)
        self.controls.changed.connect(self.recompute)
        self.controls.preset_loaded.connect(lambda: self.recompute(True))
        self.map.start_clicked.connect(self.controls.set_start)
        self.side.internals.racer_box.currentIndexChanged.connect(lambda _: self._show_internals())
        self._first_draw_pending = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._first_draw_pending:
            # The first race is drawn right after the window's first paint, so the window appears at once.
            self._first_draw_pending = False
            FirstPaintWatcher(self.window(), lambda: QTimer.singleShot(0, self._first_draw))

    def _first_draw(self) -> None:
        if not self.trajectories:
            self.recompute(True)

    # -- layout pieces -------------------------------------------------------------------------------
    def _export_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        for label, slot in (("PNG", self._ask_png), ("GIF / MP4", self._ask_animation), ("CSV", self._ask_csv),
                            ("Copy as Python", self.copy_python)):
            button = QPushButton(label)
            button.clicked.connect(slot)
            bar.addWidget(button)
        self.message = StatusLine()
        bar.addWidget(self.message, 1)
        return bar

    def _playback_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setMinimumWidth(70)
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        step_button = QPushButton("Step")
        step_button.clicked.connect(lambda: self.set_step(self.step + 1))
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem(f"×{speed}", speed)
        self.speed.setToolTip("steps advanced per frame (30 frames a second)")
        self.speed.setCurrentIndex(3)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self.set_step)
        self.step_label = QLabel()
        self.step_label.setMinimumWidth(70)
        self.slider.setMinimumWidth(100)
        for widget in (self.play_button, step_button, self.speed):
            bar.addWidget(widget)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.step_label)
        return bar

    @property
    def config(self) -> LabConfig:
        """The one LabConfig, owned by the controls (a preset replaces it there)."""
        return self.controls.config

    # -- computing -----------------------------------------------------------------------------------
    def recompute(self, surface_changed: bool = False) -> None:
        try:
            if surface_changed:
                self.surface = self.config.make_surface()
            trajectories = self.config.run(self.surface)
        except Exception as exc:  # bad parameters are shown, the last good view stays
            self.message.show_message(str(exc), error=True)
            return
        self.message.show_message("")
        if surface_changed or self.controls.penalized.isChecked():
            self._draw_surface(surface_changed)
        self.trajectories = trajectories
        self.colors = [PALETTE[i % len(PALETTE)] for i in range(len(trajectories))]
        self.map.set_paths(trajectories, self.colors, self.config.start)
        self.side.loss.set_curves(trajectories, self.colors)
        longest = max(len(t.xs) - 1 for t in trajectories) if trajectories else 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(self.config.steps, 1))
        self.slider.blockSignals(False)
        self._refresh_racer_box()
        if not self.play_timer.isActive():
            self.step = self.config.steps
        self.set_step(min(self.step, self.config.steps), force=True)
        self.view3d.show_race(self.surface, trajectories, self.colors, self.controls.log_scale.isChecked())
        diverged = [t.racer.title() + ": " + t.status() for t in trajectories if t.diverged_at is not None]
        if diverged:
            self.message.show_message("; ".join(diverged), error=True)
        del longest

    def _draw_surface(self, surface_changed: bool) -> None:
        self.controls.set_surface_info(self.surface.formula, self.surface.note, self.surface.log_scale, surface_changed)
        values = None
        racer = self.selected_racer()
        decay = racer.settings().get("weight_decay", 0.0) if racer else 0.0
        if self.controls.penalized.isChecked() and decay > 0:
            xs, ys, values = self.surface.grid(GRID)
            gx, gy = np.meshgrid(xs, ys)
            values = values + 0.5 * decay * (gx * gx + gy * gy)
        self.map.set_surface(self.surface, self.controls.log_scale.isChecked(), values)

    def _refresh_racer_box(self) -> None:
        box = self.side.internals.racer_box
        current = box.currentIndex()
        box.blockSignals(True)
        box.clear()
        for traj in self.trajectories:
            box.addItem(traj.racer.title())
        box.setCurrentIndex(min(max(current, 0), box.count() - 1))
        box.blockSignals(False)

    def selected_racer(self) -> Racer | None:
        index = self.controls.selected_index()
        racers = self.config.racers
        return racers[index] if 0 <= index < len(racers) else (racers[0] if racers else None)

    # -- playback ------------------------------------------------------------------------------------
    def set_step(self, step: int, force: bool = False) -> None:
        step = int(max(0, min(step, self.config.steps)))
        if step == self.step and not force:
            return
        self.step = step
        self.slider.blockSignals(True)
        self.slider.setValue(step)
        self.slider.blockSignals(False)
        self.step_label.setText(f"{step} / {self.config.steps}")
        self.map.show_step(step)
        self.side.loss.show_step(step)
        grads = []
        for traj in self.trajectories:
            k = min(step, len(traj.xs) - 1)
            try:
                gx, gy = self.surface.grad(float(traj.xs[k]), float(traj.ys[k]), SCALAR)
                grads.append(float(np.hypot(gx, gy)))
            except (OverflowError, ValueError, ZeroDivisionError):
                grads.append(float("nan"))
        self.side.table.show_step(self.trajectories, self.colors, step, grads)
        self._show_internals()

    def set_playing(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.blockSignals(False)
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")
        if playing:
            if self.step >= self.config.steps:
                self.set_step(0)
            self.play_timer.start()
        else:
            self.play_timer.stop()

    def _advance(self) -> None:
        if self.step >= self.config.steps:
            self.set_playing(False)
            return
        self.set_step(self.step + self.speed.currentData())

    # -- internals -----------------------------------------------------------------------------------
    def _show_internals(self) -> None:
        index = self.side.internals.racer_box.currentIndex()
        if not (0 <= index < len(self.trajectories)):
            return
        traj = self.trajectories[index]
        step = min(self.step, traj.steps_done)
        info = trace_step(self.surface, traj.racer, self.config.start, step, seed=self.config.seed,
                          noise=self.config.noise, noise_scale=self.config.noise_scale) if step >= 1 else None
        self.side.internals.text.setText(describe(traj.racer, step, info))
        arrows, points = [], []
        if info is not None:
            x_min, x_max, y_min, y_max = self.surface.bounds
            reach = 0.15 * max(x_max - x_min, y_max - y_min)
            before = info["before"]
            gx, gy = info["grad"]
            norm = float(np.hypot(gx, gy)) or 1.0
            arrows.append((before, (-gx / norm * reach, -gy / norm * reach), "#ff5555", "−∇L (direction)"))
            vector = info.get("velocity", info.get("step"))
            vnorm = float(np.hypot(*vector))
            if vnorm > 0:
                scale = reach / vnorm if vnorm > reach or vnorm < reach / 20 else 1.0
                label = "v (velocity)" if "velocity" in info else "step"
                arrows.append((before, (vector[0] * scale, vector[1] * scale), "#ffffff",
                               label + ("" if scale == 1.0 else f" ×{scale:.3g}")))
            if "lookahead" in info:
                points.append((info["lecture_theta"], "#ffd700", "lecture's θ"))
                points.append((info["lookahead"], "#ff9900", "look-ahead θ+αv (torch's p)"))
        self.map.set_arrows(arrows, points)

    # -- exports -------------------------------------------------------------------------------------
    def _run_export(self, function, *args, done: str) -> None:
        """One export at a time: a new one replaces (cancels) an export still running."""
        self.jobs.start("export", function, *args,
                        on_progress=lambda f, m: self.message.show_message(f"Exporting… {f:.0%}"),
                        on_done=lambda _: self.message.show_message(done),
                        on_error=lambda msg: self.message.show_message(f"Export failed: {msg}", error=True))

    def _save_name(self, title: str, default: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, str(paths.subdir("exports") / default), filters)
        return path

    def _ask_png(self) -> None:
        path = self._save_name("Save the view as PNG", "optimizer.png", "PNG (*.png)")
        if path:
            self.export_png(path)

    def _ask_animation(self) -> None:
        path = self._save_name("Save the race as an animation", "race.gif", "GIF (*.gif);;MP4 video (*.mp4)")
        if path:
            self.export_animation(path)

    def _ask_csv(self) -> None:
        path = self._save_name("Save the paths as CSV", "race.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_png(self, path: str) -> None:
        image = self.tabs.currentWidget().grab().toImage()

        def save(target):
            if not image.save(target):
                raise OSError(f"could not write {target}")
        self._run_export(save, path, done=f"Saved {path}")

    def export_csv(self, path: str) -> None:
        text = trajectories_csv(self.trajectories)
        self._run_export(atomic.write_text, path, text, done=f"Saved {path}")

    def export_animation(self, path: str) -> None:
        from visionlab.core.optimizer.render import export_animation  # OpenCV and Pillow load only when needed

        self._run_export(export_animation, self.surface, list(self.trajectories), path, done=f"Saved {path}")

    def copy_python(self) -> str:
        try:
            code = python_snippet(self.surface, self.config.all_racers(), self.config.start, self.config.steps,
                                  seed=self.config.seed, noise=self.config.noise, noise_scale=self.config.noise_scale)
        except ValueError as exc:
            self.message.show_message(str(exc), error=True)
            return ""
        QGuiApplication.clipboard().setText(code)
        self.message.show_message("A runnable torch.optim script is on the clipboard.")
        return code

    # -- panel hooks ---------------------------------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.view3d:
            self.view3d.ensure_gl()

    def panel_hidden(self) -> None:
        self.set_playing(False)

    def shutdown(self) -> None:
        self.set_playing(False)
        self.jobs.shutdown(2.0)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("config", json.dumps(self.config.to_dict()))
        settings.setValue("log_scale", self.controls.log_scale.isChecked())

    def restore_settings(self, settings: QSettings) -> None:
        raw = settings.value("config")
        if not raw:
            return
        try:
            config = LabConfig.from_dict(json.loads(raw))
        except Exception as exc:  # damaged settings: keep the default race, say why
            log.warning("ignoring saved optimizer settings: %s", exc)
            return
        self.controls.load_config(config)
        self.recompute(True)

    def prepare_screenshot(self) -> None:
        self.controls.load_config(LabConfig.from_preset(PRESETS_BY_KEY["six_on_rosenbrock"]))
        self.recompute(True)
        self.side.internals.racer_box.setCurrentIndex(5)  # Adam: shows m̂, v̂ and bias correction
        self.set_step(150)
