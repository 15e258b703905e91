"""The scene tasks' live curves: the loss per step, detection's four loss parts, and per epoch the validation
loss and the task's metric (mIoU or mAP@0.5) with the best epoch marked.

Detection minimizes a sum of four losses (the RPN's objectness and box terms, the head's classifier and box
regression), and watching them apart shows which stage is still learning; segmentation has one
cross-entropy, so its loss plot takes the whole top row.

`add_events` only stores numbers; `refresh` draws them (the view calls it at a throttled rate). Ranges are
auto (a few hundred points per curve; these runs are short) and mouse interaction is off, as in the
classifier's curves. The legends are the plots' titles, in the curves' colours: in plots this small a
legend box would cover the curves.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt

from visionlab.core.i18n import N_, _
from visionlab.core.training.scenes.events import SceneEpoch, SceneStep
from visionlab.qt.training.curves import BEST_COLOR, TRAIN_COLOR, VAL_COLOR

# torchvision's four detection losses, in the order the lecture introduces them (RPN first, then the head).
PART_NAMES = {"rpn_objectness": N_("RPN objectness"), "rpn_box": N_("RPN box"), "classifier": N_("classifier"),
              "box_regression": N_("box regression")}
PART_COLORS = {"rpn_objectness": (200, 40, 40), "rpn_box": (240, 150, 20), "classifier": (40, 110, 220),
               "box_regression": (130, 60, 180)}
METRIC_COLOR = (30, 150, 60)
METRIC_MIN_TOP = 0.1  # the metric axis shows at least 0..0.1, so an early 0.05 is not drawn as a flat line


def legend_title(title: str, entries: list[tuple[str, tuple[int, int, int]]]) -> str:
    """A plot title over a line of its curves' names, each in its curve's colour."""
    names = " ".join(f"<span style='color:rgb{colour}'>━ {name}</span>" for name, colour in entries)
    return f"<span style='color:#444'>{title}</span><br><span style='font-size:8pt'>{names}</span>"


def _pen(color, width: float = 2.0, style=Qt.PenStyle.SolidLine):
    return pg.mkPen(color=color, width=width, style=style)


class SceneCurves(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.loss_plot = self._plot(legend_title(_("total loss per step"), [(_("train batch"), TRAIN_COLOR)]),
                                    _("step"))
        parts = [(_(PART_NAMES[key]), PART_COLORS[key]) for key in PART_NAMES]
        self.parts_plot = self._plot(legend_title(_("its four parts (what the sum is made of)"), parts), _("step"))
        self.epoch_plot = self._plot(legend_title(_("loss per epoch"), [(_("train (epoch mean)"), TRAIN_COLOR),
                                                                        (_("validation"), VAL_COLOR),
                                                                        (_("best epoch"), BEST_COLOR)]), _("epoch"))
        self.metric_plot = self._plot("", _("epoch"))
        self.metric_plot.enableAutoRange(y=False)
        self.step_curve = self.loss_plot.plot(pen=_pen(TRAIN_COLOR, 1.5))
        self.part_curves = {key: self.parts_plot.plot(pen=_pen(PART_COLORS[key], 1.5)) for key in PART_NAMES}
        self.train_epoch_curve = self.epoch_plot.plot(pen=_pen(TRAIN_COLOR, 2.5), symbol="o", symbolSize=5,
                                                      symbolBrush=TRAIN_COLOR)
        self.val_curve = self.epoch_plot.plot(pen=_pen(VAL_COLOR, 2.5), symbol="o", symbolSize=5,
                                              symbolBrush=VAL_COLOR)
        self.metric_curve = self.metric_plot.plot(pen=_pen(METRIC_COLOR, 2.5), symbol="o", symbolSize=6,
                                                  symbolBrush=METRIC_COLOR)
        self.best_lines = [pg.InfiniteLine(angle=90, pen=_pen(BEST_COLOR, 2, Qt.PenStyle.DashLine))
                           for _plot in (self.epoch_plot, self.metric_plot)]
        for plot, line in zip((self.epoch_plot, self.metric_plot), self.best_lines, strict=True):
            plot.addItem(line, ignoreBounds=True)
        self.best_label = pg.TextItem(color=BEST_COLOR, anchor=(0, 0))
        self.metric_plot.addItem(self.best_label, ignoreBounds=True)
        self.task = ""
        self.begin_run("detect", 10)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        # Small on purpose: the tab sits in a scroll area that (the status lines wrap) lays it out at its
        # preferred height, and pyqtgraph's own 600×300 hint pushed the preview frames below a 700 px window.
        # The curves still take all the height left (stretch 1 in the view).
        return QSize(600, 240)

    def _plot(self, title: str, x_label: str) -> pg.PlotItem:
        plot = pg.PlotItem(title=title)
        plot.setLabel("bottom", x_label)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        return plot

    def begin_run(self, task: str, epochs: int, metric_name: str = "") -> None:
        """Empty curves for a new run of `task` ("segment" | "detect") of `epochs` epochs."""
        if task != self.task:
            self.task = task
            self.ci.clear()
            detect = task == "detect"
            self.ci.addItem(self.loss_plot, row=0, col=0, colspan=1 if detect else 2)
            if detect:
                self.ci.addItem(self.parts_plot, row=0, col=1)
            self.ci.addItem(self.epoch_plot, row=1, col=0)
            self.ci.addItem(self.metric_plot, row=1, col=1)
        metric_name = metric_name or ("mAP@0.5" if task == "detect" else "mIoU")
        self.metric_name = metric_name
        self.metric_plot.setTitle(legend_title(_("validation {metric} per epoch").format(metric=metric_name),
                                               [(metric_name, METRIC_COLOR), (_("best epoch"), BEST_COLOR)]))
        self.steps: dict[str, list[float]] = {"step": [], "loss": [], **{key: [] for key in PART_NAMES}}
        self.epochs: dict[str, list[float]] = {"epoch": [], "train_loss": [], "val_loss": [], "metric": []}
        self.best_epoch = 0
        for plot in (self.epoch_plot, self.metric_plot):
            plot.setXRange(0.5, max(1, epochs) + 0.5, padding=0)
            plot.enableAutoRange(x=False)
        self._epoch_ticks(epochs)
        self._dirty = True
        self.refresh()

    def _epoch_ticks(self, epochs: int) -> None:
        """Whole epochs on the epoch axes (there is no epoch 1.5), at most about ten labels."""
        spacing = max(1, math.ceil(epochs / 10))
        for plot in (self.epoch_plot, self.metric_plot):
            plot.getAxis("bottom").setTickSpacing(major=spacing, minor=spacing)

    def add_events(self, events: list) -> None:
        for event in events:
            if isinstance(event, SceneStep):
                self.steps["step"].append(event.step)
                for key in ("loss", *PART_NAMES):
                    self.steps[key].append(float(event.losses.get(key, math.nan)))
            elif isinstance(event, SceneEpoch):
                for key, value in (("epoch", event.epoch), ("train_loss", event.train_loss),
                                   ("val_loss", event.val_loss), ("metric", event.metric)):
                    self.epochs[key].append(float(value))
                scored = [(metric, epoch) for metric, epoch in zip(self.epochs["metric"], self.epochs["epoch"],
                                                                   strict=True) if math.isfinite(metric)]
                # The first epoch with the highest metric, as the trainers keep it (a tie does not replace it).
                self.best_epoch = int(max(scored, key=lambda pair: pair[0])[1]) if scored else 0
            else:
                continue
            self._dirty = True

    @property
    def point_count(self) -> int:
        """Step points drawn so far (what a test watches grow)."""
        data = self.step_curve.xData
        return 0 if data is None else len(data)

    def refresh(self) -> None:
        """Push everything received to the plots (a no-op when nothing arrived since the last call)."""
        if not self._dirty:
            return
        self._dirty = False
        steps = self.steps["step"]
        self.step_curve.setData(steps, self.steps["loss"])
        for key, curve in self.part_curves.items():
            curve.setData(steps, self.steps[key])
        epochs = self.epochs["epoch"]
        self.train_epoch_curve.setData(epochs, self.epochs["train_loss"])
        self.val_curve.setData(epochs, self.epochs["val_loss"])
        self.metric_curve.setData(epochs, self.epochs["metric"])
        if epochs and epochs[-1] + 0.5 > self.epoch_plot.viewRange()[0][1]:  # a longer run than planned
            for plot in (self.epoch_plot, self.metric_plot):
                plot.setXRange(0.5, epochs[-1] + 0.5, padding=0)
            self._epoch_ticks(int(epochs[-1]))
        for line in self.best_lines:
            line.setVisible(self.best_epoch > 0)
            line.setValue(self.best_epoch)
        finite = [value for value in self.epochs["metric"] if math.isfinite(value)]
        top = min(1.0, max(METRIC_MIN_TOP, 1.25 * max(finite, default=0.0)))
        self.metric_plot.setYRange(0, top, padding=0.02)
        if self.best_epoch:
            best = self.epochs["metric"][self.epochs["epoch"].index(self.best_epoch)]
            self.best_label.setText(_("best {value:.3f}, epoch {epoch}").format(value=best, epoch=self.best_epoch))
            # At the top of the line, which the curve stays below (the axis reaches 1.25 × its maximum), on the
            # side of the line that has room.
            x_low, x_high = self.metric_plot.viewRange()[0]
            self.best_label.setAnchor((1.0 if self.best_epoch > (x_low + x_high) / 2 else 0.0, 0.0))
            self.best_label.setPos(self.best_epoch, top)
        self.best_label.setVisible(self.best_epoch > 0)

    def curve_data(self, name: str) -> tuple[list[float], list[float]]:
        """(x, y) of a curve as pyqtgraph holds it: "loss", a part name, "val_loss", "metric"."""
        curve = {"loss": self.step_curve, "val_loss": self.val_curve, "metric": self.metric_curve,
                 "train_loss": self.train_epoch_curve, **self.part_curves}[name]
        x, y = curve.xData, curve.yData
        return ([] if x is None else x.tolist()), ([] if y is None else y.tolist())
