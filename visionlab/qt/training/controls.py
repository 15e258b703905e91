"""The Training Monitor's settings form: every field of a TrainConfig, grouped like the lecture.

`config()` reads the widgets into a TrainConfig and `set_config()` writes one back (restore settings, A/B),
both driven by one field → widget table.
The optimizer's own hyperparameters are rebuilt whenever another optimizer is chosen.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from visionlab.core.i18n import N_, _
from visionlab.core.training.config import TrainConfig, current_value, weight_decay_label
from visionlab.core.training.datasets import DATASET_NAMES
from visionlab.core.training.models import MODEL_NAMES, dropout_placement
from visionlab.core.training.optimizers import OPTIMIZERS, SCHEDULES, hyperparameters
from visionlab.qt.common.layouts import column_layout

DEVICES = (N_("auto"), "cpu", "cuda", "mps")  # stored in English, shown translated


def read_widget(widget: QWidget) -> Any:
    """The value a form widget holds, typed as the config field it edits."""
    if isinstance(widget, QComboBox):  # a translated item keeps its config value as its data
        value = widget.currentData()
        return widget.currentText() if value is None else value
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QLineEdit):
        return widget.text().strip()
    return widget.value()  # QSpinBox (int) or QDoubleSpinBox (float)


def write_widget(widget: QWidget, value: Any) -> None:
    if isinstance(widget, QComboBox):
        index = widget.findData(str(value))
        if index >= 0:
            widget.setCurrentIndex(index)
        else:
            widget.setCurrentText(str(value))
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QLineEdit):
        widget.setText(str(value))
    else:
        widget.setValue(value)


def _spin(low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


def _choices(values) -> QComboBox:
    """A combo box showing each config value translated, with the value itself as the item's data."""
    box = QComboBox()
    for value in values:
        box.addItem(_(value), value)
    return box


def _dspin(low: float, high: float, value: float, step: float, decimals: int = 3) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    return box


