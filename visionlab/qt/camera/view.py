"""The picture of the Live Camera panel: one pyqtgraph ImageItem, aspect locked, fixed uint8 levels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg


class CameraView(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202124")
        self.view_box = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.setMouseEnabled(False, False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self._shape: tuple[int, ...] | None = None

    def set_image(self, image_rgb: np.ndarray) -> None:
        # autoLevels=False with fixed uint8 levels: no per-frame min/max scan, no flicker.
        self.image_item.setImage(image_rgb, autoLevels=False, levels=(0, 255))
        if image_rgb.shape != self._shape:  # a new source size: fit it once, not on every frame
            self._shape = image_rgb.shape
            self.view_box.autoRange(padding=0)
