"""Side widgets of the Feature-Map Viewer: the layer tree, the formula box and the top-5 / Grad-CAM box."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QWidget

from visionlab.core.features.arithmetic import conv_formulas
from visionlab.core.features.gradcam import Prediction
from visionlab.core.features.layers import NOTES_ALEXNET_SPLIT, LayerInfo, ModelSummary
from visionlab.qt.common import theme
from visionlab.qt.common.layouts import column_layout

NAME_ROLE = Qt.ItemDataRole.UserRole
NO_CAM = -1  # the class "index" of the combo's "overlay off" entry


def human(count: float) -> str:
    """12_345_678 → "12.3 M", 2_469_696 → "2.47 M" (three significant digits); small numbers stay exact."""
    for size, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(count) >= size:
            return f"{count / size:.3g}{suffix}"
    return f"{int(count)}"


def shape_text(shape: tuple[int, ...] | None) -> str:
    return "×".join(str(v) for v in shape) if shape else "—"


def field_text(layer: LayerInfo) -> str:
    if layer.field is None:
        return "—"
    if layer.field.is_global:
        return "whole image"
    return f"{layer.field.size[0]:g} / {layer.field.jump[0]:g}"


class LayerTree(QTreeWidget):
    """Modules as a tree: name (type), output shape, parameters, FLOPs, receptive field / effective stride."""

    layer_selected = Signal(str)

    COLUMNS = ("Layer", "Type", "Output", "RF / stride", "Params", "FLOPs")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(self.COLUMNS))
        self.setHeaderLabels(list(self.COLUMNS))
        self.setUniformRowHeights(True)
        for index in range(len(self.COLUMNS)):
            self.header().setSectionResizeMode(index, QHeaderView.ResizeMode.ResizeToContents)
        self.setIndentation(12)
        self.setToolTip("Receptive field (input pixels one output pixel sees) / effective stride")
        self._items: dict[str, QTreeWidgetItem] = {}
        self.currentItemChanged.connect(self._on_current)

    def show_summary(self, summary: ModelSummary) -> None:
        self.blockSignals(True)
        self.clear()
        self._items = {}
        for layer in summary.layers[1:]:  # the model itself is the totals line
            parent_name = layer.name.rpartition(".")[0]
            parent = self._items.get(parent_name, self.invisibleRootItem())
            item = QTreeWidgetItem(parent, [layer.name.rpartition(".")[2], layer.type_name,
                                            shape_text(layer.output_shape), field_text(layer), human(layer.params),
                                            human(layer.flops) if layer.flops else ""])
            item.setData(0, NAME_ROLE, layer.name)
            item.setToolTip(0, layer.name)
            if not layer.has_maps:
                item.setForeground(0, self.palette().placeholderText())
            self._items[layer.name] = item
        self.blockSignals(False)

    def select(self, name: str) -> None:
        item = self._items.get(name)
        if item is None:
            return
        if item is self.currentItem():  # Qt makes the first row current while filling: no change signal
            self.layer_selected.emit(name)
        else:
            self.setCurrentItem(item)
        self.scrollToItem(item)

    def _on_current(self, current: QTreeWidgetItem | None, _previous) -> None:
        if current is not None:
            self.layer_selected.emit(str(current.data(0, NAME_ROLE)))


def totals_html(summary: ModelSummary, model_name: str) -> str:
    lines = [f"<b>{html.escape(model_name)}</b>: {human(summary.total_params)} parameters "
             f"({summary.total_params:,}), {human(summary.total_flops)}FLOPs per "
             f"{shape_text(summary.input_shape)} image",
             f"conv {human(summary.conv_params)} · fully connected {human(summary.fc_params)} · "
             f"other {human(summary.other_params)} <i>(this torchvision model)</i>"]
    if model_name.startswith("alexnet"):
        lines.append(f"conv ≈{human(NOTES_ALEXNET_SPLIT['conv'])} · fully connected "
                     f"≈{human(NOTES_ALEXNET_SPLIT['fc'])} <i>({NOTES_ALEXNET_SPLIT['label']})</i>")
    if not summary.exact_fields:
        lines.append("<i>receptive fields assume the layers form a chain (the graph could not be traced)</i>")
    return "<br>".join(lines)


def formula_html(module, layer: LayerInfo) -> str:
    """The selected layer's formulas with its real numbers, each checked against torch's real shape."""
    title = f"<b>{html.escape(layer.name)}</b> ({layer.type_name}): {shape_text(layer.input_shape)} → " \
            f"{shape_text(layer.output_shape)}"
    if layer.input_shape is None or layer.output_shape is None or len(layer.input_shape) != 3 \
            or len(layer.output_shape) != 3:
        return title + "<br>Select a conv or pooling layer to see W2 = ⌊(W1 − F + 2P)/S⌋ + 1 with its numbers."
    lines = conv_formulas(module, layer.input_shape, layer.output_shape)
    if not lines:
        extra = "" if layer.field is None or layer.field.is_global else \
            f"<br>receptive field {layer.field.size[0]:g} px, effective stride {layer.field.jump[0]:g}"
        return title + extra + "<br>(no window arithmetic: this layer keeps or combines shapes)"
    rows = []
    for line in lines:
        mark = f"<span style='color:{theme.OK}'>✓</span>" if line.matches else \
            theme.error_html(f"✗ torch gives {line.actual:,}")
        rows.append(f"{html.escape(line.text)} {mark}")
    if layer.field is not None and not layer.field.is_global:
        rows.append(f"receptive field {layer.field.size[0]:g}×{layer.field.size[1]:g} px, "
                    f"effective stride {layer.field.jump[0]:g}")
    return title + "<br>" + "<br>".join(rows)


class PredictionsBox(QWidget):
    """Top-5 classes and the class whose Grad-CAM is overlaid on the input."""

    cam_class_chosen = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.cam_combo = QComboBox()
        self.cam_combo.setToolTip("Grad-CAM overlay on the input for this class")
        self.cam_combo.activated.connect(lambda index: self.cam_class_chosen.emit(int(self.cam_combo.itemData(index))))
        layout.addWidget(self.label)
        layout.addWidget(self.cam_combo)

    def show_unavailable(self, reason: str) -> None:
        self.label.setText(f"<i>{html.escape(reason)}</i>")
        self.cam_combo.clear()
        self.cam_combo.hide()

    def show_predictions(self, predictions: list[Prediction], cam_class: int | None) -> None:
        rows = [f"{p.probability * 100:5.1f}%  {html.escape(p.label)}" for p in predictions]
        self.label.setText("<b>Top-5</b><br>" + "<br>".join(rows))
        self.cam_combo.clear()
        self.cam_combo.addItem("Grad-CAM overlay: off", NO_CAM)
        for p in predictions:
            self.cam_combo.addItem(f"Grad-CAM: {p.label}", p.index)
        index = self.cam_combo.findData(cam_class)
        self.cam_combo.setCurrentIndex(index if index >= 0 else 0)
        self.cam_combo.setVisible(bool(predictions))
