"""Side widgets of the Feature-Map Viewer: the layer tree, the formula box and the top-5 / Grad-CAM box."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QWidget

from visionlab.core.features.arithmetic import conv_formulas
from visionlab.core.features.gradcam import Prediction
from visionlab.core.features.layers import LayerInfo, ModelSummary
from visionlab.core.features.models import LoadedModel
from visionlab.core.i18n import N_, _
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
        return _("whole image")
    return f"{layer.field.size[0]:g} / {layer.field.jump[0]:g}"


class LayerTree(QTreeWidget):
    """Modules as a tree: name (type), output shape, parameters, multiply-adds, receptive field / stride."""

    layer_selected = Signal(str)

    COLUMNS = (N_("Layer"), N_("Type"), N_("Output"), N_("RF / stride"), N_("Params"), N_("Mult-adds"))

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(self.COLUMNS))
        self.setHeaderLabels([_(title) for title in self.COLUMNS])
        self.setUniformRowHeights(True)
        for index in range(len(self.COLUMNS)):
            self.header().setSectionResizeMode(index, QHeaderView.ResizeMode.ResizeToContents)
        # The type takes what is left (elided, whole in its tooltip): "AdaptiveAvgPool2d" cut "Mult-adds".
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.header().setMinimumSectionSize(40)
        self.setIndentation(12)
        self.setToolTip(_("Receptive field (input pixels one output pixel sees) / effective stride"))
        self._items: dict[str, QTreeWidgetItem] = {}
        self.currentItemChanged.connect(self._on_current)
        # Opening a block shows deeper, more indented names: the columns are fitted again.
        self.itemExpanded.connect(lambda _item: self._fit_columns())
        self.itemCollapsed.connect(lambda _item: self._fit_columns())

    def show_summary(self, summary: ModelSummary) -> None:
        self.blockSignals(True)
        self.clear()
        self._items = {}
        for layer in summary.layers[1:]:  # the model itself is the totals line
            parent_name = layer.name.rpartition(".")[0]
            parent = self._items.get(parent_name, self.invisibleRootItem())
            item = QTreeWidgetItem(parent, [layer.name.rpartition(".")[2], layer.type_name,
                                            shape_text(layer.output_shape), field_text(layer), human(layer.params),
                                            human(layer.mult_adds) if layer.mult_adds else ""])
            item.setData(0, NAME_ROLE, layer.name)
            item.setToolTip(0, f"{layer.name} ({layer.type_name})")
            item.setToolTip(1, layer.type_name)
            if layer.mult_adds:  # the Mult-adds column is hidden in a narrow tree: the number stays at hand
                item.setToolTip(4, _("{params:,} parameters · {mult_adds:,} mult-adds per image").format(
                    params=layer.params, mult_adds=layer.mult_adds))
            if not layer.has_maps:
                item.setForeground(0, self.palette().placeholderText())
            self._items[layer.name] = item
        self.blockSignals(False)
        self._fit_columns()

    MULT_ADDS, TYPE = 5, 1
    # Dropped in this order when the tree is too narrow for every column (a 1024-px window scrolled it
    # sideways); the totals below, each Params tooltip and each name's tooltip still give what they held.
    DROPPABLE = (MULT_ADDS, TYPE)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        header = self.header()
        widths = {i: max(self.sizeHintForColumn(i), header.sectionSizeHint(i)) for i in range(len(self.COLUMNS))}
        widths[self.TYPE] = header.minimumSectionSize()  # it stretches into what is left, elided
        room, hidden = self.viewport().width(), set()
        for column in self.DROPPABLE:
            if sum(width for i, width in widths.items() if i not in hidden) <= room:
                break
            hidden.add(column)
        for column in self.DROPPABLE:
            if header.isSectionHidden(column) != (column in hidden):
                header.setSectionHidden(column, column in hidden)

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


def totals_html(opened) -> str:
    """Totals of an OpenedModel, with the lecture's AlexNet comparison and torchvision's departures from the
    lecture, all counted from the models (core/features/layers.py)."""
    summary, name = opened.summary, opened.loaded.name
    whose = _("this training checkpoint") if opened.from_checkpoint else _("this torchvision model")
    lines = [f"<b>{html.escape(name)}</b>: " + html.escape(
        _("{params} parameters ({exact}), {mult_adds} mult-adds per {shape} image").format(
            params=human(summary.total_params), exact=f"{summary.total_params:,}",
            mult_adds=human(summary.total_mult_adds), shape=shape_text(summary.input_shape)))]
    if opened.splits:  # AlexNet: this net's split once, then the original's, and the lecture's ratio of both
        here, *others = opened.splits
        layers = " + ".join(f"{n / 1e6:.2f}" for n in here.fc_layers)
        split = _("conv {conv} · fully connected {fc} ({layers} M) · other {other}").format(
            conv=human(here.conv), fc=human(here.fc), layers=layers, other=human(summary.other_params))
        lines.append(f"{html.escape(split)} <i>({html.escape(whose)}: {html.escape(here.label)})</i>")
        for other in others:
            lines.append(html.escape(_("{label}: conv {conv} · fully connected {fc}").format(
                label=other.label, conv=human(other.conv), fc=human(other.fc))))
        ratios = ", ".join([_("≈{ratio:.0f}× here").format(ratio=here.ratio)] +
                           [_("≈{ratio:.0f}× in the original").format(ratio=other.ratio) for other in others])
        lines.append(html.escape(_("fully connected ÷ conv parameters: {ratios}").format(ratios=ratios)))
    else:
        split = _("conv {conv} · fully connected {fc} · other {other}").format(
            conv=human(summary.conv_params), fc=human(summary.fc_params), other=human(summary.other_params))
        lines.append(f"{html.escape(split)} <i>({html.escape(whose)})</i>")
    lines += ["<i>" + html.escape(_("torchvision differs from the lecture: {note}").format(note=note)) + "</i>"
              for note in opened.differences]
    if not summary.exact_fields:
        lines.append("<i>" + html.escape(_("receptive fields assume the layers form a chain (the graph could not be "
                                           "traced)")) + "</i>")
    return "<br>".join(lines)


def field_words(layer: LayerInfo, image_hw: tuple[int, int] | None) -> str:
    """The layer's receptive field in words, saying so when it is as large as the input or larger."""
    field = layer.field
    if field is None:
        return ""
    if field.is_global:
        if not image_hw:
            return _("every output sees the whole image: global pooling / fully connected")
        return _("every output sees the whole image ({height}×{width} px): global pooling / fully connected").format(
            height=image_hw[0], width=image_hw[1])
    if image_hw and field.size[0] >= image_hw[0] and field.size[1] >= image_hw[1]:
        text = _("receptive field {rows:g}×{cols:g} px, effective stride {stride:g} (larger than the "
                 "{height}×{width} px input)")
    else:
        text = _("receptive field {rows:g}×{cols:g} px, effective stride {stride:g}")
    return text.format(rows=field.size[0], cols=field.size[1], stride=field.jump[0],
                       height=image_hw[0] if image_hw else 0, width=image_hw[1] if image_hw else 0)


