"""The picture of the Live Camera panel: one pyqtgraph ImageItem, aspect locked, fixed uint8 levels.

`frame_painted(time)` fires when the item has really been painted (not when its image was set), so the
display rate and the latency the panel shows end where the student sees the frame.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal


class _PaintNotifier(QObject):
    painted = Signal(float)  # perf_counter() right after the paint


class PaintedImageItem(pg.ImageItem):
    """An ImageItem that says when it has been painted (pyqtgraph items are not QObjects with signals)."""

    def __init__(self, notifier: _PaintNotifier, **kwargs) -> None:
        super().__init__(**kwargs)
        self._notifier = notifier

    def paint(self, painter, *args) -> None:
        super().paint(painter, *args)
        self._notifier.painted.emit(time.perf_counter())


class CameraView(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#202124")
        self._notifier = _PaintNotifier(self)
        self.frame_painted = self._notifier.painted
        self.view_box = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.setMouseEnabled(False, False)
        self.image_item = PaintedImageItem(self._notifier, axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self._shape: tuple[int, ...] | None = None

    def set_image(self, image_rgb: np.ndarray) -> None:
        # autoLevels=False with fixed uint8 levels: no per-frame min/max scan, no flicker.
        self.image_item.setImage(image_rgb, autoLevels=False, levels=(0, 255))
        if image_rgb.shape != self._shape:  # a new source size: fit it once, not on every frame
            self._shape = image_rgb.shape
            self.view_box.autoRange(padding=0)
