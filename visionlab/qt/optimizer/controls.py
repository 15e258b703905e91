"""Left-hand column of the Optimizer Lab: preset, surface, racers and their hyperparameters, start,
steps, gradient noise and weight-decay comparison. Edits the panel's LabConfig in place and emits
`changed(surface_changed)`."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from visionlab.core.i18n import _
from visionlab.core.optimizer.catalog import SURFACE_KEYS, SURFACE_NAMES
from visionlab.core.optimizer.custom_surface import make_custom_surface
from visionlab.core.optimizer.engine import Racer
from visionlab.core.optimizer.expression import ExpressionError
from visionlab.core.optimizer.hyperparams import OPTIMIZERS
from visionlab.core.optimizer.lab import MAX_UI_STEPS, LabConfig, titled
from visionlab.core.optimizer.presets import PALETTE, PRESETS, PRESETS_BY_KEY
from visionlab.qt.common import theme
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.optimizer.param_form import ParamForm

MAX_RACERS = 8


def _spin(lo: float, hi: float, value: float, decimals: int = 3, step: float = 0.1) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    box.setKeyboardTracking(False)
    return box


class OptimControls(QScrollArea):
    changed = Signal(bool)  # True when the surface itself changed
    preset_loaded = Signal()

    def __init__(self, config: LabConfig, parent=None) -> None:
        super().__init__(parent)
        self.config = config
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        layout = column_layout(body, 4)

        self.preset_box = QComboBox()
        self.preset_box.setMinimumContentsLength(12)
        self.preset_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_box.addItem(_("— choose a lecture story —"), "")
        for preset in PRESETS:
            self.preset_box.addItem(_(preset.title), preset.key)
        self.preset_box.activated.connect(self._preset_chosen)
        self.story = QLabel()
        self.story.setWordWrap(True)
        self.story.setStyleSheet(f"color: {theme.MUTED}; font-size: 9pt;")
        layout.addWidget(QLabel("<b>" + _("Preset") + "</b>"))
        layout.addWidget(self.preset_box)
        layout.addWidget(self.story)

        surface_group = QGroupBox(_("Surface"))
        form = QFormLayout(surface_group)
        self.surface_box = QComboBox()
        for key in SURFACE_KEYS:
            self.surface_box.addItem(_(SURFACE_NAMES[key]), key)
        self.surface_box.currentIndexChanged.connect(self._surface_chosen)
        form.addRow(self.surface_box)
        self.condition = _spin(1, 1000, config.condition, 1, 5)
        self.angle = _spin(-90, 90, config.angle_deg, 0, 5)
        self.condition.valueChanged.connect(lambda v: self._set_surface_param("condition", v))
        self.angle.valueChanged.connect(lambda v: self._set_surface_param("angle_deg", v))
        self.condition_row = (QLabel(_("condition κ")), self.condition)
        self.angle_row = (QLabel(_("rotation °")), self.angle)
        form.addRow(*self.condition_row)
        form.addRow(*self.angle_row)
        self.expression = QLineEdit(config.expression)
        self.expression.setPlaceholderText(_("f(x, y), e.g. x**2 + 3*sin(y)**2"))
        self.expression.editingFinished.connect(self._expression_edited)
        self.expression_error = QLabel()
        self.expression_error.setWordWrap(True)
        self.expression_error.setStyleSheet(f"color: {theme.ERROR};")
        # Ignored: the refusal wraps to the column's width, whatever its length, and never widens the column
        self.expression_error.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        form.addRow(self.expression)
        form.addRow(self.expression_error)
        self.log_scale = QCheckBox(_("log colour scale"))
        self.log_scale.toggled.connect(lambda _on: self.changed.emit(True))
        form.addRow(self.log_scale)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setStyleSheet("font-size: 9pt;")
        form.addRow(self.formula)
        layout.addWidget(surface_group)

        racer_group = QGroupBox(_("Racers (same start)"))
        racer_layout = QVBoxLayout(racer_group)
        self.racer_list = QListWidget()
        self.racer_list.setMaximumHeight(120)
        dark = self.racer_list.palette()  # a palette, not a style sheet: styled lists repaint far slower
        dark.setColor(QPalette.ColorRole.Base, QColor("#202124"))
        self.racer_list.setPalette(dark)
        self.racer_list.currentRowChanged.connect(self._racer_selected)
        racer_layout.addWidget(self.racer_list)
        add_row = QHBoxLayout()
        add_row.addWidget(QLabel(_("add:")))  # the box picks a new racer's optimizer; it is not the selected one's
        self.add_box = QComboBox()
        self.add_box.setToolTip(_("the optimizer of a new racer: choose one, then press +"))
        for key, spec in OPTIMIZERS.items():
            self.add_box.addItem(spec.name, key)
        add_button = QPushButton("+")
        add_button.setToolTip(_("add a racer with this optimizer"))
        add_button.setFixedWidth(30)
        add_button.clicked.connect(self._add_racer)
        self.remove_button = QPushButton("−")
        self.remove_button.setToolTip(_("remove the selected racer"))
        self.remove_button.setFixedWidth(30)
        self.remove_button.clicked.connect(self._remove_racer)
        add_row.addWidget(self.add_box, 1)
        add_row.addWidget(add_button)
        add_row.addWidget(self.remove_button)
        racer_layout.addLayout(add_row)
        self.batch = QSpinBox()
        self.batch.setRange(0, 4096)
        self.batch.setSpecialValueText(_("full batch"))
        self.batch.setToolTip(_("0 = full batch. On the data surface: the mini-batch size. On analytic surfaces "
                                "with gradient noise on: noise of scale σ/√batch."))
        self.batch.valueChanged.connect(self._batch_changed)
        batch_row = QFormLayout()
        batch_row.addRow(_("batch size"), self.batch)
        racer_layout.addLayout(batch_row)
        self.params = ParamForm()
        self.params.changed.connect(self._param_changed)
        racer_layout.addWidget(self.params)
        layout.addWidget(racer_group)

        run_group = QGroupBox(_("Start and steps"))
        run_form = QFormLayout(run_group)
        self.start_x = _spin(-999, 999, config.start[0], 3, 0.1)
        self.start_y = _spin(-999, 999, config.start[1], 3, 0.1)
        self.start_x.valueChanged.connect(self._start_edited)
        self.start_y.valueChanged.connect(self._start_edited)
        start_row = QHBoxLayout()
        start_row.addWidget(self.start_x)
        start_row.addWidget(self.start_y)
        run_form.addRow(_("start"), start_row)
        run_form.addRow(QLabel("<i>" + _("or click on the map") + "</i>"))
        self.steps = QSpinBox()
        self.steps.setRange(1, MAX_UI_STEPS)
        self.steps.setValue(config.steps)
        self.steps.valueChanged.connect(self._steps_changed)
        run_form.addRow(_("steps"), self.steps)
        layout.addWidget(run_group)

        noise_group = QGroupBox(_("Gradient noise and weight decay"))
        noise_form = QFormLayout(noise_group)
        self.noise = QCheckBox(_("gradient noise σ/√batch"))
        self.noise.setToolTip(_("adds seeded Gaussian noise to the exact gradient, like a mini-batch would"))
        self.noise.toggled.connect(self._noise_changed)
        self.noise_scale = _spin(0, 100, config.noise_scale, 2, 0.5)
        self.noise_scale.setToolTip(_("σ: the noise's standard deviation at batch size 1"))
        self.noise_scale.valueChanged.connect(self._noise_changed)
        self.seed = QSpinBox()
        self.seed.setRange(0, 1_000_000)
        self.seed.valueChanged.connect(self._noise_changed)
        noise_form.addRow(self.noise)
        noise_form.addRow("σ", self.noise_scale)
        noise_form.addRow(_("seed"), self.seed)
        self.compare_decay = QCheckBox(_("compare with λ = 0 (dashed)"))
        self.compare_decay.setToolTip(_("adds a dashed twin without weight decay for each racer that has some"))
        self.compare_decay.toggled.connect(self._decay_changed)
        self.penalized = QCheckBox(_("show L + λ/2·|θ|²"))
        self.penalized.setToolTip(_("colour the map by the penalized loss, λ from the selected racer"))
        self.penalized.toggled.connect(lambda _on: self.changed.emit(True))
        noise_form.addRow(self.compare_decay)
        noise_form.addRow(self.penalized)
        layout.addWidget(noise_group)
        layout.addStretch(1)
        self.load_config(config)

    # -- whole-config loading ------------------------------------------------------------------------
    def load_config(self, config: LabConfig) -> None:
        self.config = config
        widgets = (self.surface_box, self.condition, self.angle, self.expression, self.start_x, self.start_y,
                   self.steps, self.noise, self.noise_scale, self.seed, self.compare_decay)
        for widget in widgets:
            widget.blockSignals(True)
        self.surface_box.setCurrentIndex(max(0, self.surface_box.findData(config.surface)))
        self.condition.setValue(config.condition)
        self.angle.setValue(config.angle_deg)
        self.expression.setText(config.expression)
        self.start_x.setValue(config.start[0])
        self.start_y.setValue(config.start[1])
        self.steps.setValue(config.steps)
        self.noise.setChecked(config.noise)
        self.noise_scale.setValue(config.noise_scale)
        self.seed.setValue(config.seed)
        self.compare_decay.setChecked(config.compare_no_decay)
        for widget in widgets:
            widget.blockSignals(False)
        index = self.preset_box.findData(config.preset)
        self.preset_box.setCurrentIndex(max(0, index))
        self.story.setText(_(PRESETS_BY_KEY[config.preset].story) if config.preset in PRESETS_BY_KEY else "")
        self._update_surface_rows()
        self._refresh_racers(0)

    def set_surface_info(self, formula: str, note: str, log_default: bool, surface_changed: bool) -> None:
        self.formula.setText(f"<b>{_breakable(html.escape(formula))}</b><br>{note}")
        if surface_changed:
            self.log_scale.blockSignals(True)
            self.log_scale.setChecked(log_default)
            self.log_scale.blockSignals(False)

    def _update_surface_rows(self) -> None:
        key = self.config.surface
        for widget in (*self.condition_row, *self.angle_row):
            widget.setVisible(key == "quadratic")
        self.expression.setVisible(key == "custom")
        self.expression_error.setVisible(key == "custom" and bool(self.expression_error.text()))

    # -- racers --------------------------------------------------------------------------------------
    def selected_index(self) -> int:
        return self.racer_list.currentRow()

    def _refresh_racers(self, select: int) -> None:
        self.racer_list.blockSignals(True)
        self.racer_list.clear()
        for number, racer in enumerate(titled(self.config.racers)):
            item = QListWidgetItem(f"● {racer.title()}")
            item.setForeground(QColor(PALETTE[number % len(PALETTE)]))
            self.racer_list.addItem(item)
        self.racer_list.blockSignals(False)
        self.racer_list.setCurrentRow(min(select, len(self.config.racers) - 1))
        self._racer_selected(self.racer_list.currentRow())
        self.remove_button.setEnabled(len(self.config.racers) > 1)

    def _racer_selected(self, row: int) -> None:
        if not (0 <= row < len(self.config.racers)):
            self.params.set_params((), {})
            return
        racer = self.config.racers[row]
        self.params.set_params(OPTIMIZERS[racer.key].params, racer.settings())
        self.batch.blockSignals(True)
        self.batch.setValue(racer.batch_size)
        self.batch.blockSignals(False)

    def _add_racer(self) -> None:
        if len(self.config.racers) >= MAX_RACERS:
            self.story.setText(_("At most {count} racers: remove one first.").format(count=MAX_RACERS))
            return
        self.config.racers.append(Racer(self.add_box.currentData()))
        self._refresh_racers(len(self.config.racers) - 1)
        self.changed.emit(False)

    def _remove_racer(self) -> None:
        row = self.selected_index()
        if len(self.config.racers) > 1 and 0 <= row < len(self.config.racers):
            del self.config.racers[row]
            self._refresh_racers(max(0, row - 1))
            self.changed.emit(False)

    def _param_changed(self, name: str, value: float) -> None:
        row = self.selected_index()
        if 0 <= row < len(self.config.racers):
            self.config.racers[row].hp[name] = value
            self._retitle()
            self.changed.emit(False)

    def _retitle(self) -> None:
        """Twins (two Adams) are told apart by the settings they differ in: a changed setting may rename them."""
        for number, racer in enumerate(titled(self.config.racers)):
            item = self.racer_list.item(number)
            if item is not None and item.text() != f"● {racer.title()}":
                item.setText(f"● {racer.title()}")

    def _batch_changed(self, value: int) -> None:
        row = self.selected_index()
        if 0 <= row < len(self.config.racers):
            self.config.racers[row].batch_size = int(value)
            item = self.racer_list.item(row)
            item.setText(f"● {self.config.racers[row].title()}")
            self.changed.emit(False)

    # -- surface, start, noise -------------------------------------------------------------------------
    def _preset_chosen(self, index: int) -> None:
        key = self.preset_box.itemData(index)
        if key:
            self.load_config(LabConfig.from_preset(PRESETS_BY_KEY[key]))
            self.preset_loaded.emit()

    def _surface_chosen(self, index: int) -> None:
        self.config.surface = self.surface_box.itemData(index)
        self.config.preset = ""  # another surface: the preset's story no longer applies
        self.preset_box.setCurrentIndex(0)
        self._update_surface_rows()
        self.changed.emit(True)

    def _set_surface_param(self, name: str, value: float) -> None:
        setattr(self.config, name, float(value))
        self.changed.emit(True)

    def _expression_edited(self) -> None:
        text = self.expression.text()
        try:  # the whole surface, not only the parse: 1/(1-1) parses, and fails only when computed
            make_custom_surface(text)
        except ExpressionError as exc:
            self.show_expression_error(text, exc)
            return
        self.expression_error.setText("")
        self.expression_error.hide()
        self.config.expression = text
        self.changed.emit(True)

    def show_expression_error(self, text: str, error: ExpressionError) -> None:
        """The refusal at the field, with the place to blame; the map keeps the last accepted f and says so."""
        kept = "" if text == self.config.expression else " " + _("The map still shows the last accepted f.")
        message = html.escape(_("At position {position}: {message}.").format(position=error.position + 1,
                                                                             message=error.message), quote=False)
        self.expression_error.setText(f"{message}{html.escape(kept, quote=False)}"
                                      f"<br><tt>{_mark(text, error.position)}</tt>")
        self.expression_error.show()

    def set_start(self, x: float, y: float) -> None:
        for box, value in ((self.start_x, x), (self.start_y, y)):
            box.blockSignals(True)
            box.setValue(round(value, 3))
            box.blockSignals(False)
        self.config.start = (round(x, 3), round(y, 3))
        self.changed.emit(False)

    def _start_edited(self) -> None:
        self.config.start = (self.start_x.value(), self.start_y.value())
        self.changed.emit(False)

    def _steps_changed(self, value: int) -> None:
        self.config.steps = int(value)
        self.changed.emit(False)

    def _noise_changed(self, *_args) -> None:
        self.config.noise = self.noise.isChecked()
        self.config.noise_scale = self.noise_scale.value()
        self.config.seed = self.seed.value()
        self.changed.emit(False)

    def _decay_changed(self, on: bool) -> None:
        self.config.compare_no_decay = on
        self.changed.emit(False)


def _breakable(formula: str) -> str:
    """The formula with a zero-width space after each operator, so a long one wraps instead of widening."""
    return "".join(ch + "\u200b" if ch in "+-*/^" else ch for ch in formula).replace("*\u200b*", "**")


MARK_CONTEXT = 12  # characters of the expression kept on each side of the one to blame


def _mark(text: str, position: int) -> str:
    """The text around the offending character, that character highlighted: HTML-escaped, shortened to
    ±MARK_CONTEXT characters (an ellipsis says where it was cut) and breakable after each operator, so a long
    expression wraps in the column instead of widening it."""
    lo, hi = max(0, position - MARK_CONTEXT), position + 1 + MARK_CONTEXT
    before, at, after = text[lo:position], text[position:position + 1] or " ", text[position + 1:hi]
    before = ("…" if lo > 0 else "") + before
    after = after + ("…" if hi < len(text) else "")
    return (html.escape(_breakable(before)) + f"<span style='background:{theme.ERROR};color:white'>"
            f"{html.escape(at)}</span>" + html.escape(_breakable(after)))
