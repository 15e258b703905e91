"""Per-layer weight / activation histograms over time, drawn as one picture: epochs across, values up.

Each column is one epoch's histogram on fixed bins (see core/training/histograms.py); darker means more
values there (log scale, so thin tails stay visible). On very short epochs the trainer histograms only
every k-th epoch; the columns in between repeat the last snapshot. Drawn only while the tab is on screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from visionlab.qt.common.layouts import column_layout


class HistogramsView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self, 4)
        row = QHBoxLayout()
        self.layer = QComboBox()
        self.kind = QComboBox()
        self.kind.addItems(["activations", "weights"])  # activations first: many values, smooth shapes
        row.addWidget(QLabel("layer"))
        row.addWidget(self.layer, 1)
        row.addWidget(self.kind)
        layout.addLayout(row)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "value")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("CET-L1").getLookupTable(nPts=256)[::-1])
        self.plot.addItem(self.image)
        layout.addWidget(self.plot, 1)
        self.note = QLabel("Histograms appear after the first epoch of a run.")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.history: list[dict] = []
        self.ranges: dict[str, float] = {}
        self._drawn = -1
        self.layer.currentTextChanged.connect(self._redraw)
        self.kind.currentTextChanged.connect(self._redraw)

    def clear(self) -> None:
        self.history, self.ranges, self._drawn = [], {}, -1
        self.layer.clear()
        self.image.clear()

    def add(self, histograms: dict, ranges: dict) -> None:
        """One epoch; an epoch without a snapshot (skipped to save time) repeats the previous one."""
        if not histograms:
            if self.history:
                self.history.append(self.history[-1])
            return
        self.history.append(histograms)
        self.ranges = ranges
        if self.layer.count() == 0:
            self.layer.addItems(list(histograms))
        if self.isVisible():
            self._redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._redraw()

    def _redraw(self, *_args) -> None:
        layer, kind = self.layer.currentText(), self.kind.currentText()
        if not self.history or layer not in self.history[0]:
            return
        counts = np.array([epoch[layer][kind] for epoch in self.history], float).T  # bins × epochs
        limit = self.ranges[f"{layer}/{kind}"]
        bins = counts.shape[0]
        self.image.setImage(np.log1p(counts), autoLevels=True)
        # Column i is epoch i + 1 (centered on it); the bins span ±limit.
        self.image.setRect(QRectF(0.5, -limit, counts.shape[1], 2 * limit))
        self.plot.autoRange()
        first, last = counts[:, 0], counts[:, -1]
        centers = np.linspace(-limit, limit, bins + 1)[:-1] + limit / bins
        spread = [float(np.sqrt((c * centers ** 2).sum() / max(c.sum(), 1))) for c in (first, last)]
        self.note.setText(f"{layer} {kind}: RMS {spread[0]:.3g} after epoch 1, {spread[1]:.3g} after epoch "
                          f"{len(self.history)} (log-scaled counts; values outside ±{limit:.3g} sit in the edge bins).")
