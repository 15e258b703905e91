"""A form for one optimizer's hyperparameters: a slider and a text field per value, checked at the field.

Dragging a slider changes the value continuously (the lab recomputes every path while you drag); typing
a value out of range shows the reason under the field and keeps the last good value.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QSlider, QWidget

from visionlab.core.optimizer.hyperparams import Param
from visionlab.qt.common import theme

SLIDER_STEPS = 1000


class ParamRow:
    def __init__(self, param: Param, value: float) -> None:
        self.param = param
        self.label = QLabel(param.label)
        self.label.setToolTip(param.help)
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {theme.ERROR};")
        self.error.setWordWrap(True)
        self.error.hide()
        if param.is_bool:
            self.check = QCheckBox()
            self.check.setChecked(bool(value))
            self.slider = self.field = None
            return
        self.check = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.field = QLineEdit()
        self.field.setMaximumWidth(70)
        self.field.setToolTip(f"{param.help} (from {param.minimum:g} to {param.maximum:g})")
        self.set_value(value)

    # The slider covers the whole valid range, log-spaced for learning rates and eps.
    def _to_slider(self, value: float) -> int:
        p = self.param
        lo, hi = (math.log10(max(p.minimum, 1e-12)), math.log10(p.maximum)) if p.log else (p.minimum, p.maximum)
        v = math.log10(max(value, 1e-12)) if p.log else value
        return int(round((v - lo) / (hi - lo) * SLIDER_STEPS))

    def from_slider(self, position: int) -> float:
        p = self.param
        if p.log:
            lo, hi = math.log10(max(p.minimum, 1e-12)), math.log10(p.maximum)
            return float(f"{10 ** (lo + (hi - lo) * position / SLIDER_STEPS):.3g}")
        return float(f"{p.minimum + (p.maximum - p.minimum) * position / SLIDER_STEPS:.4g}")

    def set_value(self, value: float) -> None:
        if self.check is not None:
            self.check.setChecked(bool(value))
            return
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(value))
        self.slider.blockSignals(False)
        self.field.setText(f"{value:g}")


class ParamForm(QWidget):
    """Emits `changed(name, value)` for every accepted edit."""

    changed = Signal(str, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setVerticalSpacing(2)
        self.rows: dict[str, ParamRow] = {}

    def set_params(self, params: tuple[Param, ...], values: dict[str, float]) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().hide()  # deleteLater alone leaves it painted until the event loop runs
                item.widget().deleteLater()
        self.rows = {}
        line = 0
        for param in params:
            row = ParamRow(param, values.get(param.name, param.default))
            self.rows[param.name] = row
            self.grid.addWidget(row.label, line, 0)
            if row.check is not None:
                self.grid.addWidget(row.check, line, 1, 1, 2)
                row.check.toggled.connect(lambda on, n=param.name: self.changed.emit(n, 1.0 if on else 0.0))
            else:
                self.grid.addWidget(row.slider, line, 1)
                self.grid.addWidget(row.field, line, 2)
                row.slider.valueChanged.connect(lambda pos, r=row: self._slid(r, pos))
                row.field.editingFinished.connect(lambda r=row: self._typed(r))
            self.grid.addWidget(row.error, line + 1, 0, 1, 3)
            line += 2

    def _slid(self, row: ParamRow, position: int) -> None:
        value = row.from_slider(position)
        row.field.setText(f"{value:g}")
        self._accept(row, value)

    def _typed(self, row: ParamRow) -> None:
        text = row.field.text().strip()
        try:
            value = float(text)
        except ValueError:
            self._reject(row, f"'{text}' is not a number")
            return
        message = row.param.check(value)
        if message or not math.isfinite(value):
            self._reject(row, message or "must be a finite number")
            return
        row.set_value(value)
        self._accept(row, value)

    def _accept(self, row: ParamRow, value: float) -> None:
        row.error.hide()
        row.field.setStyleSheet("")
        self.changed.emit(row.param.name, value)

    def _reject(self, row: ParamRow, message: str) -> None:
        row.error.setText(message + " — the last good value is kept")
        row.error.show()
        row.field.setStyleSheet(f"border: 1px solid {theme.ERROR};")

    def error_text(self, name: str) -> str:
        row = self.rows[name]
        return row.error.text() if row.error.isVisibleTo(self) else ""
