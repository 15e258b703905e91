"""Per-layer weight / activation histograms over time, drawn as one picture: epochs across, values up.

Each column is one epoch's histogram, all re-binned onto the widest range of the snapshots shown (see
core/training/histograms.py); darker means more
values there, on a log scale so thin tails stay visible, and the colour bar beside it reads the counts.
"Activations" are one defined point: the layer's own output, before the batch norm, ReLU or dropout that
follows it, in eval mode on a fixed probe of validation images; the caption says so. On very short epochs
the trainer histograms only every k-th epoch; the columns in between repeat the last snapshot, and the
caption names the epochs that have one. Drawn only while the tab is on screen.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from visionlab.core.i18n import N_, _
from visionlab.core.training.histograms import on_common_range
from visionlab.core.training.trainer import HISTOGRAM_PROBE
from visionlab.qt.common.layouts import column_layout

# Shown translated, with the probe's size filled in (`_what`).
WHAT = {"activations": N_("activations: the layer's own output (before any batch norm, ReLU or dropout after it), "
                          "eval mode, {count} fixed validation images"),
        "weights": N_("weights of the layer")}
KINDS = (N_("activations"), N_("weights"))  # activations first: many values, smooth shapes
AXIS = {"activations": N_("activation value"), "weights": N_("weight value")}


def _what(kind: str) -> str:
    return _(WHAT[kind]).format(count=HISTOGRAM_PROBE)


def _epoch_list(epochs: list[int]) -> str:
    """"1-10" for every epoch, else the epochs themselves (the last few when there are many)."""
    if epochs == list(range(epochs[0], epochs[-1] + 1)):
        return f"{epochs[0]}–{epochs[-1]}" if len(epochs) > 1 else str(epochs[0])
    shown = epochs if len(epochs) <= 8 else epochs[:3] + ["…"] + epochs[-4:]
    return ", ".join(map(str, shown))


class HistogramsView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self, 4)
        row = QHBoxLayout()
        self.layer = QComboBox()
        self.kind = QComboBox()
        for kind in KINDS:
            self.kind.addItem(_(kind), kind)
        row.addWidget(QLabel(_("layer")))
        row.addWidget(self.layer, 1)
        row.addWidget(self.kind)
        layout.addLayout(row)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", _("epoch"))
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        colors = pg.colormap.get("CET-L1")
        colors.reverse()  # dark = many values
        self.colorbar = pg.ColorBarItem(colorMap=colors, interactive=False, rounding=0.001, width=14,
                                        label=_("values per bin (log scale)"), colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.plot.addItem(self.image)
        layout.addWidget(self.plot, 1)
        self.note = QLabel(_("Histograms appear after the first epoch of a run."))
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.history: list[dict] = []  # one per epoch of the run: its snapshot, or the last one repeated
        self.history_ranges: list[dict] = []  # the bin ranges ("layer/kind" → half-width) of each column
        self.snapshot_epochs: list[int] = []
        self.first_epoch = 1
        self.limit = 0.0  # the half-width of the range drawn
        self._drawn: tuple | None = None
        self.layer.currentTextChanged.connect(self.redraw)
        self.kind.currentTextChanged.connect(self.redraw)

    def clear(self) -> None:
        self.history, self.history_ranges, self.snapshot_epochs, self._drawn = [], [], [], None
        self.layer.clear()
        self.image.clear()

    def add(self, epoch: int, histograms: dict, ranges: dict) -> None:
        """One epoch; an epoch without a snapshot (skipped to save time) repeats the previous one.

        Nothing is drawn here: the panel calls `redraw` with the plots, and only while this tab is shown.
        """
        if not histograms:
            if self.history:
                self.history.append(self.history[-1])
                self.history_ranges.append(self.history_ranges[-1])
            return
        if not self.history:
            self.first_epoch = epoch
        self.history.append(histograms)
        self.history_ranges.append(dict(ranges))
        self.snapshot_epochs.append(epoch)
        if self.layer.count() == 0:
            self.layer.addItems(list(histograms))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.redraw()

    def redraw(self, *_args) -> None:
        layer, kind = self.layer.currentText(), self.kind.currentData()
        if not self.history or layer not in self.history[0]:
            return
        state = (layer, kind, len(self.history))
        if state == self._drawn:
            return
        self._drawn = state
        key = f"{layer}/{kind}"
        columns, limit = on_common_range([(epoch[layer][kind], ranges[key])
                                          for epoch, ranges in zip(self.history, self.history_ranges, strict=True)])
        self.limit = limit
        counts = np.array(columns, float).T  # bins × epochs
        bins = counts.shape[0]
        shaded = np.log1p(counts)
        top = max(float(shaded.max()), math.log1p(1.0))
        self.image.setImage(shaded, autoLevels=False)
        self.colorbar.setLevels((0.0, top))
        # The bar reads counts, not log(1 + count): ticks at 0, 1, 10, 100, … values per bin.
        ticks = [(math.log1p(n), f"{n:g}") for n in [0] + [10 ** k for k in range(8)] if math.log1p(n) <= top]
        self.colorbar.axis.setTicks([ticks, []])
        # Column i is epoch first + i (centered on it); the bins span ±limit.
        self.image.setRect(QRectF(self.first_epoch - 0.5, -limit, counts.shape[1], 2 * limit))
        self.plot.setLabel("left", _(AXIS[kind]))
        self.plot.autoRange()
        # The bins span the widest range (doubled as values grew); the view shows the rows that hold values.
        filled = np.flatnonzero(counts.sum(axis=1))
        if filled.size:
            bin_width = 2 * limit / bins
            self.plot.setYRange(-limit + max(filled[0] - 1, 0) * bin_width,
                                -limit + min(filled[-1] + 2, bins) * bin_width, padding=0)
        centers = np.linspace(-limit, limit, bins + 1)[:-1] + limit / bins
        first, last = counts[:, 0], counts[:, -1]
        spread = [float(np.sqrt((c * centers ** 2).sum() / max(c.sum(), 1))) for c in (first, last)]
        note = (_("{layer} {what}. RMS ≈ {first:.3g} at epoch {first_epoch}, {last:.3g} at epoch {last_epoch}. "
                  "Snapshots at epochs {epochs}. Bins span ±{limit:.3g}, the widest range of these snapshots (a range "
                  "doubles when values outgrow it): no value is cut off.")
                if len(self.snapshot_epochs) == len(self.history) else
                _("{layer} {what}. RMS ≈ {first:.3g} at epoch {first_epoch}, {last:.3g} at epoch {last_epoch}. "
                  "Snapshots at epochs {epochs} (the columns between them repeat the previous one). Bins span "
                  "±{limit:.3g}, the widest range of these snapshots (a range doubles when values outgrow it): no "
                  "value is cut off."))
        self.note.setText(note.format(layer=layer, what=_what(kind), first=spread[0],
                                      first_epoch=self.snapshot_epochs[0],
                                      last=spread[1], last_epoch=self.snapshot_epochs[-1],
                                      epochs=_epoch_list(self.snapshot_epochs), limit=limit))
