"""Image views of the Feature-Map Viewer: the grid of all channels, one zoomed channel, and the input.

All three are pyqtgraph ViewBoxes holding one ImageItem each, with the row axis pointing down like an
image. Mouse positions are turned into (channel, y, x) by the core Mosaic, so the widgets stay thin.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from visionlab.core.features.maps import Mosaic

COLORMAPS = ("viridis", "inferno", "CET-D1", "grey")
GAP_COLOR = (40, 40, 40)


def lookup_table(name: str) -> np.ndarray:
    """A 256-entry RGB table; "grey" is black to white, "CET-D1" a diverging blue-white-red map."""
    if name == "grey":
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp] * 3, axis=1)
    return pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)


class _ImageBox(pg.GraphicsLayoutWidget):
    """A locked-aspect, y-down ViewBox with one ImageItem, reporting hover and click positions."""

    hovered_at = Signal(float, float)   # (row, col) in image pixels; negative when the mouse left
    clicked_at = Signal(float, float)
    double_clicked_at = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground((30, 30, 30))
        self.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image_item)
        self.scene().sigMouseMoved.connect(self._on_moved)
        self.scene().sigMouseClicked.connect(self._on_clicked)

    def show_array(self, image: np.ndarray, levels=None, lut: np.ndarray | None = None) -> None:
        self.image_item.setImage(image, autoLevels=False, levels=levels, lut=lut)
        self.view.setRange(QRectF(0, 0, image.shape[1], image.shape[0]), padding=0.01)

    def _to_pixel(self, scene_pos) -> tuple[float, float] | None:
        if self.image_item.image is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.image_item.mapFromScene(scene_pos)
        return point.y(), point.x()

    def _on_moved(self, scene_pos) -> None:
        pixel = self._to_pixel(scene_pos)
        self.hovered_at.emit(*(pixel if pixel else (-1.0, -1.0)))

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pixel = self._to_pixel(event.scenePos())
        if pixel is not None:
            (self.double_clicked_at if event.double() else self.clicked_at).emit(*pixel)


class MapsGrid(_ImageBox):
    """All channels of a layer as one mosaic; reports the channel and pixel under the mouse."""

    map_hovered = Signal(int, int, int)     # channel, y, x
    map_clicked = Signal(int, int, int)
    map_double_clicked = Signal(int, int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.mosaic: Mosaic | None = None
        self.marker = QGraphicsRectItem()
        self.marker.setPen(QPen(QColor(255, 60, 60), 0))
        self.marker.setZValue(10)
        self.marker.hide()
        self.view.addItem(self.marker)
        self.hovered_at.connect(self._hover)
        self.clicked_at.connect(self._click)
        self.double_clicked_at.connect(self._double_click)

    def show_mosaic(self, mosaic: Mosaic, lut: np.ndarray) -> None:
        self.mosaic = mosaic
        # Gaps are NaN in the mosaic; draw them as a fixed dark value below the colormap's range.
        image = np.nan_to_num(mosaic.image, nan=-0.04)
        lut = np.vstack([np.tile(np.array(GAP_COLOR, dtype=np.uint8), (10, 1)), lut])
        self.show_array(image, levels=(-0.04, 1.0), lut=lut)
        self.marker.hide()

    def mark(self, channel: int, y: int, x: int) -> None:
        if self.mosaic is None:
            return
        top, left = self.mosaic.cell_origin(channel)
        self.marker.setRect(QRectF(QPointF(left + x, top + y), QPointF(left + x + 1, top + y + 1)))
        self.marker.show()

    def _hover(self, row: float, col: float) -> None:
        where = self.mosaic.locate(row, col) if self.mosaic is not None else None
        if where is not None:
            self.map_hovered.emit(*where)

    def _double_click(self, row: float, col: float) -> None:
        where = self.mosaic.locate(row, col) if self.mosaic is not None else None
        if where is not None:
            self.map_double_clicked.emit(*where)

    def _click(self, row: float, col: float) -> None:
        where = self.mosaic.locate(row, col) if self.mosaic is not None else None
        if where is not None:
            self.mark(*where)
            self.map_clicked.emit(*where)


class ChannelView(_ImageBox):
    """One channel, large: hover gives its pixel, click outlines the receptive field."""

    pixel_hovered = Signal(int, int)
    pixel_clicked = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hovered_at.connect(lambda r, c: self._emit(self.pixel_hovered, r, c))
        self.clicked_at.connect(lambda r, c: self._emit(self.pixel_clicked, r, c))

    def _emit(self, signal, row: float, col: float) -> None:
        image = self.image_item.image
        if image is not None and 0 <= row < image.shape[0] and 0 <= col < image.shape[1]:
            signal.emit(int(row), int(col))


class InputView(_ImageBox):
    """The image as the network sees it, with the clicked pixel's receptive field and a Grad-CAM overlay."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cam_item = pg.ImageItem(axisOrder="row-major")
        self.cam_item.setOpacity(0.5)
        self.cam_item.setZValue(5)
        self.view.addItem(self.cam_item)
        self.field_box = QGraphicsRectItem()
        pen = QPen(QColor(255, 230, 0), 2)
        pen.setCosmetic(True)
        self.field_box.setPen(pen)
        self.field_box.setZValue(10)
        self.field_box.hide()
        self.view.addItem(self.field_box)

    def show_image(self, image: np.ndarray) -> None:
        self.show_array(image, levels=(0, 255))

    def show_cam(self, cam: np.ndarray | None) -> None:
        if cam is None:
            self.cam_item.clear()
            self.cam_item.hide()
            return
        self.cam_item.setImage(cam, autoLevels=False, levels=(0.0, 1.0), lut=lookup_table("inferno"))
        self.cam_item.show()

    def outline(self, top: float, left: float, height: float, width: float) -> None:
        """Outline a receptive field; it may reach past the border, into the padding."""
        self.field_box.setRect(QRectF(left, top, width, height))
        self.field_box.show()

    def clear_outline(self) -> None:
        self.field_box.hide()
