"""The Optimizer Lab's sweep views: basin map, learning-rate strip and sharp-vs-flat statistics.

Each runs as a finite job of the panel's JobRunner, one kind per view (progress bar, cancel); starting a
new one cancels the old one.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from visionlab.core.optimizer.presets import PALETTE
from visionlab.core.optimizer.sweeps import (
    DIVERGED,
    NOT_CONVERGED,
    basin_map,
    learning_rate_strip,
    sharp_flat_statistics,
)
from visionlab.qt.common.layouts import column_layout

BASIN_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#A6761D",
                "#66A61E", "#E7298A", "#7570B3", "#1B9E77")


def spin_box(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


class SweepView(QWidget):
    """Shared frame: a row of controls, Run / Cancel, a progress bar, a plot, a caption."""

    kind = ""  # the job kind in the panel's JobRunner

    def __init__(self, run_label: str, parent=None) -> None:
        super().__init__(parent)
        self.panel = None  # the OptimizerPanel, set by it (its `jobs` runs the sweeps)
        layout = column_layout(self, 2)
        self.controls = QHBoxLayout()
        self.run_button = QPushButton(run_label)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addLayout(self.controls)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        layout.addLayout(row)
        self.plot: pg.PlotWidget | None = None  # built on first view: keeps the app's start-up fast
        self._plot_layout = layout
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)

    def add_controls(self, *widgets: QWidget, caption: str) -> None:
        """The view's own controls (left of Run) and the caption shown until a result arrives."""
        for widget in widgets:
            self.controls.addWidget(widget)
        self.controls.addStretch(1)
        self.caption.setText(caption)

    def ensure_plot(self) -> pg.PlotWidget:
        if self.plot is None:
            self.plot = pg.PlotWidget()
            self.plot.setBackground("#202124")
            self._plot_layout.insertWidget(self._plot_layout.count() - 1, self.plot, 1)
            self.setup_plot(self.plot)
        return self.plot

    def showEvent(self, event) -> None:
        self.ensure_plot()
        super().showEvent(event)

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        pass

    def job(self):  # -> (function, args, kwargs)
        raise NotImplementedError

    def show_result(self, result) -> None:
        raise NotImplementedError

    def start(self) -> None:
        try:
            function, args, kwargs = self.job()
        except Exception as exc:  # e.g. a bad custom surface: say so, do not start
            self.caption.setText(f"Cannot run: {exc}")
            return
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        # Replaces (cancels) a sweep of this view still running; its late result is dropped.
        self.panel.jobs.start(self.kind, function, *args, **kwargs, on_done=self._done,
                              on_progress=lambda f, m: (self.progress.setValue(int(f * 1000)),
                                                        self.progress.setFormat(m)),
                              on_error=lambda msg: self._finished(f"Failed: {msg}"),
                              on_cancel=lambda: self._finished("Cancelled."))

    def _done(self, result) -> None:
        self._finished("")
        self.ensure_plot()
        self.show_result(result)

    def _finished(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if message:
            self.caption.setText(message)

    def cancel(self) -> None:
        """Ask the sweep to stop (within a second: every sweep checks should_stop per chunk)."""
        self.panel.jobs.cancel(self.kind)

    def busy(self) -> bool:
        return self.panel is not None and self.panel.jobs.is_running(self.kind)


class BasinView(SweepView):
    kind = "basin map"

    def __init__(self, parent=None) -> None:
        super().__init__("Run basin map", parent)
        self.resolution = QComboBox()
        for n in (64, 128, 256):
            self.resolution.addItem(f"{n}×{n}", n)
        self.resolution.setCurrentIndex(1)
        self.steps = spin_box(10, 5000, 500)
        self.mode = QComboBox()
        self.mode.addItems(["which minimum", "steps to converge"])
        self.mode.currentIndexChanged.connect(lambda _: self.result is not None and self.plot is not None
                                              and self.show_result(self.result))
        self.result = None
        self.add_controls(QLabel("grid"), self.resolution, QLabel("steps"), self.steps, QLabel("show"), self.mode,
                          caption="Runs the selected racer from every start on a grid and colours each start by "
                                  "the minimum it reached (grey: not converged, black: diverged).")

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        plot.setLabel("bottom", "start x")
        plot.setLabel("left", "start y")
        self.minima = pg.ScatterPlotItem(size=12, symbol="x", pen=pg.mkPen("w", width=2))
        plot.addItem(self.minima)

    def job(self):
        surface = self.panel.surface
        racer = self.panel.selected_racer()
        return basin_map, (surface, racer, surface.bounds, self.resolution.currentData(), self.steps.value()), {}

    def show_result(self, result) -> None:
        self.result = result
        x_min, x_max, y_min, y_max = result.bounds
        if self.mode.currentIndex() == 0:
            colors = np.zeros(result.labels.shape + (3,), np.uint8)
            colors[result.labels == NOT_CONVERGED] = (110, 110, 110)
            colors[result.labels == DIVERGED] = (0, 0, 0)
            for index in range(len(result.attractors)):
                hexc = BASIN_COLORS[index % len(BASIN_COLORS)]
                colors[result.labels == index] = tuple(int(hexc[i:i + 2], 16) for i in (1, 3, 5))
            self.image.setImage(colors, autoLevels=False, levels=(0, 255))
            parts = [f"<span style='color:{BASIN_COLORS[i % 12]}'>■</span> ({ax:.2f}, {ay:.2f}): "
                     f"{result.fractions()[f'minimum {i + 1}']:.0%}" for i, (ax, ay) in enumerate(result.attractors)]
            fr = result.fractions()
            parts += [f"not converged {fr['not converged']:.0%}", f"diverged {fr['diverged']:.0%}"]
            self.caption.setText(" · ".join(parts))
        else:
            steps = np.nan_to_num(result.steps_to_converge, nan=result.steps)
            self.image.setImage(steps, autoLevels=False, levels=(0, result.steps))
            self.image.setLookupTable(pg.colormap.get("magma").getLookupTable(nPts=256))
            finite = np.isfinite(result.steps_to_converge).any()
            median = np.nanmedian(result.steps_to_converge) if finite else float("nan")
            self.caption.setText(f"Steps until the step size fell below 1e-4 (bright: slow, never: {result.steps}). "
                                 f"Median over converged starts: {median:.0f}.")
        self.image.setRect(QRectF(x_min, y_min, x_max - x_min, y_max - y_min))
        self.minima.setData([a[0] for a in result.attractors], [a[1] for a in result.attractors])


class LearningRateView(SweepView):
    kind = "learning-rate sweep"

    def __init__(self, parent=None) -> None:
        super().__init__("Run learning-rate sweep", parent)
        self.count = spin_box(50, 200, 60)
        self.add_controls(QLabel("learning rates (log-spaced 1e-5 … 10)"), self.count,
                          caption="Final loss after the race's steps for every racer at each learning rate; "
                                  "crosses at the top are diverged runs.")

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        plot.setLogMode(True, True)
        plot.setLabel("bottom", "learning rate η")
        plot.setLabel("left", "final loss (shifted > 0)")
        self.legend = plot.addLegend(offset=(8, 8), labelTextColor="w")

    def job(self):
        config = self.panel.config
        lrs = np.logspace(-5, 1, self.count.value())
        return learning_rate_strip, (self.panel.surface, list(config.racers), config.start, config.steps, lrs), {}

    def show_result(self, result) -> None:
        lrs, curves = result
        self.plot.clear()
        self.legend.clear()
        finite = np.concatenate([v[np.isfinite(v)] for v in curves.values()] or [np.zeros(1)])
        offset = -finite.min() + 1e-12 if finite.size and finite.min() <= 0 else 0.0
        top = (finite.max() + offset) * 10 if finite.size else 1.0
        for number, (title, final) in enumerate(curves.items()):
            color = PALETTE[number % len(PALETTE)]
            ok = np.isfinite(final)
            self.plot.plot(lrs[ok], final[ok] + offset, pen=pg.mkPen(color, width=2), symbol="o", symbolSize=4,
                           symbolBrush=color, name=title)
            if (~ok).any():
                self.plot.plot(lrs[~ok], np.full((~ok).sum(), max(top, 1e-12)), pen=None, symbol="x",
                               symbolPen=pg.mkPen(color), symbolSize=8)
        best = [f"{t}: best η ≈ {lrs[np.nanargmin(np.where(np.isfinite(v), v, np.nan))]:.2g}"
                for t, v in curves.items() if np.isfinite(v).any()]
        self.caption.setText(" · ".join(best) + ("" if offset == 0 else f" (losses shifted by {offset:.3g})"))


class SharpFlatView(SweepView):
    kind = "sharp-flat statistics"

    BATCHES = (1, 2, 4, 8, 16, 64, 256)

    def __init__(self, parent=None) -> None:
        super().__init__("Run statistics", parent)
        self.seeds = spin_box(20, 2000, 200)
        self.add_controls(QLabel("seeds per batch size"), self.seeds,
                          caption="On the sharp-vs-flat surface: the selected racer from the start with gradient "
                                  "noise σ/√batch, many seeds per batch size. Where do they end?")

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        plot.setLabel("bottom", "batch size")
        plot.setLabel("left", "fraction of seeds")
        plot.setYRange(0, 1)
        self.legend = plot.addLegend(offset=(8, 8), labelTextColor="w")

    def job(self):
        config = self.panel.config
        if config.surface != "sharp_flat":
            raise ValueError("choose the 'Sharp vs flat minima' surface (or its preset) first")
        kwargs = {"batch_sizes": self.BATCHES, "seeds": self.seeds.value(), "noise_scale": config.noise_scale}
        return sharp_flat_statistics, (self.panel.surface, self.panel.selected_racer(), config.start,
                                       config.steps), kwargs

    def show_result(self, result) -> None:
        self.plot.clear()
        self.legend.clear()
        x = np.log2(np.array(list(result), float))
        for offset, key, color in ((-0.25, "flat", "#009E73"), (0.0, "sharp", "#D55E00"), (0.25, "other", "#999999")):
            values = [result[b][key] for b in result]
            bars = pg.BarGraphItem(x=x + offset, height=values, width=0.24, brush=color)
            self.plot.addItem(bars)
            self.legend.addItem(bars, f"ends in the {key} minimum" if key != "other" else "elsewhere")
        self.plot.getAxis("bottom").setTicks([[(float(v), str(b)) for v, b in zip(x, result, strict=False)]])
        lines = [f"batch {b}: flat {r['flat']:.0%}, sharp {r['sharp']:.0%}" for b, r in result.items()]
        self.caption.setText(" · ".join(lines))
