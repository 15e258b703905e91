"""The picture of the Live Camera panel: one pyqtgraph ImageItem, aspect locked, clicks in image pixels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal


class CameraView(pg.GraphicsLayoutWidget):
    """Shows RGB frames; `clicked(x, y)` gives image pixel coordinates (used by the "inside" views)."""

    clicked = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202124")
        self.view_box = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.setMouseEnabled(False, False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self.scene().sigMouseClicked.connect(self._on_click)
        self._shape: tuple[int, ...] | None = None

    def set_image(self, image_rgb: np.ndarray) -> None:
        # autoLevels=False with fixed uint8 levels: no per-frame min/max scan, no flicker.
        self.image_item.setImage(image_rgb, autoLevels=False, levels=(0, 255))
        if image_rgb.shape != self._shape:
            self._shape = image_rgb.shape
            self.view_box.autoRange(padding=0)

    def _on_click(self, event) -> None:
        if self._shape is None:
            return
        point = self.image_item.mapFromScene(event.scenePos())
        if 0 <= point.x() < self._shape[1] and 0 <= point.y() < self._shape[0]:
            self.clicked.emit(point.x(), point.y())
