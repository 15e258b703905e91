"""After-run views: the confusion matrix, the gallery of misclassified validation images, image grids."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)

from visionlab.core.i18n import _
from visionlab.core.training.augment import mosaic
from visionlab.core.training.trainer import Finished
from visionlab.qt.common.layouts import column_layout


def to_pixmap(rgb: np.ndarray, scale: int = 1) -> QPixmap:
    """An (H, W, 3) uint8 array as a pixmap, enlarged without smoothing so small images stay crisp."""
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()
    if scale > 1:
        image = image.scaled(rgb.shape[1] * scale, rgb.shape[0] * scale, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.FastTransformation)
    return QPixmap.fromImage(image)


NAME_CHARS = 20  # class names longer than this are cut (image-folder names can be long)


def short_name(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"


class ConfusionView(QWidget):
    """Rows are the true class, columns the predicted one; each cell shows its count.

    The caption above the matrix (a wrapping label, not the plot's title, whose width would set the plot's
    minimum and clip it in a narrow window) says which images and weights, and the diagonal's share.
    Columns are labelled by name when the names fit under their cells, else by number (the rows then carry
    "number name"); re-checked on every resize.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self)
        self.caption = QLabel(_("The confusion matrix of the validation set appears when a run ends."))
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.plot = pg.PlotWidget(background="w")
        layout.addWidget(self.plot, 1)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("CET-L12").getLookupTable(nPts=256))
        self.plot.addItem(self.image)
        view = self.plot.getViewBox()
        view.invertY(True)
        view.setAspectLocked(True)
        view.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("left", _("true class"))
        self.plot.setLabel("bottom", _("predicted class"))
        self._labels: list[pg.TextItem] = []
        self.matrix: list[list[int]] = []
        self.class_names: list[str] = []
        self.columns_by_number = False
        self._caption = ""
        view.sigResized.connect(self._label_axes)

    def show_matrix(self, matrix: list[list[int]], class_names: list[str], weights_epoch: int | None = None,
                    restored: bool = False) -> None:
        """`weights_epoch` / `restored`: Finished's, for the caption (None: the caption names no epoch)."""
        self.matrix, self.class_names = matrix, list(class_names)
        for label in self._labels:
            self.plot.removeItem(label)
        self._labels = []
        counts = np.asarray(matrix, float)
        if counts.size == 0:
            self.image.clear()
            self.caption.setText(_("No confusion matrix: the run ended before its weights could be evaluated."))
            return
        # Row-normalized colors: each true class is judged by its own share of right answers.
        shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
        self.image.setImage(shares, autoLevels=False, levels=(0, 1))
        total, right = int(counts.sum()), int(np.trace(counts))
        if weights_epoch is None:
            caption = _("Validation set ({total} images): {right} on the diagonal ({share:.1%} right). Rows: true "
                        "class; columns: predicted; colour: share of the row.")
        elif restored:
            caption = _("Validation set ({total} images), the weights of epoch {epoch} (lowest validation loss, "
                        "restored): {right} on the diagonal ({share:.1%} right). Rows: true class; columns: "
                        "predicted; colour: share of the row.")
        else:
            caption = _("Validation set ({total} images), the weights of epoch {epoch}: {right} on the diagonal "
                        "({share:.1%} right). Rows: true class; columns: predicted; colour: share of the row.")
        self._caption = caption.format(total=total, epoch=weights_epoch, right=right, share=right / max(total, 1))
        n = len(matrix)
        if n <= 12:
            for row in range(n):
                for col in range(n):
                    text = pg.TextItem(str(int(counts[row, col])), anchor=(0.5, 0.5),
                                       color="w" if shares[row, col] > 0.5 else (40, 40, 40))
                    text.setPos(col + 0.5, row + 0.5)
                    self.plot.addItem(text)
                    self._labels.append(text)
        self.plot.getViewBox().setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
        self._label_axes()

    def _label_axes(self, *_args) -> None:
        n = len(self.class_names)
        if not n or not self.matrix:
            return
        names = [short_name(name) for name in self.class_names]
        bottom = self.plot.getAxis("bottom")
        metrics = QFontMetrics(bottom.style.get("tickFont") or self.plot.font())
        cell = self.plot.getViewBox().width() / n
        self.columns_by_number = max(metrics.horizontalAdvance(name) for name in names) > cell - 6
        if self.columns_by_number:
            bottom.setTicks([[(i + 0.5, str(i)) for i in range(n)]])
            self.plot.getAxis("left").setTicks([[(i + 0.5, f"{name} {i}") for i, name in enumerate(names)]])
        else:
            bottom.setTicks([[(i + 0.5, name) for i, name in enumerate(names)]])
            self.plot.getAxis("left").setTicks([[(i + 0.5, name) for i, name in enumerate(names)]])
        numbered = " " + _("Columns are numbered like the rows: the names do not fit under them.")
        self.caption.setText(self._caption + (numbered if self.columns_by_number else ""))


