"""The "Convolutionalized" tab: the opened classifier, its Linear layers made convolutions, slid over a
larger copy of the current picture (the first step of FCN).

Left: that picture with one class's probability per cell laid over it, each cell drawn at the centre of the
window it scores. Right: the most probable class of each cell. Below: the map's size, the total stride and the
checks, in sentences the core job builds from its measurements. The job is one of the panel's (exclusive)
JobRunner's, like every other forward pass of the viewer; it runs only while the tab is shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QScrollArea, QSpinBox, QWidget

from visionlab.core.features.models import LoadedModel
from visionlab.core.features.score_map import ScoreMap, score_map
from visionlab.core.i18n import _
from visionlab.qt.common.jobs import JobRunner
from visionlab.qt.common.layouts import column_layout, row_layout
from visionlab.qt.features.maps import lookup_table

CLASSES_LISTED = 10  # the class picker lists the classes that score highest somewhere in the map
CELL_LABELS_UP_TO = 64  # cells; beyond that the numbers would overlap: the legend alone names the colours
PALETTE = [pg.intColor(index, hues=10, values=1, maxValue=230).getRgb()[:3] for index in range(10)]


def _box(widget: pg.GraphicsLayoutWidget, title: str) -> pg.ViewBox:
    widget.addLabel(title, row=0, col=widget.ci.layout.columnCount())
    view = widget.addViewBox(row=1, col=widget.ci.layout.columnCount() - 1, lockAspect=True, invertY=True)
    view.setMouseEnabled(False, False)
    return view


class ConvolutionalizedView(QWidget):

    def __init__(self, jobs: JobRunner, live_running: Callable[[], bool], parent=None) -> None:
        super().__init__(parent)
        self.jobs, self._live_running = jobs, live_running
        self.loaded: LoadedModel | None = None
        self.image: np.ndarray | None = None
        self.result: ScoreMap | None = None
        self._stale = False
        self._asked: tuple | None = None  # (model, picture, cells) of the newest request sent to the job
        self.cells = QSpinBox()
        self.cells.setRange(1, 10)
        self.cells.setValue(6)
        self.cells.setToolTip(_("How many windows of the classifier's input fit across the enlarged picture."))
        self.cells.valueChanged.connect(lambda _value: self._request())
        self.class_box = QComboBox()
        self.class_box.setToolTip(_("The class whose probability per cell colours the picture."))
        self.class_box.currentIndexChanged.connect(lambda _index: self._draw())
        controls = QWidget()
        row = row_layout(controls)
        for widget, stretch in ((QLabel(_("Windows across:")), 0), (self.cells, 0), (QLabel(_("Heatmap of:")), 0),
                                (self.class_box, 1)):
            row.addWidget(widget, stretch)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.picture_box = _box(self.plots, _("P(class) per cell, on the picture"))
        self.best_box = _box(self.plots, _("most probable class per cell"))
        self.picture_item, self.heat_item, self.best_item = (pg.ImageItem(axisOrder="row-major") for _item in range(3))
        self.heat_item.setOpacity(0.55)
        self.heat_item.setLookupTable(lookup_table("inferno"))
        self.picture_box.addItem(self.picture_item)
        self.picture_box.addItem(self.heat_item)
        self.best_box.addItem(self.best_item)
        self._cell_labels: list[pg.TextItem] = []
        self.text = QLabel(_("Open a classifier and a picture: its score map appears here."))
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidget(self.text)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = column_layout(self)
        layout.addWidget(controls)
        layout.addWidget(self.plots, 3)
        layout.addWidget(scroll, 2)

    def show_input(self, loaded: LoadedModel | None, image: np.ndarray | None) -> None:
        """The panel's current model and picture; computed now if the tab is shown, else when it is."""
        if loaded is not self.loaded:
            self.result = None
            self._clear(_("computing the score map…"))
        self.loaded, self.image, self._stale = loaded, image, True
        if self.isVisible():
            self._request()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._request()

    def _request(self) -> None:
        if self.loaded is None or self.image is None:
            return
        if self._live_running():  # the live stream owns the model's forward passes
            self.text.setText(_("Paused while the live stream runs: take a snapshot to compute the score map."))
            return
        self._stale = False
        asked = (self.loaded, self.image, self.cells.value())
        # Queued jobs (replace=False) finish after newer requests: only the answer to the newest one is drawn.
        self._asked = asked
        self.jobs.start("convolutionalized", score_map, *asked,
                        on_done=lambda result: self._on_result(result) if self._asked is asked else None,
                        on_error=lambda message: self._on_failed(message) if self._asked is asked else None,
                        replace=False)

    def _on_failed(self, message: str) -> None:
        self._clear(html.escape(_("No score map: {reason}").format(reason=message)))
        self.plots.hide()  # two titles over an empty white area would look like a picture that failed to draw

    def _clear(self, text: str) -> None:
        for item in (self.picture_item, self.heat_item, self.best_item):
            item.clear()
        self._set_cell_labels([])
        self.text.setText(text)

    def _on_result(self, result: ScoreMap) -> None:
        self.result = result
        self.plots.show()
        kept = self.class_box.currentData()
        peak = result.probabilities.reshape(len(result.probabilities), -1).max(axis=1)
        listed = [int(i) for i in np.argsort(-peak)[:CLASSES_LISTED]]
        best_overall = int(np.bincount(result.best.ravel()).argmax())  # the class most cells pick
        listed = [best_overall] + [index for index in listed if index != best_overall]
        self.class_box.blockSignals(True)
        self.class_box.clear()
        for index in listed:
            self.class_box.addItem(result.label(index), index)
        position = self.class_box.findData(kept)
        self.class_box.setCurrentIndex(position if position >= 0 else 0)
        self.class_box.blockSignals(False)
        self._draw()

    def _draw(self) -> None:
        result = self.result
        if result is None or self.class_box.currentData() is None:
            return
        chosen = int(self.class_box.currentData())
        rows, cols = result.best.shape
        (win_h, win_w), stride = result.window, result.stride
        self.picture_item.setImage(result.picture, autoLevels=False, levels=(0, 255))
        heat = result.probabilities[chosen]
        self.heat_item.setImage(heat, autoLevels=False, levels=(0.0, max(float(heat.max()), 1e-6)))
        # Cell (r, c) scores the window whose top-left is (r·S, c·S): drawn S wide around that window's centre.
        self.heat_item.setRect(QRectF(win_w / 2 - stride / 2, win_h / 2 - stride / 2, cols * stride, rows * stride))
        present = [int(i) for i in np.unique(result.best)]
        colours = np.array([PALETTE[present.index(int(v)) % len(PALETTE)] for v in result.best.ravel()],
                           dtype=np.uint8).reshape(rows, cols, 3)
        self.best_item.setImage(colours, autoLevels=False, levels=(0, 255))
        self.best_box.autoRange(padding=0.02)
        self.picture_box.autoRange(padding=0.02)
        # Cells carry the legend's number: class names are wider than a cell.
        numbers = [[str(present.index(int(index)) + 1) for index in cells] for cells in result.best]
        labels = [] if rows * cols > CELL_LABELS_UP_TO else [
            (row, col, numbers[row][col]) for row in range(rows) for col in range(cols)]
        self._set_cell_labels(labels)
        legend = ", ".join(f"<span style='color: rgb{PALETTE[k % len(PALETTE)]}'>■</span> {k + 1} " + html.escape(
            _("{label} ({count} cells)").format(label=result.label(index), count=int((result.best == index).sum())))
            for k, index in enumerate(present[:len(PALETTE)]))
        heat_line = html.escape(_("Heatmap: P({label}) from {low:.3g} to {high:.3g} across the cells (colour scale 0 "
                                  "to its maximum).").format(label=result.label(chosen), low=heat.min(),
                                                             high=heat.max()))
        # The legend is HTML (coloured squares): the sentence around it is escaped, the field filled after.
        classes = (_("Classes in the right map: {legend}, and {count} more classes.") if len(present) > len(PALETTE)
                   else _("Classes in the right map: {legend}."))
        classes_line = html.escape(classes).format(legend=legend, count=len(present) - len(PALETTE))
        self.text.setText("<br>".join([html.escape(line) for line in result.sentences()] + [heat_line, classes_line]))

    def _set_cell_labels(self, labels: list[tuple[int, int, str]]) -> None:
        for item in self._cell_labels:
            self.best_box.removeItem(item)
        self._cell_labels = []
        for row, col, name in labels:
            item = pg.TextItem(name, color=(0, 0, 0), anchor=(0.5, 0.5))
            item.setPos(col + 0.5, row + 0.5)
            self.best_box.addItem(item)
            self._cell_labels.append(item)
