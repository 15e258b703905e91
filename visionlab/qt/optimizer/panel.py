"""The Optimizer Lab: optimizers racing on 2D loss surfaces, with their internals laid open.

Everything shown is computed from one LabConfig (core) by the interactive engine, fast enough (a few
milliseconds for six racers × 1000 steps) to recompute on every slider movement. Sweeps and exports are
finite jobs on worker threads.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QWidget,
)

from visionlab.core.i18n import _
from visionlab.core.optimizer.engine import OK, Racer, Trajectory, trace_step
from visionlab.core.optimizer.expression import ExpressionError
from visionlab.core.optimizer.internals import describe, rule, undefined_start_text
from visionlab.core.optimizer.lab import LabConfig, titled
from visionlab.core.optimizer.mathns import SCALAR
from visionlab.core.optimizer.presets import PALETTE, PRESETS_BY_KEY
from visionlab.qt.common.first_paint import FirstPaintWatcher
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout, row_layout
from visionlab.qt.optimizer.controls import OptimControls
from visionlab.qt.optimizer.exports import ExportsMixin
from visionlab.qt.optimizer.readouts import SideColumn, internals_marks
from visionlab.qt.optimizer.surface_3d import Surface3DView
from visionlab.qt.optimizer.surface_map import GRID, SurfaceMap
from visionlab.qt.optimizer.sweeps import BasinView, LearningRateView, SharpFlatView
from visionlab.qt.panel import Panel

log = logging.getLogger(__name__)
SPEEDS = (1, 2, 5, 10, 25, 50)
STORY_DELAY_MS = 80  # the story follows a slider drag this long after it pauses (re-wrapping it costs a frame)


class OptimizerPanel(ExportsMixin, Panel):

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        config = LabConfig.default()
        self.surface = config.make_surface()
        self.trajectories: list[Trajectory] = []
        self.colors: list[str] = []
        self.step = 0
        self._race_cache: dict[tuple, Trajectory] = {}  # paths of unchanged racers are not recomputed
        self._internals_shown: tuple | None = None
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
        self.side.setMinimumWidth(340)  # the values table's six columns stay readable at 1024×700

        center = QWidget()
        center_layout = column_layout(center)
        center_layout.addLayout(self._export_bar())
        self.tabs = QTabWidget()
        self.tabs.addTab(self.map, _("Map"))
        self.tabs.addTab(self.view3d, "3D")
        self.tabs.addTab(self.basin, _("Basin map"))
        self.tabs.addTab(self.lr_strip, _("LR strip"))
        self.tabs.addTab(self.sharp_flat, _("Sharp vs flat"))
        self.tabs.currentChanged.connect(self._tab_changed)
        center_layout.addWidget(self.tabs, 1)
        self.playback = QWidget()  # one play / step bar for the map and the 3D view
        self.playback.setLayout(self._playback_bar())
        center_layout.addWidget(self.playback)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.controls)
        splitter.addWidget(center)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([290, 640, 400])
        splitter.setCollapsible(0, False)
        splitter.setCollapsible(2, False)
        layout = row_layout(self, 2)
        layout.addWidget(splitter)

        self.play_timer = QTimer(self)
        self.play_timer.setInterval(33)  # ≈30 Hz
        self.play_timer.timeout.connect(self._advance)
        self.story_timer = QTimer(self)
        self.story_timer.setSingleShot(True)
        self.story_timer.setInterval(STORY_DELAY_MS)
        self.story_timer.timeout.connect(self._tell_story)
        self.controls.changed.connect(self.recompute)
        self.controls.preset_loaded.connect(lambda: self.recompute(True))
        self.map.start_clicked.connect(self.controls.set_start)
        self.side.internals.racer_box.currentIndexChanged.connect(lambda _index: self._show_internals())
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
    def _playback_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        self.play_button = QPushButton(_("▶ Play"))
        self.play_button.setMinimumWidth(70)
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        step_button = QPushButton(_("Step"))
        step_button.clicked.connect(lambda: self.set_step(self.step + 1))
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem(f"×{speed}", speed)
        self.speed.setToolTip(_("steps advanced per frame (30 frames a second)"))
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
                self._race_cache = {}
            trajectories = self._run_race()
        except ExpressionError as exc:  # a custom f is refused at its field, where it is typed
            self.controls.show_expression_error(self.config.expression, exc)
            return
        except Exception as exc:  # bad parameters are shown, the last good view stays
            self.message.show_message(str(exc), error=True)
            return
        if surface_changed or self.controls.penalized.isChecked():
            self._draw_surface(surface_changed)
        self.trajectories = trajectories
        self.colors = [PALETTE[i % len(PALETTE)] for i in range(len(trajectories))]
        self.map.set_paths(trajectories, self.colors, self.config.start)
        self.side.loss.set_curves(trajectories, self.colors, self.surface)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(self.config.steps, 1))
        self.slider.blockSignals(False)
        self._refresh_racer_box()
        if not self.play_timer.isActive():
            self.step = self.config.steps
        self.view3d.show_race(self.surface, trajectories, self.colors, self.controls.log_scale.isChecked())
        self.set_step(min(self.step, self.config.steps), force=True)
        if surface_changed:
            self.sharp_flat.surface_changed(self.surface)
            self.basin.follow_race(self.config.steps)
        self._say_outcomes()
        if surface_changed:
            self._tell_story()
        else:  # a slider drag: the wrapped label's relayout (≈2 ms) is done once the drag pauses
            self.story_timer.start()

    def _tell_story(self) -> None:
        """The preset's claims, told with (and checked on) the run on screen; "" once the surface is changed."""
        self.story_timer.stop()
        self.controls.story.setText(self.config.story(self.trajectories))

    def _run_race(self) -> list[Trajectory]:
        """The race, through LabConfig.run, for the racers whose settings changed only: dragging one racer's
        slider reruns one path, not six. The cache is emptied when the surface changes."""
        config = self.config
        shared = (config.start, config.steps, config.seed, config.noise, config.noise_scale)
        cache, paths = {}, []
        for racer in config.all_racers():
            key = (shared, racer.key, tuple(sorted(racer.settings().items())), racer.batch_size, racer.label)
            if key not in self._race_cache:
                alone = replace(config, racers=[racer], compare_no_decay=False)
                self._race_cache[key] = alone.run(self.surface)[0]
            cache[key] = self._race_cache[key]
            paths.append(cache[key])
        self._race_cache = cache
        return paths

    def _say_outcomes(self) -> None:
        """Failures in red; a racer that left the view (or escaped down a surface with no bottom) is said
        plainly: that is not a failure."""
        undefined = next((t.undefined_start for t in self.trajectories if t.undefined_start), "")
        if undefined:  # no racer moved: one sentence about the start, not one "diverged" per racer
            self.message.show_message(undefined_start_text(self.config.start, undefined), error=False)
            return
        outcomes = [(t.racer.title(), t.outcome()) for t in self.trajectories]
        news = [f"{title}: {o.text}" for title, o in outcomes if o.kind != OK]
        self.message.show_message("; ".join(news), error=any(o.failed for _title, o in outcomes))

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
        titles = [traj.racer.title() for traj in self.trajectories]
        if titles == [box.itemText(i) for i in range(box.count())]:
            return  # the same racers (a slider moved): refilling the box would cost more than the race
        current = box.currentIndex()
        box.blockSignals(True)
        box.clear()
        for traj in self.trajectories:
            box.addItem(traj.racer.title())
        box.setCurrentIndex(min(max(current, 0), box.count() - 1))
        box.blockSignals(False)

    def selected_racer(self) -> Racer | None:
        index = self.controls.selected_index()
        racers = titled(self.config.racers)  # named as in the list, the legend and the table
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
        self.view3d.show_step(step)
        self._show_internals()

    def set_playing(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.blockSignals(False)
        self.play_button.setText(_("❚❚ Pause") if playing else _("▶ Play"))
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
        if traj.undefined_start:
            self._internals_shown = None
            self.side.internals.text.setText(f"<b>{traj.racer.title()}</b>: {rule(traj.racer)}<br>"
                                             + undefined_start_text(self.config.start, traj.undefined_start))
            self.map.set_arrows([], [])
            return
        step = min(self.step, traj.steps_done)
        # The same (unchanged, cached) path at the same step shows the same internals: nothing to redo.
        last = self._internals_shown
        if last is not None and last[0] is traj and last[1:] == (step, self.surface.bounds):
            return
        self._internals_shown = (traj, step, self.surface.bounds)
        info = trace_step(self.surface, traj.racer, self.config.start, step, seed=self.config.seed,
                          noise=self.config.noise, noise_scale=self.config.noise_scale) if step >= 1 else None
        self.side.internals.text.setText(describe(traj.racer, step, info))
        self.map.set_arrows(*(internals_marks(info, self.surface.bounds) if info is not None else ([], [])))

    # -- panel hooks ---------------------------------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        self.playback.setVisible(page in (self.map, self.view3d))
        if page is self.view3d and self.view3d.ensure_gl():
            self.view3d.show_step(self.step)

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