class MistakesGallery(QListWidget):
    """Misclassified validation images, most confident mistakes first, with true and predicted labels.

    The grid is sized to the longest caption, so no caption is elided: the predicted class is the point.
    """

    ICON = 56
    MAX_TEXT_WIDTH = 220  # a longer name wraps onto another line instead of widening every cell
    CELL_GAP = 8  # pixels between neighbouring cells

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(self.ICON, self.ICON))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.setToolTip(_("The most confident mistakes first: true class, → the class the model predicted, and "
                          "the probability it gave that class."))

    def show_mistakes(self, mistakes: list[dict], class_names: list[str]) -> None:
        self.clear()
        # Three short lines keep the cells narrow: two or more columns even in a narrow pane.
        captions = [_("true {true}\n→ {predicted}\n{confidence:.0%} sure").format(
            true=short_name(class_names[m["true"]]), predicted=short_name(class_names[m["predicted"]]),
            confidence=m["confidence"]) for m in mistakes]
        for mistake, caption in zip(mistakes, captions, strict=True):
            picture = mosaic(mistake["image"].unsqueeze(0), columns=1, gap=0)
            scale = max(self.ICON // picture.shape[0], 1)
            item = QListWidgetItem(QIcon(to_pixmap(picture, scale)), caption)
            item.setToolTip(_("true class {true}, predicted {predicted} with probability {confidence:.1%}").format(
                true=class_names[mistake["true"]], predicted=class_names[mistake["predicted"]],
                confidence=mistake["confidence"]))
            self.addItem(item)
        if not mistakes:
            self.addItem(QListWidgetItem(_("no mistakes on the validation set")))
        self._fit_grid()

    def _fit_grid(self) -> None:
        """Cells as wide as the longest caption line (capped) and as tall as Qt's own layout of the tallest
        item at that width: a fixed grid smaller than an item makes Qt elide its caption."""
        metrics = self.fontMetrics()
        lines = [line for row in range(self.count()) for line in self.item(row).text().split("\n")]
        widest = max((metrics.horizontalAdvance(line) for line in lines), default=self.ICON)
        margin = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1)
        width = max(self.ICON, min(widest, self.MAX_TEXT_WIDTH)) + margin + self.CELL_GAP
        self.setGridSize(QSize(width, 10_000))  # the option's rect takes the grid: text wraps at this width
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        delegate = self.itemDelegate()
        needed = [delegate.sizeHint(option, self.indexFromItem(self.item(row))) for row in range(self.count())]
        width = max([width] + [size.width() + self.CELL_GAP for size in needed])
        height = max([self.ICON] + [size.height() for size in needed]) + self.CELL_GAP
        self.setGridSize(QSize(width, height))


class ResultsPage(QSplitter):
    """The Confusion & mistakes tab: a finished run's matrix and gallery, drawn when the page is first seen
    after the run ends (nothing paints unseen; a run that ends while another tab is shown costs nothing)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.confusion = ConfusionView()
        self.mistakes = MistakesGallery()
        self.addWidget(self.confusion)
        self.addWidget(self.mistakes)
        self.setSizes([500, 400])
        self._finished: Finished | None = None
        self._class_names: list[str] = []
        self._drawn = False

    def set_result(self, finished: Finished, class_names: list[str]) -> None:
        self._finished, self._class_names, self._drawn = finished, list(class_names), False
        self._draw_if_seen()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._draw_if_seen()

    def _draw_if_seen(self) -> None:
        if self._finished is None or self._drawn or not self.isVisible():
            return
        self._drawn = True
        finished = self._finished
        self.confusion.show_matrix(finished.confusion, self._class_names, finished.weights_epoch, finished.restored)
        self.mistakes.show_mistakes(finished.mistakes, self._class_names)


class ImageGrid(QLabel):
    """A grid of images (the augmentation preview), scaled to fit the label."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(120, 120)
        self._pixmap: QPixmap | None = None

    def show_images(self, rgb: np.ndarray) -> None:
        self._pixmap = to_pixmap(rgb)
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._pixmap is not None:
            self.setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.FastTransformation))
