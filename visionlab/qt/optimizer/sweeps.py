"""The Optimizer Lab's sweep views: basin map, learning-rate strip and sharp-vs-flat statistics.

Each runs as a finite job of the panel's JobRunner, one kind per view (progress bar, cancel); starting a
new one cancels the old one. The sharp-vs-flat view also draws the lecture's picture of the two minima,
computed from the surface at once (no job: a few hundred evaluations).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QWidget

from visionlab.core.i18n import N_, _
from visionlab.core.optimizer.presets import PALETTE
from visionlab.core.optimizer.sweeps import (
    DIVERGED,
    MAX_ATTRACTORS,
    NOT_CONVERGED,
    OTHER_MINIMUM,
    basin_map,
    learning_rate_strip,
    sharp_flat_picture,
    sharp_flat_statistics,
)
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.optimizer.axes import DecadeAxis, plain_axes
from visionlab.qt.optimizer.readouts import LossAxis, loss_scale
from visionlab.qt.optimizer.sweep_frame import SweepView, spin_box

BASIN_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#A6761D",
                "#66A61E", "#E7298A", "#7570B3", "#9E0142")  # twelve that differ


class BasinView(SweepView):
    kind = "basin map"

    def __init__(self, parent=None) -> None:
        super().__init__(_("Run basin map"), parent)
        self.resolution = QComboBox()
        for n in (64, 128, 256):
            self.resolution.addItem(f"{n}×{n}", n)
        self.resolution.setCurrentIndex(1)
        self.steps = spin_box(10, 5000, 500)
        self.mode = QComboBox()
        self.mode.addItems([_("which minimum"), _("steps to converge")])
        self.mode.currentIndexChanged.connect(lambda _index: self.result is not None and self.plot is not None
                                              and self.show_result(self.result))
        self.result = None
        self.add_controls(QLabel(_("grid")), self.resolution, QLabel(_("steps")), self.steps, QLabel(_("show")),
                          self.mode, caption=_("Runs the selected racer from every start on a grid and colours each "
                                               "start by the minimum it reached (light grey: another minimum, grey: "
                                               "not converged, black: diverged)."))

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        plot.setLabel("bottom", _("start x"))
        plot.setLabel("left", _("start y"))
        self.minima = pg.ScatterPlotItem(size=12, symbol="x", pen=pg.mkPen("w", width=2))
        plot.addItem(self.minima)

    def follow_race(self, steps: int) -> None:
        """A new race (preset or surface) was loaded: the map runs as many steps as the race by default."""
        self.steps.setValue(min(max(steps, self.steps.minimum()), self.steps.maximum()))

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
            colors[result.labels == OTHER_MINIMUM] = (225, 225, 225)
            colors[result.labels == DIVERGED] = (0, 0, 0)
            for index in range(len(result.attractors)):
                hexc = BASIN_COLORS[index % len(BASIN_COLORS)]
                colors[result.labels == index] = tuple(int(hexc[i:i + 2], 16) for i in (1, 3, 5))
            self.image.setImage(colors, autoLevels=False, levels=(0, 255))
            parts = [f"<span style='color:{BASIN_COLORS[i % 12]}'>■</span> ({ax:.2f}, {ay:.2f}): "
                     f"{result.fractions()[f'minimum {i + 1}']:.0%}" for i, (ax, ay) in enumerate(result.attractors)]
            fr = result.fractions()
            if fr["other minima"]:
                parts.append("<span style='color:#e1e1e1'>■</span> " + html.escape(_(
                    "other minima (beyond {count}) {share:.0%}").format(count=MAX_ATTRACTORS,
                                                                          share=fr["other minima"])))
            parts += ["<span style='color:#6e6e6e'>■</span> " + html.escape(_(
                          "not converged in {steps} steps {share:.0%}").format(steps=result.steps,
                                                                                share=fr["not converged"])),
                      "<span style='color:#000000'>■</span> " + html.escape(_("diverged {share:.0%}").format(
                          share=fr["diverged"]))]
            self.caption.setText(html.escape(_("{racer}, {steps} steps from each of {count} starts:").format(
                racer=result.racer, steps=result.steps, count=result.labels.size)) + " " + " · ".join(parts))
        else:
            steps = np.nan_to_num(result.steps_to_converge, nan=result.steps)
            self.image.setImage(steps, autoLevels=False, levels=(0, result.steps))
            self.image.setLookupTable(pg.colormap.get("magma").getLookupTable(nPts=256))
            finite = np.isfinite(result.steps_to_converge).any()
            median = np.nanmedian(result.steps_to_converge) if finite else float("nan")
            self.caption.setText(html.escape(_("{racer}: steps until the step size fell below 1e-4 at a minimum "
                                               "(bright: slow; not converged in {steps} steps: brightest). Median "
                                               "over converged starts: {median:.0f}.").format(
                racer=result.racer, steps=result.steps, median=median)))
        self.image.setRect(QRectF(x_min, y_min, x_max - x_min, y_max - y_min))
        self.minima.setData([a[0] for a in result.attractors], [a[1] for a in result.attractors])


class LearningRateView(SweepView):
    kind = "learning-rate sweep"

    def __init__(self, parent=None) -> None:
        super().__init__(_("Run learning-rate sweep"), parent)
        self.count = spin_box(50, 200, 60)
        self.pending = None  # (surface, its loss at the start, steps) of the sweep that is running
        self.result = None  # (learning rates, {racer: final losses}) of the last sweep shown
        self.add_controls(QLabel(_("learning rates (log-spaced 1e-5 … 10)")), self.count,
                          caption=_("Final loss after the race's steps for every racer at each learning rate; "
                                    "diverged runs are crosses above the curves, one row per racer in its colour."))

    def make_plot(self) -> pg.PlotWidget:
        self.loss_axis = LossAxis()
        self.rate_axis = DecadeAxis("bottom")
        return pg.PlotWidget(axisItems={"left": self.loss_axis, "bottom": self.rate_axis})

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        plot.setLabel("bottom", _("learning rate η"))

    def job(self):
        config = self.panel.config
        lrs = np.logspace(-5, 1, self.count.value())
        start_loss = float(self.panel.surface.loss_along(np.array([config.start[0]]), np.array([config.start[1]]))[0])
        self.pending = (self.panel.surface, start_loss, config.steps)
        noise = {"seed": config.seed, "noise": config.noise, "noise_scale": config.noise_scale}
        return learning_rate_strip, (self.panel.surface, list(config.racers), config.start, config.steps, lrs), noise

    def show_result(self, result) -> None:
        self.result = result
        lrs, curves = result
        surface, start_loss, steps = self.pending
        self.plot.clear()
        scale = loss_scale(np.concatenate(list(curves.values()) or [np.zeros(0)]), surface, start_loss)
        self.loss_axis.scale_ = scale
        self.plot.setLogMode(True, scale.kind != "symlog")
        self.plot.setLabel("left", _("final {loss}").format(loss=scale.axis_label()))
        # Heights in plotted units (log10 of the value on a log axis), so the rows of crosses sit evenly above.
        shown = {title: scale.transform(final) for title, final in curves.items()}
        plotted = np.concatenate([v[np.isfinite(v)] for v in shown.values()] or [np.zeros(0)])
        units = np.log10(plotted) if scale.kind != "symlog" else plotted
        top, span = (units.max(), max(np.ptp(units), 1.0)) if units.size else (0.0, 1.0)
        best, rows = [], 0
        for number, (title, final) in enumerate(curves.items()):
            color = PALETTE[number % len(PALETTE)]
            ok = np.isfinite(final)
            if ok.any():
                best.append(_("{racer}: best η ≈ {lr:.2g}").format(racer=title,
                                                                  lr=lrs[np.argmin(np.where(ok, final, np.inf))]))
            self.plot.plot(lrs[ok], shown[title][ok], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=4,
                           symbolBrush=color, name=title)
            if (~ok).any():
                rows += 1
                height = top + 0.08 * span * rows
                height = 10 ** height if scale.kind != "symlog" else height
                self.plot.plot(lrs[~ok], np.full((~ok).sum(), height), pen=None, symbol="x", symbolSize=9,
                               symbolPen=pg.mkPen(color, width=2), symbolBrush=color)
        self.show_key([(PALETTE[i % len(PALETTE)], "━", title) for i, title in enumerate(curves)]
                      + ([("#dddddd", "✕", _("diverged (in the racer's colour)"))] if rows else []))
        crossed = (" " + _("✕: diverged, one row per racer ({rows} of {count} diverged somewhere).").format(
            rows=rows, count=len(curves))) if rows else ""
        title = scale.title()
        note = "" if scale.kind == "log" else _("; plotted: {scale}").format(scale=f"{title[0].lower()}{title[1:]}")
        self.caption.setText(_("Final loss after {steps} steps from the start{note}.").format(steps=steps, note=note)
                             + " " + " · ".join(best) + "." + crossed)


class SharpFlatView(SweepView):
    kind = "sharp-flat statistics"

    BATCHES = (1, 2, 4, 8, 16, 64, 256)
    NOT_HERE = N_("The statistics and the picture need the 'Sharp vs flat minima' surface: choose it, or the preset "
                  "'Small batches find flat minima'.")  # shown with _()

    def __init__(self, parent=None) -> None:
        super().__init__(_("Run statistics"), parent)
        self.seeds = spin_box(20, 2000, 200)
        self.add_controls(QLabel(_("seeds per batch size")), self.seeds,
                          caption=_("On the sharp-vs-flat surface: the selected racer from the start with gradient "
                                    "noise σ/√batch, many seeds per batch size. Where do they end?"))
        self.picture_plot: pg.PlotWidget | None = None
        self.picture_label = QLabel()
        self.picture_label.setWordWrap(True)
        self.picture_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.surface = None  # the sharp-vs-flat surface when it is loaded, else None
        self.picture = None

    def plot_area(self, plot: pg.PlotWidget) -> QWidget:
        """The lecture's picture on the left, the statistics on the right."""
        self.picture_plot = pg.PlotWidget()
        self.picture_plot.setBackground("#202124")
        plain_axes(self.picture_plot)
        self.picture_plot.setLabel("left", _("loss"))
        self.picture_plot.setTitle(_("Train vs shifted (“test”) loss"), color="#ddd", size="9pt")
        self.picture_legend = self.picture_plot.addLegend(offset=(8, 8), labelTextColor="w",
                                                          brush=pg.mkBrush(0, 0, 0, 150))
        area = QWidget()
        row = QHBoxLayout(area)
        row.setContentsMargins(0, 0, 0, 0)
        left = QWidget()
        column = column_layout(left)
        column.addWidget(self.picture_plot, 1)
        column.addWidget(self.picture_label)
        row.addWidget(left, 3)  # the lecture's picture needs the width more than the bars do
        row.addWidget(self.waiting_stack(plot), 2)
        return area

    def setup_plot(self, plot: pg.PlotWidget) -> None:
        plot.setLabel("bottom", _("batch size"))
        plot.setLabel("left", _("fraction of seeds"))
        plot.setYRange(0, 1)
        self._draw_picture()

    def surface_changed(self, surface) -> None:
        """A new surface was loaded: the caption and the picture follow it (no stale "Cannot run")."""
        if self.busy():
            self.cancel()  # its result would be about the surface that is gone
        self.surface = surface if surface.key == "sharp_flat" else None
        self.picture = sharp_flat_picture(surface) if self.surface is not None else None
        self.caption.setText(self.hint if self.surface is not None else _(self.NOT_HERE))
        if self.plot is not None:
            self.plot.clear()
            self.show_key([])
            self.show_waiting(True)
        self._draw_picture()

    def _draw_picture(self) -> None:
        if self.picture_plot is None:
            return
        self.picture_plot.clear()
        self.picture_legend.clear()
        picture = self.picture
        self.picture_plot.setVisible(picture is not None)  # no empty axes on another surface
        if picture is None:
            self.picture_label.setText(_("The lecture's picture (training loss and a shifted “test” loss) is drawn "
                                         "on the 'Sharp vs flat minima' surface."))
            return
        # Drawn against the coordinate the line runs along (x on the built-in surface: flat left, sharp right).
        axis = 0 if abs(picture.direction[0]) >= abs(picture.direction[1]) else 1
        def coordinate(s):
            return picture.origin[axis] + np.asarray(s) * picture.direction[axis]
        self.picture_plot.setLabel("bottom", _("{axis} (a line through both minima)").format(axis="xy"[axis]))
        self.picture_plot.plot(coordinate(picture.positions), picture.train, pen=pg.mkPen("#ffffff", width=2),
                               name=_("training loss"))
        self.picture_plot.plot(coordinate(picture.positions), picture.test, pen=pg.mkPen(
            "#ff9500", width=2, style=Qt.PenStyle.DashLine), name=_("“test” (shift {shift:g})").format(
                shift=picture.shift))
        for minimum, color in ((picture.flat, "#009E73"), (picture.sharp, "#D55E00")):
            at = float(coordinate(minimum.position))
            self.picture_plot.plot([at, at], [minimum.train, minimum.test], pen=pg.mkPen(color, width=3),
                                   symbol="o", symbolBrush=color, symbolSize=8)
        flat, sharp = picture.flat, picture.sharp
        verdict = (_("the flat minimum stays low, the sharp one does not") if flat.rise < sharp.rise
                   else _("here the flat minimum rises more than the sharp one"))
        self.picture_label.setText(_(
            "Shifted by {shift:g}: the flat minimum's loss rises by {flat_rise:.3f} ({flat_train:.3f} → "
            "{flat_test:.3f}), the sharp minimum's by {sharp_rise:.3f} ({sharp_train:.3f} → {sharp_test:.3f}): "
            "{verdict}. Curvature along the line: {flat_curvature:.3g} (flat), {sharp_curvature:.3g} (sharp).").format(
                shift=picture.shift, flat_rise=flat.rise, flat_train=flat.train, flat_test=flat.test,
                sharp_rise=sharp.rise, sharp_train=sharp.train, sharp_test=sharp.test, verdict=verdict,
                flat_curvature=flat.curvature, sharp_curvature=sharp.curvature))

    def job(self):
        config = self.panel.config
        if config.surface != "sharp_flat":
            raise ValueError(_("choose the 'Sharp vs flat minima' surface (or its preset) first"))
        kwargs = {"batch_sizes": self.BATCHES, "seeds": self.seeds.value(), "noise_scale": config.noise_scale}
        return sharp_flat_statistics, (self.panel.surface, self.panel.selected_racer(), config.start,
                                       config.steps), kwargs

    def show_result(self, result) -> None:
        self.plot.clear()
        x = np.log2(np.array(list(result), float))
        bars_of = ((-0.25, "flat", "#009E73", _("ends in the flat minimum")),
                   (0.0, "sharp", "#D55E00", _("in the sharp one")), (0.25, "other", "#999999", _("elsewhere")))
        for offset, key, color, _words in bars_of:
            values = [result[b][key] for b in result]
            bars = pg.BarGraphItem(x=x + offset, height=values, width=0.24, brush=color)
            self.plot.addItem(bars)
        self.show_key([(color, "■", words) for _offset, _key, color, words in bars_of])
        self.plot.getAxis("bottom").setTicks([[(float(v), str(b)) for v, b in zip(x, result, strict=False)]])
        lines = [_("batch {size}: flat {flat:.0%}, sharp {sharp:.0%}").format(size=b, flat=r["flat"], sharp=r["sharp"])
                 for b, r in result.items()]
        self.caption.setText(" · ".join(lines))
