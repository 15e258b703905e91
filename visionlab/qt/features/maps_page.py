"""The centre pages: "Feature maps" (all channels as a grid, display options, hover value, zoom; a layer
whose output is a vector, one value per channel, as bars) and "Kernels".

It owns the display state (sorting, normalization, colormap, the zoomed channel) and re-renders the
mosaic from the activation it was given; the panel only hands it a new activation and listens for the
pixel the student clicked, to outline that pixel's receptive field on the input.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
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
from visionlab.core.i18n import N_, _
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.features.maps import COLORMAPS, ChannelView, InputView, MapsGrid, lookup_table

# Marked here, translated where shown; the label remembers which hint it shows (`_hint`), since its text is
# in the language of the moment it was set.
HOVER_HINT = N_("hover a map: channel, pixel, value · click: receptive field · double-click: zoom")
VECTOR_HINT = N_("hover a bar: its index and value (one value per channel or unit: no maps, no receptive field to "
                 "click)")
MAP_TOOLS_OFF = N_("a vector layer has no maps to sort or scale: the bars show its values as they are")
COLORMAP_TITLES = {"grey": N_("grey")}  # the others are names (viridis, inferno, CET-D1)


class MapsPage(QWidget):
    pixel_clicked = Signal(int, int, int)   # channel, y, x

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.activation: np.ndarray | None = None
        self.layer = ""
        self.channel: int | None = None
        self.sort_box = QCheckBox(_("Sort by mean"))
        self.normalization = QComboBox()
        self.normalization.addItems([_("per-map scale"), _("shared scale")])
        self.normalization.setToolTip(_("Per map: each channel's own pattern. Shared: channels comparable, a dead "
                                        "channel looks dead."))
        self.colormap = QComboBox()
        for name in COLORMAPS:  # the item data is the colormap's name; the text may be translated
            title = COLORMAP_TITLES.get(name, name)
            self.colormap.addItem(_(title), name)
        for signal in (self.sort_box.toggled, self.normalization.currentIndexChanged,
                       self.colormap.currentIndexChanged):
            signal.connect(lambda *_: self.redraw())
        self.hover_label = QLabel(_(HOVER_HINT))
        self._hint: str | None = HOVER_HINT  # the hint the hover label shows, or None for a reading
        self.hover_label.setWordWrap(True)
        self.grid = MapsGrid()
        self.grid.map_hovered.connect(self._on_hover)
        self.grid.map_clicked.connect(self._on_clicked)
        self.grid.map_double_clicked.connect(lambda channel, y, x: self.zoom_channel(channel))
        self.channel_view = ChannelView()
        self.channel_view.pixel_hovered.connect(lambda y, x: self._on_hover(self.channel, y, x))
        self.channel_view.pixel_clicked.connect(lambda y, x: self._on_clicked(self.channel, y, x))
        back = QPushButton(_("← all channels"))
        back.clicked.connect(lambda: self.stack.setCurrentIndex(0))
        self.zoom_caption = QLabel()
        zoom_page = QWidget()
        zoom_layout = column_layout(zoom_page)
        zoom_bar = QHBoxLayout()
        zoom_bar.addWidget(back)
        zoom_bar.addWidget(self.zoom_caption, 1)
        zoom_layout.addLayout(zoom_bar)
        zoom_layout.addWidget(self.channel_view, 1)
        self.bars = pg.PlotWidget()
        self.bars.setMenuEnabled(False)
        self.bars.setMouseEnabled(x=False, y=False)
        self.bars.setLabel("left", _("value"))
        self.bars.getAxis("left").enableAutoSIPrefix(False)  # "value (x0.001)" read as a wrong unit
        self.bars.setLabel("bottom", _("channel / unit"))
        self.bars.scene().sigMouseMoved.connect(self._on_bar_hover)
        self.vector_caption = QLabel()
        self.vector_caption.setWordWrap(True)
        vector_page = QWidget()
        vector_layout = column_layout(vector_page)
        vector_layout.addWidget(self.vector_caption)
        vector_layout.addWidget(self.bars, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(zoom_page)
        self.stack.addWidget(vector_page)
        tools = QHBoxLayout()
        for widget in (self.sort_box, self.normalization, self.colormap):
            tools.addWidget(widget)
        tools.addStretch(1)
        layout = column_layout(self)
        layout.addLayout(tools)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.hover_label)

    def show_activation(self, activation: np.ndarray, layer: str, caption: str = "") -> None:
        """A new (C, H, W) activation, or a vector ((N,) or (C, 1, 1)) drawn as bars with `caption`.

        A zoomed channel stays zoomed while the layer stays the same; a new layer clears the hover value.
        """
        if layer != self.layer:
            self.channel = None
            self.stack.setCurrentIndex(0)
            self._set_hint(HOVER_HINT)
        self.activation, self.layer = activation, layer
        self.vector_caption.setText(caption)
        self.redraw()

    def clear(self) -> None:
        """Nothing shown (a new model is opening): never the previous model's maps."""
        self.activation, self.layer, self.channel = None, "", None
        self.grid.image_item.clear()
        self.grid.mosaic = None
        self.grid.marker.hide()
        self.bars.clear()
        self.stack.setCurrentIndex(0)
        self._set_hint(HOVER_HINT)

    @property
    def is_vector(self) -> bool:
        return self.activation is not None and (self.activation.ndim == 1 or self.activation.shape[1:] == (1, 1))

    def vector(self) -> np.ndarray:
        return np.asarray(self.activation).reshape(-1)

    def redraw(self) -> None:
        if self.activation is None:
            return
        self._map_tools_for(self.is_vector)
        if self.is_vector:  # 512 identical dots under per-map scaling say nothing: bars show the values
            values = self.vector()
            self.bars.clear()
            self.bars.addItem(pg.BarGraphItem(x=np.arange(len(values)), height=values, width=0.9,
                                              brush=(90, 160, 230)))
            self.stack.setCurrentIndex(2)
            return
        if self.stack.currentIndex() == 2:
            self.stack.setCurrentIndex(0)
        mosaic = build_mosaic(self.activation, per_map=self.normalization.currentIndex() == 0,
                              by_mean=self.sort_box.isChecked())
        self.grid.show_mosaic(mosaic, lookup_table(self.colormap.currentData()))
        if self.channel is not None:
            self._show_channel(self.channel)

    def _map_tools_for(self, vector: bool) -> None:
        """Sort and per-map scale act on maps: off (with the reason) while a vector's bars are shown."""
        for widget in (self.sort_box, self.normalization):
            widget.setEnabled(not vector)
        self.sort_box.setToolTip(_(MAP_TOOLS_OFF) if vector else _("order the channels by their mean activation"))
        if vector and self._hint == HOVER_HINT:
            self._set_hint(VECTOR_HINT)
        elif not vector and self._hint == VECTOR_HINT:
            self._set_hint(HOVER_HINT)

    def _set_hint(self, hint: str) -> None:
        self._hint = hint
        self.hover_label.setText(_(hint))

    def zoom_channel(self, channel: int) -> None:
        """Show one channel large; "← all channels" goes back to the grid."""
        if self.activation is None:
            return
        self.channel = channel
        self._show_channel(channel)
        self.zoom_caption.setText(_("{layer}, channel {channel}: click a pixel to outline its receptive field").format(
            layer=self.layer, channel=channel))
        self.stack.setCurrentIndex(1)

    def _show_channel(self, channel: int) -> None:
        data = self.activation[channel]
        low, high = float(data.min()), float(data.max())
        self.channel_view.show_array(data, levels=(low, high if high > low else low + 1),
                                     lut=lookup_table(self.colormap.currentData()))

    def _on_bar_hover(self, scene_pos) -> None:
        if not self.is_vector or not self.bars.sceneBoundingRect().contains(scene_pos):
            return
        index = int(round(self.bars.getPlotItem().vb.mapSceneToView(scene_pos).x()))
        values = self.vector()
        if 0 <= index < len(values):
            self._hint = None
            self.hover_label.setText(f"{self.layer}[{index}]: {float(values[index]):.4g}")

    def _on_hover(self, channel: int | None, y: int, x: int) -> None:
        if self.activation is None or channel is None or self.is_vector:
            return
        value = float(self.activation[channel, y, x])
        self._hint = None
        self.hover_label.setText(_("channel {channel}, pixel ({y}, {x}): {value:.4g}").format(
            channel=channel, y=y, x=x, value=value))

    def _on_clicked(self, channel: int | None, y: int, x: int) -> None:
        if channel is None:
            return
        self.channel = channel
        self.pixel_clicked.emit(channel, y, x)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("colormap", self.colormap.currentData())
        settings.setValue("normalization", self.normalization.currentIndex())
        settings.setValue("sort_by_mean", self.sort_box.isChecked())

    def restore_settings(self, settings: QSettings) -> None:
        index = self.colormap.findData(str(settings.value("colormap", "")))
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

    def clear(self) -> None:
        self.view.image_item.clear()
        self.caption.setText("")

    def show_view(self, view) -> None:
        """Draw a LayerView's kernel picture (or say the layer has none)."""
        if view.kernels is None:
            self.view.image_item.clear()
            self.caption.setText(_("{layer} has no kernels (not a conv layer)").format(layer=view.layer))
            return
        self.view.show_image(view.kernels)
        count = view.kernel_count
        if view.kernels_are_rgb:
            caption = _("{layer}: all {count} RGB kernels (the first layer sees colour); mid-grey = 0")
        elif count <= KERNELS_SHOWN:
            caption = _("{layer}: all {count} kernels as grey grids (mean over the input channels); mid-grey = 0")
        else:
            caption = _("{layer}: first {shown} of {count} kernels as grey grids (mean over the input channels); "
                        "mid-grey = 0")
        self.caption.setText(caption.format(layer=view.layer, count=count, shown=KERNELS_SHOWN))
