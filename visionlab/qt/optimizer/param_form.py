"""A form for one optimizer's hyperparameters: a slider and a text field per value, checked at the field.

Dragging a slider changes the value continuously (the lab recomputes every path while you drag); typing
a value out of range shows the reason under the field and keeps the last good value. A log-scaled value
(a learning rate, ε) gets a slider over the useful range, two decades either side of its default, across
the whole column's width; the field takes anything the optimizer allows.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QSlider, QWidget

from visionlab.core.i18n import _
from visionlab.core.optimizer.hyperparams import Param
from visionlab.qt.common import theme

SLIDER_STEPS = 1000
SLIDER_DECADES = 2  # either side of the default, for log-scaled values


def slider_range(param: Param) -> tuple[float, float]:
    """The values the slider spans: the whole range for linear values; for log-scaled ones two decades either
    side of the default (1e-4 … 1 for Adam's η = 0.01: a 30 px drag is a factor of about 2, not 10⁴)."""
    if not param.log:
        return param.minimum, param.maximum
    spread = 10.0 ** SLIDER_DECADES
    return max(param.minimum, param.default / spread), min(param.maximum, param.default * spread)


class ParamRow:
    def __init__(self, param: Param, value: float) -> None:
        self.param = param
        self.label = QLabel(_(param.label))
        self.label.setToolTip(_(param.help))
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
        self.low, self.high = slider_range(param)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        spans = _("{help}: the slider spans {low:g} … {high:g}").format(help=_(param.help), low=self.low,
                                                                         high=self.high)
        if (self.low, self.high) != (param.minimum, param.maximum):
            spans += _("; type any value from {low:g} to {high:g} in the field").format(low=param.minimum,
                                                                                       high=param.maximum)
        self.slider.setToolTip(spans)
        self.field = QLineEdit()
        self.field.setMaximumWidth(80)
        self.field.setToolTip(_("{help} (from {low:g} to {high:g})").format(help=_(param.help), low=param.minimum,
                                                                           high=param.maximum))
        self.set_value(value)

    def _ends(self) -> tuple[float, float]:
        return (math.log10(max(self.low, 1e-300)), math.log10(self.high)) if self.param.log else (self.low, self.high)

    def _to_slider(self, value: float) -> int:
        """The slider position for `value`, at the nearer end when the value lies outside the slider's span."""
        lo, hi = self._ends()
        v = math.log10(max(value, 1e-300)) if self.param.log else value
        return int(round(min(max((v - lo) / (hi - lo), 0.0), 1.0) * SLIDER_STEPS))

    def from_slider(self, position: int) -> float:
        lo, hi = self._ends()
        at = lo + (hi - lo) * position / SLIDER_STEPS
        return float(f"{10 ** at:.3g}") if self.param.log else float(f"{at:.4g}")

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
                self.grid.addWidget(row.check, line, 1)
                row.check.toggled.connect(lambda on, n=param.name: self.changed.emit(n, 1.0 if on else 0.0))
            else:
                # The field beside the label, the slider below across the column: every pixel is precision.
                self.grid.addWidget(row.field, line, 1, Qt.AlignmentFlag.AlignRight)
                line += 1
                self.grid.addWidget(row.slider, line, 0, 1, 2)
                row.slider.valueChanged.connect(lambda pos, r=row: self._slid(r, pos))
                row.field.editingFinished.connect(lambda r=row: self._typed(r))
            self.grid.addWidget(row.error, line + 1, 0, 1, 2)
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
            self._reject(row, _("'{text}' is not a number").format(text=text))
            return
        message = row.param.check(value)
        if message or not math.isfinite(value):
            self._reject(row, message or _("must be a finite number"))
            return
        row.set_value(value)
        self._accept(row, value)

    def _accept(self, row: ParamRow, value: float) -> None:
        if row.field.styleSheet():  # restyling costs a repolish: only when an error was shown
            row.error.hide()
            row.field.setStyleSheet("")
        self.changed.emit(row.param.name, value)

    def _reject(self, row: ParamRow, message: str) -> None:
        row.error.setText(_("{reason} — the last good value is kept").format(reason=message))
        row.error.show()
        row.field.setStyleSheet(f"border: 1px solid {theme.ERROR};")

    def error_text(self, name: str) -> str:
        row = self.rows[name]
        return row.error.text() if row.error.isVisibleTo(self) else ""