class TrainingControls(QWidget):
    changed = Signal()  # any setting changed (the panel refreshes the parameter count and preview)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self)
        layout.addWidget(self._data_group())
        layout.addWidget(self._model_group())
        layout.addWidget(self._optimizer_group())
        layout.addWidget(self._regularization_group())
        layout.addStretch(1)
        self._param_boxes: dict[str, QDoubleSpinBox] = {}
        self._rebuild_optimizer_params()
        self.set_config(TrainConfig())
        self.optimizer.currentTextChanged.connect(self._rebuild_optimizer_params)
        self.model_name.currentTextChanged.connect(self._on_model_changed)
        self._on_model_changed()
        for widget in self.findChildren(QWidget):
            for signal in ("valueChanged", "currentTextChanged", "toggled", "textChanged"):
                if hasattr(widget, signal) and not isinstance(widget, QPushButton):
                    getattr(widget, signal).connect(self.changed)
                    break
        self._on_dataset_changed()

    def _group(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(3)
        return box, form

    def _data_group(self) -> QGroupBox:
        box, form = self._group(_("Data"))
        self.dataset = _choices(DATASET_NAMES)
        self.dataset.currentTextChanged.connect(self._on_dataset_changed)
        form.addRow(_("data set"), self.dataset)
        self.shapes_count = _spin(40, 20000, 800)
        self.shapes_size = _spin(8, 64, 28, " px")
        self.shapes_noise = _dspin(0.0, 1.0, 0.1, 0.05, 2)
        form.addRow(_("shapes: count"), self.shapes_count)
        form.addRow(_("shapes: size"), self.shapes_size)
        form.addRow(_("shapes: noise"), self.shapes_noise)
        row = QHBoxLayout()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText(_("folder with one sub-folder per class"))
        browse = QPushButton("…")
        browse.setMaximumWidth(28)
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder)
        row.addWidget(browse)
        self.folder_row = QWidget()
        self.folder_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow(_("image folder"), self.folder_row)
        self.val_fraction = _dspin(0.05, 0.5, 0.2, 0.05, 2)
        self.test_fraction = _dspin(0.0, 0.5, 0.1, 0.05, 2)
        self.seed = _spin(0, 999999, 0)
        form.addRow(_("validation share"), self.val_fraction)
        form.addRow(_("test share"), self.test_fraction)
        form.addRow(_("seed"), self.seed)
        self._data_form = form
        return box

    def _model_group(self) -> QGroupBox:
        box, form = self._group(_("Model"))
        self.model_name = QComboBox()
        self.model_name.addItems(MODEL_NAMES)
        self.width = _spin(1, 256, 16)  # width 1 (4 hidden units): a model too simple for the digits
        self.depth = _spin(1, 6, 2)
        self.batch_norm = QCheckBox(_("batch norm"))
        self.dropout = _dspin(0.0, 0.95, 0.0, 0.05, 2)
        form.addRow(_("model"), self.model_name)
        form.addRow(_("width"), self.width)
        form.addRow(_("depth"), self.depth)
        form.addRow(_("dropout p"), self.dropout)
        form.addRow("", self.batch_norm)
        self._model_form = form
        return box

    def _optimizer_group(self) -> QGroupBox:
        box, form = self._group(_("Optimization"))
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        form.addRow(_("optimizer"), self.optimizer)
        self._params_form = QFormLayout()
        self._params_form.setContentsMargins(0, 0, 0, 0)
        holder = QWidget()
        holder.setLayout(self._params_form)
        form.addRow(holder)
        self.weight_decay = _dspin(0.0, 1.0, 0.0, 1e-4, 5)
        self.schedule = _choices(SCHEDULES)
        self.batch_size = _spin(1, 4096, 64)
        self.epochs = _spin(1, 1000, 20)
        self.decay_label = QLabel(weight_decay_label(self.optimizer.currentText())[0])
        form.addRow(self.decay_label, self.weight_decay)
        form.addRow(_("LR schedule"), self.schedule)
        form.addRow(_("batch size"), self.batch_size)
        form.addRow(_("epochs"), self.epochs)
        self.device = _choices(DEVICES)
        form.addRow(_("device"), self.device)
        self.cpu_threads = _spin(1, 64, 1)
        self.cpu_threads.setToolTip(_("Threads for training on the CPU. Small models are fastest with 1."))
        form.addRow(_("CPU threads"), self.cpu_threads)
        return box

    def _regularization_group(self) -> QGroupBox:
        box, form = self._group(_("Regularization"))
        self.early_stopping = QCheckBox(_("early stopping"))
        self.patience = _spin(1, 100, 5, _(" epochs"))
        self.restore_best = QCheckBox(_("restore best weights"))
        self.restore_best.setToolTip(_("When a run ends (early stopping or not), go back to the weights of the "
                                       "epoch with the lowest validation loss, if that was not the last one. The "
                                       "confusion matrix and the test accuracy are then those of that epoch."))
        form.addRow(self.early_stopping, self.patience)
        form.addRow("", self.restore_best)
        self.hflip = QCheckBox(_("h-flip"))
        self.vflip = QCheckBox(_("v-flip"))
        flips = QHBoxLayout()
        flips.addWidget(self.hflip)
        flips.addWidget(self.vflip)
        form.addRow(_("augment"), flips)
        self.rotation = _dspin(0.0, 180.0, 0.0, 5.0, 0)
        self.rotation.setSuffix("°")
        self.crop_padding = _spin(0, 8, 0, _(" px shift"))
        self.jitter = _dspin(0.0, 1.0, 0.0, 0.1, 2)
        form.addRow(_("rotation ±"), self.rotation)
        form.addRow(_("random crop"), self.crop_padding)
        form.addRow(_("color jitter"), self.jitter)
        self.input_noise = _dspin(0.0, 5.0, 0.0, 0.05, 2)
        self.weight_noise = _dspin(0.0, 1.0, 0.0, 0.005, 3)
        form.addRow(_("input noise σ"), self.input_noise)
        form.addRow(_("weight noise σ"), self.weight_noise)
        return box

    def _rebuild_optimizer_params(self, *_args) -> None:
        old = {name: box.value() for name, box in self._param_boxes.items()}
        while self._params_form.rowCount():
            self._params_form.removeRow(0)
        self._param_boxes = {}
        for spec in hyperparameters(self.optimizer.currentText()):
            decimals = 5 if spec.log_scale else 4
            box = _dspin(spec.low, spec.high, spec.default, spec.default / 10 if spec.log_scale else 0.01, decimals)
            if spec.name != "lr" and spec.name in old:
                box.setValue(old[spec.name])
            box.valueChanged.connect(self.changed)
            self._params_form.addRow(_(spec.label), box)
            self._param_boxes[spec.name] = box
        # The weight decay's meaning follows the optimizer: L2 in the gradient, or AdamW's decoupled decay.
        label, tip = weight_decay_label(self.optimizer.currentText())
        self.decay_label.setText(label)
        for widget in (self.decay_label, self.weight_decay):
            widget.setToolTip(tip)

    def _on_model_changed(self, *_args) -> None:
        tip = dropout_placement(self.model_name.currentText())
        self.dropout.setToolTip(tip)
        self._model_form.labelForField(self.dropout).setToolTip(tip)

    def _on_dataset_changed(self, *_args) -> None:
        name = read_widget(self.dataset)
        for widget in (self.shapes_count, self.shapes_size, self.shapes_noise):
            self._data_form.setRowVisible(widget, name == "shapes")
        self._data_form.setRowVisible(self.folder_row, name == "image folder")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Image folder (one sub-folder per class)"))
        if folder:
            self.folder.setText(folder)

    # -- reading and writing the whole form ---------------------------------------------------------
    def _fields(self) -> list[tuple[str, QWidget]]:
        """Config field → widget, in the order they are written back (the optimizer before its parameters)."""
        return [("dataset", self.dataset), ("shapes_count", self.shapes_count), ("shapes_size", self.shapes_size),
                ("shapes_noise", self.shapes_noise), ("folder", self.folder), ("val_fraction", self.val_fraction),
                ("test_fraction", self.test_fraction), ("model.name", self.model_name), ("model.width", self.width),
                ("model.depth", self.depth), ("model.batch_norm", self.batch_norm), ("model.dropout", self.dropout),
                ("optimizer", self.optimizer), ("weight_decay", self.weight_decay), ("schedule", self.schedule),
                ("batch_size", self.batch_size), ("epochs", self.epochs), ("early_stopping", self.early_stopping),
                ("patience", self.patience), ("restore_best", self.restore_best), ("augment.hflip", self.hflip),
                ("augment.vflip", self.vflip), ("augment.rotation", self.rotation),
                ("augment.crop_padding", self.crop_padding), ("augment.jitter", self.jitter),
                ("input_noise", self.input_noise), ("weight_noise", self.weight_noise), ("seed", self.seed),
                ("device", self.device), ("cpu_threads", self.cpu_threads)]

    def config(self) -> TrainConfig:
        data = TrainConfig().to_dict()  # fields without a widget keep their defaults
        for name, widget in self._fields():
            group, _sep, key = name.rpartition(".")
            (data[group] if group else data)[key] = read_widget(widget)
        data["optimizer_params"] = {name: box.value() for name, box in self._param_boxes.items()}
        return TrainConfig.from_dict(data)

    def set_config(self, config: TrainConfig) -> None:
        for name, widget in self._fields():
            write_widget(widget, current_value(config, name))
        self._rebuild_optimizer_params()
        for name, value in config.optimizer_params.items():
            if name in self._param_boxes:
                self._param_boxes[name].setValue(float(value))
