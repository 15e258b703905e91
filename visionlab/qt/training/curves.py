"""The live curves: loss, accuracy, learning rate and per-layer gradient norms against epochs.

Step points (faint raw + EMA-smoothed line) and epoch points share one x axis, the (fractional) epoch.
The generalization gap between the epoch train and validation curves is shaded; a vertical line marks the
best epoch and a label shows the early-stopping counter. Overlaid runs are drawn dashed. Data arrive in
batches from the panel's timer and are pushed to pyqtgraph in one `setData` per curve, with clip-to-view
and automatic downsampling so long runs stay cheap.

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

from visionlab.core.training.metrics import ema
from visionlab.core.training.trainer import EpochReport, StepReport

TRAIN_COLOR = (52, 120, 220)
VAL_COLOR = (230, 110, 30)
PARTS = ("loss", "acc", "rates")
X_START_EPOCHS = 16.0  # runs up to this long get their whole x range at once (see _update_ranges)
OVERLAY_COLORS = [(120, 60, 180), (40, 160, 80), (200, 50, 120), (110, 110, 110), (20, 150, 170)]


def _pen(color, width: float = 2.0, style=Qt.PenStyle.SolidLine, alpha: int = 255):
    return pg.mkPen(color=(*color, alpha), width=width, style=style)


class TrainingCurves(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.loss_plot = self._plot(0, 0, "loss (cross-entropy)")
        self.acc_plot = self._plot(0, 1, "accuracy")
        self.lr_plot = self._plot(1, 0, "learning rate")
        self.grad_plot = self._plot(1, 1, "gradient norm per layer")
        self.grad_plot.setLogMode(y=True)
        self.grad_plot.addLegend(offset=(-4, 4), labelTextSize="7pt", verSpacing=-6)
        for plot in (self.acc_plot, self.lr_plot, self.grad_plot):
            plot.setXLink(self.loss_plot)
        self.window = 10
        self.patience: int | None = None
        self.last_paint_s = 0.0
        self.total_epochs = 10
        self.base_lr = 1e-3
        self._curves: dict[str, pg.PlotDataItem] = {}
        for plot, key in ((self.loss_plot, "loss"), (self.acc_plot, "acc")):
            # Loss falls and accuracy rises: the legends sit where the curves end up not being.
            plot.addLegend(offset=(-4, 4) if key == "loss" else (-4, -4), labelTextSize="7pt")
            self._curves[f"step_{key}_raw"] = plot.plot(pen=_pen(TRAIN_COLOR, 1, alpha=60))
            self._curves[f"step_{key}_ema"] = plot.plot(pen=_pen(TRAIN_COLOR, 1.5, alpha=170),
                                                        name="train (steps, EMA)")
            # No point symbols: a scatter item doubles the cost of every repaint of the plot.
            self._curves[f"train_{key}"] = plot.plot(pen=_pen(TRAIN_COLOR, 2.5), name="train (per epoch)")
            self._curves[f"val_{key}"] = plot.plot(pen=_pen(VAL_COLOR, 2.5), name="validation (per epoch)")
            for epoch_curve in (self._curves[f"train_{key}"], self._curves[f"val_{key}"]):
                # One point per epoch needs no clipping, and the shaded gap follows these curves' paths,
                # which clip-to-view would cut at the view's edge when the x range later grows.
                epoch_curve.setClipToView(False)
            gap = pg.FillBetweenItem(self._curves[f"train_{key}"], self._curves[f"val_{key}"],
                                     brush=pg.mkBrush(230, 110, 30, 45))
            plot.addItem(gap)
        self._curves["lr"] = self.lr_plot.plot(pen=_pen((90, 90, 90)))
        self.best_lines = [pg.InfiniteLine(angle=90, pen=_pen((30, 150, 60), 1.5, Qt.PenStyle.DashLine))
                           for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.acc_plot), self.best_lines, strict=False):
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
        plot.setLabel("bottom", "epoch")
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
        # The ranges shown stay known (not reset): a new run whose ranges equal the last run's then costs no
        # axis re-render, which is a full repaint of all four plots (~9 ms here, against ~2-4 ms for one).
        self._fitted_epochs = 0
        self._grad_fresh = True  # the first gradient norms of a run fit the log range anew
        self._update_ranges(force=True)

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
        if force or reached > shown:
            target = X_START_EPOCHS
            while target < reached:
                target *= 2
            self._set_range(self.loss_plot, "x", (0.0, float(max(min(target, self.total_epochs), reached, 1.0))), None)
        top = max([self._max_loss] + self._overlay_losses)
        top = top if top > 0 else 2.5
        current = self._ranges.get("lossy", (0.0, 0.0))[1]
        if force or top > current or (top < 0.5 * current and len(self.epochs["x"]) != self._fitted_epochs):
            self._fitted_epochs = len(self.epochs["x"])
            self._set_range(self.loss_plot, "loss", None, (0.0, min(top * 1.15, 1e6)))
        self._set_range(self.acc_plot, "acc", None, (0.0, 1.02))
        self._set_range(self.lr_plot, "lr", None, (0.0, self.base_lr * 1.1))
        values = [v for _, ys in self.grads.values() for v in ys[-50:]]  # every point since the last redraw
        if values:
            low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
            known = self._ranges.get("grady")
            if known is None or self._grad_fresh or low < known[0] or high > known[1]:
                self._grad_fresh = False
                high = max(high, low + 1)
                if known == (float(low), float(high)):
                    return  # the same decades as shown: no axis re-render
                self._set_range(self.grad_plot, "grad", None, (float(low), float(high)))
                # Decades only: pyqtgraph's own log ticks crowd a short range with 0.2 0.3 0.4 ….
                self.grad_plot.getAxis("left").setTicks([[(k, f"{10.0 ** k:g}") for k in range(low, high + 1)], []])

    # -- data ---------------------------------------------------------------------------------------
    def clear_run(self) -> None:
        self.steps: dict[str, list[float]] = {"x": [], "loss": [], "acc": [], "lr": [], "loss_ema": [], "acc_ema": []}
        self.epochs: dict[str, list[float]] = {k: [] for k in ("x", "train_loss", "train_acc", "val_loss", "val_acc")}
        self.grads: dict[str, list[float]] = {}
        self.best_epoch = 0
        self._max_loss = 0.0
        self._drawn: dict[str, tuple[int, int]] = {}
        for curve in self._curves.values():
            curve.setData([], [])
        # Gradient curves are kept (emptied): a next run of the same model reuses them and their legend
        # entries; creating five curves with legend entries took ~15 ms of one GUI slice (the stall tail).
        for curve in self._grad_curves.values():
            curve.setData([], [])
        for line in self.best_lines:
            line.hide()
        self.early_stopping_text = ""

    def load_history(self, history: dict) -> None:
        """Show a saved run's curves (a resumed run continues from them)."""
        for step in history.get("steps", []):
            self._append_step(step["epoch"], step["train_loss"], step["train_acc"], step["lr"])
        for epoch in history.get("epochs", []):
            self._append_epoch(epoch["epoch"], epoch)
        self.refresh()

    def _append_step(self, x: float, loss: float, acc: float, lr: float) -> None:
        s = self.steps
        if math.isfinite(loss):
            self._max_loss = max(self._max_loss, loss)
        s["loss_ema"] += ema([loss], self.window, s["loss_ema"][-1] if s["loss_ema"] else None)
        s["acc_ema"] += ema([acc], self.window, s["acc_ema"][-1] if s["acc_ema"] else None)
        s["x"].append(x)
        s["loss"].append(loss)
        s["acc"].append(acc)
        s["lr"].append(lr)

    def _append_epoch(self, number: int, values) -> None:
        self.epochs["x"].append(float(number))
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            self.epochs[key].append(float(values[key] if isinstance(values, dict) else getattr(values, key)))
        for key in ("train_loss", "val_loss"):
            if math.isfinite(self.epochs[key][-1]):
                self._max_loss = max(self._max_loss, self.epochs[key][-1])

    def add_events(self, events: list) -> None:
        for event in events:
            if isinstance(event, StepReport):
                self._append_step(event.epoch, event.train_loss, event.train_acc, event.lr)
                for name, value in event.grad_norms.items():
                    self.grads.setdefault(name, [[], []])
                    self.grads[name][0].append(event.epoch)
                    self.grads[name][1].append(max(value, 1e-12))
            elif isinstance(event, EpochReport):
                self._append_epoch(event.epoch, event)
                self.best_epoch = event.best_epoch  # its dashed lines move with their plots' redraw
                limit = f" of {self.patience} allowed" if self.patience else ""
                self.early_stopping_text = (f"best epoch {event.best_epoch} (green dashed line); "
                                            f"{event.patience_used}{limit} epoch(s) without improvement")

    def set_window(self, window: int) -> None:
        """Change the EMA window: the whole curve is smoothed again so the user sees the difference."""
        self.window = max(int(window), 1)
        self.steps["loss_ema"] = ema(self.steps["loss"], self.window)
        self.steps["acc_ema"] = ema(self.steps["acc"], self.window)
        self._drawn = {part: (-1, drawn[1]) for part, drawn in self._drawn.items()}
        self.refresh()

    def up_to_date(self) -> bool:
        """True when every plot shows all the data received so far."""
        counts = (len(self.steps["x"]), len(self.epochs["x"]))
        return all(self._drawn.get(part) == counts for part in PARTS)

    def refresh(self, part: str | None = None) -> None:
        """Push new points to the curves of one plot group ("loss", "acc", "rates") or of all of them.

        Curves whose data did not change are not touched. Refreshing one group per timer tick keeps each
        GUI-thread slice (update + paint of one plot) short, which is what keeps the window responsive.
        """
        for name in (part,) if part else PARTS:
            self._refresh_part(name)

    def _refresh_part(self, part: str) -> None:
        s, e = self.steps, self.epochs
        counts = (len(s["x"]), len(e["x"]))
        drawn = self._drawn.get(part, (-1, -1))
        if counts == drawn:
            return
        self._drawn[part] = counts
        x = np.asarray(s["x"], float)
        if part in ("loss", "acc"):
            if counts[0] != drawn[0]:
                self._curves[f"step_{part}_raw"].setData(x, np.asarray(s[part], float), skipFiniteCheck=True)
                self._curves[f"step_{part}_ema"].setData(x, np.asarray(s[f"{part}_ema"], float),
                                                         skipFiniteCheck=True)
            if counts[1] != drawn[1]:
                self._curves[f"train_{part}"].setData(e["x"], e[f"train_{part}"])
                self._curves[f"val_{part}"].setData(e["x"], e[f"val_{part}"])
                line = self.best_lines[PARTS.index(part)]
                if self.best_epoch > 0 and (not line.isVisible() or line.value() != self.best_epoch):
                    line.setValue(self.best_epoch)
                    line.show()
        elif counts[0] != drawn[0]:
            self._curves["lr"].setData(x, np.asarray(s["lr"], float), skipFiniteCheck=True)
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
        self._update_ranges()

    # -- other runs ---------------------------------------------------------------------------------
    def set_overlays(self, runs: list[tuple[str, dict]]) -> None:
        """Dashed validation curves of saved runs: [(label, metrics), ...]."""
        for plot, curve in self._overlays:
            plot.removeItem(curve)  # also takes it out of the legend
        self._overlays = []
        self._overlay_epochs = [float(len(metrics.get("epochs", []))) for _, metrics in runs]
        self._overlay_losses = [row["val_loss"] for _, metrics in runs for row in metrics.get("epochs", [])
                                if math.isfinite(row["val_loss"])]
        for index, (label, metrics) in enumerate(runs):
            color = OVERLAY_COLORS[index % len(OVERLAY_COLORS)]
            epochs = metrics.get("epochs", [])
            x = [row["epoch"] for row in epochs]
            for plot, key in ((self.loss_plot, "val_loss"), (self.acc_plot, "val_acc")):
                curve = plot.plot(x, [row[key] for row in epochs], pen=_pen(color, 1.5, Qt.PenStyle.DashLine),
                                  name=f"val {label}"[:44])
                self._overlays.append((plot, curve))
        self._update_ranges()
