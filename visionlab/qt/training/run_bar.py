"""The Training Monitor's run bar and smoothing row: what the run is doing, and how its curves are drawn.

The bar holds Start / Pause / Stop, the progress bar, the speed, and three fixed-height lines (the model,
the latest message, the diagnosis): a label that grew would re-lay out, and fully repaint, the plots below.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from visionlab.core.training import monitor
from visionlab.qt.common.layouts import column_layout, row_layout
from visionlab.qt.common.theme import StatusLine


class RunBar(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lines = column_layout(self)
        transport = QHBoxLayout()
        self.start_button, self.pause_button, self.stop_button = (QPushButton(text) for text in
                                                                  ("Start", "Pause", "Stop"))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.speed_label = QLabel("")
        self.speed_label.setMinimumWidth(200)
        for widget, stretch in ((self.start_button, 0), (self.pause_button, 0), (self.stop_button, 0),
                                (self.progress, 1), (self.speed_label, 0)):
            transport.addWidget(widget, stretch)
        lines.addLayout(transport)
        self.model_label = StatusLine(lines=1)
        self.status_label = StatusLine("Choose settings and press Start.", lines=2)
        self.diagnosis_label = StatusLine(lines=2)
        for label in (self.model_label, self.status_label, self.diagnosis_label):
            lines.addWidget(label)

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")

    def show_fraction(self, fraction: float) -> None:
        self.progress.setValue(int(fraction * 1000))

    def show_step(self, step: monitor.StepReport) -> None:
        self.show_fraction(step.fraction)
        self.speed_label.setText(f"{step.samples_per_s:,.0f} samples/s · ETA {step.eta_s:.0f} s")


class SmoothingRow(QWidget):
    """The EMA window of the step curves, with the α it gives."""

    window_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.window_spin = QSpinBox()
        self.window_spin.setRange(1, 500)
        self.window_spin.setValue(10)
        self.label = QLabel("")
        widgets = row_layout(self)
        for widget, stretch in ((QLabel("Smoothing: EMA over"), 0), (self.window_spin, 0), (self.label, 1)):
            widgets.addWidget(widget, stretch)
        self.window_spin.valueChanged.connect(self._changed)
        self._changed(self.window_spin.value())

    def _changed(self, window: int) -> None:
        self.label.setText("steps (raw, no smoothing)" if window == 1 else
                           f"steps, α = 2/(window+1) = {monitor.ema_alpha(window):.3f}; faint line: raw")
        self.window_changed.emit(window)
