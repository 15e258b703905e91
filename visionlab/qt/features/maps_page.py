"""The centre pages: "Feature maps" (all channels as a grid, display options, hover value, zoom) and
"Kernels".

It owns the display state (sorting, normalization, colormap, the zoomed channel) and re-renders the
mosaic from the activation it was given; the panel only hands it a new activation and listens for the
pixel the student clicked, to outline that pixel's receptive field on the input.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from visionlab.core.features.maps import KERNELS_SHOWN, build_mosaic
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.features.maps import COLORMAPS, ChannelView, InputView, MapsGrid, lookup_table

HOVER_HINT = "hover a map: channel, pixel, value · click: receptive field · double-click: zoom"


class MapsPage(QWidget):
    pixel_clicked = Signal(int, int, int)   # channel, y, x

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.activation: np.ndarray | None = None
        self.layer = ""
        self.channel: int | None = None
        self.sort_box = QCheckBox("Sort by mean")
        self.normalization = QComboBox()
        self.normalization.addItems(["per-map scale", "shared scale"])
        self.normalization.setToolTip("Per map: each channel's own pattern. Shared: channels comparable, a dead "
                                      "channel looks dead.")
        self.colormap = QComboBox()
        self.colormap.addItems(COLORMAPS)
        for signal in (self.sort_box.toggled, self.normalization.currentIndexChanged,
                       self.colormap.currentIndexChanged):
            signal.connect(lambda *_: self.redraw())
        self.hover_label = QLabel(HOVER_HINT)
        self.hover_label.setWordWrap(True)
        self.grid = MapsGrid()
        self.grid.map_hovered.connect(self._on_hover)
        self.grid.map_clicked.connect(self._on_clicked)
        self.grid.map_double_clicked.connect(lambda channel, y, x: self.zoom_channel(channel))
        self.channel_view = ChannelView()
        self.channel_view.pixel_hovered.connect(lambda y, x: self._on_hover(self.channel, y, x))
        self.channel_view.pixel_clicked.connect(lambda y, x: self._on_clicked(self.channel, y, x))
        back = QPushButton("← all channels")
        back.clicked.connect(lambda: self.stack.setCurrentIndex(0))
        self.zoom_caption = QLabel()
        zoom_page = QWidget()
        zoom_layout = column_layout(zoom_page)
        zoom_bar = QHBoxLayout()
        zoom_bar.addWidget(back)
        zoom_bar.addWidget(self.zoom_caption, 1)
        zoom_layout.addLayout(zoom_bar)
        zoom_layout.addWidget(self.channel_view, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(zoom_page)
        tools = QHBoxLayout()
        for widget in (self.sort_box, self.normalization, self.colormap):
            tools.addWidget(widget)
        tools.addStretch(1)
        layout = column_layout(self)
        layout.addLayout(tools)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.hover_label)

    def show_activation(self, activation: np.ndarray, layer: str) -> None:
        """A new (C, H, W) activation; a zoomed channel stays zoomed while the layer stays the same."""
        if layer != self.layer:
            self.channel = None
            self.stack.setCurrentIndex(0)
        self.activation, self.layer = activation, layer
        self.redraw()

    def redraw(self) -> None:
        if self.activation is None:
            return
        mosaic = build_mosaic(self.activation, per_map=self.normalization.currentIndex() == 0,
                              by_mean=self.sort_box.isChecked())
        self.grid.show_mosaic(mosaic, lookup_table(self.colormap.currentText()))
        if self.channel is not None:
            self._show_channel(self.channel)

    def zoom_channel(self, channel: int) -> None:
        """Show one channel large; "← all channels" goes back to the grid."""
        if self.activation is None:
            return
        self.channel = channel
        self._show_channel(channel)
        self.zoom_caption.setText(f"{self.layer}, channel {channel}: click a pixel to outline its receptive field")
        self.stack.setCurrentIndex(1)

    def _show_channel(self, channel: int) -> None:
        data = self.activation[channel]
        low, high = float(data.min()), float(data.max())
        self.channel_view.show_array(data, levels=(low, high if high > low else low + 1),
                                     lut=lookup_table(self.colormap.currentText()))

    def _on_hover(self, channel: int | None, y: int, x: int) -> None:
        if self.activation is None or channel is None:
            return
        value = float(self.activation[channel, y, x])
        self.hover_label.setText(f"channel {channel}, pixel ({y}, {x}): {value:.4g}")

    def _on_clicked(self, channel: int | None, y: int, x: int) -> None:
        if channel is None:
            return
        self.channel = channel
        self.pixel_clicked.emit(channel, y, x)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("colormap", self.colormap.currentText())
        settings.setValue("normalization", self.normalization.currentIndex())
        settings.setValue("sort_by_mean", self.sort_box.isChecked())

    def restore_settings(self, settings: QSettings) -> None:
        index = self.colormap.findText(str(settings.value("colormap", "")))
        if index >= 0:
            self.colormap.setCurrentIndex(index)
        self.normalization.setCurrentIndex(int(settings.value("normalization", 0) or 0) % 2)
        self.sort_box.setChecked(str(settings.value("sort_by_mean", "false")).lower() == "true")


class KernelsPage(QWidget):
    """The selected conv layer's kernels: RGB pictures for the first layer, grey grids deeper."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.view = InputView()
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    def show_view(self, view) -> None:
        """Draw a LayerView's kernel picture (or say the layer has none)."""
        if view.kernels is None:
            self.view.image_item.clear()
            self.caption.setText(f"{view.layer} has no kernels (not a conv layer)")
            return
        self.view.show_image(view.kernels)
        kind = "RGB kernels (the first layer sees colour)" if view.kernels_are_rgb else \
            "kernels as grey grids (mean over the input channels)"
        count = view.kernel_count
        shown = f"all {count}" if count <= KERNELS_SHOWN or view.kernels_are_rgb else \
            f"first {KERNELS_SHOWN} of {count}"
        self.caption.setText(f"{view.layer}: {shown} {kind}; mid-grey = 0")
