"""The live curves: loss, accuracy, learning rate and per-layer gradient norms against epochs.

The trainer reports the mean of every few steps (a StepReport, in train mode: dropout on, augmented
inputs); each is drawn faintly at the centre of the steps it averages, with its debiased EMA over steps
(core's StepSmoother) drawn bold. Epoch points share the x axis, the (fractional) epoch: validation and
train measured alike at each epoch's end (eval mode, the same weights), so the shaded gap between them is
the generalization gap and not a difference of mode or of time. A vertical line in every plot marks the
best epoch. Overlaid runs are drawn dashed.

`add_events` only stores data; `refresh` pushes everything received to every plot at once, so the four
plots, the best-epoch lines and whatever the panel writes beside them always show the same step and epoch
(the panel decides when a refresh is due, and skips it while the panel is hidden).

Painting is what live plots cost (measured: ~78 ms a frame with auto-range and grids, ~6 ms without), so
the view ranges are managed here: x spans the whole run from the start, y only grows (or is re-fitted
once per epoch), the axes are cached as pixmaps and there are no grid lines. An axis that does not change
is then a blit, and the training thread keeps the CPU.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem

from visionlab.core.i18n import _
from visionlab.core.training.metrics import StepSmoother
from visionlab.core.training.trainer import EpochReport, StepReport

TRAIN_COLOR = (52, 120, 220)
VAL_COLOR = (230, 110, 30)
BEST_COLOR = (30, 150, 60)
X_MARGIN = 0.5  # epochs right of the axis's end, so the last epoch's tick label fits inside the plot
X_START_EPOCHS = 16.0  # runs up to this long get their whole x range at once (see _update_ranges)
LEGEND_BRUSH = (255, 255, 255, 210)  # a legend over a curve stays readable, and the curve shows through
# Dashed like the best-epoch line, so none of them is green.
OVERLAY_COLORS = [(120, 60, 180), (160, 110, 20), (200, 50, 120), (110, 110, 110), (20, 150, 170)]


def _pen(color, width: float = 2.0, style=Qt.PenStyle.SolidLine, alpha: int = 255):
    return pg.mkPen(color=(*color, alpha), width=width, style=style)


def epoch_ticks(width: float, last: int) -> list[int]:
    """Epoch numbers to label on an axis from 0 to `width`: a round step (1, 2, 5, 10, 20 …) giving at most
    about 8 labels, plus `last`, whose neighbours within half a step are dropped so labels do not touch."""
    step = 1
    while width / step > 8:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1, 2, 5, 10, 20, 50 …
    ticks = [k * step for k in range(int(width // step) + 1)]
    if last > 0:
        ticks = [t for t in ticks if abs(t - last) > step / 2] + [last]
    return sorted(ticks)


class TrainingCurves(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.loss_plot = self._plot(0, 0, _("loss (cross-entropy)"))
        self.acc_plot = self._plot(0, 1, _("accuracy"))
        self.lr_plot = self._plot(1, 0, _("learning rate"))
        self.grad_plot = self._plot(1, 1, _("gradient norm per layer"))
        self.grad_plot.setLogMode(y=True)
        self.grad_plot.disableAutoRange()  # setLogMode switches auto-range back on; the ranges are ours
        self.grad_plot.addLegend(offset=(-4, 4), labelTextSize="7pt", verSpacing=-6, brush=LEGEND_BRUSH)
        self.plots = (self.loss_plot, self.acc_plot, self.lr_plot, self.grad_plot)
        for plot in self.plots[1:]:
            plot.setXLink(self.loss_plot)
        self.window = 10
        self.patience: int | None = None
        self.last_paint_s = 0.0
        self.total_epochs = 10
        self.base_lr = 1e-3
        self.steps_per_epoch: int | None = None  # from RunStarted; places each report at its steps' centre
        self._curves: dict[str, pg.PlotDataItem] = {}
        for plot, key in ((self.loss_plot, "loss"), (self.acc_plot, "acc")):
            # Loss falls and accuracy rises: the legends sit where the curves end up not being.
            plot.addLegend(offset=(-4, 4) if key == "loss" else (-4, -4), labelTextSize="7pt", brush=LEGEND_BRUSH)
            self._curves[f"step_{key}_raw"] = plot.plot(pen=_pen(TRAIN_COLOR, 1, alpha=60))
            self._curves[f"step_{key}_ema"] = plot.plot(pen=_pen(TRAIN_COLOR, 1.5, alpha=170),
                                                        name=_("train steps, EMA"))
            # No point symbols: a scatter item doubles the cost of every repaint of the plot.
            self._curves[f"train_{key}"] = plot.plot(pen=_pen(TRAIN_COLOR, 2.5),
                                                   name=_("train, eval mode, epoch end"))
            self._curves[f"val_{key}"] = plot.plot(pen=_pen(VAL_COLOR, 2.5), name=_("validation, epoch end"))
            for epoch_curve in (self._curves[f"train_{key}"], self._curves[f"val_{key}"]):
                # One point per epoch needs no clipping, and the shaded gap follows these curves' paths,
                # which clip-to-view would cut at the view's edge when the x range later grows.
                epoch_curve.setClipToView(False)
            gap = pg.FillBetweenItem(self._curves[f"train_{key}"], self._curves[f"val_{key}"],
                                     brush=pg.mkBrush(230, 110, 30, 45))
            plot.addItem(gap)
        self._curves["lr"] = self.lr_plot.plot(pen=_pen((90, 90, 90)))
        # One best-epoch line per plot, all moved together by refresh: the same epoch everywhere.
        self.best_lines = [pg.InfiniteLine(angle=90, pen=_pen(BEST_COLOR, 1.5, Qt.PenStyle.DashLine))
                           for _plot in self.plots]
        for plot, line in zip(self.plots, self.best_lines, strict=True):
            line.hide()
            plot.addItem(line, ignoreBounds=True)
        self._grad_curves: dict[str, pg.PlotDataItem] = {}
        self._overlays: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []
        self._overlay_epochs: list[float] = []
        self._overlay_losses: list[float] = []
        self._ranges: dict = {}
        self._fitted_epochs = 0
        self.begin_run(10, 1e-3)

    def _plot(self, row: int, col: int, title: str) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=col, title=title)
        plot.setLabel("bottom", _("epoch"))
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.disableAutoRange()
        plot.setMouseEnabled(x=False, y=False)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return plot

    def paintEvent(self, event) -> None:
        started = time.perf_counter()
        super().paintEvent(event)
        self.last_paint_s = time.perf_counter() - started  # the panel's redraw budget uses it

    def begin_run(self, epochs: int, base_lr: float, patience: int | None = None) -> None:
        """Start empty curves; the learning-rate range is fixed to its peak (every schedule's maximum).

        `patience` (early stopping on) is shown beside the counter of epochs without improvement.
        """
        self.clear_run()
        self.patience = patience
        self.total_epochs, self.base_lr = max(int(epochs), 1), float(base_lr)
        self.steps_per_epoch = None
        # The ranges shown stay known (not reset): a new run whose ranges equal the last run's then costs no
        # axis re-render, which is a full repaint of all four plots (~9 ms here, against ~2-4 ms for one).
        self._fitted_epochs = 0
        self._ended = False
        self._update_ranges(force=True)

    def end_run(self) -> None:
        """The run ended (maybe early, by early stopping): the x axis fits the epochs it has, no more."""
        self._ended = True
        self._update_ranges()

    def _set_range(self, plot: pg.PlotItem, key: str, x: tuple[float, float] | None,
                   y: tuple[float, float] | None) -> None:
        if x is not None and self._ranges.get(key + "x") != x:
            plot.setXRange(*x, padding=0)
            self._ranges[key + "x"] = x
        if y is not None and self._ranges.get(key + "y") != y:
            plot.setYRange(*y, padding=0)
            self._ranges[key + "y"] = y

    def _update_ranges(self, force: bool = False) -> None:
        """Change a range only when the data leave it, so axes are redrawn rarely."""
        # x spans the whole run when it is short (≤ X_START_EPOCHS epochs), so it never changes during the
        # run; a longer run starts at X_START_EPOCHS and doubles up to its length (each change re-renders
        # every axis), so its early epochs are not squashed.
        reached = max([self.steps["x"][-1] if self.steps["x"] else 0.0, self.epochs["x"][-1] if self.epochs["x"]
                       else 0.0] + self._overlay_epochs)
        shown = self._ranges.get("xx", (0.0, 0.0))[1]
        if self._ended:
            self._set_range(self.loss_plot, "x", (0.0, float(max(reached, 1.0)) + X_MARGIN), None)
        elif force or reached > shown:
            target = X_START_EPOCHS
            while target < reached:
                target *= 2
            end = float(max(min(target, self.total_epochs), reached, 1.0))
            self._set_range(self.loss_plot, "x", (0.0, end + X_MARGIN), None)
        self._label_epochs()
        top = max([self._max_loss] + self._overlay_losses)
        top = top if top > 0 else 2.5
        current = self._ranges.get("lossy", (0.0, 0.0))[1]
        if force or top > current or (top < 0.5 * current and len(self.epochs["x"]) != self._fitted_epochs):
            self._fitted_epochs = len(self.epochs["x"])
            self._set_range(self.loss_plot, "loss", None, (0.0, min(top * 1.15, 1e6)))
        self._set_range(self.acc_plot, "acc", None, (0.0, 1.02))
        self._set_range(self.lr_plot, "lr", None, (0.0, self.base_lr * 1.1))
        if self._grad_low <= self._grad_high:  # whole decades around every norm received in this run
            low, high = math.floor(math.log10(self._grad_low)), math.ceil(math.log10(self._grad_high))
            high = max(high, low + 1)
            if self._ranges.get("grady") != (float(low), float(high)):  # new decades: one axis re-render
                self._set_range(self.grad_plot, "grad", None, (float(low), float(high)))
                # Decades only: pyqtgraph's own log ticks crowd a short range with 0.2 0.3 0.4 ….
                self.grad_plot.getAxis("left").setTicks([[(k, f"{10.0 ** k:g}") for k in range(low, high + 1)], []])

    def _label_epochs(self) -> None:
        """Whole epochs on the x axes, about 8 labels, and once the run ended its last epoch too.

        Not during the run: new ticks re-render every axis (a full repaint of the four plots), which each
        epoch would cost; round ticks change only with the range."""
        width = self._ranges.get("xx", (0.0, 1.0))[1] - X_MARGIN
        last = int(self.epochs["x"][-1]) if self.epochs["x"] and self._ended else 0
        if self._ranges.get("ticks") == (width, last):
            return
        self._ranges["ticks"] = (width, last)
        self.x_ticks = epoch_ticks(width, last)
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot, self.grad_plot):
            plot.getAxis("bottom").setTicks([[(x, f"{x:g}") for x in self.x_ticks], []])

    # -- data ---------------------------------------------------------------------------------------
    def clear_run(self) -> None:
        # Per report: "x" is where its last step was taken (its learning rate and gradient norms belong
        # there), "centre" the middle of the steps its mean covers, "count" how many steps that is.
        self.steps: dict[str, list[float]] = {k: [] for k in ("x", "centre", "count", "loss", "acc", "lr")}
        self.smoothed = {key: StepSmoother(self.window) for key in ("loss", "acc")}
        self.epochs: dict[str, list[float]] = {k: [] for k in ("x", "train_loss", "train_acc", "val_loss", "val_acc")}
        self.grads: dict[str, list[list[float]]] = {}
        self.best_epoch = 0
        self.steps_per_report = 0  # the most steps one report has covered (the trainer's interval)
        self._last_step = 0
        self._max_loss = 0.0
        self._grad_low, self._grad_high = math.inf, -math.inf
        self._drawn: tuple[int, int] | None = None
        for curve in self._curves.values():
            curve.setData([], [])
        # Gradient curves are kept (emptied): a next run of the same model reuses them and their legend
        # entries; creating five curves with legend entries took ~15 ms of one GUI slice (the stall tail).
        for curve in self._grad_curves.values():
            curve.setData([], [])
        for line in self.best_lines:
            line.hide()
        self.early_stopping_text = ""

    def set_steps_per_epoch(self, steps: int) -> None:
        self.steps_per_epoch = max(int(steps), 1)

    def load_history(self, history: dict) -> None:
        """Show a saved run's curves (a resumed run continues from them)."""
        for step in history.get("steps", []):
            self._append_step(step["step"], step["epoch"], step["train_loss"], step["train_acc"], step["lr"])
        for epoch in history.get("epochs", []):
            self._append_epoch(epoch["epoch"], epoch)
        self.refresh()

    def _append_step(self, step: int, x: float, loss: float, acc: float, lr: float) -> None:
        s = self.steps
        count = max(step - self._last_step, 1)
        self._last_step = step
        self.steps_per_report = max(self.steps_per_report, count)
        # x is the epoch position of the report's last step; its steps lie 1/steps_per_epoch apart before it.
        centre = x - (count - 1) / 2 / self.steps_per_epoch if self.steps_per_epoch else x
        if math.isfinite(loss):
            self._max_loss = max(self._max_loss, loss)
        for key, value in (("loss", loss), ("acc", acc)):
            self.smoothed[key].add(value, centre, count)
        for key, value in (("x", x), ("centre", centre), ("count", count), ("loss", loss), ("acc", acc), ("lr", lr)):
            s[key].append(value)

    def _append_epoch(self, number: int, values) -> None:
        def get(key: str) -> float:
            return float(values.get(key, math.nan) if isinstance(values, dict) else getattr(values, key))

        self.epochs["x"].append(float(number))
        for key in ("loss", "acc"):
            # Train as validation is measured: eval mode, at the epoch's end (the diagnosis compares these
            # too); runs saved before that was measured have only the running mean over the epoch's steps.
            measured = get(f"train_eval_{key}")
            self.epochs[f"train_{key}"].append(measured if math.isfinite(measured) else get(f"train_{key}"))
            self.epochs[f"val_{key}"].append(get(f"val_{key}"))
        for key in ("train_loss", "val_loss"):
            if math.isfinite(self.epochs[key][-1]):
                self._max_loss = max(self._max_loss, self.epochs[key][-1])

    def add_events(self, events: list) -> None:
        """Store the events' points; nothing is drawn until `refresh`."""
        for event in events:
            if isinstance(event, StepReport):
                self._append_step(event.step, event.epoch, event.train_loss, event.train_acc, event.lr)
                for name, value in event.grad_norms.items():
                    value = max(value, 1e-12)  # a zero norm has no logarithm
                    self.grads.setdefault(name, [[], []])
                    self.grads[name][0].append(event.epoch)
                    self.grads[name][1].append(value)
                    self._grad_low, self._grad_high = min(self._grad_low, value), max(self._grad_high, value)
            elif isinstance(event, EpochReport):
                self._append_epoch(event.epoch, event)
                self.best_epoch = event.best_epoch
                counted = self.patience or event.patience_used  # "1 epoch", "0 of 3 allowed epochs"
                if self.patience:
                    waited = (_("{used} of {limit} allowed epoch without improvement") if counted == 1 else
                              _("{used} of {limit} allowed epochs without improvement"))
                else:
                    waited = (_("{used} epoch without improvement") if counted == 1 else
                              _("{used} epochs without improvement"))
                self.early_stopping_text = _("best epoch {best} (green dashed line); {waited}").format(
                    best=event.best_epoch, waited=waited.format(used=event.patience_used, limit=self.patience))

    def set_window(self, window: int) -> None:
        """Change the EMA window (in steps): the whole curve is smoothed again so the user sees the difference."""
        self.window = max(int(window), 1)
        s = self.steps
        for key in self.smoothed:
            smoother = self.smoothed[key] = StepSmoother(self.window)
            for value, centre, count in zip(s[key], s["centre"], s["count"], strict=True):
                smoother.add(value, centre, int(count))
        self._drawn = None
        self.refresh()

    def _counts(self) -> tuple[int, int]:
        return len(self.steps["x"]), len(self.epochs["x"])

    def up_to_date(self) -> bool:
        """True when every plot shows all the data received so far."""
        return self._drawn == self._counts()

    @property
    def drawn_epochs(self) -> int:
        """The epochs every plot shows now (what the panel's text beside them may talk about)."""
        return self._drawn[1] if self._drawn else 0

    def refresh(self) -> None:
        """Push every point received so far to all four plots and the best-epoch lines, in one GUI slice.

        Curves whose data did not change are not touched.
        """
        counts = self._counts()
        drawn = self._drawn or (-1, -1)
        if counts == drawn:
            return
        self._drawn = counts
        s, e = self.steps, self.epochs
        if counts[0] != drawn[0]:
            x = np.asarray(s["x"], float)
            centre = np.asarray(s["centre"], float)
            for key in ("loss", "acc"):
                self._curves[f"step_{key}_raw"].setData(centre, np.asarray(s[key], float), skipFiniteCheck=True)
                smoothed = self.smoothed[key]
                self._curves[f"step_{key}_ema"].setData(np.asarray(smoothed.xs, float), np.asarray(smoothed.ys, float),
                                                        skipFiniteCheck=True)
            self._curves["lr"].setData(x, np.asarray(s["lr"], float), skipFiniteCheck=True)
            self._draw_gradients()
        if counts[1] != drawn[1]:
            for key in ("loss", "acc"):
                self._curves[f"train_{key}"].setData(e["x"], e[f"train_{key}"])
                self._curves[f"val_{key}"].setData(e["x"], e[f"val_{key}"])
            for line in self.best_lines:
                if self.best_epoch > 0 and (not line.isVisible() or line.value() != self.best_epoch):
                    line.setValue(self.best_epoch)
                    line.show()
        self._update_ranges()

    def _draw_gradients(self) -> None:
        if self.grads and list(self._grad_curves) != list(self.grads):  # another model: new curves
            for curve in self._grad_curves.values():
                self.grad_plot.removeItem(curve)  # also takes it out of the legend
            self._grad_curves = {}
        for index, (name, (gx, gy)) in enumerate(self.grads.items()):
            if name not in self._grad_curves:
                color = pg.intColor(index, hues=max(len(self.grads), 6), values=1, maxValue=200)
                self._grad_curves[name] = self.grad_plot.plot(pen=pg.mkPen(color, width=1.2),
                                                              name=name.removesuffix(".weight")[-22:])
            self._grad_curves[name].setData(gx, gy, skipFiniteCheck=True)

    # -- other runs ---------------------------------------------------------------------------------
    def set_overlays(self, runs: list[tuple[str, dict]]) -> None:
        """Dashed validation curves of saved runs: [(label, metrics), ...]."""
        for plot, curve in self._overlays:
            plot.removeItem(curve)  # also takes it out of the legend
        self._overlays = []
        self._overlay_epochs = [float(len(metrics.get("epochs", []))) for _label, metrics in runs]
        self._overlay_losses = [row["val_loss"] for _label, metrics in runs for row in metrics.get("epochs", [])
                                if math.isfinite(row["val_loss"])]
        for index, (label, metrics) in enumerate(runs):
            color = OVERLAY_COLORS[index % len(OVERLAY_COLORS)]
            epochs = metrics.get("epochs", [])
            x = [row["epoch"] for row in epochs]
            for plot, key in ((self.loss_plot, "val_loss"), (self.acc_plot, "val_acc")):
                curve = plot.plot(x, [row[key] for row in epochs], pen=_pen(color, 1.5, Qt.PenStyle.DashLine),
                                  name=_("val {run}").format(run=label)[:44])
                self._overlays.append((plot, curve))
        self._update_ranges()
