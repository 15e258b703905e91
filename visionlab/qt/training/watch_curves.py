"""The Training Monitor's curves (gap shading, best-epoch line, smoothing) showing one watched run.

A watched run is any script's log, so two things the app's own curves say do not hold for it and are
changed here: its train points are whatever the script logged (not "eval mode"), and it has no gradient
norms (that plot is removed and the learning rate gets the whole bottom row). The x axis says "validation
point" when the log has no epoch numbers, and "step" when it has no validation points at all.
"""

from __future__ import annotations

import math

from visionlab.core.i18n import N_, _
from visionlab.qt.training.curves import BEST_COLOR, TRAIN_COLOR, VAL_COLOR, TrainingCurves

DEFAULT_LR_TOP = 1e-3  # the learning-rate axis of a run that logged no learning rate


def _swatch(color: tuple[int, int, int], text: str) -> str:
    return f'<span style="color: rgb{color}">■</span> {text}'


# One key above the plots instead of a legend inside each: a watched run's curves can go anywhere, and a
# legend over them (at 1024 px, half of a small plot) hides the very points the student came to see.
def curve_key() -> str:
    return " &nbsp; ".join([_swatch(TRAIN_COLOR, _("train steps (EMA; faint: every step)")),
                            _swatch(TRAIN_COLOR, _("train, as logged (thick)")), _swatch(VAL_COLOR, _("validation")),
                            _swatch(BEST_COLOR, _("lowest validation loss (dashed)"))])


def best_epoch(epochs: list[dict]) -> float:
    """The x of the lowest validation loss (0: none yet), as the app's own runs mark it."""
    finite = [row for row in epochs if math.isfinite(row.get("val_loss", math.nan))]
    return min(finite, key=lambda row: row["val_loss"])["epoch"] if finite else 0


def drawable(history: dict) -> dict:
    """A history whose step rows can be placed on the x axis: without validation points, by their step."""
    if history.get("epochs") or not history.get("steps"):
        return history
    return {**history, "steps": [{**row, "epoch": float(row["step"])} for row in history["steps"]]}


class WatchedCurves(TrainingCurves):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ci.removeItem(self.grad_plot)
        self.ci.removeItem(self.lr_plot)
        self.ci.addItem(self.lr_plot, row=1, col=0, colspan=2)
        # pyqtgraph links x ranges by pixel position: a plot twice as wide would show twice the epochs.
        self.lr_plot.setXLink(None)
        self.plots = (self.loss_plot, self.acc_plot, self.lr_plot)
        self.loss_plot.setTitle(_("loss (as logged)"))  # a script's loss need not be cross-entropy
        for plot in (self.loss_plot, self.acc_plot):
            plot.legend.hide()  # CURVE_KEY, above the plots, says what each colour is
        self.x_label = N_("epoch")  # English, as the history says it; shown translated
        self.shown_history: dict = {}

    def show_history(self, history: dict) -> None:
        """Draw a watched run's whole history (core's `history()` format), replacing what was shown."""
        history = drawable(history)
        self.shown_history = history
        epochs, steps = history.get("epochs", []), history.get("steps", [])
        rates = [row["lr"] for row in steps + epochs if math.isfinite(row.get("lr", math.nan))]
        last = max([row["epoch"] for row in epochs] + [row["epoch"] for row in steps if math.isfinite(row["epoch"])],
                   default=1)
        self.begin_run(max(int(math.ceil(last)), 1), max(rates, default=0.0) or DEFAULT_LR_TOP)
        self.set_x_label(str(history.get("x_label", "epoch")))
        self.best_epoch = best_epoch(epochs)
        self.load_history(history)
        self.end_run()  # the x axis fits the points logged so far; the next update refits it
        self.lr_plot.setXRange(*self.loss_plot.viewRange()[0], padding=0)

    def append_history(self, history: dict) -> None:
        """Draw only the rows added since `show_history` (the worker checked that the drawn ones are unchanged)."""
        history = drawable(history)
        steps_drawn, epochs_drawn = len(self.shown_history.get("steps", [])), len(self.shown_history.get("epochs", []))
        self.shown_history = history
        added = {"steps": history["steps"][steps_drawn:], "epochs": history["epochs"][epochs_drawn:]}
        rates = [row["lr"] for row in added["steps"] + added["epochs"] if math.isfinite(row.get("lr", math.nan))]
        self.base_lr = max([self.base_lr, *rates])  # the learning-rate axis grows to the new peak
        self.best_epoch = best_epoch(history["epochs"])
        self.load_history(added)
        self.lr_plot.setXRange(*self.loss_plot.viewRange()[0], padding=0)

    def set_x_label(self, text: str) -> None:
        if text != self.x_label:
            self.x_label = text
            for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
                plot.setLabel("bottom", _(text))

    def curve_data(self, key: str) -> tuple[list[float], list[float]]:
        """(x, y) of a drawn curve, as pyqtgraph holds it: "val_loss", "train_acc", "lr", "step_loss_raw"…"""
        curve = self._curves[key]  # xData / yData: all points (getData() gives the downsampled view)
        x, y = curve.xData, curve.yData
        return ([] if x is None else x.tolist()), ([] if y is None else y.tolist())
