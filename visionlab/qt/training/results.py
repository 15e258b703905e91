"""After-run views: the confusion matrix, the gallery of misclassified validation images, image grids."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QSizePolicy

from visionlab.core.training.augment import mosaic


def to_pixmap(rgb: np.ndarray, scale: int = 1) -> QPixmap:
    """An (H, W, 3) uint8 array as a pixmap, enlarged without smoothing so small images stay crisp."""
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()
    if scale > 1:
        image = image.scaled(rgb.shape[1] * scale, rgb.shape[0] * scale, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.FastTransformation)
    return QPixmap.fromImage(image)


class ConfusionView(pg.PlotWidget):
    """Rows are the true class, columns the predicted one; each cell shows its count."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.setTitle("confusion matrix (validation, best weights)")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("CET-L12").getLookupTable(nPts=256))
        self.addItem(self.image)
        self.getViewBox().invertY(True)
        self.getViewBox().setAspectLocked(True)
        self.setLabel("left", "true class")
        self.setLabel("bottom", "predicted class")
        self._labels: list[pg.TextItem] = []
        self.matrix: list[list[int]] = []

    def show_matrix(self, matrix: list[list[int]], class_names: list[str]) -> None:
        self.matrix = matrix
        for label in self._labels:
            self.removeItem(label)
        self._labels = []
        counts = np.asarray(matrix, float)
        if counts.size == 0:
            self.image.clear()
            return
        # Row-normalized colors: each true class is judged by its own share of right answers.
        shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
        self.image.setImage(shares, autoLevels=False, levels=(0, 1))
        n = len(matrix)
        ticks = [(i + 0.5, class_names[i][:10]) for i in range(n)]
        for axis in ("left", "bottom"):
            self.getAxis(axis).setTicks([ticks])
        if n <= 12:
            for row in range(n):
                for col in range(n):
                    text = pg.TextItem(str(int(counts[row, col])), anchor=(0.5, 0.5),
                                       color="w" if shares[row, col] > 0.5 else (40, 40, 40))
                    text.setPos(col + 0.5, row + 0.5)
                    self.addItem(text)
                    self._labels.append(text)
        self.autoRange()


class MistakesGallery(QListWidget):
    """Misclassified validation images, most confident mistakes first, with true and predicted labels."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(56, 56))
        self.setGridSize(QSize(112, 92))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)

    def show_mistakes(self, mistakes: list[dict], class_names: list[str]) -> None:
        self.clear()
        for mistake in mistakes:
            picture = mosaic(mistake["image"].unsqueeze(0), columns=1, gap=0)
            scale = max(56 // picture.shape[0], 1)
            item = QListWidgetItem(QIcon(to_pixmap(picture, scale)),
                                   f"true {class_names[mistake['true']]}\n→ {class_names[mistake['predicted']]} "
                                   f"({mistake['confidence']:.0%})")
            self.addItem(item)
        if not mistakes:
            self.addItem(QListWidgetItem("no mistakes on the validation set"))


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