def formula_html(module, layer: LayerInfo, image_hw: tuple[int, int] | None = None) -> str:
    """The selected layer's formulas with its real numbers, each checked against torch's real shape."""
    title = f"<b>{html.escape(layer.name)}</b> ({layer.type_name}): {shape_text(layer.input_shape)} → " \
            f"{shape_text(layer.output_shape)}"
    if layer.input_shape is None or layer.output_shape is None:
        return title + "<br>" + html.escape(_("Select a conv or pooling layer to see W2 = ⌊(W1 − F + 2P)/S⌋ + 1 with "
                                              "its numbers."))
    lines = conv_formulas(module, layer.input_shape, layer.output_shape)
    words = field_words(layer, image_hw)
    if not lines:
        extra = f"<br>{html.escape(words)}" if words else ""
        children = len(list(module.children()))
        if children:  # layer4 halves 14 → 7 inside it: its own layers have the arithmetic
            return title + extra + "<br>" + html.escape(_(
                "a block of {count} layers ({input} → {output}): select one inside it to see its arithmetic").format(
                count=children, input=shape_text(layer.input_shape), output=shape_text(layer.output_shape)))
        return title + extra + "<br>" + html.escape(_("(no window arithmetic: this layer keeps or combines shapes)"))
    rows = []
    for line in lines:
        mark = f"<span style='color:{theme.OK}'>✓</span>" if line.matches else \
            theme.error_html(_("✗ torch gives {value:,}").format(value=line.actual))
        rows.append(f"{html.escape(line.text)} {mark}")
    if words:
        rows.append(html.escape(words))
    return title + "<br>" + "<br>".join(rows)


def weights_phrase(loaded: LoadedModel) -> str:
    """"with ImageNet weights" / "with imported, unverified: my.pth" / "with trained checkpoint"."""
    return _("with {weights}").format(weights=loaded.weights_label)


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
        self.cam_combo.setToolTip(_("Grad-CAM overlay on the input for this class"))
        self.cam_combo.activated.connect(lambda index: self.cam_class_chosen.emit(int(self.cam_combo.itemData(index))))
        layout.addWidget(self.label)
        layout.addWidget(self.cam_combo)

    def show_unavailable(self, reason: str) -> None:
        self.label.setText(f"<i>{html.escape(reason)}</i>")
        self.cam_combo.clear()
        self.cam_combo.hide()

    def show_predictions(self, predictions: list[Prediction], cam_class: int | None,
                         loaded: LoadedModel | None = None) -> None:
        """`loaded` names whose weights made these numbers: an unverified file is said so, in warning colour."""
        rows = [f"{p.probability * 100:5.1f}%  {html.escape(p.label)}" for p in predictions]
        title, whose = "<b>" + html.escape(_("Top-5")) + "</b>", ""
        if loaded is not None:  # both the top-5 and the Grad-CAM below come from these weights: say whose
            colour = theme.WARNING if loaded.weights_unverified else theme.OK
            title = "<b>" + html.escape(_("Top-5 and Grad-CAM")) + "</b>"
            whose = f" <span style='color:{colour}'>{html.escape(weights_phrase(loaded))}</span>"
        count = len(loaded.categories) if loaded is not None else 0
        # The score of a model that knows nothing, as the camera writes it: 5 % means little beside 0.1 %.
        chance = "<br><i>" + html.escape(_("chance 1/{count} = {percent:.3g} %").format(
            count=count, percent=100 / count)) + "</i>" if count else ""
        self.label.setText(f"{title}{whose}<br>" + "<br>".join(rows) + chance)
        self.label.setToolTip(loaded.note if loaded is not None else "")
        self.cam_combo.clear()
        self.cam_combo.addItem(_("Grad-CAM overlay: off"), NO_CAM)
        for p in predictions:
            self.cam_combo.addItem(_("Grad-CAM: {label}").format(label=p.label), p.index)
        self.cam_combo.setToolTip(
            _("Grad-CAM overlay on the input for this class, computed with {weights}").format(
                weights=loaded.weights_label) if loaded is not None else
            _("Grad-CAM overlay on the input for this class"))
        index = self.cam_combo.findData(cam_class)
        self.cam_combo.setCurrentIndex(index if index >= 0 else 0)
        self.cam_combo.setVisible(bool(predictions))
